// The CAM math against pytorch-grad-cam's numbers in ../shared/fixtures/refs (see its README,
// "What the methods compute"). Tolerances: relative = max abs diff / max abs reference.
import { ok } from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import { createCam, finalCam, nhwcToNchw, tokensToNchw, type CamInput, type FeatureMaps, type Maps } from '../../src/engine/cam';
import { FIXTURES_DIR, fixtures, loadNpy, type Npy } from '../helpers/fixtures';

const GRADIENT_METHODS = [
  { ref: 'GradCAM', id: 'gradcam', tol: 1e-5, weights: true },
  { ref: 'GradCAMPlusPlus', id: 'gradcam++', tol: 1e-5, weights: true },
  { ref: 'XGradCAM', id: 'xgradcam', tol: 1e-4, weights: true },
  { ref: 'HiResCAM', id: 'hirescam', tol: 1e-5, weights: false },
  { ref: 'LayerCAM', id: 'layercam', tol: 1e-5, weights: false },
] as const;

const ALL_REFS = ['GradCAM', 'GradCAMPlusPlus', 'XGradCAM', 'HiResCAM', 'LayerCAM', 'EigenCAM', 'ScoreCAM', 'AblationCAM'];

/** What a case's index.json says; `methods[M].cam` is null where the final map was not saved (size budget). */
interface CaseIndex {
  activation_layout: string;
  scores: number[];
  methods: Record<string, { cam?: string | null; cam_not_saved?: string }>;
}

interface Case {
  name: string;
  dir: string;
  index: CaseIndex;
  input: CamInput;
  n: number;
}

function featureMapsOf(npy: Npy, layout: string): FeatureMaps {
  if (layout === 'NHWC') return nhwcToNchw(npy);
  if (layout.startsWith('N,tokens')) return tokensToNchw(npy, { extraTokens: 1 });
  return { data: npy.data, shape: npy.shape as [number, number, number, number] };
}

function loadCase(dir: string, name: string): Case {
  const index = JSON.parse(readFileSync(join(dir, 'index.json'), 'utf8'));
  const activations = featureMapsOf(loadNpy(join(dir, 'activation.npy')), index.activation_layout);
  const gradients = featureMapsOf(loadNpy(join(dir, 'gradient.npy')), index.activation_layout);
  return { name, dir, index, input: { activations, gradients }, n: activations.shape[0] };
}

const caseNames = (): string[] => (FIXTURES_DIR ? readdirSync(join(FIXTURES_DIR, 'refs')).sort() : []);

/** max |a − b| / max |b| over the first `count` values. */
function relErr(a: ArrayLike<number>, b: ArrayLike<number>, count = b.length): number {
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < count; i++) {
    diff = Math.max(diff, Math.abs(a[i] - b[i]));
    scale = Math.max(scale, Math.abs(b[i]));
  }
  return scale > 0 ? diff / scale : diff;
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let d = 0;
  for (let i = 0; i < b.length; i++) d = Math.max(d, Math.abs(a[i] - b[i]));
  return d;
}

/** Per image relative error, the sign of each image's map chosen to fit best. */
function relErrUpToSign(a: Float32Array, b: Float32Array, n: number, hw: number): { err: number; flipped: number } {
  let worst = 0;
  let flipped = 0;
  for (let k = 0; k < n; k++) {
    const x = a.subarray(k * hw, (k + 1) * hw);
    const y = b.subarray(k * hw, (k + 1) * hw);
    const plus = relErr(x, y);
    const minus = relErr(
      x.map((v) => -v),
      y,
    );
    if (minus < plus) flipped++;
    worst = Math.max(worst, Math.min(plus, minus));
  }
  return { err: worst, flipped };
}

/**
 * The final map `cam_<M>.npy` of a case: undefined where its index says it was not saved (the
 * caller says so in a diagnostic); a file the index names but the folder lacks is a failure.
 */
function finalMapFile(dir: string, index: CaseIndex, m: string): string | undefined {
  const entry = index.methods[m];
  ok(entry, `${dir}/index.json has no entry for ${m}`);
  if (entry.cam === null) return undefined;
  const path = join(dir, entry.cam ?? `cam_${m}.npy`);
  ok(existsSync(path), `${path} is missing from the fixtures`);
  return path;
}

