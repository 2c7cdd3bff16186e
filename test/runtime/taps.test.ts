import { deepStrictEqual, equal, match, ok, rejects, throws } from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { CamLensError } from '../../src/engine/errors';
import { analyseModel, loadModel } from '../../src/engine/model';
import { serializeModel } from '../../src/engine/onnx/io';
import { counters } from '../../src/engine/runtime/accounting';
import { probeShapes } from '../../src/engine/runtime/probe';
import { SessionCache } from '../../src/engine/runtime/sessions';
import { runWithTaps, toOrt, type PlainTensor } from '../../src/engine/runtime/tapRunner';
import { createSession } from '../../src/engine/runtime/providers';
import { tapCandidates } from '../../src/engine/surgery/tapCandidates';
import { tensorStats } from '../../src/engine/runtime/tensorStats';
import { extractModel } from '../../src/engine/surgery/extract';
import { TapSet, withTapOutputs } from '../../src/engine/surgery/taps';
import { handlers } from '../../src/worker/handlers';
import { fixtureModels, fixtures } from '../helpers/fixtures';
import { randomArray, tinyCnn } from '../helpers/models';

const dir = mkdtempSync(join(tmpdir(), 'camlens-taps-'));
const modelPath = join(dir, 'tiny.onnx');
writeFileSync(modelPath, serializeModel(tinyCnn()));
const input = (n = 2): Record<string, PlainTensor> => ({ input: { dtype: 'float32', dims: [n, 3, 32, 32], data: randomArray(n * 3 * 32 * 32, 9, 2) } });
const ctx = { signal: new AbortController().signal, progress: () => undefined };

