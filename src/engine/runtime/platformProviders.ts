// Which execution providers each platform's onnxruntime-node 1.30.0 build carries. This is the
// one table for the .vsix packager (it writes each target's dist/providers.json and narrows the
// setting's enum), the status bar's provider picker and the tests. It imports nothing native: the
// extension host reads it, and it must never load onnxruntime-node (worker-side detection of what
// actually loads stays in providers.ts).
import type { ProviderChoice } from './providers';

export type ExecutionProvider = Exclude<ProviderChoice, 'auto'>;

export interface PlatformProviders {
  /** In the package, usable as installed (given the GPU and driver they need). */
  bundled: readonly ExecutionProvider[];
  /** Offered by the binding but its libraries are a separate download (README, "Execution providers"). */
  optIn: readonly ExecutionProvider[];
}

/**
 * Read from the binaries (`listSupportedBackends` and the provider names compiled into each
 * onnxruntime_binding.node): CUDA's libraries come from NuGet only for linux/x64 (its install
 * script has no CUDA manifest for Windows), DirectML ships for Windows, CoreML for macOS, and
 * WebGPU (Dawn) for linux/x64, macOS arm64 and Windows. linux/arm64 is CPU only.
 */
export const PLATFORM_PROVIDERS: Readonly<Record<string, PlatformProviders>> = {
  'linux-x64': { bundled: ['cpu', 'webgpu'], optIn: ['cuda'] },
  'linux-arm64': { bundled: ['cpu'], optIn: [] },
  'darwin-arm64': { bundled: ['cpu', 'coreml', 'webgpu'], optIn: [] },
  'win32-x64': { bundled: ['cpu', 'dml', 'webgpu'], optIn: [] },
  'win32-arm64': { bundled: ['cpu', 'dml', 'webgpu'], optIn: [] },
};

/**
 * VS Code targets that cannot be built, and why (said by `npm run package`, never skipped
 * silently). onnxruntime-node stopped publishing macOS x64 binaries: 1.30.0 has none.
 */
export const UNBUILDABLE_TARGETS: Readonly<Record<string, string>> = {
  'darwin-x64': 'onnxruntime-node 1.30.0 ships no macOS x64 binary (bin/napi-v6/darwin/ has arm64 only)',
};

/** `${process.platform}-${process.arch}`, VS Code's target name for the running platform. */
export function platformTarget(platform: string = process.platform, arch: string = process.arch): string {
  return `${platform}-${arch}`;
}

/** What the provider picker offers on a platform: `auto`, then every provider its build carries. */
export function providerChoicesFor(target: string): Array<{ provider: ProviderChoice; optIn: boolean }> {
  const entry = PLATFORM_PROVIDERS[target];
  // A platform without an onnxruntime-node build has no worker at all; CPU is still the honest default.
  if (!entry)
    return [
      { provider: 'auto', optIn: false },
      { provider: 'cpu', optIn: false },
    ];
  return [
    { provider: 'auto', optIn: false },
    ...entry.bundled.map((provider) => ({ provider, optIn: false })),
    ...entry.optIn.map((provider) => ({ provider, optIn: true })),
  ];
}
