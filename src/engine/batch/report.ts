// report.html: one self-contained file (no network, no external script or style) with a
// sortable, filterable gallery. Thumbnails are relative links to the overlays beside it and to
// the input images, so the report stays small for 10,000 images and opens in VS Code or any
// browser from the output folder. A detector's rows (one per detection) show their box over
// the overlay, positioned by the script (CSSOM: no inline style, which the CSP forbids).
import { createHash } from 'node:crypto';
import type { SummaryRow } from './types';
import { clipReportLinks } from './videoOutputs';

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

/**
 * A link to a file at a relative '/'-separated path: every segment URL-encoded and the whole
 * prefixed with "./", so a file name is only ever a path — never a scheme ("javascript:…"), a
 * fragment ("#"), an escape ("%41") or a line break — and the link opens the file so named.
 */
export function relativeHref(relPath: string): string {
  const href = relPath.split('/').map(encodeURIComponent).join('/');
  return href.startsWith('../') ? href : `./${href}`;
}

export interface ReportOptions {
  title: string;
  meta: Record<string, unknown>;
  /** Path ('/'-separated) from the report's folder to the input image at `rel` (relative to the input root). */
  imagePath(rel: string): string;
}

/** The whole page in one string (small runs, tests); summaryFiles.ts streams the same bytes. */
export function renderReport(rows: readonly SummaryRow[], o: ReportOptions): string {
  const { head, tail } = reportFrame(o);
  return head + rows.map((r) => reportRowJson(r, o)).join(',') + tail;
}

/** One row as the page's script reads it: the summary row plus links to its pictures. */
export function reportRowJson(r: SummaryRow, o: ReportOptions): string {
  const links = { image: o.imagePath(r.path), overlay: r.output ? `${r.output}.overlay.png` : null, ...clipReportLinks(r) };
  const hrefs = { image: relativeHref(links.image), overlay: links.overlay === null ? null : relativeHref(links.overlay) };
  // JSON inside <script>: "</" must not end the element.
  return JSON.stringify({ ...r, ...hrefs }).replace(/</g, '\\u003c');
}

// Never produced by escapeHtml or JSON.stringify, so the first one is the rows' place.
const ROWS_MARK = '\u0000rows\u0000';

/**
 * The page around the rows' JSON array: head ends with "[", tail starts with "]", and the rows
 * go in between, comma-separated, so a writer never needs all rows at once.
 */
export function reportFrame(o: ReportOptions): { head: string; tail: string } {
  const page = reportPage(o, `[${ROWS_MARK}]`);
  const at = page.indexOf(ROWS_MARK);
  return { head: page.slice(0, at), tail: page.slice(at + ROWS_MARK.length) };
}

// The page's one style sheet and one script, allowed by their hashes in its CSP: no inline
// code but these runs, whatever a file name or label in the rows holds.
const REPORT_STYLE = `
body{font:13px system-ui,sans-serif;margin:16px;color:#222;background:#fafafa}
header{display:flex;gap:12px;flex-wrap:wrap;align-items:center;margin-bottom:10px}
input,select{font:inherit;padding:3px 6px}
table{border-collapse:collapse;width:100%;background:#fff}
th,td{border-bottom:1px solid #ddd;padding:4px 6px;text-align:left;vertical-align:middle}
th{cursor:pointer;user-select:none;position:sticky;top:0;background:#eee}
th.asc::after{content:" \\25B2"}th.desc::after{content:" \\25BC"}
img{width:96px;height:96px;object-fit:contain;image-rendering:pixelated;background:#ddd}
tr.error td{background:#fee}.num{text-align:right;font-variant-numeric:tabular-nums}
.muted{color:#777}#count{font-weight:600}
.thumb{position:relative;display:inline-block;width:96px;height:96px}.bbox{position:absolute;border:2px solid #0f0;box-sizing:border-box;pointer-events:none}
`;

