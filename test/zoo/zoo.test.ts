// Issue 15's zoo: every entry explains (Grad-CAM on `features`, class 0), gives a non-degenerate
// map, and agrees with the float model it was derived from (Pearson ≥ 0.999 for exact twins;
// the entry's own floor, with its reason, where precision or quantization makes them differ).
import { ok } from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { SessionCache } from '../../src/engine/runtime/sessions';
import { runZooEntry, ZOO } from '../helpers/zoo';

const sessions = new SessionCache();
const dir = mkdtempSync(join(tmpdir(), 'camlens-zoo-'));
after(async () => {
  await sessions.releaseAll();
  rmSync(dir, { recursive: true, force: true });
});

describe('model zoo (issue 15)', () => {
  for (const entry of ZOO) {
    it(`${entry.category}: ${entry.name} explains and agrees with its float reference`, async () => {
      const r = await runZooEntry(entry, dir, sessions);
      ok(r.informative, `${entry.name}: the map is constant or not finite`);
      if (r.agreement !== undefined) {
        const floor = entry.minPearson ?? 0.999;
        ok(r.agreement >= floor, `${entry.name}: Pearson ${r.agreement.toFixed(5)} < ${floor}${entry.why ? ` (${entry.why})` : ''}`);
      }
    });
  }
});
