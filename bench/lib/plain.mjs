// Starts bench/lib/plain-forward.cjs (plain onnxruntime at its best settings, a process of its
// own) and talks to it: `run(kind)` resolves with the ms of one session.run ('run' the model,
// 'run-gradient' the explanation model when the spec gave one).
import { fork } from 'node:child_process';
import { resolve } from 'node:path';

/** `spec`: { model, npy, gradientModel?, spinning?, threads? }; resolves once the session is warm. */
export async function startPlain(spec) {
  // Plain gets the malloc setting CamLens' CLI processes start with (transparent huge pages,
  // src/cli/worker.ts): its session starts ~0.5 s sooner with it and runs as fast, so it is part of
  // plain's best; a GLIBC_TUNABLES of the caller's own wins, as it does for CamLens.
  const env = { ...process.env, GLIBC_TUNABLES: process.env.GLIBC_TUNABLES ?? 'glibc.malloc.hugetlb=1' };
  const child = fork(resolve('bench/lib/plain-forward.cjs'), [JSON.stringify(spec)], { env });
  const answer = () => new Promise((r) => child.once('message', r));
  const ready = await answer();
  return {
    /** What the process chose: spinning, threads, the input's dims. */
    ready,
    run: async (kind = 'run') => {
      child.send(kind);
      return answer();
    },
    exit: () => child.send('exit'),
  };
}
