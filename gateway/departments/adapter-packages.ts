/**
 * Adapters outside the gateway's source tree: a department entry may name an npm package
 * (`"adapterPackage": "@acme/onewindow-adapter-cab"`) or a folder (`"adapterPath": "/opt/adapters/cab"`)
 * instead of a shipped kind. Each is loaded here at start, before the registry is built: its
 * package.json must say which adapter interface it was written for (`"onewindow":
 * {"adapterInterface": "1.0"}`, checked against the SDK's), and its entry must export `adapter`, an
 * adapter factory. Every problem names its department and the start is refused (ConfigError).
 *
 * The SDK is the gateway's own: a package importing `@onewindow/adapter-sdk` gets the very modules
 * the gateway runs (a resolve hook maps the name), whatever copy its own node_modules may hold, so
 * `DepartmentError`s it throws are the gateway's and one client, one set of metrics serve both.
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { register } from 'node:module';
import { dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { type RegisteredAdapterFactory, registerAdapter } from '../../adapters/sdk/adapter.js';
import { SDK_INTERFACE_VERSION, interfaceIncompatibility } from '../../adapters/sdk/version.js';
import { ConfigError } from '../config.js';
import type { DepartmentConfig } from './config.js';

/** The SDK's folder beside this module (the sources under tsx and vitest, dist/ in production). */
const sdkFolder = new URL('../../adapters/sdk/', import.meta.url);
/** The adapter packages the gateway's repository holds (npm workspaces), built into dist/ with it. */
const shippedPackagesFolder = new URL('../../packages/', import.meta.url);

interface PackageManifest {
  name?: unknown;
  version?: unknown;
  exports?: unknown;
  main?: unknown;
  onewindow?: { adapterInterface?: unknown };
}

/** An adapter package or folder as found on disk, before its code is imported. */
export interface AdapterPackageLocation {
  folder: string;
  manifest: PackageManifest;
}

function readManifest(folder: string): PackageManifest | undefined {
  const path = join(folder, 'package.json');
  if (!existsSync(path)) return undefined;
  const parsed: unknown = JSON.parse(readFileSync(path, 'utf8'));
  return typeof parsed === 'object' && parsed !== null ? (parsed as PackageManifest) : undefined;
}

/**
 * Where a package named in the departments file lives: node_modules from `baseDirectory` upwards,
 * as Node looks, then the adapter packages shipped with the gateway (in production their built
 * copies in dist/packages, which npm ci does not link).
 */
export function locateAdapterPackage(name: string, baseDirectory: string): AdapterPackageLocation | undefined {
  for (let directory = resolve(baseDirectory); ; directory = dirname(directory)) {
    const folder = join(directory, 'node_modules', name);
    const manifest = readManifest(folder);
    if (manifest) return { folder, manifest };
    if (dirname(directory) === directory) break;
  }
  const shipped = fileURLToPath(shippedPackagesFolder);
  if (!existsSync(shipped)) return undefined;
  for (const entry of readdirSync(shipped, { withFileTypes: true })) {
    if (!entry.isDirectory()) continue;
    const folder = join(shipped, entry.name);
    const manifest = readManifest(folder);
    if (manifest?.name === name) return { folder, manifest };
  }
  return undefined;
}

/** The file an export of the package (`.` or `./simulator`) names: `exports` (a string or import/default), else `main`. */
export function exportTarget(manifest: PackageManifest, subpath = '.'): string | undefined {
  const exportsField = manifest.exports;
  const pick = (value: unknown): string | undefined => {
    if (typeof value === 'string') return value;
    if (typeof value === 'object' && value !== null) {
      const conditions = value as Record<string, unknown>;
      return pick(conditions['import'] ?? conditions['node'] ?? conditions['default']);
    }
    return undefined;
  };
  if (typeof exportsField === 'string' || (typeof exportsField === 'object' && exportsField !== null)) {
    const map = exportsField as Record<string, unknown>;
    const isSubpathMap = typeof exportsField === 'object' && Object.keys(map).some((key) => key.startsWith('.'));
    if (!isSubpathMap) return subpath === '.' ? pick(exportsField) : undefined;
    return pick(map[subpath]);
  }
  if (subpath !== '.') return undefined;
  return typeof manifest.main === 'string' ? manifest.main : 'index.js';
}

let sdkProvided = false;

