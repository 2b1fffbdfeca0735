/**
 * Department adapters are packages, loaded here at start, before the registry is built: a
 * department entry names an npm package (`"adapterPackage": "@acme/onewindow-adapter-cab"`), a
 * folder (`"adapterPath": "/opt/adapters/cab"`) or, for the adapters shipped with the gateway, their
 * kind (`"adapter": "psb-population"`, the name departments files used before the shipped adapters
 * became packages), which stands for the shipped package (`shippedAdapterKinds`). Each package.json
 * must say which adapter interface it was written for (`"onewindow": {"adapterInterface": "1.0"}`,
 * checked against the SDK's), and its entry must export `adapter`, an adapter factory. Every problem
 * names its department and the start is refused (ConfigError).
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
/**
 * Where the adapter packages shipped with the gateway lie (npm workspaces of its repository, built
 * into dist/ with it): the department adapters under adapters/ (PSB, AMR, NRB) and packages/ (MCA).
 */
const shippedPackagesFolders = [
  new URL('../../adapters/', import.meta.url),
  new URL('../../packages/', import.meta.url),
];

/**
 * The kinds of the department adapters shipped with the gateway, each standing for its package: a
 * departments file naming `"adapter": "psb-population"` gets `@onewindow/adapter-psb-population`,
 * loaded and checked like any package (the same as naming the package). Kept so that departments
 * files written when these adapters were compiled in keep working; new files name the package.
 */
export const shippedAdapterKinds: Readonly<Record<string, string>> = {
  'psb-population': '@onewindow/adapter-psb-population',
  'amr-enterprise': '@onewindow/adapter-amr-enterprise',
  'nrb-realestate': '@onewindow/adapter-nrb-realestate',
  'mca-marriage': '@onewindow/adapter-mca-marriage',
};

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

/** A package shipped with the gateway, by name: its folder beside the gateway's code. */
function locateShippedPackage(name: string, folders: readonly URL[]): AdapterPackageLocation | undefined {
  for (const url of folders) {
    const shipped = fileURLToPath(url);
    if (!existsSync(shipped)) continue;
    for (const entry of readdirSync(shipped, { withFileTypes: true })) {
      if (!entry.isDirectory()) continue;
      const folder = join(shipped, entry.name);
      const manifest = readManifest(folder);
      if (manifest?.name === name && manifest.onewindow !== undefined) return { folder, manifest };
    }
  }
  return undefined;
}

/**
 * Where a package named in the departments file lives: first among the adapter packages shipped
 * with the gateway (beside its code: the sources in development, their built copies in dist/ in
 * production, where npm ci links no workspace), so a shipped package is always the one built and
 * tested with this gateway, and never looked for elsewhere; other packages in node_modules from
 * `baseDirectory` upwards, as Node looks.
 */
export function locateAdapterPackage(
  name: string,
  baseDirectory: string,
  /** Where shipped packages lie (tests give a build that lacks them). */
  shippedFolders: readonly URL[] = shippedPackagesFolders,
): AdapterPackageLocation | undefined {
  const shipped = locateShippedPackage(name, shippedFolders);
  if (shipped) return shipped;
  // A shipped package missing beside the gateway (a broken build or copy) is missing: a package of
  // the same name in node_modules is not the one built and tested with this gateway.
  if (Object.values(shippedAdapterKinds).includes(name)) return undefined;
  for (let directory = resolve(baseDirectory); ; directory = dirname(directory)) {
    const folder = join(directory, 'node_modules', name);
    const manifest = readManifest(folder);
    if (manifest) return { folder, manifest };
    if (dirname(directory) === directory) break;
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
  /** The compiled-in factories and those of the loaded packages. */
  factories: RegisteredAdapterFactory[];
  packages: LoadedAdapterPackage[];
}

/**
 * Loads the adapter package or folder of every department that names one (or names a shipped
 * kind, `shippedAdapterKinds`), once per package, and returns the departments with their adapter
 * kinds and the factories to build them with. `compiledIn` are the factories compiled into this
 * build (adapters/index.ts: none in the gateway as shipped, a fork's own); a department naming one
 * of their kinds is left as it is. A kind that clashes with a compiled-in kind, a shipped package's
 * kind or another package's is refused: kinds label metrics and the departments API, so each must
 * mean one adapter. A kind that is none of these is left for the registry to refuse (with the
 * other problems of the file).
 */
export async function loadDepartmentAdapters(
  departments: readonly DepartmentConfig[],
  compiledIn: readonly RegisteredAdapterFactory[],
  baseDirectory: string = process.cwd(),
): Promise<DepartmentAdapters> {
  const problems: string[] = [];
  const bySource = new Map<string, LoadedAdapterPackage | Error>();
  const kinds = new Map(compiledIn.map((factory) => [factory.kind, 'a compiled-in adapter']));
  const loaded: LoadedAdapterPackage[] = [];
  const resolved: DepartmentConfig[] = [];
  for (const department of departments) {
    const shippedKind =
      department.adapter !== undefined &&
      !kinds.has(department.adapter) &&
      Object.hasOwn(shippedAdapterKinds, department.adapter)
        ? department.adapter
        : undefined;
    const source =
      department.adapterPackage !== undefined
        ? { adapterPackage: department.adapterPackage }
        : department.adapterPath !== undefined
          ? { adapterPath: department.adapterPath }
          : shippedKind !== undefined
            ? { adapterPackage: shippedAdapterKinds[shippedKind] ?? '' }
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
        const kind = result.factory.kind;
        const shippedPackage = Object.hasOwn(shippedAdapterKinds, kind) ? shippedAdapterKinds[kind] : undefined;
        const holder =
          kinds.get(kind) ??
          (shippedPackage !== undefined && shippedPackage !== result.name
            ? `a shipped adapter (${shippedPackage})`
            : undefined);
        if (holder !== undefined)
          throw new Error(
            `its adapter kind "${kind}" is already ${holder}; each kind names one adapter` +
              (shippedPackage !== undefined
                ? ` (the shipped one is named with "adapterPackage": "${shippedPackage}")`
                : ''),
          );
        kinds.set(kind, `the adapter of ${result.source}`);
        loaded.push(result);
      } catch (error) {
        result = error instanceof Error ? error : new Error(String(error));
      }
      bySource.set(key, result);
    }
    if (result instanceof Error) {
      problems.push(
        `department ${department.code}: ${shippedKind !== undefined ? `adapter "${shippedKind}": ` : ''}${result.message}`,
      );
      continue;
    }
    if (shippedKind !== undefined && result.factory.kind !== shippedKind) {
      problems.push(
        `department ${department.code}: adapter "${shippedKind}": its package ${result.name} exports the kind "${result.factory.kind}"`,
      );
      continue;
    }
    resolved.push({ ...department, adapter: result.factory.kind });
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return {
    departments: resolved,
    factories: [...compiledIn, ...loaded.map((entry) => entry.factory)],
    packages: loaded,
  };
}

/**
 * One export of an adapter package found as `loadAdapterPackage` finds it (the demo's simulators,
 * from the shipped packages): imported at run time, so the gateway's code never links a package in.
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
