// CSV files the user gives (ground-truth labels for a batch, boxes for the metrics), read by
// csv-parse: quoted fields holding commas, doubled quotes or newlines, a UTF-8 BOM, CRLF or LF.
// Lenient where a hand-made file tends to be loose: rows may differ in length, blank rows are
// skipped, spaces around cells are dropped, and a quote inside an unquoted cell is a character.
import * as fs from 'node:fs';
import { parse } from 'csv-parse/sync';
import { CamLensError } from './errors';

export interface CsvRecord {
  cells: string[];
  /** The line the record ends on (1-based; a quoted newline makes a record span lines). */
  line: number;
}

/** The records of a CSV file; `what` names the file in errors ("the ground-truth CSV"). */
export function readCsv(file: string, what: string): CsvRecord[] {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    throw new CamLensError('BAD_ARGUMENT', `Cannot read ${what} ${file}: ${(e as NodeJS.ErrnoException).code ?? e}.`);
  }
  return parseCsv(text, `${what} ${file}`);
}

export function parseCsv(text: string, source: string): CsvRecord[] {
  try {
    // With `info`, each record comes as { record, info }; csv-parse's types do not say so.
    const records = parse(text, {
      bom: true,
      info: true,
      relax_column_count: true,
      relax_quotes: true,
      skip_empty_lines: true,
      skip_records_with_empty_values: true,
      trim: true,
    }) as unknown as Array<{ record: string[]; info: { lines: number } }>;
    return records.map(({ record, info }) => ({ cells: record, line: info.lines }));
  } catch (e) {
    throw new CamLensError('BAD_ARGUMENT', `${source} is not valid CSV: ${(e as Error).message}.`);
  }
}

/**
 * One cell of a CSV CamLens writes (summary.csv of batch and evaluate). Numbers are written as
 * numbers (formatted by the caller): -0.5 is a score, not a formula. Text — file names, labels,
 * errors, which a hostile workspace chooses — that starts with =, +, -, @, a tab or a CR gets a
 * leading ' so a spreadsheet shows it instead of evaluating it (the OWASP rule for CSV
 * injection); text holding a comma, quote or line break is quoted.
 */
export function csvCell(v: string | number | null | undefined, formatNumber: (n: number) => string = String): string {
  if (v === null || v === undefined) return '';
  const s = typeof v === 'number' ? formatNumber(v) : /^[=+\-@\t\r]/.test(v) ? `'${v}` : v;
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}
