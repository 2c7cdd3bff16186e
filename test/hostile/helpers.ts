// What the hostile-input tests share: the repository's paths, a folder of demo images to run
// on, and the children of a process (from /proc: no procps needed).
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

export const REPO = resolve(__dirname, '../../..');
export const MODEL = join(REPO, 'demo/model.onnx');
export const CLI = join(REPO, 'bin/camlens.js');

/** A fresh temp folder (`dir`) holding `images/` with three demo images. */
export function demoImagesFolder(prefix: string): { dir: string; images: string } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  const images = join(dir, 'images');
  mkdirSync(images);
  for (const f of ['circle_1.png', 'square_1.png', 'star_1.png']) copyFileSync(join(REPO, 'demo/images', f), join(images, f));
  return { dir, images };
}

/** Child pids of `pid`. */
export function childrenOf(pid: number): number[] {
  const found: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === pid) found.push(Number(entry));
    } catch {
      // the process ended while we looked
    }
  }
  return found;
}
