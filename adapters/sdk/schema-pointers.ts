/** JSON pointers into a contract document: shared by the compiled and the interpreted checks. */

export type JsonObject = Record<string, unknown>;

/** The keys of an OpenAPI path item that hold operations. */
export const HTTP_METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'] as const;

export function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function escapePointerToken(token: string): string {
  return token.replace(/~/g, '~0').replace(/\//g, '~1');
}

/** A JSON pointer as a URI fragment (Ajv percent-decodes it before reading the pointer). */
export function fragmentOf(tokens: readonly string[]): string {
  return tokens.map((token) => encodeURIComponent(escapePointerToken(token))).join('/');
}

export function resolveLocalPointer(document: JsonObject, ref: string): { value: unknown; tokens: string[] } {
  if (!ref.startsWith('#/')) throw new Error(`only local references are supported (${ref})`);
  const tokens = ref
    .slice(2)
    .split('/')
    .map((token) => decodeURIComponent(token).replace(/~1/g, '/').replace(/~0/g, '~'));
  let value: unknown = document;
  for (const token of tokens) {
    if (!isObject(value) && !Array.isArray(value)) throw new Error(`reference ${ref} does not resolve`);
    value = (value as JsonObject)[token];
  }
  if (value === undefined) throw new Error(`reference ${ref} does not resolve`);
  return { value, tokens };
}

/** Follows `$ref`s of non-schema objects (path items, responses), keeping where they led. */
export function follow(document: JsonObject, value: unknown, tokens: string[]): { value: unknown; tokens: string[] } {
  let current = { value, tokens };
  for (let hops = 0; hops < 16 && isObject(current.value) && typeof current.value['$ref'] === 'string'; hops++) {
    current = resolveLocalPointer(document, current.value['$ref']);
  }
  return current;
}
