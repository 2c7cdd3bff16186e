import type { TelemetrySample } from '../../worker/protocol';
import { usageError, type Command } from '../command';
import { formatSample, formatSnapshot } from '../diagnosticsReports';
import { LIMITS, numberOption } from '../options';
import { providerCliOptions, providerFromArgs, providerHelp } from '../worker';
import { startDiagnosticsWorker } from './leakCheck';

export const statsCommand: Command = {
  name: 'stats',
  summary: "Print a snapshot of the worker's memory telemetry (optionally after running a model), or stream it.",
  usage: 'camlens stats [<model.onnx> [<image>]] [--watch SECONDS] [--interval MS] [--json]',
  details: [
    'The CLI starts its own worker: with a model it runs it once first (with an image: one',
    'explanation) so the snapshot shows a live session; the extension shows its worker live.',
    '',
    'Options:',
    '  --watch SECONDS  stream samples (one line each) for this long, then print the snapshot',
    '  --interval MS    sampling interval (default 250)',
    '  --json           print the snapshot as JSON (with the streamed samples as "history")',
    providerHelp,
  ].join('\n'),
  options: { watch: { type: 'string' }, interval: { type: 'string' }, json: { type: 'boolean' }, ...providerCliOptions },
  async run(positionals, values, io) {
    if (positionals.length > 2) throw usageError(`stats: expected at most a model and an image.\nUsage: ${this.usage}`);
    const watch = numberOption('--watch', values.watch, LIMITS.watchSeconds) ?? 0;
    const interval = numberOption('--interval', values.interval, LIMITS.intervalMs);
    const provider = providerFromArgs(values);
    const { worker, abort, done } = startDiagnosticsWorker();
    const streamed: TelemetrySample[] = [];
    try {
      let subscriptionId: number | undefined;
      if (watch > 0 || interval !== undefined) {
        worker.on('telemetry', (s) => {
          streamed.push(s);
          if (!values.json)
            io.out(
              `${new Date(s.time).toISOString().slice(11, 23)} ${s.reason === 'interval' ? '' : `[${s.reason} ${s.request?.method ?? ''}] `}${formatSample(s)}\n`,
            );
        });
        ({ subscriptionId } = await worker.request('telemetry.subscribe', { intervalMs: interval, history: 0 }));
      }
      const [modelPath, image] = positionals;
      if (modelPath && image) await worker.request('explain', { modelPath, input: image, provider }, { signal: abort.signal });
      else if (modelPath) await worker.request('run', { modelPath, provider, tensors: false }, { signal: abort.signal });
      if (watch > 0) {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, watch * 1000);
          abort.signal.addEventListener(
            'abort',
            () => {
              clearTimeout(timer);
              resolve();
            },
            { once: true },
          );
        });
      }
      if (subscriptionId !== undefined) await worker.request('telemetry.unsubscribe', { subscriptionId });
      const snap = await worker.request('telemetry.snapshot', {});
      if (values.json) io.out(JSON.stringify({ ...snap, history: streamed }, null, 1) + '\n');
      else io.out(formatSnapshot(snap));
      return 0;
    } finally {
      await done();
    }
  },
};