/**
 * Registers (once) the resolve hook that gives every module loaded afterwards the gateway's own
 * SDK for `@onewindow/adapter-sdk` and its exports (`/conformance`, `/testing/*`). The hook is
 * plain JavaScript in a data: URL so it loads the same under tsx and from dist/.
 */
export function provideSdkToAdapters(): void {
  if (sdkProvided) return;
  sdkProvided = true;
  const manifest = readManifest(fileURLToPath(sdkFolder));
  if (!manifest || typeof manifest.name !== 'string')
    throw new Error(`the SDK's package.json is missing in ${sdkFolder}`);
  register(`data:text/javascript,${encodeURIComponent(sdkResolveHook)}`, {
    data: { name: manifest.name, folder: sdkFolder.href, exports: manifest.exports },
  });
}

const sdkResolveHook = `
let sdk;
export function initialize(data) { sdk = data; }
function target(subpath) {
  const map = sdk.exports;
  if (typeof map[subpath] === 'string') return map[subpath];
  for (const [key, value] of Object.entries(map)) {
    const star = key.indexOf('*');
    if (star < 0 || typeof value !== 'string') continue;
    const prefix = key.slice(0, star), suffix = key.slice(star + 1);
    if (subpath.startsWith(prefix) && subpath.endsWith(suffix) && subpath.length >= key.length - 1)
      return value.replace('*', subpath.slice(prefix.length, subpath.length - suffix.length));
  }
  return undefined;
}
export async function resolve(specifier, context, nextResolve) {
  if (specifier === sdk.name || specifier.startsWith(sdk.name + '/')) {
    const found = target('.' + specifier.slice(sdk.name.length));
    if (found !== undefined) return nextResolve(new URL(found, sdk.folder).href, context);
  }
  return nextResolve(specifier, context);
}
`;

/** Imports one export of a located package (its entry by default). */
export async function importFromAdapterPackage(location: AdapterPackageLocation, subpath = '.'): Promise<unknown> {
  const target = exportTarget(location.manifest, subpath);
  if (target === undefined) throw new Error(`its package.json exports no ${subpath}`);
  // The operator named this folder: its package.json may not send the import elsewhere (Node
  // refuses `../` in `exports` too, but not in `main`).
  const file = join(location.folder, target);
  const inside = relative(location.folder, file);
  if (inside === '' || inside.split(sep)[0] === '..' || isAbsolute(inside))
    throw new Error(`its package.json names ${JSON.stringify(target)} for ${subpath}, outside the package's folder`);
  provideSdkToAdapters();
  return import(pathToFileURL(file).href);
}

function isAdapterFactory(value: unknown): value is RegisteredAdapterFactory {
  if (typeof value !== 'object' || value === null) return false;
  const candidate = value as Record<string, unknown>;
  const schema = candidate['optionsSchema'] as { safeParse?: unknown } | undefined;
  return (
    typeof candidate['kind'] === 'string' &&
    /^[a-z][a-z0-9-]{1,39}$/.test(candidate['kind']) &&
    typeof candidate['create'] === 'function' &&
    typeof schema?.safeParse === 'function'
  );
}

/** An out-of-tree adapter loaded for the departments file. */
export interface LoadedAdapterPackage {
  /** The package name or folder, as the departments file gives it. */
  source: string;
  name: string;
  version: string;
  adapterInterface: string;
  factory: RegisteredAdapterFactory;
  location: AdapterPackageLocation;
}

/**
 * Loads one adapter package or folder and checks it: found, a package.json naming a compatible
 * adapter interface, an entry exporting `adapter`. Throws an Error whose message says what is wrong
 * (the caller adds the department).
 */