const REPORT_SCRIPT = `
(function(){
var rows=JSON.parse(document.getElementById('rows').textContent);
var meta=JSON.parse(document.getElementById('summary').textContent);
document.getElementById('meta').textContent=Object.keys(meta).filter(function(k){return meta[k]!==null&&typeof meta[k]!=='object'}).map(function(k){return k+': '+meta[k]}).join(' · ');
var metricNames=[];rows.forEach(function(r){Object.keys(r.metrics||{}).forEach(function(m){if(metricNames.indexOf(m)<0)metricNames.push(m)})});metricNames.sort();
var cols=[['image','Image',0],['overlay','Overlay',0],['path','Path',1],['method','Method',1],['predicted_label','Predicted',1],['predicted_prob','Prob',2],['target_label','Target',1],['ground_truth','GT',2],['layer','Layer',1],['run_ms','Run ms',2],['status','Status',1],['error','Error',1]];
metricNames.forEach(function(m){cols.splice(cols.length-2,0,['metric:'+m,m,2])});
if(rows.some(function(r){return r.box!==undefined}))cols.splice(7,0,['box','Box',2],['box_score','Score',2]);
var val=function(r,k){return k.indexOf('metric:')===0?(r.metrics||{})[k.slice(7)]:r[k]};
var sortKey='path',sortDir=1;
var head=document.getElementById('head');
cols.forEach(function(c){var th=document.createElement('th');th.textContent=c[1];if(c[2])th.onclick=function(){if(sortKey===c[0])sortDir=-sortDir;else{sortKey=c[0];sortDir=1}render()};th.dataset.key=c[0];head.appendChild(th)});
function fill(id,key){var s=document.getElementById(id);var seen={};rows.forEach(function(r){var v=r[key];if(v!==null&&!seen[v]){seen[v]=1;var o=document.createElement('option');o.textContent=v;s.appendChild(o)}});s.onchange=render}
fill('method','method');fill('pred','predicted_label');
document.getElementById('status').onchange=render;document.getElementById('q').oninput=render;
var body=document.getElementById('body');
function boxOver(a,img,r){a.className='thumb';img.onload=function(){var s=Math.min(96/img.naturalWidth,96/img.naturalHeight),ox=(96-img.naturalWidth*s)/2,oy=(96-img.naturalHeight*s)/2;
var b=document.createElement('div');b.className='bbox';b.style.left=(ox+r.box_x0*s)+'px';b.style.top=(oy+r.box_y0*s)+'px';b.style.width=((r.box_x1-r.box_x0)*s)+'px';b.style.height=((r.box_y1-r.box_y0)*s)+'px';a.appendChild(b)}}
function render(){
var q=document.getElementById('q').value.toLowerCase(),m=document.getElementById('method').value,p=document.getElementById('pred').value,s=document.getElementById('status').value;
var shown=rows.filter(function(r){
if(m&&r.method!==m)return false;if(p&&r.predicted_label!==p)return false;
if(s==='wrong'){if(r.ground_truth===null||r.predicted_class===r.ground_truth)return false}else if(s&&r.status!==s)return false;
return !q||[r.path,r.predicted_label,r.target_label,r.error,r.method].join(' ').toLowerCase().indexOf(q)>=0});
shown.sort(function(a,b){var x=val(a,sortKey),y=val(b,sortKey);if(x===y)return 0;if(x===null||x===undefined)return 1;if(y===null||y===undefined)return -1;return (x<y?-1:1)*sortDir});
Array.prototype.forEach.call(head.children,function(th){th.className=th.dataset.key===sortKey?(sortDir>0?'asc':'desc'):''});
body.textContent='';var frag=document.createDocumentFragment();
shown.slice(0,2000).forEach(function(r){var tr=document.createElement('tr');if(r.status==='error')tr.className='error';
cols.forEach(function(c){var td=document.createElement('td');var v=val(r,c[0]);
if(c[0]==='image'||c[0]==='overlay'){if(v){var a=document.createElement('a');a.href=v;var img=document.createElement('img');img.loading='lazy';img.src=v;img.alt=c[1];a.appendChild(img);td.appendChild(a);if(c[0]==='overlay'&&r.box!==undefined)boxOver(a,img,r)}}
else{if(c[2]===2)td.className='num';td.textContent=v===null||v===undefined?'':(typeof v==='number'?(c[0]==='predicted_prob'?(v*100).toFixed(1)+'%':(Math.round(v*1000)/1000).toString()):String(v))}
tr.appendChild(td)});frag.appendChild(tr)});
body.appendChild(frag);
document.getElementById('count').textContent=shown.length+' of '+rows.length+' rows'+(shown.length>2000?' (first 2000 shown; filter to narrow)':'');
}
render();
})();
`;

const sha256 = (text: string) => `sha256-${createHash('sha256').update(text, 'utf8').digest('base64')}`;
const REPORT_CSP = `default-src 'none'; img-src 'self' data: file: vscode-resource: https://*.vscode-cdn.net; style-src '${sha256(REPORT_STYLE)}'; script-src '${sha256(REPORT_SCRIPT)}'`;

function reportPage(o: ReportOptions, json: string): string {
  const meta = JSON.stringify(o.meta).replace(/</g, '\\u003c');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="${REPORT_CSP}">
<title>${escapeHtml(o.title)}</title>
<style>${REPORT_STYLE}</style></head><body>
<h2>${escapeHtml(o.title)}</h2>
<p class="muted" id="meta"></p>
<header>
<input id="q" type="search" placeholder="Filter path, label, error…" size="32">
<label>Method <select id="method"><option value="">all</option></select></label>
<label>Predicted <select id="pred"><option value="">all</option></select></label>
<label>Status <select id="status"><option value="">all</option><option>ok</option><option>resumed</option><option>error</option><option value="wrong">prediction ≠ ground truth</option></select></label>
<span id="count"></span>
</header>
<table><thead><tr id="head"></tr></thead><tbody id="body"></tbody></table>
<script id="rows" type="application/json">${json}</script>
<script id="summary" type="application/json">${meta}</script>
<script>${REPORT_SCRIPT}</script></body></html>
`;
}
