import { usageError, type Command } from '../command';
import { providerCliOptions, providerFromArgs, providerHelp, asCliError, startWorker } from '../worker';

const fmt = (v: number) => (Number.isNaN(v) ? 'nan' : Math.abs(v) >= 1e4 || (Math.abs(v) < 1e-3 && v !== 0) ? v.toExponential(2) : v.toFixed(4));

export const inspectCommand: Command = {
  name: 'inspect',
  summary: 'Run a model once with taps and print statistics of the captured tensors (debug mode).',
  usage: 'camlens inspect <model.onnx> [--tap VALUE]... [--ops Conv,Relu] [--all] [--json] [--provider NAME]',
  details: [
    'Inputs are zeros (symbolic dims = 1) until the explain pipeline feeds images.',
    '',
    'Options:',
    '  --tap VALUE      tap this value (repeatable); see `camlens layers` for names',
    '  --ops LIST       tap every output of these op types, e.g. Conv,Relu',
    '  --all            tap every value',
    '  --json           print the result as JSON',
    providerHelp,
  ].join('\n'),
  options: { tap: { type: 'string', multiple: true }, ops: { type: 'string' }, all: { type: 'boolean' }, json: { type: 'boolean' }, ...providerCliOptions },
  async run(positionals, values, io) {
    if (positionals.length !== 1) throw usageError(`inspect: expected one model path.\nUsage: ${this.usage}`);
    const taps = (values.tap as string[] | undefined) ?? [];
    const tapOps =
      typeof values.ops === 'string'
        ? values.ops
            .split(',')
            .map((s) => s.trim())
            .filter(Boolean)
        : [];
    if (!taps.length && !tapOps.length && !values.all) throw usageError('inspect: name something to tap: --tap VALUE, --ops LIST or --all.');
    const worker = startWorker(values);
    try {
      const r = await worker.request('run', {
        modelPath: positionals[0],
        taps,
        tapOps,
        tapAll: Boolean(values.all),
        tensors: false,
        stats: true,
        provider: providerFromArgs(values),
      });
      if (values.json) {
        io.out(JSON.stringify({ provider: r.provider, fallbacks: r.fallbacks, timings: r.timings, taps: r.taps }, null, 1) + '\n');
        return 0;
      }
      for (const t of r.taps) {
        const s = t.stats;
        if (!s) {
          io.out(`${t.value}: (no statistics for this element type)\n`);
          continue;
        }
        io.out(
          `${t.value}  [${s.shape.join(', ')}] ${s.dtype}  min ${fmt(s.min)}  max ${fmt(s.max)}  mean ${fmt(s.mean)}  std ${fmt(s.std)}  zeros ${(s.zeroFraction * 100).toFixed(1)}%` +
            (s.nanCount || s.infCount ? `  NaN ${s.nanCount}  Inf ${s.infCount}` : '') +
            '\n',
        );
      }
      io.out(
        `\n${r.taps.length} taps; provider ${r.provider}${r.fallbacks.length ? ` (after ${r.fallbacks.map((f) => `${f.provider}: ${f.error}`).join('; ')})` : ''}; session ${r.timings.sessionMs.toFixed(0)} ms, run ${r.timings.runMs.toFixed(1)} ms\n`,
      );
      return 0;
    } catch (e) {
      throw asCliError(e);
    } finally {
      await worker.dispose();
    }
  },
};
