/** The SDK's interface version: in step with the package's version, and the compatibility rule adapters are held to. */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { SDK_INTERFACE_VERSION, interfaceIncompatibility, parseInterfaceVersion } from './version.js';

describe('adapter interface version', () => {
  it("is the SDK package's major.minor, and what its package.json declares", () => {
    const manifest = JSON.parse(readFileSync(new URL('./package.json', import.meta.url), 'utf8')) as {
      version: string;
      onewindow: { adapterInterface: string };
    };
    expect(manifest.version.split('.').slice(0, 2).join('.')).toBe(SDK_INTERFACE_VERSION);
    expect(manifest.onewindow.adapterInterface).toBe(SDK_INTERFACE_VERSION);
  });

  it('accepts the same major with an older or equal minor, and nothing else', () => {
    expect(interfaceIncompatibility('1.0', '1.0')).toBeUndefined();
    expect(interfaceIncompatibility('1.0', '1.4')).toBeUndefined();
    expect(interfaceIncompatibility('1.3', '1.4')).toBeUndefined();
    expect(interfaceIncompatibility('1.5', '1.4')).toMatch(
      /newer than this gateway's SDK \(1\.4\): upgrade the gateway/,
    );
    expect(interfaceIncompatibility('2.0', '1.4')).toMatch(/another major version/);
    expect(interfaceIncompatibility('0.9', '1.4')).toMatch(/another major version/);
    expect(interfaceIncompatibility('1', '1.4')).toMatch(/is not major\.minor/);
    expect(interfaceIncompatibility('1.0.0', '1.4')).toMatch(/is not major\.minor/);
    expect(parseInterfaceVersion('01.2')).toBeUndefined();
  });
});
