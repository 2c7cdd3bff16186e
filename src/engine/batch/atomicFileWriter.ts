// Every output file CamLens writes is published at once: written to a temp file beside it, then
// renamed into place, so a reader never sees half a file and a killed run or a full disk leaves
// the previous file (or none), never a truncated one. writeAtomic does it for a file built in
// memory (per-image .npy, .png, .json); AtomicFileWriter for one written piece by piece (the
// summaries: buffered, so 100,000 rows are not 100,000 writes). A failure names the file.
import * as fs from 'node:fs';
import { CamLensError } from '../errors';

const FLUSH_AT = 1 << 16;
let tmpCounter = 0;

const REASONS: Record<string, string> = {
  EFBIG: 'the file is larger than this process may write (ulimit -f)',
  ENOSPC: 'the disk is full',
  EDQUOT: 'the disk quota is used up',
  EACCES: 'permission denied',
  EPERM: 'permission denied',
  EROFS: 'the file system is read-only',
  ENOTDIR: 'a part of the path is a file, not a folder',
  EISDIR: 'a folder is in the way',
};

/** The error for an output that could not be written: names the file and, where known, why. */
export function outputWriteError(file: string, e: unknown): CamLensError {
  const code = (e as NodeJS.ErrnoException).code;
  const why = code ? `${code}${REASONS[code] ? `: ${REASONS[code]}` : ''}` : (e as Error).message;
  return new CamLensError('BAD_ARGUMENT', `Could not write ${file} (${why}).`, { file, ...(code ? { errno: code } : {}) });
}

/**
 * Writes `data` to `file` through a temp file and a rename; on failure the temp file is removed.
 * `data` may come in pieces (a .npy's header and its values: npyParts), written by one writev.
 */
export async function writeAtomic(file: string, data: FileData): Promise<void> {
  const tmp = `${file}.tmp-${process.pid}-${tmpCounter++}`;
  try {
    const handle = await fs.promises.open(tmp, 'w');
    try {
      for (let rest = piecesOf(data); rest.length;) rest = unwritten(rest, (await handle.writev(rest)).bytesWritten);
    } finally {
      await handle.close();
    }
    await fs.promises.rename(tmp, file);
  } catch (e) {
    // rm's own failure (the folder is not there to hold a temp file) must not hide why.
    await fs.promises.rm(tmp, { force: true }).catch(() => undefined);
    throw outputWriteError(file, e);
  }
}

/** writeAtomic on this thread (blocking): for a worker process only (outputs.ts: writeMapFilesNow). */
export function writeAtomicNow(file: string, data: FileData): void {
  const tmp = `${file}.tmp-${process.pid}-${tmpCounter++}`;
  try {
    const fd = fs.openSync(tmp, 'w');
    try {
      for (let rest = piecesOf(data); rest.length;) rest = unwritten(rest, fs.writevSync(fd, rest));
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(tmp, file);
  } catch (e) {
    removeQuietly(tmp);
    throw outputWriteError(file, e);
  }
}

function removeQuietly(file: string): void {
  try {
    fs.rmSync(file, { force: true });
  } catch {
    // as in writeAtomic: the write's error is the one to report
  }
}

/** A file's contents: bytes, text (UTF-8), or pieces (a .npy's header and values: npyParts). */
export type FileData = Uint8Array | string | readonly Uint8Array[];

/** The non-empty pieces of `data`, for writev. */
function piecesOf(data: FileData): Uint8Array[] {
  const pieces = typeof data === 'string' ? [Buffer.from(data, 'utf8')] : data instanceof Uint8Array ? [data] : data;
  return pieces.filter((p) => p.byteLength > 0);
}

/** What a writev of `pieces` left unwritten after `bytesWritten` (a short write: a signal, a nearly full disk). */
function unwritten(pieces: readonly Uint8Array[], bytesWritten: number): Uint8Array[] {
  const left: Uint8Array[] = [];
  for (const p of pieces) {
    if (bytesWritten >= p.byteLength) bytesWritten -= p.byteLength;
    else {
      left.push(bytesWritten ? p.subarray(bytesWritten) : p);
      bytesWritten = 0;
    }
  }
  return left;
}

export class AtomicFileWriter {
  private pending: string[] = [];
  private pendingLength = 0;
  private closed = false;

  private constructor(
    readonly file: string,
    private readonly tmp: string,
    private readonly handle: fs.promises.FileHandle,
  ) {}

  static async open(file: string): Promise<AtomicFileWriter> {
    const tmp = `${file}.tmp-${process.pid}-s${tmpCounter++}`;
    try {
      return new AtomicFileWriter(file, tmp, await fs.promises.open(tmp, 'w'));
    } catch (e) {
      throw outputWriteError(file, e);
    }
  }

  async write(text: string): Promise<void> {
    this.pending.push(text);
    this.pendingLength += text.length;
    if (this.pendingLength >= FLUSH_AT) await this.named(() => this.flush());
  }

  /** Writes what is buffered, closes and renames the temp file onto `file`. */
  async commit(): Promise<void> {
    await this.named(async () => {
      await this.flush();
      this.closed = true;
      await this.handle.close();
      await fs.promises.rename(this.tmp, this.file);
    });
  }

  /** Drops the temp file (after an error); `file` keeps whatever it held before. */
  async discard(): Promise<void> {
    if (!this.closed) {
      this.closed = true;
      await this.handle.close().catch(() => undefined);
    }
    await fs.promises.rm(this.tmp, { force: true });
  }

  private async named(step: () => Promise<void>): Promise<void> {
    try {
      await step();
    } catch (e) {
      throw outputWriteError(this.file, e);
    }
  }

  private async flush(): Promise<void> {
    if (!this.pending.length) return;
    const bytes = Buffer.from(this.pending.join(''), 'utf8');
    this.pending = [];
    this.pendingLength = 0;
    let offset = 0;
    while (offset < bytes.length) offset += (await this.handle.write(bytes, offset, bytes.length - offset)).bytesWritten;
  }
}
