// summary.jsonl: the rows of a batch run appended as they finish, one JSON object a line, so
// that the run never holds its rows in memory and a killed run (SIGKILL, power loss) leaves
// every finished row on disk: each row is one write of a whole line, and a reader drops a last
// line without its newline. The summaries (summary.csv/json, report.html) are built from it at
// the end, in path order, through an index of byte offsets: 16 bytes per image and method
// instead of its rows (100,000 rows: 1.6 MB). A detector's image has a row per detection, written
// together: one slot holds their lines, one range of bytes. `camlens merge` reads the journals of finished runs back
// (indexJournal, readRowsAt).
import * as fs from 'node:fs';
import * as readline from 'node:readline';
import { CamLensError } from '../errors';
import { compareImageRows, compareRows } from './outputs';
import type { SummaryRow } from './types';

export const JOURNAL_NAME = 'summary.jsonl';

export class SummaryJournal {
  /** Byte offset of each slot's line, -1 while the slot has no row. */
  private readonly offsets: Float64Array;
  /** Each slot's lines' length in bytes, without the last newline. */
  private readonly lengths: Uint32Array;
  /** Each slot's rows (a detector's image and method: one per detection). */
  private readonly counts: Uint32Array;
  private position = 0;
  private fd: number | undefined;
  /** Every metric name seen (the CSV's `metric:*` columns need them before the first row). */
  readonly metricNames = new Set<string>();
  /** Whether a row explains a detection (the summaries' box columns). */
  boxes = false;
  private filled = 0;

  /**
   * Starts an empty journal at `file` (a previous one is replaced: --resume rebuilds its rows
   * from the per-image files). `slots`: how many images × methods the run can have; a slot's
   * place is its rows' place in the summaries' order.
   */
  constructor(
    readonly file: string,
    slots: number,
  ) {
    this.offsets = new Float64Array(slots).fill(-1);
    this.lengths = new Uint32Array(slots);
    this.counts = new Uint32Array(slots);
    this.fd = fs.openSync(file, 'w');
  }

  get rowCount(): number {
    return this.filled;
  }

  /** Appends `rows` (one image and method: one row, or one per detection) as one line each, in one write. A slot written twice keeps its last rows. */
  append(slot: number, rows: SummaryRow | readonly SummaryRow[]): void {
    if (this.fd === undefined) throw new Error(`summary journal ${this.file} is closed`);
    if (!(slot >= 0 && slot < this.offsets.length)) throw new RangeError(`summary journal slot ${slot} is outside 0..${this.offsets.length - 1}`);
    const list: readonly SummaryRow[] = Array.isArray(rows) ? rows : [rows as SummaryRow];
    if (!list.length) throw new RangeError(`summary journal slot ${slot}: no rows`);
    const line = Buffer.from(list.map((row) => JSON.stringify(row) + '\n').join(''), 'utf8');
    // Synchronous on purpose: one line is a few hundred bytes into the page cache, and a single
    // writer keeps the lines whole and in the order the offsets say.
    let written = 0;
    try {
      while (written < line.length) written += fs.writeSync(this.fd, line, written, line.length - written, this.position + written);
    } catch (e) {
      this.close(); // the run fails on this error; the lines before it stay valid
      throw e;
    }
    this.filled += list.length - this.counts[slot];
    this.offsets[slot] = this.position;
    this.lengths[slot] = line.length - 1;
    this.counts[slot] = list.length;
    this.position += line.length;
    for (const row of list) {
      for (const name of Object.keys(row.metrics ?? {})) this.metricNames.add(name);
      this.boxes ||= row.box !== undefined;
    }
  }

  close(): void {
    if (this.fd !== undefined) fs.closeSync(this.fd);
    this.fd = undefined;
  }

