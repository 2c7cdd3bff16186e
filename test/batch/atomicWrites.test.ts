// Output files as CamLens writes them (engine/batch/atomicFileWriter.ts): .npy files handed over
// as header + values (npyParts) and written by one writev, on the pool (writeAtomic) or on the
// calling thread (writeAtomicNow, the worker's batch files); a failure names the file and leaves
// no temp file behind.
import { deepEqual, equal, ok, rejects, throws } from 'node:assert/strict';
import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { writeAtomic, writeAtomicNow } from '../../src/engine/batch/atomicFileWriter';
import { CamLensError } from '../../src/engine/errors';
import { decodeNpy, encodeNpy, npyParts } from '../../src/engine/npy';

const dir = fs.mkdtempSync(join(tmpdir(), 'camlens-atomic-'));
after(() => fs.rmSync(dir, { recursive: true, force: true }));

/** Values in a view that starts 12 bytes into its buffer: the pieces must honour byteOffset. */
const values = () => new Float32Array(Float32Array.from({ length: 3 + 2 * 3 * 5 }, (_, i) => Math.sin(i) * 1e3).buffer, 12, 30);

describe('npy pieces and atomic writes', () => {
  it('npyParts is encodeNpy in two pieces, the values not copied', () => {
    const v = values();
    const [head, body] = npyParts(v, [2, 3, 5]);
    deepEqual(Buffer.concat([head, body]), encodeNpy(v, [2, 3, 5]));
    equal(body.buffer, v.buffer);
    equal(body.byteOffset, v.byteOffset);
    equal(head.length % 64, 0); // numpy's alignment of the values
    throws(() => npyParts(v, [4, 4]), /do not fill shape/);
  });

  for (const [name, write] of [
    ['writeAtomic', writeAtomic],
    ['writeAtomicNow', async (f: string, d: Parameters<typeof writeAtomicNow>[1]) => writeAtomicNow(f, d)],
  ] as const) {
    it(`${name} writes pieces, bytes and text that read back exactly, and nothing else`, async () => {
      const v = values();
      const sub = join(dir, name);
      fs.mkdirSync(sub);
      await write(join(sub, 'a.npy'), npyParts(v, [2, 3, 5]));
      const back = decodeNpy(fs.readFileSync(join(sub, 'a.npy')));
      deepEqual(back.shape, [2, 3, 5]);
      deepEqual(Array.from(back.data), Array.from(v));
      await write(join(sub, 'b.bin'), [Uint8Array.of(), Uint8Array.of(1, 2), Uint8Array.of(), Uint8Array.of(3)]);
      deepEqual([...fs.readFileSync(join(sub, 'b.bin'))], [1, 2, 3]);
      await write(join(sub, 'c.json'), '{"ok":true}\n');
      equal(fs.readFileSync(join(sub, 'c.json'), 'utf8'), '{"ok":true}\n');
      await write(join(sub, 'c.json'), Uint8Array.of(7)); // replaces, never appends
      deepEqual([...fs.readFileSync(join(sub, 'c.json'))], [7]);
      deepEqual(fs.readdirSync(sub).sort(), ['a.npy', 'b.bin', 'c.json']);
    });

    it(`${name} names the file it could not write and leaves no temp file`, async () => {
      const sub = join(dir, `${name}-fail`);
      fs.mkdirSync(sub);
      fs.writeFileSync(join(sub, 'file'), 'x');
      const inside = join(sub, 'file', 'S.cam.npy'); // a file where a folder should be
      await rejects(write(inside, npyParts(values(), [30])), (e: unknown) => {
        ok(e instanceof CamLensError);
        ok(e.message.includes(inside) && /ENOTDIR/.test(e.message), e.message);
        return true;
      });
      fs.mkdirSync(join(sub, 'S.json')); // a folder in the way of the rename
      await rejects(write(join(sub, 'S.json'), '{}'), /EISDIR|folder is in the way/);
      deepEqual(fs.readdirSync(sub).sort(), ['S.json', 'file']);
    });
  }
});
