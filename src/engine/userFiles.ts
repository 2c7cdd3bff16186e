// Reading the files a user (or a hostile workspace) names: models, images, configs, labels.
// A plain readFileSync blocks the worker forever on a FIFO and on /dev/zero grows it by ~100 MB/s
// until it dies, so every such read goes through here: open without blocking, fstat the open
// descriptor (so a symlink swapped after a stat cannot slip through), regular files only, and a
// size cap per kind of file, each refusal naming the file and what to do.
import * as fs from 'node:fs';
import { CamLensError, type CamLensErrorCode } from './errors';

const MiB = 1024 * 1024;

/** Size caps per kind of file; generous for real inputs, far below what would exhaust memory. */
export const FILE_LIMITS = {
  /** protobuf's own limit for one message: larger models keep their weights as external data. */
  model: 2048 * MiB,
  /** A 100-megapixel PNG is ~300 MB at worst; the pixel limit applies after decoding too. */
  image: 512 * MiB,
  config: 16 * MiB,
  labels: 64 * MiB,
  list: 64 * MiB,
} as const;

export interface UserFileRead {
  /** What the file is, in the error messages: 'model', 'image', 'config', 'labels file'. */
  what: string;
  maxBytes: number;
  code?: CamLensErrorCode;
}

const mb = (n: number) => `${(n / MiB).toFixed(n < 10 * MiB ? 1 : 0)} MB`;

function kindOf(stat: fs.Stats): string {
  if (stat.isDirectory()) return 'a folder';
  if (stat.isFIFO()) return 'a FIFO (named pipe)';
  if (stat.isCharacterDevice()) return 'a character device';
  if (stat.isBlockDevice()) return 'a block device';
  if (stat.isSocket()) return 'a socket';
  return 'not a regular file';
}

function openError(e: unknown): string {
  const code = (e as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return 'no such file';
  if (code === 'EACCES' || code === 'EPERM') return 'permission denied';
  if (code === 'ELOOP') return 'too many levels of symbolic links';
  if (code === 'ENAMETOOLONG') return 'the path is too long';
  return code ?? String(e);
}

/** Refuses what is not a regular file of at most maxBytes (`fail` throws, naming the file). */
function checkStat(stat: fs.Stats, options: UserFileRead, fail: (why: string) => never): void {
  if (!stat.isFile()) fail(`it is ${kindOf(stat)}, not a regular file`);
  if (stat.size > options.maxBytes) fail(`it is ${mb(stat.size)}, more than the ${mb(options.maxBytes)} allowed for a ${options.what}`);
}

const failer =
  (file: string, options: UserFileRead) =>
  (why: string): never => {
    throw new CamLensError(options.code ?? 'BAD_ARGUMENT', `Cannot read ${options.what} ${file}: ${why}.`);
  };

/**
 * The whole content of `file`, which must be a regular file of at most `maxBytes`. Throws a
 * CamLensError (BAD_ARGUMENT unless `code` says otherwise) naming the file otherwise.
 */
export function readUserFile(file: string, options: UserFileRead): Buffer {
  const fail = failer(file, options);
  let fd: number;
  try {
    fd = fs.openSync(file, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
  } catch (e) {
    return fail(openError(e));
  }
  try {
    const stat = fs.fstatSync(fd);
    checkStat(stat, options, fail);
    const buffer = Buffer.allocUnsafe(stat.size);
    let done = 0;
    while (done < stat.size) {
      const n = fs.readSync(fd, buffer, done, stat.size - done, done);
      if (n === 0) break; // truncated while reading: return what is there
      done += n;
    }
    return done === stat.size ? buffer : buffer.subarray(0, done);
  } catch (e) {
    if (e instanceof CamLensError) throw e;
    return fail(openError(e));
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * readUserFile on libuv's thread pool: a batch reads every image this way, so a read that goes
 * to the disk (a folder not in the page cache) waits there while the worker's thread runs the
 * previous image's maps, instead of blocking it (issue 17: ~0.9 ms per image blocked before).
 */
export async function readUserFileAsync(file: string, options: UserFileRead): Promise<Buffer> {
  const fail = failer(file, options);
  let handle: fs.promises.FileHandle;
  try {
    handle = await fs.promises.open(file, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
  } catch (e) {
    return fail(openError(e));
  }
  try {
    const stat = await handle.stat();
    checkStat(stat, options, fail);
    const buffer = Buffer.allocUnsafe(stat.size);
    let done = 0;
    while (done < stat.size) {
      const { bytesRead } = await handle.read(buffer, done, stat.size - done, done);
      if (bytesRead === 0) break; // truncated while reading: return what is there
      done += bytesRead;
    }
    return done === stat.size ? buffer : buffer.subarray(0, done);
  } catch (e) {
    if (e instanceof CamLensError) throw e;
    return fail(openError(e));
  } finally {
    await handle.close();
  }
}

/** readUserFile as UTF-8 text (a leading byte-order mark dropped). */
export function readUserText(file: string, options: UserFileRead): string {
  const text = readUserFile(file, options).toString('utf8');
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}
