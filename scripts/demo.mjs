// The README's main job on the bundled demo: list the demo model's layers, then explain every
// demo image (masks excluded) into demo-output/.
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';

const run = (args) => {
  console.log(`\n$ camlens ${args.join(' ')}`);
  const r = spawnSync(process.execPath, ['bin/camlens.js', ...args], { stdio: 'inherit' });
  if (r.status !== 0) process.exit(r.status ?? 1);
};

const images = readdirSync('demo/images')
  .filter((f) => /\.(png|jpe?g|webp)$/i.test(f) && !/\.mask\./.test(f))
  .map((f) => join('demo/images', f));
run(['layers', 'demo/model.onnx']);
run(['explain', 'demo/model.onnx', ...images, '--out', 'demo-output']);
console.log('\nOutputs (S.json, S.cam.npy, S.cam_raw.npy, S.overlay.png per image) are in demo-output/.');
