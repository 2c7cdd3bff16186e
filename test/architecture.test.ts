// The layering DESIGN.md promises, checked on the source: no import circles; engine/ knows
// nothing of VS Code, the worker, the host or the CLI; src/host imports nothing from webview/
// and webview/ nothing from src/host or src/worker; the panel protocol imports neither side;
// and nothing the extension host loads reaches onnxruntime-node or sharp.
import { deepStrictEqual, ok } from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, it } from 'node:test';

const REPO = resolve(__dirname, '../..');

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((e) => {
    const p = join(dir, e);
    return statSync(p).isDirectory() ? sources(p) : p.endsWith('.ts') ? [p] : [];
  });
}

interface Imports {
  /** Project files imported (resolved). */
  files: string[];
  /** Package names imported. */
  packages: string[];
}

// import/export … from '…', import '…', and import('…') — type-only imports included.
const SPECIFIER = /(?:^|[\s;])(?:import|export)\s+(?:type\s+)?(?:[^'";]*?\sfrom\s+)?['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/gm;

function importsOf(file: string): Imports {
  const text = readFileSync(file, 'utf8');
  const files: string[] = [];
  const packages: string[] = [];
  for (const m of text.matchAll(SPECIFIER)) {
    const spec = m[1] ?? m[2];
    if (!spec.startsWith('.')) {
      packages.push(spec);
      continue;
    }
    const base = resolve(dirname(file), spec);
    const found = [`${base}.ts`, join(base, 'index.ts')].find(existsSync);
    ok(found, `${relative(REPO, file)} imports "${spec}", which does not resolve to a .ts file`);
    files.push(found);
  }
  return { files, packages };
}

const all = [...sources(join(REPO, 'src')), ...sources(join(REPO, 'webview'))];
const graph = new Map(all.map((f) => [f, importsOf(f)]));
const rel = (f: string) => relative(REPO, f).split('\\').join('/');
const under = (f: string, folder: string) => rel(f).startsWith(folder);

/** Import edges from files under `from` to files under any of `to`, as "a → b" lines. */
function edges(from: string, to: string[]): string[] {
  const found: string[] = [];
  for (const [file, { files }] of graph) {
    if (!under(file, from)) continue;
    for (const target of files) if (to.some((t) => under(target, t))) found.push(`${rel(file)} → ${rel(target)}`);
  }
  return found;
}

describe('architecture: layers and import circles', () => {
  it('has no import circles among src/ and webview/ (type-only imports count)', () => {
    // Tarjan's strongly connected components
    let counter = 0;
    const index = new Map<string, number>();
    const low = new Map<string, number>();
    const stack: string[] = [];
    const onStack = new Set<string>();
    const circles: string[][] = [];
    const visit = (v: string) => {
      index.set(v, counter);
      low.set(v, counter++);
      stack.push(v);
      onStack.add(v);
      for (const w of graph.get(v)?.files ?? []) {
        if (!index.has(w)) {
          visit(w);
          low.set(v, Math.min(low.get(v)!, low.get(w)!));
        } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
      }
      if (low.get(v) === index.get(v)) {
        const component: string[] = [];
        let w: string;
        do {
          w = stack.pop()!;
          onStack.delete(w);
          component.push(rel(w));
        } while (w !== v);
        if (component.length > 1) circles.push(component.sort());
      }
    };
    for (const f of graph.keys()) if (!index.has(f)) visit(f);
    ok(graph.size > 100, `read the sources (${graph.size} files)`);
    deepStrictEqual(circles, []);
  });

  it('engine/ imports nothing from the worker, the host, the CLI, the panel or webview, nor vscode', () => {
    deepStrictEqual(edges('src/engine/', ['src/worker/', 'src/host/', 'src/cli/', 'src/panel/', 'webview/']), []);
    const vscodeUsers = [...graph].filter(([f, i]) => under(f, 'src/engine/') && i.packages.includes('vscode')).map(([f]) => rel(f));
    deepStrictEqual(vscodeUsers, []);
  });

  it('src/host imports nothing from webview/; webview/ only the panel protocol and pure engine/image modules', () => {
    deepStrictEqual(edges('src/host/', ['webview/']), []);
    deepStrictEqual(edges('webview/', ['src/host/', 'src/worker/', 'src/cli/']), []);
    const webviewEngine = edges('webview/', ['src/engine/']).filter((e) => !/→ src\/engine\/image\/(colormap|blend)\.ts$/.test(e));
    deepStrictEqual(webviewEngine, []);
  });

  it('the panel protocol imports neither the host nor the webview', () => {
    deepStrictEqual(edges('src/panel/', ['src/host/', 'webview/']), []);
  });

  it('nothing the extension host loads reaches onnxruntime-node or sharp (they live in the worker)', (t) => {
    // The bundle is what VS Code loads: type-only imports are gone from it, runtime ones are not.
    const bundle = join(REPO, 'dist/extension.js');
    if (!existsSync(bundle)) return t.skip('dist/extension.js is not built');
    const text = readFileSync(bundle, 'utf8');
    for (const native of ['onnxruntime-node', 'sharp']) ok(!text.includes(`require("${native}")`), `the extension bundle requires ${native}`);
    ok(/require\("vscode"\)/.test(text), 'the bundle is the extension (it requires vscode)');
  });
});
