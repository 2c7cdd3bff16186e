// Reads a .vsix (a zip) and says what is wrong with it for its target: a native binary of another
// platform, a file that has no business in the package (sources, tests, benchmarks, source maps,
// other platforms' packages), or a providers statement that is not the platform table's.
// Used by scripts/package.mjs after each build and by test/ship/vsix.test.ts.
import { readFileSync } from 'node:fs';
import { inflateRawSync } from 'node:zlib';

/** Entries of a zip file: { name, size, read() }. Enough of the format for what vsce writes (no zip64). */
export function readZip(file) {
  const zip = readFileSync(file);
  let eocd = zip.length - 22;
  while (eocd >= 0 && zip.readUInt32LE(eocd) !== 0x06054b50) eocd--;
  if (eocd < 0) throw new Error(`${file}: not a zip file (no end-of-central-directory record)`);
  const count = zip.readUInt16LE(eocd + 10);
  let at = zip.readUInt32LE(eocd + 16);
  const entries = [];
  for (let i = 0; i < count; i++) {
    if (zip.readUInt32LE(at) !== 0x02014b50) throw new Error(`${file}: bad central directory entry ${i}`);
    const method = zip.readUInt16LE(at + 10);
    const compressed = zip.readUInt32LE(at + 20);
    const size = zip.readUInt32LE(at + 24);
    const nameLength = zip.readUInt16LE(at + 28);
    const extraLength = zip.readUInt16LE(at + 30);
    const commentLength = zip.readUInt16LE(at + 32);
    const local = zip.readUInt32LE(at + 42);
    const name = zip.toString('utf8', at + 46, at + 46 + nameLength);
    at += 46 + nameLength + extraLength + commentLength;
    const read = () => {
      const start = local + 30 + zip.readUInt16LE(local + 26) + zip.readUInt16LE(local + 28);
      const data = zip.subarray(start, start + compressed);
      if (method === 0) return data;
      if (method === 8) return inflateRawSync(data);
      throw new Error(`${file}: ${name} uses zip method ${method}`);
    };
    entries.push({ name, size, read });
  }
  return entries;
}

const ELF_MACHINES = { 0x3e: 'x64', 0xb7: 'arm64', 0x03: 'ia32', 0x28: 'arm' };
const MACHO_CPUS = { 0x01000007: 'x64', 0x0100000c: 'arm64', 0x07: 'ia32' };
const PE_MACHINES = { 0x8664: 'x64', 0xaa64: 'arm64', 0x14c: 'ia32' };

/**
 * The platform a native binary is for, from its header: { os, arch } (os as node's
 * process.platform), or undefined for a file that is not an ELF, Mach-O or PE binary.
 */
export function nativeKind(buf) {
  if (buf.length < 64) return undefined;
  if (buf.readUInt32BE(0) === 0x7f454c46) return { os: 'linux', arch: ELF_MACHINES[buf.readUInt16LE(18)] ?? `elf-machine-${buf.readUInt16LE(18)}` };
  if (buf.readUInt32LE(0) === 0xfeedfacf || buf.readUInt32LE(0) === 0xfeedface) {
    return { os: 'darwin', arch: MACHO_CPUS[buf.readUInt32LE(4)] ?? `macho-cpu-${buf.readUInt32LE(4)}` };
  }
  if (buf.readUInt32BE(0) === 0xcafebabe && buf.readUInt32BE(4) < 20) {
    // A universal Mach-O holds several architectures: named together, so it never passes as one.
    const archs = Array.from({ length: buf.readUInt32BE(4) }, (_, i) => MACHO_CPUS[buf.readUInt32BE(8 + i * 20)] ?? 'other');
    return { os: 'darwin', arch: archs.join('+') };
  }
  if (buf.toString('latin1', 0, 2) === 'MZ') {
    const pe = buf.readUInt32LE(0x3c);
    if (pe + 6 <= buf.length && buf.readUInt32BE(pe) === 0x50450000) {
      return { os: 'win32', arch: PE_MACHINES[buf.readUInt16LE(pe + 4)] ?? `pe-machine-${buf.readUInt16LE(pe + 4)}` };
    }
  }
  return undefined;
}