describe('taps', () => {
  it('refuses unknown values and suggests the closest names', () => {
    const taps = new TapSet(loadModel(modelPath).graph);
    throws(
      () => taps.register('/block2/relu/Relu_outptu_0'),
      (e: unknown) => e instanceof CamLensError && e.code === 'UNKNOWN_VALUE' && /Did you mean "\/block2\/relu\/Relu_output_0"/.test(e.message),
    );
    const h = taps.register('/block1/relu/Relu_output_0');
    taps.register('/block1/relu/Relu_output_0');
    deepStrictEqual(taps.values(), ['/block1/relu/Relu_output_0']);
    h.remove();
    h.remove();
    equal(taps.size, 1);
  });

  it('does not change the model outputs (bit for bit, CPU)', async () => {
    const model = loadModel(modelPath);
    const cache = new SessionCache();
    const feeds = input();
    const plain = await runWithTaps(model, cache, feeds, { taps: [], provider: { provider: 'cpu' } });
    const tapped = await runWithTaps(model, cache, feeds, { taps: model.graph.activations(), provider: { provider: 'cpu' } });
    deepStrictEqual(Buffer.from((tapped.outputs.logits.data as Float32Array).buffer), Buffer.from((plain.outputs.logits.data as Float32Array).buffer));
    equal(tapped.taps.length, model.graph.activations().length);
    equal(tapped.provider, 'cpu');
    await cache.releaseAll();
  });

  it('captures the same tensor as the model cut at that value', async () => {
    const model = loadModel(modelPath);
    const value = '/block2/conv/Conv_output_0';
    const cache = new SessionCache();
    const feeds = input();
    const tapped = await runWithTaps(model, cache, feeds, { taps: [value], provider: { provider: 'cpu' } });
    const cut = analyseModel(extractModel(model.proto, model.graph, ['input'], [value], model.shapes), 'cut');
    const direct = await runWithTaps(cut, cache, feeds, { taps: [], provider: { provider: 'cpu' } });
    deepStrictEqual(tapped.taps[0].tensor!.dims, [2, 16, 16, 16]);
    deepStrictEqual(tapped.taps[0].tensor!.data, direct.outputs[value].data);
    await cache.releaseAll();
  });

  it('taps graph inputs through an Identity and reads statistics', async () => {
    const cache = new SessionCache();
    const r = await runWithTaps(loadModel(modelPath), cache, input(1), {
      taps: ['input', '/block1/relu/Relu_output_0'],
      tensors: false,
      provider: { provider: 'cpu' },
    });
    const inp = r.taps.find((x) => x.value === 'input')!;
    const relu = r.taps.find((x) => x.value === '/block1/relu/Relu_output_0')!;
    equal(inp.value, 'input');
    equal(inp.tensor, undefined);
    deepStrictEqual(inp.stats!.shape, [1, 3, 32, 32]);
    ok(relu.stats!.min >= 0 && relu.stats!.zeroFraction > 0.05, 'ReLU output has zeros');
    equal(
      relu.stats!.histogram.counts.reduce((a, b) => a + b, 0),
      relu.stats!.count,
    );
    await cache.releaseAll();
  });

  it('computes tensor statistics', () => {
    const s = tensorStats(Float32Array.of(0, 1, 2, 3, NaN, Infinity, 0, -2), [8]);
    equal(s.min, -2);
    equal(s.max, 3);
    equal(s.mean, 4 / 6);
    equal(s.nanCount, 1);
    equal(s.infCount, 1);
    equal(s.zeroFraction, 2 / 8);
    equal(s.histogram.counts.length, 64);
    equal(s.histogram.counts[0], 1);
    equal(s.histogram.counts[63], 1);
    ok(Math.abs(s.std - Math.sqrt([0, 1, 2, 3, 0, -2].reduce((a, v) => a + (v - 4 / 6) ** 2, 0) / 6)) < 1e-12);
  });

  it('builds no session when the tap set changes, and returns to baseline after 500 register/remove cycles', async (t) => {
    const baseSessions = counters.sessionsAlive;
    const createdBefore = counters.sessionsCreated;
    const baseHandles = counters.tapHandlesAlive;
    const rssBefore = process.memoryUsage().rss;
    for (let i = 0; i < 500; i++) {
      const value = i % 2 ? '/block1/relu/Relu_output_0' : '/block2/conv/Conv_output_0';
      const { handleId } = await handlers['taps.register']({ modelPath, value }, ctx);
      const r = await handlers.run({ modelPath, tensors: false }, ctx);
      equal(r.taps.length, 1);
      // The shared tapped session (the Relu output is a candidate) and one for the Conv output
      // alone (exposing it would block the Conv+Relu fusion): built once each, never again.
      ok(counters.sessionsAlive - baseSessions <= 2, 'at most two live sessions for this model');
      await handlers['taps.remove']({ handleId }, ctx);
    }
    equal(counters.sessionsCreated - createdBefore, 2, 'two sessions built in 500 cycles');
    await handlers.releaseAll({}, ctx);
    equal(counters.sessionsAlive, baseSessions);
    equal(counters.tapHandlesAlive, baseHandles);
    global.gc?.();
    const rssAfter = process.memoryUsage().rss;
    t.diagnostic(
      `rss before ${(rssBefore / 2 ** 20).toFixed(1)} MiB, after 500 cycles ${(rssAfter / 2 ** 20).toFixed(1)} MiB; sessions created ${counters.sessionsCreated}, released ${counters.sessionsReleased}`,
    );
  });

  it('reads taps from the shared session with the values of a session built for them alone (the old path)', async () => {
    const model = loadModel(modelPath);
    const candidates = tapCandidates(model.graph);
    ok(candidates.includes('/block1/relu/Relu_output_0'), 'a fusion group’s output is a candidate');
    ok(!candidates.includes('/block1/conv/Conv_output_0'), 'a Conv output read only by its Relu is inside the fusion');
    const cache = new SessionCache();
    const feeds = input();
    const created = counters.sessionsCreated;
    const shared = await runWithTaps(model, cache, feeds, { taps: candidates, provider: { provider: 'cpu' } });
    for (const value of candidates) {
      const one = await runWithTaps(model, cache, feeds, { taps: [value], provider: { provider: 'cpu' } });
      deepStrictEqual(one.taps[0].tensor!.data, shared.taps.find((t) => t.value === value)!.tensor!.data);
    }
    equal(counters.sessionsCreated - created, 1, 'every tap set of candidates runs on one session');
    const alone = await createSession(serializeModel(withTapOutputs(model.proto, model.graph, candidates).model), { provider: 'cpu' });
    const old = await alone.session.run({ input: toOrt(feeds.input) });
    for (const t of shared.taps) deepStrictEqual(t.tensor!.data, old[t.value].data, t.value);
    deepStrictEqual(shared.outputs.logits.data, old.logits.data);
    await alone.session.release();
    await cache.releaseAll();
  });

  it('runs the debug mode: every Conv/Relu output with statistics in one run', async () => {
    const r = await handlers.run({ modelPath, tapOps: ['Conv', 'Relu'], tensors: false }, ctx);
    equal(r.taps.length, 4);
    ok(r.taps.every((tap) => tap.stats && tap.stats.count > 0));
    await handlers.releaseAll({}, ctx);
  });

  it('evicts least-recently-used sessions beyond the byte budget', async () => {
    const cache = new SessionCache(1); // every model is over budget: only the newest stays
    const other = join(dir, 'other.onnx');
    writeFileSync(other, serializeModel(tinyCnn()));
    await runWithTaps(loadModel(modelPath), cache, input(1), { taps: [], provider: { provider: 'cpu' } });
    await runWithTaps(loadModel(other), cache, input(1), { taps: [], provider: { provider: 'cpu' } });
    equal(cache.list().length, 1);
    match(cache.list()[0].modelKey, /other\.onnx/);
    await cache.releaseAll();
  });

  it('falls back to CPU when a GPU provider cannot start, and records why', async () => {
    const cache = new SessionCache();
    const r = await runWithTaps(loadModel(modelPath), cache, input(1), { taps: [], provider: { provider: 'cuda' } });
    if (r.provider === 'cpu') {
      equal(r.fallbacks[0].provider, 'cuda');
      ok(r.fallbacks[0].error!.length > 0);
    }
    await cache.releaseAll();
    await rejects(runWithTaps(loadModel(modelPath), cache, input(1), { taps: [], provider: { provider: 'tpu' as never } }), /Unknown execution provider "tpu"/);
  });

  it('probes runtime shapes of every value', async (t) => {
    const probe = await probeShapes(loadModel(modelPath));
    deepStrictEqual(probe.shapes.get('/block2/relu/Relu_output_0'), [1, 16, 16, 16]);
    if (!fixtures(t)) return;
    const swin = await probeShapes(loadModel(fixtureModels().find((m) => m.name === 'swin_mini')!.path));
    deepStrictEqual(swin.shapes.get('/norm/LayerNormalization_output_0'), [1, 14, 14, 192]);
    t.diagnostic(`swin_mini probe: ${swin.shapes.size} values in ${swin.ms.toFixed(0)} ms`);
  });
});

describe('taps on a real image', () => {
  it('run takes an image, preprocessed per the model config', async () => {
    const r = await handlers.run({ modelPath: 'demo/model.onnx', image: 'demo/images/circle_1.png', tapOps: ['Relu'], tensors: false }, ctx);
    const logits = r.outputs.logits.data as Float32Array;
    equal(Array.from(logits).indexOf(Math.max(...logits)), 0, 'the demo model sees a circle');
    ok(r.taps.every((tap) => tap.stats!.max > 0));
    await handlers.releaseAll({}, ctx);
  });
});
