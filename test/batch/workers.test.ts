// `camlens batch --workers`: requests spread over several workers, the plan that picks how many,
// and the same files from two workers as from one.
import { deepEqual, equal, match, ok, rejects } from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, describe, it } from 'node:test';
import { pooledBackend } from '../../src/engine/batch/backendPool';
import type { BatchBackend, ExplainBatchParams, ExplainBatchResult } from '../../src/engine/batch/types';
import { planWorkers } from '../../src/cli/batchWorkers';

const root = resolve(__dirname, '../../..');
const tmp = fs.mkdtempSync(join(tmpdir(), 'camlens-workers-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

const params = (n: number) => ({ inputs: [`img${n}.png`] }) as unknown as ExplainBatchParams;
const result = {} as ExplainBatchResult;

describe('pooledBackend', () => {
  it('sends each request to the backend with the fewest in flight and counts a failure as done', async () => {
    const seen: number[][] = [[], []];
    const release: Array<() => void> = [];
    const backend =
      (k: number): BatchBackend =>
      async (p) => {
        seen[k].push(Number(p.inputs[0].slice(3, -4)));
        await new Promise<void>((r) => release.push(r));
        if (p.inputs[0] === 'img2.png') throw new Error('worker crashed');
        return result;
      };
    const pool = pooledBackend([backend(0), backend(1)]);
    const signal = new AbortController().signal;
    const first = [0, 1, 2, 3].map((n) => pool(params(n), signal));
    await new Promise((r) => setImmediate(r));
    deepEqual(
      seen,
      [
        [0, 2],
        [1, 3],
      ],
      'two each, alternating',
    );
    release.splice(0).forEach((r) => r());
    await rejects(first[2], /worker crashed/);
    await Promise.all([first[0], first[1], first[3]]);
    // Both idle again (the failed request released its place): the next goes to the first.
    const next = pool(params(4), signal);
    await new Promise((r) => setImmediate(r));
    deepEqual(seen[0].at(-1), 4);
    release.splice(0).forEach((r) => r());
    await next;
  });

  it('is the backend itself when there is one', () => {
    const only: BatchBackend = async () => result;
    equal(pooledBackend([only]), only);
  });
});

describe('planWorkers', () => {
  const GiB = 1024 ** 3;
  const base = { option: undefined, cpu: true, cores: 2, freeBytes: 16 * GiB, modelBytes: 100e6 };

  it('auto: two workers on a CPU with two or more cores, their threads splitting the cores', () => {
    deepEqual(planWorkers(base), { workers: 2, intraOpThreads: 1 });
    deepEqual(planWorkers({ ...base, cores: 16, option: 'auto' }), { workers: 2, intraOpThreads: 8 });
  });

  it('auto: one worker on a GPU, on one core, or without memory for a second copy of the model', () => {
    deepEqual(planWorkers({ ...base, cpu: false }), { workers: 1 });
    deepEqual(planWorkers({ ...base, cores: 1 }), { workers: 1 });
    deepEqual(planWorkers({ ...base, modelBytes: 2 * GiB, freeBytes: 12 * GiB }), { workers: 1 });
  });

  it('a number is taken as given; --threads is per worker', () => {
    deepEqual(planWorkers({ ...base, option: '1' }), { workers: 1 });
    deepEqual(planWorkers({ ...base, option: '3', cores: 8 }), { workers: 3, intraOpThreads: 2 });
    deepEqual(planWorkers({ ...base, option: '2', threads: 2 }), { workers: 2, intraOpThreads: 2 });
    deepEqual(planWorkers({ ...base, option: '4', cpu: false }), { workers: 4, intraOpThreads: 1 });
  });
});

describe('camlens batch --workers', () => {
  const model = join(root, 'demo/model.onnx');
  const images = join(root, 'demo/images');
  const batch = (out: string, ...extra: string[]) =>
    spawnSync(process.execPath, [join(root, 'bin/camlens.js'), 'batch', model, images, '--out', join(tmp, out), '--ep', 'cpu', '--quiet', ...extra], {
      encoding: 'utf8',
    });

  it('two workers write the same files as one', () => {
    const one = batch('one', '--workers', '1', '--batch-size', '2');
    const two = batch('two', '--workers', '2', '--batch-size', '2');
    equal(one.status, 0, one.stderr);
    equal(two.status, 0, two.stderr);
    const files = (d: string) => fs.readdirSync(join(tmp, d)).filter((f) => f.endsWith('.npy') || f.endsWith('.png'));
    const names = files('one');
    ok(names.length >= 8 * 3, `maps and overlays of every demo image: ${names.length}`);
    deepEqual(files('two').sort(), names.sort());
    for (const f of names) ok(fs.readFileSync(join(tmp, 'one', f)).equals(fs.readFileSync(join(tmp, 'two', f))), `${f} is the same`);
    const summary = (d: string) => JSON.parse(fs.readFileSync(join(tmp, d, 'summary.json'), 'utf8')) as { done: number; failed: number };
    deepEqual([summary('two').done, summary('two').failed], [summary('one').done, 0]);
  });

  it('refuses a count that is not a positive integer or auto', () => {
    for (const bad of ['0', 'two', '1.5', '99']) {
      const r = batch(`bad-${bad}`, '--workers', bad);
      equal(r.status, 2, `${bad}: ${r.stderr}`);
      match(r.stderr, /--workers: expected "auto" or an integer from 1 to 32/);
    }
  });
});
