// Which images a batch explains: folders (recursive) and globs expanded into a sorted list of
// files, each with its path relative to the input root (the output tree mirrors it), filtered by
// shard and by exclusion patterns. Pure Node (the extension host uses it too).
import * as fs from 'node:fs';
import * as path from 'node:path';
import picomatch from 'picomatch';
import { readCsv } from '../csv';
import { CamLensError } from '../errors';
import { isBatchOutputFolder } from './outputFolder';

export const IMAGE_EXTENSIONS = new Set(['.png', '.jpg', '.jpeg', '.webp', '.tif', '.tiff', '.gif', '.avif', '.npy']);
/** Ground-truth masks beside images (S.mask.png, S_mask.png) are not inputs. */
export const DEFAULT_EXCLUDES = ['**/*.mask.*', '**/*_mask.*'];

export interface BatchInput {
  /** Absolute path. */
  file: string;
  /** Relative to the input root, forward slashes: the row's key and the output tree's shape. */
  rel: string;
}

export const toPosix = (p: string) => p.split(path.sep).join('/');

// picomatch, set to read our globs as paths: `*`, `**`, `?`, `{a,b}`, `[...]` and `[!...]`
// (`posix` is what makes `[!...]` a negated class); a leading dot is matched like any character
// (the walk already leaves dot entries out, and an exclude such as `*.png` must not spare
// `.x.png`); a leading `!` is not a negation and there are no extglobs, since a glob here is a
// path the user typed. Paths are given with forward slashes on every platform.
const GLOB_OPTIONS: picomatch.PicomatchOptions = { dot: true, nonegate: true, noextglob: true, posix: true, windows: false };

/**
 * A test for forward-slash paths against a glob. `(`, `)` and `|` are literal (folder names
 * such as "photos (2019)"); picomatch would read them as a regular-expression group.
 */
export function globMatcher(glob: string): (posixPath: string) => boolean {
  return picomatch(glob.replace(/[()|]/g, '\\$&'), GLOB_OPTIONS);
}

/** Which characters make an argument a glob; the folders before the first such part are its root. */
export const isGlob = (s: string) => /[*?{[]/.test(s);

/**
 * Files under `dir`, sorted, recursively; dot entries and the folders in `skip` left out. Our own
 * walk, with picomatch only matching: `skip` is the output folder, which often lies inside the
 * input folder and must not be read back as input while the run writes into it; any other
 * batch's output folder (outputFolder.ts: its journal or lock) is left out too.
 */
export function* walk(dir: string, skip: Set<string>): Generator<string> {
  let entries: fs.Dirent[];
  try {
    entries = fs.readdirSync(dir, { withFileTypes: true });
  } catch (e) {
    throw new CamLensError('BAD_ARGUMENT', `Cannot read folder ${dir}: ${(e as NodeJS.ErrnoException).code ?? e}.`);
  }
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const e of entries) {
    const p = path.join(dir, e.name);
    if (e.name.startsWith('.')) continue;
    if (e.isDirectory()) {
      if (!skip.has(path.resolve(p)) && !isBatchOutputFolder(p)) yield* walk(p, skip);
    } else if (e.isFile() || (e.isSymbolicLink() && !fs.statSync(p, { throwIfNoEntry: false })?.isDirectory())) yield p; // links to folders are not followed
  }
}

/** A file found for an argument, and the folder its output name is taken from. */
export interface FoundInput {
  file: string;
  root: string;
}

/** Where one kind of input (an image, a clip) is found: among a glob's matches, under a folder. */
export interface InputKind {
  fromGlob(arg: string, matched: { root: string; files: string[] }, excluded: Excluded): FoundInput[];
  fromFolder(folder: string, files: string[], excluded: Excluded): FoundInput[];
}

export type Excluded = (rel: string, file: string) => boolean;

export interface ListOptions {
  exclude?: readonly string[];
  skipDirs?: readonly string[];
  cwd?: string;
}

/**
 * Expands folder/glob/file arguments into inputs of one kind. Each argument's root is the folder
 * (for a folder), the glob's literal prefix (for a glob) or the file's folder; with several
 * arguments, `rel` is taken from their common root so that outputs of different arguments
 * cannot collide. A file argument is an input whatever its kind would say.
 */
export function expandArguments(args: readonly string[], options: ListOptions, kind: InputKind): BatchInput[] {
  const cwd = options.cwd ?? process.cwd();
  const skip = new Set((options.skipDirs ?? []).map((d) => path.resolve(cwd, d)));
  const excluded = excludedBy(options.exclude);
  const found: FoundInput[] = [];
  for (const arg of args) {
    const abs = path.resolve(cwd, arg);
    if (isGlob(arg)) {
      found.push(...kind.fromGlob(arg, globMatches(arg, abs, skip), excluded));
      continue;
    }
    const stat = fs.statSync(abs, { throwIfNoEntry: false });
    if (!stat) throw new CamLensError('BAD_ARGUMENT', `No such file or folder: ${arg}.`);
    if (stat.isDirectory()) found.push(...kind.fromFolder(abs, [...walk(abs, skip)], excluded));
    else found.push({ file: abs, root: path.dirname(abs) });
  }
  return namedFromCommonRoot(found, cwd, excluded);
}

const images: InputKind = {
  fromGlob(arg, { root, files }) {
    if (!files.length) throw new CamLensError('BAD_ARGUMENT', `The pattern ${arg} matches no file.`);
    return files.map((file) => ({ file, root }));
  },
  fromFolder: (folder, files) => files.filter((f) => IMAGE_EXTENSIONS.has(path.extname(f).toLowerCase())).map((file) => ({ file, root: folder })),
};

/** The images among folder/glob/file arguments (excluded names are dropped when naming them). */
export function listInputs(args: readonly string[], options: ListOptions = {}): BatchInput[] {
  return expandArguments(args, options, images);
}

/**
 * Whether an input is excluded: the default excludes (ground-truth masks) and `extra`, each
 * tried on the path relative to the input root and on the file name.
 */
export function excludedBy(extra: readonly string[] = []): Excluded {
  const matchers = [...DEFAULT_EXCLUDES, ...extra].map(globMatcher);
  return (rel, file) => matchers.some((m) => m(rel) || m(path.basename(file)));
}

/**
 * The files below a glob's fixed leading folders whose path under that folder matches the rest
 * of the pattern, and that folder (the root their names are taken from).
 */
export function globMatches(arg: string, abs: string, skip: Set<string>): { root: string; files: string[] } {
  const root = globRoot(abs);
  const parts = toPosix(abs).split('/');
  const matches = globMatcher(parts.slice(parts.findIndex(isGlob)).join('/'));
  if (!fs.existsSync(root)) throw new CamLensError('BAD_ARGUMENT', `No such folder ${root} (from the pattern ${arg}).`);
  return { root, files: [...walk(root, skip)].filter((f) => matches(toPosix(path.relative(root, f)))) };
}

/** The folder a glob's matches are named from: its leading parts without a glob character. */
export function globRoot(abs: string): string {
  const parts = toPosix(abs).split('/');
  return path.normalize(parts.slice(0, parts.findIndex(isGlob)).join('/') || '/');
}

/**
 * Names every found file by its path from the roots' common folder (so outputs of different
 * arguments cannot collide), drops duplicates and excluded names, and sorts by name.
 */
export function namedFromCommonRoot(found: readonly FoundInput[], cwd: string, excluded: Excluded): BatchInput[] {
  const common = found.length ? found.map((f) => f.root).reduce(commonDir) : cwd;
  const seen = new Set<string>();
  const out: BatchInput[] = [];
  for (const f of found) {
    const rel = toPosix(path.relative(common, f.file));
    if (seen.has(rel) || excluded(rel, f.file)) continue;
    seen.add(rel);
    out.push({ file: f.file, rel });
  }
  return out.sort((a, b) => (a.rel < b.rel ? -1 : a.rel > b.rel ? 1 : 0));
}

export function commonDir(a: string, b: string): string {
  const pa = a.split(path.sep);
  const pb = b.split(path.sep);
  let i = 0;
  while (i < pa.length && i < pb.length && pa[i] === pb[i]) i++;
  return pa.slice(0, i).join(path.sep) || path.sep;
}

/** "i/n" → {index: i, count: n} (1-based i). */
export function parseShard(text: string): { index: number; count: number } {
  const m = /^(\d+)\/(\d+)$/.exec(text.trim());
  const index = m ? Number(m[1]) : NaN;
  const count = m ? Number(m[2]) : NaN;
  if (!m || count < 1 || index < 1 || index > count) {
    throw new CamLensError('BAD_ARGUMENT', `--shard: expected i/n with 1 ≤ i ≤ n (e.g. 2/4), got "${text}".`, { usage: true });
  }
  return { index, count };
}

/** FNV-1a of the relative path: a file's shard does not depend on which other files exist. */
export function shardOf(rel: string, count: number): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < rel.length; i++) {
    h ^= rel.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return (h % count) + 1;
}

