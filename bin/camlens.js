#!/usr/bin/env node
// Thin launcher: the CLI is bundled by esbuild into dist/cli.js (run `npm run build` first).
'use strict';
const path = require('node:path');
const fs = require('node:fs');
const bundle = path.join(__dirname, '..', 'dist', 'cli.js');
if (!fs.existsSync(bundle)) {
  process.stderr.write('camlens: dist/cli.js is missing; run "npm run build" in the CamLens folder first.\n');
  process.exit(1);
}
// `camlens batch` runs for minutes or hours. V8 keeps enlarging its young generation over such a
// run (up to 16 MB semi-spaces), so peak memory would creep up with the number of images while
// the live heap stays flat; batch runs in a child node with 2 MB semi-spaces instead (measured
// peak for 2,000 vs 8,000 images: 114 → 143 MB before, 98 → 101 MB after, same images/s).
// Signals are passed on; the child tells one Ctrl+C delivered twice from a second press.
const capped = process.execArgv.some((a) => a.startsWith('--max-semi-space-size'));
if (process.argv[2] === 'batch' && !capped && process.env.CAMLENS_BATCH_CHILD !== '1') {
  const { spawn } = require('node:child_process');
  const child = spawn(process.execPath, ['--max-semi-space-size=2', '--expose-gc', ...process.execArgv, __filename, ...process.argv.slice(2)], {
    // glibc malloc settings as a CLI worker gets them (src/cli/worker.ts); values the user set win.
    // The IPC channel is how the child learns that this launcher died (kill -9 included).
    stdio: ['inherit', 'inherit', 'inherit', 'ipc'],
    env: { ...require(bundle).CLI_MALLOC_ENV, ...process.env, CAMLENS_BATCH_CHILD: '1' },
  });
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(signal, () => child.kill(signal));
  child.on('error', (e) => {
    process.stderr.write(`camlens: could not start the batch process (${e.message}).\n`);
    process.exit(1);
  });
  child.on('exit', (code, signal) => process.exit(code ?? (signal === 'SIGINT' ? 130 : 1)));
  return;
}
if (process.env.CAMLENS_BATCH_CHILD === '1' && process.channel) {
  // Our launcher is gone (killed, even with SIGKILL): cancel as Ctrl+C would — finished rows are
  // kept, the worker is stopped — and make sure this process ends even if cancelling hangs.
  process.on('disconnect', () => {
    process.kill(process.pid, 'SIGINT');
    setTimeout(() => process.exit(130), 10_000).unref();
  });
  process.channel.unref(); // the channel alone must not keep the batch alive after it finished
}
// A reader that stops early (`camlens layers model.onnx | head`) closes the pipe: stop quietly,
// as Unix tools do, instead of an unhandled EPIPE and its stack.
process.stdout.on('error', (e) => {
  if (e.code !== 'EPIPE') throw e;
  process.exit(process.exitCode ?? 0);
});
const { main } = require(bundle);
main(process.argv.slice(2), { out: (t) => process.stdout.write(t), err: (t) => process.stderr.write(t) }).then((code) => {
  process.exitCode = code;
});
