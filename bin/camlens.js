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
const { main } = require(bundle);
main(process.argv.slice(2), { out: (t) => process.stdout.write(t), err: (t) => process.stderr.write(t) })
  .then((code) => { process.exitCode = code; });
