/**
 * What the gateway's resolve hook does at run time (gateway/departments/adapter-packages.ts), for
 * vitest, which resolves modules itself and does not run Node's hooks: an adapter package or folder
 * importing `@onewindow/adapter-sdk` gets the gateway's own SDK sources, wherever it lies.
 */
import { fileURLToPath } from 'node:url';

const sdk = (file: string): string => fileURLToPath(new URL(`./adapters/sdk/${file}`, import.meta.url));

export const sdkAlias = [
  { find: /^@onewindow\/adapter-sdk$/, replacement: sdk('index.ts') },
  { find: /^@onewindow\/adapter-sdk\/conformance$/, replacement: sdk('conformance.ts') },
  { find: /^@onewindow\/adapter-sdk\/testing\/(.+)$/, replacement: sdk('testing/$1.ts') },
];
