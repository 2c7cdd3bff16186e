// The platform table (src/engine/runtime/platformProviders.ts) for the .mjs scripts: esbuild
// compiles that one TypeScript module in memory, so the table stays written once.
import * as esbuild from 'esbuild';
import { join } from 'node:path';
import { REPO } from '../../test/e2e/lib/env.mjs';

export async function loadPlatformTable() {
  const out = await esbuild.build({
    entryPoints: [join(REPO, 'src/engine/runtime/platformProviders.ts')],
    bundle: true,
    platform: 'node',
    format: 'esm',
    write: false,
    logLevel: 'warning',
  });
  return import(`data:text/javascript;base64,${Buffer.from(out.outputFiles[0].text).toString('base64')}`);
}