  /** The journalled rows in slot order, read back one at a time (nothing else is kept). */
  *rowsInOrder(): Generator<SummaryRow> {
    const { offsets, lengths } = this;
    function* ranges(): Generator<LineRange> {
      for (let slot = 0; slot < offsets.length; slot++) if (offsets[slot] >= 0) yield { offset: offsets[slot], length: lengths[slot] };
    }
    yield* readRowsAt(this.file, ranges());
  }
}

/** Where lines of a journal lie: the first byte and the length without the last newline. */
export interface LineRange {
  offset: number;
  length: number;
}

/** One row of a finished journal: its key and where its line lies. */
export interface JournalEntry extends LineRange, Pick<SummaryRow, 'path' | 'method' | 'box'> {}

/** The rows at `ranges` of a journal (each one or more whole lines), read and parsed one at a time. */
export function* readRowsAt(file: string, ranges: Iterable<LineRange>): Generator<SummaryRow> {
  const fd = fs.openSync(file, 'r');
  let buffer = Buffer.alloc(4096);
  try {
    for (const { offset, length } of ranges) {
      if (buffer.length < length) buffer = Buffer.alloc(2 * length);
      let read = 0;
      while (read < length) {
        const n = fs.readSync(fd, buffer, read, length - read, offset + read);
        if (n === 0) throw new CamLensError('BAD_ARGUMENT', `summary journal ${file} ends before its row at byte ${offset}; was it changed meanwhile?`);
        read += n;
      }
      for (const line of buffer.toString('utf8', 0, length).split('\n')) yield JSON.parse(line) as SummaryRow;
    }
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * The rows of a finished journal in summary order (path, method, detection), as keys and byte
 * ranges: the rows themselves are read again with readRowsAt. Rows journalled twice for one path
 * and method keep the later write (as SummaryJournal does): the later run of lines of that key
 * replaces the earlier one whole, however many detections each had; a last line without its
 * newline (a writer killed mid-line) is left out. Costs the keys: ~100 bytes plus the path per row.
 */
export async function indexJournal(file: string): Promise<JournalEntry[]> {
  const size = (await fs.promises.stat(file)).size;
  const input = fs.createReadStream(file);
  const lines = readline.createInterface({ input, crlfDelay: Infinity });
  const entries: JournalEntry[] = [];
  /** Per entry: where the run of lines of its path and method (one write) starts. */
  const writes: number[] = [];
  /** Per path and method: where its last write starts. */
  const lastWrite = new Map<string, number>();
  let offset = 0;
  let lineNumber = 0;
  try {
    for await (const line of lines) {
      lineNumber++;
      const length = Buffer.byteLength(line, 'utf8');
      if (offset + length >= size) break; // no newline after it
      if (line) {
        let row: Partial<SummaryRow>;
        try {
          row = JSON.parse(line) as Partial<SummaryRow>;
        } catch (e) {
          throw new CamLensError('BAD_ARGUMENT', `${file}:${lineNumber}: not a JSON row (${(e as Error).message}).`);
        }
        if (typeof row.path !== 'string' || typeof row.method !== 'string')
          throw new CamLensError('BAD_ARGUMENT', `${file}:${lineNumber}: a row without "path" and "method".`);
        const previous = entries[entries.length - 1];
        const key = `${row.path}\u0000${row.method}`;
        const write = previous && compareImageRows(previous, row as SummaryRow) === 0 ? writes[writes.length - 1] : offset;
        lastWrite.set(key, write);
        entries.push({ path: row.path, method: row.method, ...(typeof row.box === 'number' ? { box: row.box } : {}), offset, length });
        writes.push(write);
      }
      offset += length + 1;
    }
  } finally {
    lines.close();
    input.destroy();
  }
  const current = entries.filter((e, i) => lastWrite.get(`${e.path}\u0000${e.method}`) === writes[i]);
  current.sort((a, b) => compareRows(a, b) || a.offset - b.offset);
  return current.filter((e, i) => i + 1 === current.length || compareRows(e, current[i + 1]) !== 0);
}
