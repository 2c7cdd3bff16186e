// The platform table (src/engine/runtime/platformProviders.ts) against what the binaries say:
// this machine's binding through onnxruntime-node itself, every other platform's through the
// provider names compiled into its onnxruntime_binding.node. The picker offers exactly the table.
import { deepEqual, ok } from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, it } from 'node:test';
import * as ort from 'onnxruntime-node';
import { PLATFORM_PROVIDERS, UNBUILDABLE_TARGETS, platformTarget, providerChoicesFor } from '../../src/engine/runtime/platformProviders';
import { PROVIDER_CHOICES } from '../../src/engine/runtime/providers';

const REPO = resolve(__dirname, '../../..');
const ORT_BIN = join(REPO, 'node_modules/onnxruntime-node/bin/napi-v6');
const sorted = (a: readonly string[]) => [...a].sort();

describe('execution providers by platform', () => {
  it('matches what onnxruntime-node reports on this machine (bundled vs download)', (t) => {
    const entry = PLATFORM_PROVIDERS[platformTarget()];
    if (!entry) return t.skip(`no table entry for ${platformTarget()}`);
    const backends = ort.listSupportedBackends().filter((b) => (PROVIDER_CHOICES as readonly string[]).includes(b.name));
    deepEqual(sorted(entry.bundled), sorted(backends.filter((b) => b.bundled).map((b) => b.name)));
    deepEqual(sorted(entry.optIn), sorted(backends.filter((b) => !b.bundled).map((b) => b.name)));
  });

  it("matches the provider names compiled into every platform's binding", () => {
    for (const [target, entry] of Object.entries(PLATFORM_PROVIDERS)) {
      const [os, arch] = target.split('-');
      const strings = new Set(
        readFileSync(join(ORT_BIN, os, arch, 'onnxruntime_binding.node'))
          .toString('latin1')
          .split('\0'),
      );
      // "cuda" is merged into a longer string by the linker, so only the others are read here.
      const named = ['dml', 'coreml', 'webgpu'].filter((p) => strings.has(p));
      deepEqual(sorted(named), sorted([...entry.bundled, ...entry.optIn].filter((p) => p !== 'cpu' && p !== 'cuda')), target);
    }
  });

  it('has no table entry for a target said to be unbuildable, and every provider is a setting value', () => {
    const manifest = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as {
      contributes: { configuration: { properties: Record<string, { enum?: string[] }> } };
    };
    const settingValues = manifest.contributes.configuration.properties['camlens.executionProvider'].enum ?? [];
    deepEqual(settingValues, [...PROVIDER_CHOICES]);
    for (const target of Object.keys(UNBUILDABLE_TARGETS)) ok(!PLATFORM_PROVIDERS[target], target);
    for (const entry of Object.values(PLATFORM_PROVIDERS)) for (const p of [...entry.bundled, ...entry.optIn]) ok(settingValues.includes(p), p);
  });

  it('the picker offers auto, then the bundled providers, then the opt-in ones', () => {
    deepEqual(providerChoicesFor('linux-x64'), [
      { provider: 'auto', optIn: false },
      { provider: 'cpu', optIn: false },
      { provider: 'webgpu', optIn: false },
      { provider: 'cuda', optIn: true },
    ]);
    deepEqual(
      providerChoicesFor('win32-x64').map((c) => c.provider),
      ['auto', 'cpu', 'dml', 'webgpu'],
    );
    deepEqual(
      providerChoicesFor('darwin-arm64').map((c) => c.provider),
      ['auto', 'cpu', 'coreml', 'webgpu'],
    );
    deepEqual(
      providerChoicesFor('freebsd-x64').map((c) => c.provider),
      ['auto', 'cpu'],
    );
  });
});
