// Hostile file names and labels in a batch's report and summary (issue 18). An image named
// `javascript:alert(document.domain).png` once became a clickable script link in report.html
// (whose CSP allowed 'unsafe-inline'); names with %, #, \ or a newline gave broken links; and
// names or labels such as `=cmd|' /C calc'!A0` went raw into summary.csv, where a spreadsheet
// runs them as formulas.
import { deepEqual, equal, match, ok } from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { csvCell, parseCsv } from '../../src/engine/csv';
import { relativeHref } from '../../src/engine/batch/report';

const REPO = resolve(__dirname, '../../..');
const MODEL = join(REPO, 'demo/model.onnx');

const HOSTILE_NAMES = [
  'javascript:alert(document.domain).png',
  '100%41.png',
  'a#b.png',
  'back\\slash.png',
  'new\nline.png',
  "=cmd|' /C calc'!A0.png",
  '+1.png',
  '-2.png',
  '@sum.png',
  'plain.png',
];
const HOSTILE_LABELS = ['=HYPERLINK("http://example.com","click")', '+circle', '-square', '@star'];

describe('hostile names in report.html and summary.csv', () => {
  const dir = mkdtempSync(join(tmpdir(), 'camlens-names-'));
  const images = join(dir, 'images');
  const out = join(dir, 'out');
  mkdirSync(images);
  // `=cmd|' /C calc'!A0.png` is a file in a folder named `=cmd|' `: the folder gets neutralised too.
  for (const name of HOSTILE_NAMES) mkdirSync(dirname(join(images, name)), { recursive: true });
  for (const name of HOSTILE_NAMES) copyFileSync(join(REPO, 'demo/images/circle_1.png'), join(images, name));
  const labels = join(dir, 'labels.txt');
  writeFileSync(labels, HOSTILE_LABELS.join('\n') + '\n');
  const run = spawnSync(process.execPath, [join(REPO, 'bin/camlens.js'), 'batch', MODEL, images, '--out', out, '--ep', 'cpu', '--quiet', '--labels', labels], {
    encoding: 'utf8',
  });

  it('the batch ran every image', () => {
    equal(run.status, 0, run.stderr);
    match(run.stdout, new RegExp(`explained ${HOSTILE_NAMES.length} of ${HOSTILE_NAMES.length} images \\(0 failed`));
  });

  it('every link in report.html is relative and opens the file it names', () => {
    const html = readFileSync(join(out, 'report.html'), 'utf8');
    const rows = JSON.parse(/<script id="rows" type="application\/json">(.*?)<\/script>/s.exec(html)![1]) as Array<{
      path: string;
      image: string;
      overlay: string;
    }>;
    equal(rows.length, HOSTILE_NAMES.length);
    deepEqual(rows.map((r) => r.path).sort(), [...HOSTILE_NAMES].sort());
    const base = pathToFileURL(out + '/');
    for (const r of rows) {
      for (const href of [r.image, r.overlay]) {
        ok(/^\.\.?\//.test(href), `relative: ${JSON.stringify(href)}`);
        ok(!/[\s#\\]/.test(href) && !/^[a-z]+:/i.test(href), `no scheme, fragment, backslash or whitespace: ${JSON.stringify(href)}`);
        // Resolved as a browser resolves it against the report's own URL.
        const url = new URL(href, base);
        equal(url.protocol, 'file:');
        ok(existsSync(fileURLToPath(url)), `${JSON.stringify(href)} opens ${JSON.stringify(r.path)}'s file`);
      }
      ok(fileURLToPath(new URL(r.image, base)) === join(images, r.path), `the image link of ${JSON.stringify(r.path)} is that image`);
    }
  });

  it("report.html's CSP allows no inline code but its own script and style, by hash", () => {
    const html = readFileSync(join(out, 'report.html'), 'utf8');
    const csp = /http-equiv="Content-Security-Policy" content="([^"]*)"/.exec(html)![1];
    ok(!csp.includes('unsafe-inline'), csp);
    const hash = (text: string) => `'sha256-${createHash('sha256').update(text, 'utf8').digest('base64')}'`;
    const script = /<script>(.*?)<\/script>/s.exec(html)![1];
    const style = /<style>(.*?)<\/style>/s.exec(html)![1];
    match(csp, new RegExp(`script-src ${hash(script).replace(/[+/]/g, '\\$&')}(;|$)`));
    match(csp, new RegExp(`style-src ${hash(style).replace(/[+/]/g, '\\$&')}(;|$)`));
  });

  it('summary.csv neutralises text cells that a spreadsheet would run as formulas', () => {
    const [header, ...records] = parseCsv(readFileSync(join(out, 'summary.csv'), 'utf8'), 'summary.csv').map((r) => r.cells);
    const col = (name: string) => header.indexOf(name);
    equal(records.length, HOSTILE_NAMES.length);
    for (const cells of records) {
      for (const c of [col('path'), col('predicted_label'), col('target_label'), col('output')])
        ok(!/^[=+\-@\t\r]/.test(cells[c]), `neutralised: ${JSON.stringify(cells[c])}`);
      ok(/^0\.\d+$|^1$/.test(cells[col('predicted_prob')]), `numbers stay numbers: ${cells[col('predicted_prob')]}`);
    }
    const paths = records.map((r) => r[col('path')]);
    ok(paths.includes("'=cmd|' /C calc'!A0.png") && paths.includes("'-2.png") && paths.includes('plain.png'), paths.join(' | '));
    ok(records.some((r) => r[col('predicted_label')] === `'${HOSTILE_LABELS[0]}`));
  });

  it('csvCell: text is neutralised, numbers (negative ones too) are not', () => {
    equal(csvCell(-0.5), '-0.5');
    equal(csvCell('-0.5'), "'-0.5");
    equal(csvCell('=1+1'), "'=1+1");
    equal(csvCell('\tx'), "'\tx");
    equal(csvCell('\rx'), `"'\rx"`);
    equal(csvCell('a,b'), '"a,b"');
    equal(csvCell(null), '');
  });

  it('relativeHref encodes each segment and never yields a scheme', () => {
    equal(relativeHref('javascript:alert(1).png'), './javascript%3Aalert(1).png');
    equal(relativeHref('../in/a#b/%.png'), '../in/a%23b/%25.png');
  });
});
