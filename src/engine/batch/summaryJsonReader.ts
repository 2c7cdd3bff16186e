// Reads a summary.json (`{ ...figures, "rows": [ {...}, ... ] }`) without holding its rows:
// `camlens merge` goes through shards of any size a row at a time. A small scanner follows the
// JSON's nesting (strings and escapes included) across read chunks, hands each element of the
// top-level "rows" array over as text, and keeps everything else (the figures, a few hundred
// bytes) to parse at the end. Any whitespace layout is accepted, not only the one we write.
import * as fs from 'node:fs';
import { CamLensError } from '../errors';
import type { SummaryRow } from './types';

const QUOTE = 0x22, BACKSLASH = 0x5c, COLON = 0x3a, COMMA = 0x2c;
const OPEN_OBJECT = 0x7b, CLOSE_OBJECT = 0x7d, OPEN_ARRAY = 0x5b, CLOSE_ARRAY = 0x5d;

/** Exported for the tests, which feed it chunks as small as one character. */
export class RowsScanner {
  private depth = 0;
  private inString = false;
  private escaped = false;
  /** Text of the string being read at depth 1 (a key, or a figure's value). */
  private topString: string | undefined;
  private lastTopString = '';
  private key: string | undefined;
  private inRows = false;
  private seenRows = false;
  /** Start of the row being read in the current chunk (-1: none), and its text from earlier chunks. */
  private rowStart = -1;
  private rowHead = '';
  private readonly rest: string[] = [];

  constructor(private readonly onRow: (json: string) => void) {}

  feed(chunk: string): void {
    let restFrom = this.inRows ? -1 : 0;
    if (this.rowStart >= 0) this.rowStart = 0;
    for (let i = 0; i < chunk.length; i++) {
      const c = chunk.charCodeAt(i);
      if (this.inString) {
        if (this.escaped) this.escaped = false;
        else if (c === BACKSLASH) this.escaped = true;
        else if (c === QUOTE) {
          this.inString = false;
          if (this.topString !== undefined) {
            this.lastTopString = this.topString;
            this.topString = undefined;
          }
          continue;
        }
        if (this.topString !== undefined) this.topString += chunk[i];
        continue;
      }
      if (c === QUOTE) {
        this.inString = true;
        if (this.depth === 1) this.topString = '';
      } else if (this.depth === 1 && c === COLON) this.key = this.lastTopString;
      else if (this.depth === 1 && c === COMMA) this.key = undefined;
      else if (c === OPEN_OBJECT || c === OPEN_ARRAY) {
        if (this.depth === 1 && c === OPEN_ARRAY && this.key === 'rows' && !this.seenRows) {
          // The figures keep an empty array; the rows go to onRow.
          this.rest.push(chunk.slice(restFrom, i + 1));
          restFrom = -1;
          this.inRows = this.seenRows = true;
        } else if (this.inRows && this.depth === 2 && c === OPEN_OBJECT) this.rowStart = i;
        this.depth++;
      } else if (c === CLOSE_OBJECT || c === CLOSE_ARRAY) {
        this.depth--;
        if (this.inRows && this.depth === 2 && c === CLOSE_OBJECT && this.rowStart >= 0) {
          this.onRow(this.rowHead + chunk.slice(this.rowStart, i + 1));
          this.rowHead = '';
          this.rowStart = -1;
        } else if (this.inRows && this.depth === 1) {
          this.inRows = false;
          restFrom = i;
        }
      }
    }
    if (this.rowStart >= 0) this.rowHead += chunk.slice(this.rowStart);
    if (restFrom >= 0) this.rest.push(chunk.slice(restFrom));
  }

  /** The figures (everything but the rows), with `rows: []`. */
  end(file: string): Record<string, unknown> {
    let meta: unknown;
    try {
      meta = JSON.parse(this.rest.join(''));
    } catch (e) {
      throw new CamLensError('BAD_ARGUMENT', `${file} is not valid JSON (${(e as Error).message}); was it cut short?`);
    }
    if (!this.seenRows || typeof meta !== 'object' || meta === null) throw new CamLensError('BAD_ARGUMENT', `${file} has no "rows" array; is it a camlens batch summary?`);
    return meta as Record<string, unknown>;
  }
}

function readError(file: string, e: unknown): CamLensError {
  if (e instanceof CamLensError) return e;
  return new CamLensError('BAD_ARGUMENT', `Cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}.`);
}

/** The rows of a summary.json in file order, parsed one at a time. */
export async function* readSummaryRows(file: string): AsyncGenerator<SummaryRow> {
  let ready: string[] = [];
  const scanner = new RowsScanner((json) => ready.push(json));
  const stream = fs.createReadStream(file, { encoding: 'utf8', highWaterMark: 1 << 16 });
  try {
    for await (const chunk of stream) {
      scanner.feed(chunk as string);
      const texts = ready;
      ready = [];
      for (const text of texts) {
        let row: SummaryRow;
        try {
          row = JSON.parse(text) as SummaryRow;
        } catch (e) {
          throw new CamLensError('BAD_ARGUMENT', `${file}: a row is not valid JSON (${(e as Error).message}).`);
        }
        yield row;
      }
    }
  } catch (e) {
    throw readError(file, e);
  } finally {
    stream.destroy();
  }
  scanner.end(file);
}

/** The figures of a summary.json (model, inputs, methods, total, ...), its rows skipped. */
export async function readSummaryMeta(file: string): Promise<Record<string, unknown>> {
  const scanner = new RowsScanner(() => undefined);
  try {
    for await (const chunk of fs.createReadStream(file, { encoding: 'utf8', highWaterMark: 1 << 16 })) scanner.feed(chunk as string);
  } catch (e) {
    throw readError(file, e);
  }
  return scanner.end(file);
}