export function selectShard<T extends { rel: string }>(inputs: readonly T[], shard?: { index: number; count: number }): T[] {
  if (!shard || shard.count === 1) return [...inputs];
  return inputs.filter((x) => shardOf(x.rel, shard.count) === shard.index);
}

/**
 * Output prefix (no extension) of each input, relative to the output folder: the input's
 * relative folder + its stem; two inputs with the same stem in one folder (a.png, a.jpg) keep
 * their extension in the name so neither overwrites the other.
 */
export function outputStems(inputs: readonly BatchInput[]): string[] {
  const count = new Map<string, number>();
  const stemOf = (rel: string) => rel.replace(/\.[^./]+$/, '');
  for (const x of inputs) count.set(stemOf(x.rel), (count.get(stemOf(x.rel)) ?? 0) + 1);
  return inputs.map((x) => (count.get(stemOf(x.rel))! > 1 ? x.rel.replace(/\.([^./]+)$/, '_$1') : stemOf(x.rel)));
}

/**
 * Ground truth from a CSV of `file,label` rows (header optional): label is a class index or a
 * class name from the model's labels; file matches the input's relative path or its file name.
 */
export function readGroundTruth(csvPath: string, labels?: readonly string[]): Map<string, number> {
  const out = new Map<string, number>();
  readCsv(csvPath, 'the ground-truth CSV').forEach(({ cells, line }, i) => {
    if (cells.length < 2) throw new CamLensError('BAD_ARGUMENT', `${csvPath}:${line}: expected "file,label".`);
    const [file, label] = cells;
    const cls = /^\d+$/.test(label) ? Number(label) : (labels?.indexOf(label) ?? -1);
    if (cls < 0) {
      if (i === 0) return; // a header row
      throw new CamLensError('BAD_ARGUMENT', `${csvPath}:${line}: "${label}" is neither a class index nor one of the model's labels.`);
    }
    out.set(file.replace(/\\/g, '/'), cls);
  });
  return out;
}

export function groundTruthOf(gt: ReadonlyMap<string, number>, input: BatchInput): number | undefined {
  return gt.get(input.rel) ?? gt.get(path.basename(input.file)) ?? gt.get(input.file);
}
