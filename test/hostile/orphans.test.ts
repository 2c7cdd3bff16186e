// kill -9 of the `camlens batch` launcher once left its batch child and the worker running for
// the rest of the batch (issue 18). Children must die with their parent: the launcher's batch
// child watches its IPC channel, and the worker its own.
import { ok } from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { copyFileSync, existsSync, linkSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { childrenOf, REPO } from './helpers';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const alive = (pid: number) => {
  try {
    const state = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !/\) Z /.test(state); // a zombie has ended; only its parent has not reaped it
  } catch {
    return false;
  }
};

describe('hostile: orphans', { skip: process.platform !== 'linux' ? 'reads /proc' : false }, () => {
  it('kill -9 of the batch launcher ends its batch child and the worker, and keeps the finished rows', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'camlens-orphans-'));
    const images = join(dir, 'images');
    mkdirSync(images);
    // Enough images for the batch to outlive the kill (the demo model explains ~250 images/s here),
    // as hard links to a copy in the test's own folder: links to the repo's file outlived the
    // folder and, run after run, reached the file system's limit on links (EMLINK).
    const photo = join(dir, 'circle.png');
    copyFileSync(join(REPO, 'demo/images/circle_1.png'), photo);
    for (let i = 0; i < 4000; i++) linkSync(photo, join(images, `c${i}.png`));
    try {
      await killLauncherMidBatch(images, join(dir, 'out'));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

async function killLauncherMidBatch(images: string, out: string): Promise<void> {
  const launcher = spawn(process.execPath, [join(REPO, 'bin/camlens.js'), 'batch', join(REPO, 'demo/model.onnx'), images, '--out', out], { stdio: 'ignore' });
  const journal = join(out, 'summary.jsonl');
  const started = Date.now();
  while (!(existsSync(journal) && readFileSync(journal, 'utf8').length > 0)) {
    ok(Date.now() - started < 60_000, 'the batch started writing rows');
    await sleep(100);
  }
  const [child] = childrenOf(launcher.pid!);
  ok(child, 'the launcher runs the batch in a child process');
  const workers = childrenOf(child);
  ok(workers.length >= 1, 'the batch child has started its worker');
  launcher.kill('SIGKILL');
  const killedAt = Date.now();
  while ([child, ...workers].some(alive) && Date.now() - killedAt < 15_000) await sleep(100);
  ok(!alive(child), `the batch child ${child} ended after its launcher was killed`);
  for (const w of workers) ok(!alive(w), `the worker ${w} ended too`);
  const rows = readFileSync(journal, 'utf8').trim().split('\n').length;
  ok(rows > 0 && rows < 4000, `the rows finished before the kill are kept (${rows})`);
}
