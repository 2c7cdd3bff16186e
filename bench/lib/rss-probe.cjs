// Preloaded (NODE_OPTIONS=--require) into the processes bench/batch.mjs measures: on exit each
// process appends its own peak RSS (getrusage ru_maxrss) and CPU time to $CAMLENS_RSS_LOG. Exact where polling
// /proc would miss a peak in the last milliseconds (the summaries are written at the very end).
// The forked worker inherits NODE_OPTIONS and the variable, so it reports itself too.
'use strict';
const fs = require('node:fs');
const path = require('node:path');

const log = process.env.CAMLENS_RSS_LOG;
if (log) {
  process.on('exit', () => {
    const line = {
      pid: process.pid,
      ppid: process.ppid,
      script: path.basename(process.argv[1] ?? ''),
      batchChild: process.env.CAMLENS_BATCH_CHILD === '1',
      maxRssBytes: process.resourceUsage().maxRSS * 1024,
      cpuMs: (() => {
        const u = process.cpuUsage();
        return Math.round((u.user + u.system) / 1000);
      })(),
      atExit: process.memoryUsage(),
    };
    try {
      fs.appendFileSync(log, JSON.stringify(line) + '\n');
    } catch {
      /* the bench falls back to polling */
    }
  });
}
