// The per-platform .vsix files of `npm run package`: each one's native binaries are its
// platform's (ELF/Mach-O/PE header and architecture), nothing that should stay home is inside,
// and it states the providers the platform table gives it. The checker itself is tested on the
// real onnxruntime-node binaries of every platform and on a hand-made package with planted faults.
import { deepEqual, equal, match, ok } from 'node:assert/strict';
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, readSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, it } from 'node:test';
import { checkVsix, nativeKind, readZip } from '../../scripts/lib/vsixContents.mjs';
import { PLATFORM_PROVIDERS } from '../../src/engine/runtime/platformProviders';

const REPO = resolve(__dirname, '../../..');
const ORT_BIN = join(REPO, 'node_modules/onnxruntime-node/bin/napi-v6');
const version = (JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as { version: string }).version;

/** The first 4 KiB of a file: every header nativeKind reads lies there. */
function head(file: string): Buffer {
  const fd = openSync(file, 'r');
  const buf = Buffer.alloc(4096);
  const n = readSync(fd, buf, 0, buf.length, 0);
  closeSync(fd);
  return buf.subarray(0, n);
}

/** A zip of stored entries, as much of the format as readZip needs (no CRC: readZip does not check it). */
function writeZip(file: string, entries: Record<string, Buffer | string>): void {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const [name, content] of Object.entries(entries)) {
    const data = Buffer.isBuffer(content) ? content : Buffer.from(content);
    const nameBytes = Buffer.from(name);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt32LE(data.length, 18);
    local.writeUInt32LE(data.length, 22);
    local.writeUInt16LE(nameBytes.length, 26);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt32LE(data.length, 20);
    central.writeUInt32LE(data.length, 24);
    central.writeUInt16LE(nameBytes.length, 28);
    central.writeUInt32LE(offset, 42);
    locals.push(local, nameBytes, data);
    centrals.push(central, nameBytes);
    offset += 30 + nameBytes.length + data.length;
  }
  const directory = Buffer.concat(centrals);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(Object.keys(entries).length, 8);
  end.writeUInt16LE(Object.keys(entries).length, 10);
  end.writeUInt32LE(directory.length, 12);
  end.writeUInt32LE(offset, 16);
  writeFileSync(file, Buffer.concat([...locals, directory, end]));
}

describe('native binary headers', () => {
  it('names the platform of every onnxruntime-node binary it ships', () => {
    let seen = 0;
    for (const os of readdirSync(ORT_BIN)) {
      for (const arch of readdirSync(join(ORT_BIN, os))) {
        for (const f of readdirSync(join(ORT_BIN, os, arch))) {
          deepEqual(nativeKind(head(join(ORT_BIN, os, arch, f))), { os, arch }, `${os}/${arch}/${f}`);
          seen++;
        }
      }
    }
    ok(seen >= 10, `only ${seen} binaries under ${ORT_BIN}`);
    equal(nativeKind(readFileSync(join(REPO, 'package.json'))), undefined);
    equal(nativeKind(readFileSync(join(REPO, 'media/icon.png'))), undefined);
  });
});

describe('the .vsix checker', () => {
  it('reports a binary of another platform, a packed source file, a missing binding and a wrong providers statement', () => {
    const file = join(mkdtempSync(join(tmpdir(), 'camlens-vsix-')), 'bad.vsix');
    const manifest = { contributes: { configuration: { properties: { 'camlens.executionProvider': { enum: ['auto', 'cpu', 'webgpu', 'cuda'] } } } } };
    writeZip(file, {
      'extension.vsixmanifest': '<x/>',
      'extension/package.json': JSON.stringify(manifest),
      'extension/dist/extension.js': '',
      'extension/dist/providers.json': JSON.stringify({ bundled: ['cpu'], optIn: [] }),
      'extension/src/host/extension.ts': 'export {}',
      'extension/node_modules/@img/sharp-linux-x64/lib/sharp-linux-x64-0.35.5.node': readFileSync(join(ORT_BIN, 'darwin/arm64/onnxruntime_binding.node')),
    });
    equal(readZip(file).length, 6);
    const { problems, natives } = checkVsix(file, 'linux-x64', PLATFORM_PROVIDERS['linux-x64']);
    deepEqual(
      natives.map((n) => `${n.os}-${n.arch}`),
      ['darwin-arm64'],
    );
    const text = problems.join('\n');
    match(text, /should not be packed: extension\/src\/host\/extension\.ts/);
    match(text, /sharp-linux-x64-0\.35\.5\.node is a darwin-arm64 binary, not linux-x64/);
    match(text, /missing: extension\/node_modules\/onnxruntime-node\/bin\/napi-v6\/linux\/x64\/onnxruntime_binding\.node/);
    match(text, /missing: extension\/dist\/worker\.js/);
    match(text, /dist\/providers\.json says .*"cpu".*, the platform table/);
    equal(problems.filter((p) => p.includes('executionProvider')).length, 0, 'the enum was right');
  });
});

describe('packaged .vsix files (out/, from `npm run package`)', () => {
  for (const [target, providers] of Object.entries(PLATFORM_PROVIDERS)) {
    it(`${target}: only ${target} binaries, only runtime files, providers ${[...providers.bundled, ...providers.optIn].join(', ')}`, (t) => {
      const file = join(REPO, 'out', `camlens-${target}-${version}.vsix`);
      if (!existsSync(file)) return t.skip(`${file} not built (npm run package ${target})`);
      const { problems, natives } = checkVsix(file, target, providers);
      deepEqual(problems, []);
      ok(natives.length >= 3, `only ${natives.length} native files`);
      // README images are relative links: each must be in the package for the page to render.
      const names = new Set(readZip(file).map((e) => e.name));
      for (const [, image] of readFileSync(join(REPO, 'README.md'), 'utf8').matchAll(/!\[[^\]]*\]\(([^)\s]+)/g)) {
        if (!/^https?:/.test(image)) ok(names.has(`extension/${image}`), `README image ${image} is not packed`);
      }
    });
  }
});
