// Benchmark images: the demo images turned (0/90/180/270°), flipped and brightened, as PNGs of
// one size, so that a batch decodes real pictures rather than one file again and again.
import { readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';

const require = createRequire(import.meta.url);

/** 8 variants of each demo image, PNG bytes at size x size. */
export async function demoImageVariants(size) {
  const sharp = require('sharp');
  const demo = resolve('demo/images');
  const variants = [];
  for (const f of readdirSync(demo).filter((x) => x.endsWith('.png') && !x.includes('.mask.'))) {
    for (let v = 0; v < 8; v++) {
      let s = sharp(join(demo, f)).rotate(90 * (v % 4));
      if (v >= 4) s = s.flop();
      variants.push(
        await s
          .modulate({ brightness: 0.8 + 0.05 * v })
          .resize(size, size)
          .png()
          .toBuffer(),
      );
    }
  }
  return variants;
}
