/**
 * Reading every page of a paged answer, bounded: the department decides how many pages there are,
 * so the adapter caps pages and items (a department that keeps answering "more" must not hold a
 * call forever or fill memory). Going past a cap is `oversized`, as the SDK's size cap is.
 */
import { DepartmentError } from '../errors.js';

export interface Page<Item> {
  items: readonly Item[];
  /** Total items the department says there are, when it says so. */
  total?: number;
  /** Whether another page follows; when absent, derived from `total` or a short page. */
  hasMore?: boolean;
}

export interface CollectPagesOptions {
  /** Items asked for per page (page sizes the department answers are not trusted beyond it). */
  pageSize: number;
  /** Pages read at most. */
  maxPages: number;
  /** Items kept at most. Default `pageSize * maxPages`. */
  maxItems?: number;
  /** For errors: department, operation, message prefix. */
  department: string;
  operation: string;
  source: string;
}

/**
 * Calls `fetchPage(1)`, `fetchPage(2)`, … (1-based) until the last page and returns every item.
 * The end is the first of: `hasMore === false`; `total` reached; a page shorter than `pageSize`;
 * an empty page. More pages than `maxPages` or more items than `maxItems` throws `oversized`; a
 * page larger than `pageSize` throws `malformed`.
 */
export async function collectPages<Item>(
  fetchPage: (page: number) => Promise<Page<Item>>,
  options: CollectPagesOptions,
): Promise<Item[]> {
  const maxItems = options.maxItems ?? options.pageSize * options.maxPages;
  const fail = (kind: 'oversized' | 'malformed', message: string): never => {
    throw new DepartmentError(kind, `${options.source}: ${message}`, {
      department: options.department,
      operation: options.operation,
    });
  };
  const items: Item[] = [];
  for (let page = 1; ; page++) {
    if (page > options.maxPages) fail('oversized', `more than ${options.maxPages} pages`);
    const answer = await fetchPage(page);
    if (answer.items.length > options.pageSize)
      fail('malformed', `page ${page} holds more than the ${options.pageSize} items asked for`);
    if (items.length + answer.items.length > maxItems) fail('oversized', `more than ${maxItems} items`);
    items.push(...answer.items);
    const more =
      answer.hasMore ??
      (answer.total !== undefined ? items.length < answer.total : answer.items.length === options.pageSize);
    if (!more || answer.items.length === 0) return items;
  }
}
