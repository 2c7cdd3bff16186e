// The command line under an unlucky reader or a dying worker (issue 18): `camlens layers … |
// head` once ended with an unhandled EPIPE and its stack, and a worker crash on one input of
// `camlens explain a b c d` dropped all the inputs after it.
import { equal, match, ok } from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { childrenOf, CLI, MODEL, REPO } from './helpers';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('the command line', () => {
  it('a reader that closes the pipe early ends the CLI quietly', async () => {
    const p = spawn(process.execPath, [CLI, 'layers', MODEL], { stdio: ['ignore', 'pipe', 'pipe'] });
    p.stdout.destroy(); // the reader is gone before the first line: every write gets EPIPE
    let stderr = '';
    p.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const code = await new Promise<number | null>((r) => p.on('exit', (c) => r(c)));
    equal(stderr, '', 'no stack trace');
    equal(code, 0);
  });

  it('a --region-mask that does not exist is a usage error, not silently ignored', () => {
    const out = join(mkdtempSync(join(tmpdir(), 'camlens-mask-')), 'out');
    const r = spawnSync(process.execPath, [CLI, 'explain', MODEL, join(REPO, 'demo/images/circle_1.png'), '--out', out, '--region-mask', '/nonexistent.png'], {
      encoding: 'utf8',
    });
    equal(r.status, 2, r.stderr);
    match(r.stderr, /^camlens explain: --region-mask: no such file: \/nonexistent\.png\./);
    ok(!existsSync(out), 'nothing was computed');
  });

  it('explain goes on with the other inputs after the worker dies on one, and exits 3', async () => {
    const out = join(mkdtempSync(join(tmpdir(), 'camlens-crash-')), 'out');
    const inputs = ['circle_1.png', 'square_1.png', 'star_1.png', 'circle_2.png'].map((f) => join(REPO, 'demo/images', f));
    const p = spawn(process.execPath, [CLI, 'explain', MODEL, ...inputs, '--out', out, '--ep', 'cpu'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    p.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((r) => p.on('exit', (c) => r(c)));
    // Kill the worker as soon as it exists: it is then loading the model or explaining the first input.
    let killed = false;
    for (let i = 0; i < 3000 && !killed && p.exitCode === null; i++) {
      const [worker] = childrenOf(p.pid!);
      if (worker) {
        process.kill(worker, 'SIGKILL');
        killed = true;
      } else await sleep(5);
    }
    ok(killed, 'found the worker');
    const code = await exited;
    const written = inputs.filter((f) => existsSync(join(out, `${f.split('/').pop()!.replace('.png', '')}.json`)));
    equal(code, 3, `exit 3 (stdout: ${stdout}; stderr: ${stderr})`);
    equal(written.length, inputs.length - 1, `the other inputs were explained: ${written.join(', ')} (stderr: ${stderr})`);
    match(stderr, /camlens explain: .*circle_1\.png: The CamLens worker .*Continuing with the other inputs\./);
    match(stderr, /1 of 4 inputs failed/);
  });
});