/** The runtime packages a .vsix carries for a target; everything else in node_modules is a mistake. */
export function runtimePackages(target) {
  const [os] = target.split('-');
  const sharp = os === 'win32' ? [`@img/sharp-${target}`] : [`@img/sharp-${target}`, `@img/sharp-libvips-${target}`];
  return ['onnxruntime-node', 'onnxruntime-common', 'sharp', '@img/colour', 'detect-libc', 'semver', ...sharp];
}

const escape = (s) => s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');

/**
 * Checks a target's .vsix. providers: the platform table's entry ({ bundled, optIn }).
 * Returns { natives: [{ name, size, os, arch }], problems: [string], entries }.
 */
export function checkVsix(file, target, providers) {
  const [os, arch] = target.split('-');
  const entries = readZip(file);
  const allowed = [
    /^\[Content_Types\]\.xml$/,
    /^extension\.vsixmanifest$/,
    /^extension\/(package\.json|readme\.md|changelog\.md|LICENSE\.txt)$/,
    /^extension\/dist\/(extension\.js|worker\.js|webview\.js|uplot\.css|providers\.json)$/,
    /^extension\/media\/[\w-]+\.(png|svg|css)$/,
    new RegExp(`^extension/node_modules/(${runtimePackages(target).map(escape).join('|')})/`),
  ];
  // Inside the allowed folders: no TypeScript, source maps, tests or the onnxruntime install scripts' helpers.
  const unwanted = [/\.map$/, /\.ts$/, /\/(test|tests|__tests__|bench|src)\//, /^extension\/media\/icon\.svg$/];
  const problems = [];
  const natives = [];
  for (const e of entries) {
    if (!allowed.some((re) => re.test(e.name)) || unwanted.some((re) => re.test(e.name))) problems.push(`should not be packed: ${e.name}`);
    if (e.name.endsWith('/')) continue;
    const kind = nativeKind(e.read());
    if (!kind) continue;
    natives.push({ name: e.name, size: e.size, ...kind });
    if (kind.os !== os || kind.arch !== arch) problems.push(`${e.name} is a ${kind.os}-${kind.arch} binary, not ${target}`);
  }
  const names = new Set(entries.map((e) => e.name));
  const need = [
    'extension/package.json',
    'extension/dist/extension.js',
    'extension/dist/worker.js',
    'extension/dist/webview.js',
    'extension/dist/providers.json',
    `extension/node_modules/onnxruntime-node/bin/napi-v6/${os}/${arch}/onnxruntime_binding.node`,
    'extension/media/screenshot-panel.png',
    'extension/media/icon.png',
  ];
  for (const n of need) if (!names.has(n)) problems.push(`missing: ${n}`);
  if (!natives.some((n) => /\/@img\/sharp-[^/]+\/lib\/sharp-[^/]+\.node$/.test(n.name))) problems.push(`missing: sharp's native module for ${target}`);
  // Every library the onnxruntime binding links by name must be packed next to it.
  const binding = entries.find((e) => e.name.endsWith(`/napi-v6/${os}/${arch}/onnxruntime_binding.node`));
  if (binding) {
    const text = binding.read().toString('latin1');
    for (const lib of new Set(text.match(/(?:lib)?onnxruntime(?:\.\d+)?\.(?:so\.\d+|dylib|dll)/g) ?? [])) {
      if (!names.has(`extension/node_modules/onnxruntime-node/bin/napi-v6/${os}/${arch}/${lib}`)) problems.push(`missing: ${lib}, which the binding loads`);
    }
  }
  const read = (name) =>
    entries
      .find((e) => e.name === name)
      ?.read()
      .toString('utf8');
  const stated = read('extension/dist/providers.json');
  if (stated) {
    const parsed = JSON.parse(stated);
    if (JSON.stringify({ bundled: parsed.bundled, optIn: parsed.optIn }) !== JSON.stringify({ bundled: providers.bundled, optIn: providers.optIn })) {
      problems.push(`dist/providers.json says ${stated.trim()}, the platform table ${JSON.stringify(providers)}`);
    }
  }
  const manifest = read('extension/package.json');
  if (manifest) {
    const enumValues = JSON.parse(manifest).contributes?.configuration?.properties?.['camlens.executionProvider']?.enum;
    const expected = ['auto', ...providers.bundled, ...providers.optIn];
    if (JSON.stringify(enumValues) !== JSON.stringify(expected)) {
      problems.push(`camlens.executionProvider offers ${JSON.stringify(enumValues)}, the platform carries ${JSON.stringify(expected)}`);
    }
  }
  return { natives, problems, entries };
}
