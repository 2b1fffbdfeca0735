/**
 * The adapter interface this SDK implements, as `major.minor` (the SDK package's version without
 * its patch; a test keeps the two in step). An adapter package names in its package.json
 * (`"onewindow": { "adapterInterface": "1.0" }`) the interface it was written against; the gateway
 * loads it only when that interface has the same major and a minor no greater than this one
 * (adapters/README.md, "Compatibility").
 */
export const SDK_INTERFACE_VERSION = '1.0';

/** `major.minor` as two numbers, or undefined when the text is not one. */
export function parseInterfaceVersion(text: string): { major: number; minor: number } | undefined {
  const match = /^(0|[1-9]\d{0,5})\.(0|[1-9]\d{0,5})$/.exec(text);
  if (!match) return undefined;
  return { major: Number(match[1]), minor: Number(match[2]) };
}

/**
 * Why an adapter written against `declared` cannot run on this SDK, or undefined when it can: same
 * major (a major changes the interface incompatibly) and a minor no newer than the SDK's (a minor
 * adds what an adapter may use, so an adapter for 1.3 may need what SDK 1.2 lacks).
 */
export function interfaceIncompatibility(
  declared: string,
  supported: string = SDK_INTERFACE_VERSION,
): string | undefined {
  const wanted = parseInterfaceVersion(declared);
  const offered = parseInterfaceVersion(supported);
  if (!offered) throw new Error(`the SDK's own interface version ${supported} is not major.minor`);
  if (!wanted) return `its adapter interface version "${declared}" is not major.minor (e.g. "1.0")`;
  if (wanted.major !== offered.major)
    return `it was written for adapter interface ${declared}, and this gateway's SDK implements ${supported} (another major version)`;
  if (wanted.minor > offered.minor)
    return `it was written for adapter interface ${declared}, newer than this gateway's SDK (${supported}): upgrade the gateway`;
  return undefined;
}
