/**
 * A large JSON value handed from a worker thread to the event loop in slices, each parsed in a turn
 * of its own. Parsing costs per value, not per byte, and the worst shapes cost ~1 µs a value:
 * 60,000 objects of one distinct key each (a contract's allowed 120,000 values) held the loop
 * 50–150 ms as one `JSON.parse`, and cloning the object graph across threads costs the same. In
 * slices of at most `MAX_VALUES_PER_SLICE` values no turn holds it more than a few milliseconds.
 */

/** Keys from the root to a container: object member names and array indexes. */
export type JsonPath = (string | number)[];

export type JsonSlice =
  /** The whole value at `at` (the root when `at` is empty), as JSON text. */
  | { at: JsonPath; json: string }
  /** An empty object or array at `at`, filled by the slices after it. */
  | { at: JsonPath; container: 'object' | 'array' }
  /** Members (a JSON object's text) added in order to the object at `into`. */
  | { into: JsonPath; members: string }
  /** Items (a JSON array's text) appended in order to the array at `into`. */
  | { into: JsonPath; items: string };

/** Values per slice: the worst shapes parse in ~10 ms at this many (docs/contract-gate.md). */
export const MAX_VALUES_PER_SLICE = 8_000;

type JsonContainer = Record<string, unknown> | unknown[];

const isContainer = (value: unknown): value is JsonContainer => typeof value === 'object' && value !== null;

const entriesOf = (container: JsonContainer): [string | number, unknown][] =>
  Array.isArray(container) ? container.map((item, index) => [index, item]) : Object.entries(container);

/**
 * Cuts a parsed JSON value (plain data, no cycles) into slices of at most `maxValues` values each,
 * except that an object or array is always one slice's container: its members are grouped in order.
 */
export function sliceJson(value: unknown, maxValues = MAX_VALUES_PER_SLICE): JsonSlice[] {
  const sizes = new Map<JsonContainer, number>();
  const sizeOf = (node: unknown): number => {
    if (!isContainer(node)) return 1;
    let size = sizes.get(node);
    if (size === undefined) {
      size = 1;
      for (const child of Array.isArray(node) ? node : Object.values(node)) size += sizeOf(child);
      sizes.set(node, size);
    }
    return size;
  };

  const slices: JsonSlice[] = [];
  const emit = (node: unknown, at: JsonPath): void => {
    if (!isContainer(node) || sizeOf(node) <= maxValues) {
      slices.push({ at, json: JSON.stringify(node) });
      return;
    }
    const isArray = Array.isArray(node);
    slices.push({ at, container: isArray ? 'array' : 'object' });
    let group: [string | number, unknown][] = [];
    let groupSize = 0;
    const flush = () => {
      if (group.length === 0) return;
      slices.push(
        isArray
          ? { into: at, items: JSON.stringify(group.map(([, item]) => item)) }
          : // `Object.fromEntries` defines each key as an own member, `__proto__` included.
            { into: at, members: JSON.stringify(Object.fromEntries(group)) },
      );
      group = [];
      groupSize = 0;
    };
    for (const [key, child] of entriesOf(node)) {
      const childSize = sizeOf(child);
      if (childSize > maxValues) {
        flush();
        emit(child, [...at, key]);
        continue;
      }
      if (groupSize + childSize > maxValues) flush();
      group.push([key, child]);
      groupSize += childSize;
    }
    flush();
  };
  emit(value, []);
  return slices;
}

const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

/** Sets `key` as an own data member: a `__proto__` member stays data, not the prototype. */
function place(container: JsonContainer, key: string | number, value: unknown): void {
  if (Array.isArray(container)) {
    if (key !== container.length) throw new Error(`JSON slices out of order: item ${key} after ${container.length}`);
    container.push(value);
    return;
  }
  Object.defineProperty(container, key, { value, writable: true, enumerable: true, configurable: true });
}

/** Builds the value `sliceJson` cut, parsing one slice per turn of the event loop. */
export async function assembleJsonSlices(slices: readonly JsonSlice[]): Promise<unknown> {
  let root: unknown;
  const containerAt = (path: JsonPath): JsonContainer => {
    let node = root;
    for (const key of path) node = (node as Record<string | number, unknown>)[key];
    if (!isContainer(node)) throw new Error(`JSON slices: no container at /${path.join('/')}`);
    return node;
  };
  for (const [index, slice] of slices.entries()) {
    if (index > 0) await nextTurn();
    if ('into' in slice) {
      const target = containerAt(slice.into);
      if ('items' in slice) {
        if (!Array.isArray(target)) throw new Error('JSON slices: items for an object');
        for (const item of JSON.parse(slice.items) as unknown[]) target.push(item);
      } else {
        const members = JSON.parse(slice.members) as Record<string, unknown>;
        for (const key of Object.keys(members)) place(target, key, members[key]);
      }
      continue;
    }
    const value = 'json' in slice ? (JSON.parse(slice.json) as unknown) : slice.container === 'array' ? [] : {};
    if (slice.at.length === 0) root = value;
    else place(containerAt(slice.at.slice(0, -1)), slice.at[slice.at.length - 1]!, value);
  }
  return root;
}
