// Access to ../shared/fixtures (beside the checkout). Tests that need it call `fixtures(t)`,
// which skips the test with a visible reason when the folder is absent.
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { TestContext } from 'node:test';
import { halfToFloat } from '../../src/engine/onnx/tensor';

function findFixtures(): string | undefined {
  const candidates = [
    process.env.CAMLENS_FIXTURES,
    resolve(process.cwd(), '../shared/fixtures'),
    resolve(__dirname, '../../../shared/fixtures'),
    resolve(__dirname, '../../../../shared/fixtures'),
  ];
  return candidates.find((c) => c && existsSync(join(c, 'manifest.json')));
}

export const FIXTURES_DIR = findFixtures();

export const SKIP_REASON = 'shared fixtures not found (../shared/fixtures or $CAMLENS_FIXTURES); skipping';

/** The fixtures folder, or undefined after marking the test skipped. */
export function fixtures(t: TestContext): string | undefined {
  if (!FIXTURES_DIR) {
    t.skip(SKIP_REASON);
    return undefined;
  }
  return FIXTURES_DIR;
}

export interface FixtureModel { name: string; file: string; path: string; bytes: number }

export function fixtureModels(): FixtureModel[] {
  if (!FIXTURES_DIR) return [];
  const manifest = JSON.parse(readFileSync(join(FIXTURES_DIR, 'manifest.json'), 'utf8'));
  return Object.entries<{ file: string; bytes: number }>(manifest.models).map(([name, m]) => ({
    name, file: m.file, path: join(FIXTURES_DIR!, m.file), bytes: m.bytes,
  }));
}

export interface Npy { shape: number[]; dtype: string; data: Float32Array }

export function loadNpy(path: string): Npy {
  const buf = readFileSync(path);
  if (buf[0] !== 0x93 || buf.toString('latin1', 1, 6) !== 'NUMPY') throw new Error(`${path}: not .npy`);
  const lenBytes = buf[6] === 1 ? 2 : 4;
  const headerLen = lenBytes === 2 ? buf.readUInt16LE(8) : buf.readUInt32LE(8);
  const start = 8 + lenBytes;
  const header = buf.toString('latin1', start, start + headerLen);
  const dtype = /'descr':\s*'([^']+)'/.exec(header)![1];
  const shape = /'shape':\s*\(([^)]*)\)/.exec(header)![1].split(',').map((s) => s.trim()).filter(Boolean).map(Number);
  const count = shape.reduce((a, b) => a * b, 1);
  const payload = new Uint8Array(buf.subarray(start + headerLen)).buffer;
  if (dtype === '<f4') return { shape, dtype, data: new Float32Array(payload, 0, count) };
  if (dtype === '<f2') return { shape, dtype, data: Float32Array.from(new Uint16Array(payload, 0, count), halfToFloat) };
  throw new Error(`${path}: dtype ${dtype} not handled`);
}
