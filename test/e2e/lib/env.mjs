// Where the e2e tools live (installed by scripts/e2e-setup.sh outside node_modules, which npm ci wipes).
import { createRequire } from 'node:module';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO = resolve(fileURLToPath(new URL('../../..', import.meta.url)));
export const CACHE = process.env.CAMLENS_E2E_CACHE ?? join(process.env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'camlens-e2e');
export const CODE_SERVER = process.env.CODE_SERVER_BIN ?? join(CACHE, 'cs-4.100.3/node_modules/.bin/code-server');
export const OUT = process.env.CAMLENS_TEST_OUTPUT ?? join(REPO, '.test-output');
export const toolsRequire = createRequire(join(CACHE, 'tools', 'package.json'));
