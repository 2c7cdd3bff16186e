import { equal, ok, rejects } from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, describe, it } from 'node:test';
import { serializeModel } from '../../src/engine/onnx/io';
import { WORKER_MALLOC_ENV, WorkerClient, WorkerRequestError, type WorkerExit } from '../../src/worker/client';
import { CLI_MALLOC_ENV, CLI_WORKER_EXEC_ARGV } from '../../src/cli/worker';
import { FIXTURES_DIR } from '../helpers/fixtures';
import { tinyCnn } from '../helpers/models';

const workerPath = resolve(__dirname, '../../worker.js');
const dir = mkdtempSync(join(tmpdir(), 'camlens-worker-'));
const modelPath = join(dir, 'tiny.onnx');
writeFileSync(modelPath, serializeModel(tinyCnn()));

/** Signal 0 checks that a process exists without touching it. */
function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('worker client', () => {
  const client = new WorkerClient({ workerPath, defaultTimeoutMs: 30_000 });
  after(() => client.dispose());

  it('shuts the worker down cleanly: sessions released, no orphan process', async () => {
    const c = new WorkerClient({ workerPath });
    const { pid } = await c.request('ping', {});
    await c.request('run', { modelPath, tensors: false });
    await c.dispose();
    equal(isAlive(pid), false, 'worker process is gone');
  });

  it('answers requests from a forked worker', async () => {
    const pong = await client.request('ping', {});
    ok(pong.pid > 0 && pong.pid !== process.pid);
    const layers = await client.request('layers', { modelPath });
    equal(layers.summary.nodeCount, 7);
    equal(layers.summary.parameterCount, 8 * 27 + 16 * 72 + 64 + 4);
    ok(layers.suggestion?.value.includes('block2'));
  });

  it(
    'starts the worker with the glibc malloc settings that keep rss flat, unless the user set them',
    { skip: process.platform !== 'linux' && 'reads /proc/<pid>/environ (Linux only)' },
    async () => {
      const environOf = (pid: number) =>
        new Map(
          readFileSync(`/proc/${pid}/environ`, 'latin1')
            .split('\0')
            .filter(Boolean)
            .map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]),
        );
      const { pid } = await client.request('ping', {});
      const env = environOf(pid);
      for (const [k, v] of Object.entries(WORKER_MALLOC_ENV)) equal(env.get(k), process.env[k] ?? v, k);
      const custom = new WorkerClient({ workerPath, env: { ...process.env, MALLOC_ARENA_MAX: '4' } });
      try {
        const other = environOf((await custom.request('ping', {})).pid);
        equal(other.get('MALLOC_ARENA_MAX'), '4', "the user's value wins");
        equal(other.get('MALLOC_MMAP_THRESHOLD_'), process.env.MALLOC_MMAP_THRESHOLD_ ?? WORKER_MALLOC_ENV.MALLOC_MMAP_THRESHOLD_);
      } finally {
        await custom.dispose();
      }
    },
  );

  it(
    "gives a CLI command's worker buffers up to 32 MiB on the heap (a batch's same-sized outputs are not faulted in again each run), huge pages and a 64 MB old generation",
    { skip: process.platform !== 'linux' && 'reads /proc/<pid>/environ (Linux only)' },
    async () => {
      equal(CLI_MALLOC_ENV.MALLOC_MMAP_THRESHOLD_, String(32 * 1024 * 1024));
      for (const k of ['MALLOC_ARENA_MAX', 'MALLOC_TRIM_THRESHOLD_']) equal(CLI_MALLOC_ENV[k], WORKER_MALLOC_ENV[k], k);
      const { MALLOC_MMAP_THRESHOLD_: _set, ...env } = process.env;
      const cli = new WorkerClient({ workerPath, env: { ...CLI_MALLOC_ENV, ...env }, execArgv: [...CLI_WORKER_EXEC_ARGV] });
      try {
        const pid = (await cli.request('ping', {})).pid;
        const environ = readFileSync(`/proc/${pid}/environ`, 'latin1').split('\0');
        ok(environ.includes(`MALLOC_MMAP_THRESHOLD_=${32 * 1024 * 1024}`), environ.filter((kv) => kv.startsWith('MALLOC')).join(' '));
        // Transparent huge pages for what it allocates (a model read and packed at start-up).
        equal(CLI_MALLOC_ENV.GLIBC_TUNABLES, 'glibc.malloc.hugetlb=1');
        ok(
          environ.includes(`GLIBC_TUNABLES=${process.env.GLIBC_TUNABLES ?? 'glibc.malloc.hugetlb=1'}`),
          environ.filter((kv) => kv.startsWith('GLIBC')).join(' '),
        );
        const thp = existsSync('/sys/kernel/mm/transparent_hugepage/enabled') ? readFileSync('/sys/kernel/mm/transparent_hugepage/enabled', 'utf8') : '';
        const big = join(FIXTURES_DIR ?? '/nonexistent', 'models/resnet18.onnx');
        if (/\[(always|madvise)\]/.test(thp) && existsSync(big) && process.env.GLIBC_TUNABLES === undefined) {
          await cli.request('layers', { modelPath: big }); // reads the 45 MB model into one buffer
          const huge = Number(/AnonHugePages:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'))?.[1] ?? 0);
          ok(huge > 8 * 1024, `the model's bytes are in huge pages: AnonHugePages ${huge} kB`);
        } else {
          console.log(
            `# huge-page check skipped: THP "${thp.trim()}", ${big} ${existsSync(big) ? 'present' : 'absent'}, GLIBC_TUNABLES of the caller: ${process.env.GLIBC_TUNABLES ?? 'none'}`,
          );
        }
        // And a 64 MB old generation (fewer full collections in a batch; cli/worker.ts says why).
        const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'latin1').split('\0');
        ok(cmdline.includes('--initial-heap-size=64') && cmdline.includes('--max-semi-space-size=2'), cmdline.join(' '));
      } finally {
        await cli.dispose();
      }
    },
  );

  it('turns engine errors into typed errors', async () => {
    await rejects(client.request('layers', { modelPath: join(dir, 'nope.onnx') }), (e: unknown) => e instanceof WorkerRequestError && e.code === 'MODEL_READ');
  });

  it('fails pending requests when the worker dies and restarts it on the next request', async () => {
    const first = await client.request('ping', {});
    const pending = client.request('sleep', { ms: 10_000 });
    process.kill(first.pid, 'SIGKILL');
    await rejects(pending, (e: unknown) => e instanceof WorkerRequestError && (e.code === 'WORKER_CRASHED' || e.code === 'INTERNAL'));
    const again = await client.request('ping', {});
    ok(again.pid !== first.pid && isAlive(again.pid));
    equal(isAlive(first.pid), false, 'the killed worker is gone');
    equal(client.restarts, 1);
  });

  it('cancels a request without costing the worker', async () => {
    const before = await client.request('ping', {});
    const restarts = client.restarts;
    const controller = new AbortController();
    const p = client.request('sleep', { ms: 10_000 }, { signal: controller.signal });
    controller.abort();
    await rejects(p, (e: unknown) => e instanceof WorkerRequestError && e.code === 'CANCELLED');
    const after = await client.request('ping', {});
    equal(after.pid, before.pid, 'the same worker answers after a cancel');
    equal(client.pid, after.pid);
    equal(client.restarts, restarts);
  });

  it('kills a worker that does not answer in time and starts a new one on the next request', async () => {
    const late = new WorkerClient({ workerPath, defaultTimeoutMs: 1 });
    try {
      const stuck = late.request('sleep', { ms: 5_000 });
      const stuckPid = late.pid;
      ok(stuckPid !== undefined && stuckPid !== process.pid && isAlive(stuckPid), 'a live worker process of its own');
      const exited = new Promise<WorkerExit>((r) => late.once('exit', r));
      await rejects(stuck, (e: unknown) => e instanceof WorkerRequestError && e.code === 'TIMEOUT' && /did not answer/.test((e as Error).message));
      equal((await exited).signal, 'SIGKILL');
      equal(isAlive(stuckPid), false, 'the stuck worker is gone');
      const next = await late.request('ping', {}, { timeoutMs: 30_000 });
      ok(next.pid !== stuckPid && next.pid !== process.pid && isAlive(next.pid), 'a new live worker answers');
      equal(late.pid, next.pid);
      equal(late.restarts, 1);
    } finally {
      await late.dispose();
    }
  });
});