const notSaved = (index: CaseIndex, m: string) => `${m} final map not saved (${(index.methods[m].cam_not_saved ?? 'index says null').split(';')[0]})`;

function eachCase(t: TestContext, body: (c: Case, t: TestContext) => void): void {
  if (!fixtures(t)) return;
  for (const name of caseNames()) body(loadCase(join(FIXTURES_DIR!, 'refs', name), name), t);
}

const fmt = (x: number) => x.toExponential(2);

describe('CAM methods vs pytorch-grad-cam references', () => {
  it('gradient methods: lowres maps and weights', (t) => {
    eachCase(t, (c) => {
      const parts: string[] = [];
      for (const m of GRADIENT_METHODS) {
        const { lowres, weights } = createCam(m.id).lowres(c.input);
        const [, h, w] = lowres.shape;
        const ref = loadNpy(join(c.dir, `cam_${m.ref}_lowres.npy`));
        const e = relErr(lowres.data, ref.data, c.n * h * w);
        let msg = `${m.ref} lowres ${fmt(e)}`;
        ok(e <= m.tol, `${c.name} ${m.ref}: lowres relative error ${e} > ${m.tol}`);
        if (m.weights) {
          const refW = loadNpy(join(c.dir, `weights_${m.ref}.npy`));
          const ew = relErr(weights!, refW.data, weights!.length);
          msg += ` weights ${fmt(ew)}`;
          ok(ew <= m.tol, `${c.name} ${m.ref}: weights relative error ${ew} > ${m.tol}`);
        }
        parts.push(msg);
      }
      t.diagnostic(`${c.name}: ${parts.join('; ')}`);
    });
  });

  it('EigenCAM lowres up to sign', (t) => {
    eachCase(t, (c) => {
      const { lowres } = createCam('eigencam').lowres(c.input);
      const [, h, w] = lowres.shape;
      const ref = loadNpy(join(c.dir, 'cam_EigenCAM_lowres.npy'));
      const { err, flipped } = relErrUpToSign(lowres.data, ref.data, c.n, h * w);
      let finalMsg = `; ${notSaved(c.index, 'EigenCAM')}`;
      const camPath = finalMapFile(c.dir, c.index, 'EigenCAM');
      if (camPath) {
        // with numpy's sign, our lowres goes through the pipeline to the stored final map
        const refCam = loadNpy(camPath);
        const [, H, W] = refCam.shape;
        const hw = h * w;
        const aligned = Float32Array.from(lowres.data);
        for (let k = 0; k < c.n; k++) {
          let dot = 0;
          for (let p = 0; p < hw; p++) dot += aligned[k * hw + p] * ref.data[k * hw + p];
          if (dot < 0) for (let p = 0; p < hw; p++) aligned[k * hw + p] = -aligned[k * hw + p];
        }
        const fin = finalCam({ data: aligned, shape: [c.n, h, w] }, [H, W]);
        const d = maxAbsDiff(fin.data, refCam.data.subarray(0, c.n * H * W));
        finalMsg = `; final map (numpy's sign) ${fmt(d)}`;
        ok(d <= 1e-3, `${c.name} EigenCAM final map: ${d}`);
      }
      t.diagnostic(`${c.name}: EigenCAM lowres ${fmt(err)} (sign opposite to numpy's in ${flipped}/${c.n} images)${finalMsg}`);
      ok(err <= 1e-5, `${c.name} EigenCAM: relative error ${err}`);
    });
  });

  it('ScoreCAM and AblationCAM: lowres from the stored weights; weights through the score formulas', (t) => {
    eachCase(t, (c) => {
      const [n, ch, h, w] = c.input.activations.shape;
      const parts: string[] = [];
      // softmax(log w) = w: stored weights turned into scores go back through ScoreCAM's softmax.
      const ws = loadNpy(join(c.dir, 'weights_ScoreCAM.npy'));
      const scores = Float32Array.from(ws.data.subarray(0, n * ch), Math.log);
      const sc = createCam('scorecam').lowres({ activations: c.input.activations, channelScores: scores });
      const refS = loadNpy(join(c.dir, 'cam_ScoreCAM_lowres.npy'));
      const eS = relErr(sc.lowres.data, refS.data, n * h * w);
      const eSw = relErr(sc.weights!, ws.data, n * ch);
      parts.push(`ScoreCAM lowres ${fmt(eS)} weights ${fmt(eSw)}`);
      ok(eS <= 1e-5 && eSw <= 1e-5, `${c.name} ScoreCAM: ${eS} / ${eSw}`);
      // s_c = s·(1 − w_c) gives (s − s_c)/s = w_c with the real (possibly negative) base score.
      const wa = loadNpy(join(c.dir, 'weights_AblationCAM.npy'));
      const base = Float32Array.from(c.index.scores.slice(0, n));
      const ablated = new Float64Array(n * ch);
      for (let i = 0; i < n * ch; i++) ablated[i] = base[Math.floor(i / ch)] * (1 - wa.data[i]);
      const ab = createCam('ablationcam').lowres({
        activations: c.input.activations,
        baseScores: base,
        channelScores: Float32Array.from(ablated),
      });
      const refA = loadNpy(join(c.dir, 'cam_AblationCAM_lowres.npy'));
      const eA = relErr(ab.lowres.data, refA.data, n * h * w);
      const eAw = relErr(ab.weights!, wa.data, n * ch);
      parts.push(`AblationCAM lowres ${fmt(eA)} weights ${fmt(eAw)}`);
      ok(eA <= 1e-5, `${c.name} AblationCAM lowres: ${eA}`);
      ok(eAw <= 1e-4, `${c.name} AblationCAM weights round trip: ${eAw}`);
      let sumErr = 0;
      for (let k = 0; k < ws.shape[0]; k++) {
        let s = 0;
        for (let j = 0; j < ch; j++) s += ws.data[k * ch + j];
        sumErr = Math.max(sumErr, Math.abs(s - 1));
      }
      parts.push(`stored ScoreCAM weights sum to 1 within ${fmt(sumErr)}`);
      ok(sumErr < 1e-4, `${c.name}: stored ScoreCAM weights are a softmax`);
      t.diagnostic(`${c.name}: ${parts.join('; ')}`);
    });
  });

  it('final maps: our postprocess of the reference lowres reproduces cam_<M>.npy (float16)', (t) => {
    if (!fixtures(t)) return;
    for (const name of caseNames()) {
      const dir = join(FIXTURES_DIR!, 'refs', name);
      const index: CaseIndex = JSON.parse(readFileSync(join(dir, 'index.json'), 'utf8'));
      const parts: string[] = [];
      let worst = 0;
      for (const m of ALL_REFS) {
        const camPath = finalMapFile(dir, index, m);
        if (!camPath) {
          parts.push(notSaved(index, m));
          continue;
        }
        const ref = loadNpy(camPath);
        const low = loadNpy(join(dir, `cam_${m}_lowres.npy`));
        const ours = finalCam(low as unknown as Maps, [ref.shape[1], ref.shape[2]]);
        const d = maxAbsDiff(ours.data, ref.data);
        worst = Math.max(worst, d);
        parts.push(`${m} ${fmt(d)}`);
        ok(d <= 5e-4, `${name} ${m}: final map max abs diff ${d}`);
      }
      t.diagnostic(`${name}: final map max abs diff ${parts.join(', ')} (worst ${fmt(worst)})`);
    }
  });

  it('final maps from our own lowres match where the method is sign-free', (t) => {
    eachCase(t, (c) => {
      const parts: string[] = [];
      for (const m of GRADIENT_METHODS) {
        const camPath = finalMapFile(c.dir, c.index, m.ref);
        if (!camPath) {
          parts.push(notSaved(c.index, m.ref));
          continue;
        }
        const ref = loadNpy(camPath);
        const [, H, W] = ref.shape;
        const res = createCam(m.id).compute(c.input, [H, W]);
        const d = maxAbsDiff(res.cam.data, ref.data.subarray(0, c.n * H * W));
        parts.push(`${m.ref} ${fmt(d)}`);
        // XGradCAM's weights are the least stable (README); its map may move a little more.
        ok(d <= (m.ref === 'XGradCAM' ? 2e-3 : 1e-3), `${c.name} ${m.ref}: final map max abs diff ${d}`);
      }
      t.diagnostic(`${c.name}: end-to-end final map max abs diff ${parts.join(', ')}`);
    });
  });
});