export async function loadAdapterPackage(
  source: { adapterPackage: string } | { adapterPath: string },
  baseDirectory: string = process.cwd(),
): Promise<LoadedAdapterPackage> {
  const label = 'adapterPackage' in source ? source.adapterPackage : source.adapterPath;
  let location: AdapterPackageLocation | undefined;
  if ('adapterPackage' in source) {
    location = locateAdapterPackage(source.adapterPackage, baseDirectory);
    if (!location)
      throw new Error(
        `adapterPackage "${label}" is not installed (no node_modules/${label}/package.json from ${baseDirectory}, nor a shipped package of that name)`,
      );
  } else {
    const folder = isAbsolute(source.adapterPath) ? source.adapterPath : resolve(baseDirectory, source.adapterPath);
    const manifest = readManifest(folder);
    if (!manifest) throw new Error(`adapterPath "${label}": no package.json in ${folder}`);
    location = { folder, manifest };
  }
  const where = 'adapterPackage' in source ? `adapterPackage "${label}"` : `adapterPath "${label}"`;
  const declared = location.manifest.onewindow?.adapterInterface;
  if (typeof declared !== 'string')
    throw new Error(
      `${where}: its package.json does not say which adapter interface it was written for ("onewindow": {"adapterInterface": "${SDK_INTERFACE_VERSION}"})`,
    );
  const incompatible = interfaceIncompatibility(declared);
  if (incompatible) throw new Error(`${where}: ${incompatible}`);
  let entry: unknown;
  try {
    entry = await importFromAdapterPackage(location);
  } catch (error) {
    throw new Error(
      `${where}: its entry could not be loaded (${error instanceof Error ? error.message : String(error)})`,
    );
  }
  const exported = (entry as { adapter?: unknown } | null)?.adapter;
  if (!isAdapterFactory(exported))
    throw new Error(
      `${where}: its entry exports no adapter (export const adapter = defineAdapter({kind, description, optionsSchema, create}))`,
    );
  return {
    source: label,
    name: typeof location.manifest.name === 'string' ? location.manifest.name : label,
    version: typeof location.manifest.version === 'string' ? location.manifest.version : '0.0.0',
    adapterInterface: declared,
    factory: registerAdapter(exported),
    location,
  };
}

export interface DepartmentAdapters {
  /** The departments, each with `adapter` set to its kind (a loaded package's own kind). */
  departments: DepartmentConfig[];
  /** The shipped factories and those of the loaded packages. */
  factories: RegisteredAdapterFactory[];
  packages: LoadedAdapterPackage[];
}

/**
 * Loads the adapter package or folder of every department that names one, once per package, and
 * returns the departments with their adapter kinds and the factories to build them with. A kind
 * that clashes with a shipped kind or another package's is refused: kinds label metrics and the
 * departments API, so each must mean one adapter.
 */
export async function loadDepartmentAdapters(
  departments: readonly DepartmentConfig[],
  shipped: readonly RegisteredAdapterFactory[],
  baseDirectory: string = process.cwd(),
): Promise<DepartmentAdapters> {
  const problems: string[] = [];
  const bySource = new Map<string, LoadedAdapterPackage | Error>();
  const kinds = new Map(shipped.map((factory) => [factory.kind, 'a shipped adapter']));
  const loaded: LoadedAdapterPackage[] = [];
  const resolved: DepartmentConfig[] = [];
  for (const department of departments) {
    const source =
      department.adapterPackage !== undefined
        ? { adapterPackage: department.adapterPackage }
        : department.adapterPath !== undefined
          ? { adapterPath: department.adapterPath }
          : undefined;
    if (source === undefined) {
      resolved.push(department);
      continue;
    }
    const key = JSON.stringify(source);
    let result = bySource.get(key);
    if (result === undefined) {
      try {
        result = await loadAdapterPackage(source, baseDirectory);
        const holder = kinds.get(result.factory.kind);
        if (holder !== undefined)
          throw new Error(
            `its adapter kind "${result.factory.kind}" is already ${holder}; each kind names one adapter` +
              (holder === 'a shipped adapter'
                ? ` (a shipped kind is named with "adapter": "${result.factory.kind}")`
                : ''),
          );
        kinds.set(result.factory.kind, `the adapter of ${result.source}`);
        loaded.push(result);
      } catch (error) {
        result = error instanceof Error ? error : new Error(String(error));
      }
      bySource.set(key, result);
    }
    if (result instanceof Error) {
      problems.push(`department ${department.code}: ${result.message}`);
      continue;
    }
    resolved.push({ ...department, adapter: result.factory.kind });
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return { departments: resolved, factories: [...shipped, ...loaded.map((entry) => entry.factory)], packages: loaded };
}

/**
 * One export of an adapter package found as `loadAdapterPackage` finds it (the demo's simulators
 * of out-of-tree packages): imported at run time, so the gateway's build never links the package in.
 */
export async function importAdapterPackageExport(
  name: string,
  subpath: string,
  baseDirectory: string = process.cwd(),
): Promise<unknown> {
  const location = locateAdapterPackage(name, baseDirectory);
  if (!location) throw new Error(`adapter package ${name} is not installed`);
  return importFromAdapterPackage(location, subpath);
}
