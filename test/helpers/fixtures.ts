// Access to ../shared/fixtures (beside the checkout). Tests that need it call `fixtures(t)`,
// which skips the test with a visible reason when the folder is absent.
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { TestContext } from 'node:test';

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

export interface FixtureModel {
  name: string;
  file: string;
  path: string;
  bytes: number;
}

export function fixtureModels(): FixtureModel[] {
  if (!FIXTURES_DIR) return [];
  const manifest = JSON.parse(readFileSync(join(FIXTURES_DIR, 'manifest.json'), 'utf8'));
  return Object.entries<{ file: string; bytes: number }>(manifest.models).map(([name, m]) => ({
    name,
    file: m.file,
    path: join(FIXTURES_DIR!, m.file),
    bytes: m.bytes,
  }));
}

// The engine's reader (float32/float16/float64 → Float32Array), under the name the tests use.
export { readNpy as loadNpy, type NpyArray as Npy } from '../../src/engine/npy';
