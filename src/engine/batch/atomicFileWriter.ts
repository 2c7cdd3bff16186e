// A text file written piece by piece and published at once: the pieces go to a temp file beside
// it (buffered, so 100,000 rows are not 100,000 writes) and commit() renames it into place, so a
// reader never sees half a summary and a killed run leaves the previous one (or none). The
// streaming counterpart of outputs.ts' writeAtomic, for files too big to build in memory.
import * as fs from 'node:fs';

const FLUSH_AT = 1 << 16;
let tmpCounter = 0;

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
    return new AtomicFileWriter(file, tmp, await fs.promises.open(tmp, 'w'));
  }

  async write(text: string): Promise<void> {
    this.pending.push(text);
    this.pendingLength += text.length;
    if (this.pendingLength >= FLUSH_AT) await this.flush();
  }

  /** Writes what is buffered, closes and renames the temp file onto `file`. */
  async commit(): Promise<void> {
    await this.flush();
    this.closed = true;
    await this.handle.close();
    await fs.promises.rename(this.tmp, this.file);
  }

  /** Drops the temp file (after an error); `file` keeps whatever it held before. */
  async discard(): Promise<void> {
    if (!this.closed) {
      this.closed = true;
      await this.handle.close().catch(() => undefined);
    }
    await fs.promises.rm(this.tmp, { force: true });
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
