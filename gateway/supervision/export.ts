/**
 * The tables of the supervision page as files: CSV (UTF-8 with a byte order mark, so Excel on a
 * Chinese Windows reads the characters instead of guessing GBK) and XLSX (exceljs; one worksheet
 * per table). A cell that a spreadsheet would run as a formula (`=`, `+`, `-`, `@`, tab, carriage
 * return first) is written as text with a leading apostrophe in CSV (OWASP "CSV injection"); in
 * XLSX every string is a string cell, which is never evaluated.
 */
import ExcelJS from 'exceljs';

export type ExportCell = string | number | null;

export interface ExportTable {
  /** Stable id: the HTML table's id and the `table` query parameter. */
  id: string;
  /** The heading, in the page's language: the worksheet's name. */
  title: string;
  columns: string[];
  rows: ExportCell[][];
}

export const EXPORT_FORMATS = ['csv', 'xlsx'] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

const BYTE_ORDER_MARK = '\uFEFF';
const FORMULA_START = /^[=+\-@\t\r]/;

function csvCell(cell: ExportCell): string {
  if (cell === null) return '';
  if (typeof cell === 'number') return String(cell);
  const text = FORMULA_START.test(cell) ? `'${cell}` : cell;
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

/** RFC 4180 CSV with CRLF line ends and a UTF-8 byte order mark. */
export function tableAsCsv(table: ExportTable): string {
  const lines = [table.columns, ...table.rows].map((row) => row.map(csvCell).join(','));
  return `${BYTE_ORDER_MARK}${lines.join('\r\n')}\r\n`;
}

/** A worksheet name Excel accepts: at most 31 characters, none of `[]:*?/\`, unique in the book. */
function sheetName(title: string, taken: Set<string>): string {
  const base =
    title
      .replace(/[[\]:*?/\\]/g, ' ')
      .trim()
      .slice(0, 28) || 'Sheet';
  let name = base;
  for (let index = 2; taken.has(name.toLowerCase()); index += 1) name = `${base.slice(0, 26)} ${index}`;
  taken.add(name.toLowerCase());
  return name;
}

/** One workbook, a worksheet per table: bold header row, frozen, columns sized to their text. */
export async function tablesAsXlsx(tables: ExportTable[], creator: string): Promise<Buffer> {
  const workbook = new ExcelJS.Workbook();
  workbook.creator = creator;
  const taken = new Set<string>();
  for (const table of tables) {
    const sheet = workbook.addWorksheet(sheetName(table.title, taken), {
      views: [{ state: 'frozen', ySplit: 1 }],
    });
    sheet.addRow(table.columns).font = { bold: true };
    for (const row of table.rows) sheet.addRow(row.map((cell) => cell ?? ''));
    table.columns.forEach((column, index) => {
      const widest = Math.max(
        ...[column, ...table.rows.map((row) => row[index])].map((cell) =>
          // A CJK character is about two columns wide.
          [...String(cell ?? '')].reduce((width, char) => width + (/[\u2e80-\uffff]/.test(char) ? 2 : 1), 0),
        ),
      );
      sheet.getColumn(index + 1).width = Math.min(60, Math.max(8, widest + 2));
    });
  }
  return Buffer.from(await workbook.xlsx.writeBuffer());
}
