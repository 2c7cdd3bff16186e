// Start/stop a throwaway code-server on 127.0.0.1 and launch Debian's Chromium via playwright-core.
// Adapted from ../shared/tools/vscode-e2e/codeserver.mjs (verified recipe, code-server 4.100.3).
import { spawn } from 'node:child_process';
import { mkdtempSync, mkdirSync, writeFileSync, rmSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer } from 'node:net';
import { CODE_SERVER, toolsRequire } from './env.mjs';

const { chromium } = toolsRequire('playwright-core');

export function freePort() {
  return new Promise((res, rej) => {
    const s = createServer();
    s.unref();
    s.on('error', rej);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => res(port));
    });
  });
}

const USER_SETTINGS = {
  'workbench.startupEditor': 'none',
  'workbench.tips.enabled': false,
  'workbench.welcomePage.walkthroughs.openOnInstall': false,
  'extensions.autoCheckUpdates': false,
  'extensions.autoUpdate': false,
  'extensions.ignoreRecommendations': true,
  'telemetry.telemetryLevel': 'off',
  'update.mode': 'none',
  'security.workspace.trust.enabled': false,
  'chat.commandCenter.enabled': false,
  'workbench.secondarySideBar.defaultVisibility': 'hidden',
  'git.enabled': false,
  'workbench.colorTheme': 'Default Dark Modern',
};

/** opts: { folder, vsix?, env?, settings?, workspaceTrust?, log?, keep? } → { url, port, base, proc, stop(), getLog() } */
export async function startCodeServer(opts = {}) {
  const base = mkdtempSync(join(tmpdir(), 'camlens-cs-'));
  const userData = join(base, 'user-data');
  const extDir = join(base, 'extensions');
  mkdirSync(join(userData, 'User'), { recursive: true });
  mkdirSync(extDir, { recursive: true });
  writeFileSync(join(userData, 'User', 'settings.json'), JSON.stringify({ ...USER_SETTINGS, ...(opts.settings ?? {}) }, null, 2));
  const env = {
    ...process.env,
    XDG_CONFIG_HOME: join(base, 'xdg-config'),
    XDG_DATA_HOME: join(base, 'xdg-data'),
    ...(opts.env ?? {}),
  };
  const common = ['--config', '/dev/null', '--user-data-dir', userData, '--extensions-dir', extDir];
  if (opts.vsix) await run(CODE_SERVER, [...common, '--install-extension', opts.vsix, '--force'], env, 120_000);
  const port = await freePort();
  const args = [
    ...common,
    '--bind-addr',
    `127.0.0.1:${port}`,
    '--auth',
    'none',
    '--disable-telemetry',
    '--disable-update-check',
    // opts.workspaceTrust: trust is on (the restricted-mode run); the settings must enable it too
    ...(opts.workspaceTrust ? [] : ['--disable-workspace-trust']),
    '--disable-getting-started-override',
    '--ignore-last-opened',
  ];
  if (opts.folder) args.push(opts.folder);
  // own process group: stop() also ends the extension host and our worker it forks
  const proc = spawn(CODE_SERVER, args, { env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  let log = '';
  const onData = (d) => {
    log += d;
    if (log.length > 2e6) log = log.slice(-1e6);
    if (opts.log) process.stderr.write(`[code-server] ${d}`);
  };
  proc.stdout.on('data', onData);
  proc.stderr.on('data', onData);
  const url = `http://127.0.0.1:${port}`;
  const killGroup = (sig) => {
    try {
      process.kill(-proc.pid, sig);
    } catch {}
  };
  const deadline = Date.now() + 90_000;
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`code-server exited early (${proc.exitCode}):\n${log}`);
    try {
      const r = await fetch(`${url}/healthz`);
      if (r.ok) break;
    } catch {}
    if (Date.now() > deadline) {
      killGroup('SIGKILL');
      throw new Error(`code-server did not become healthy:\n${log}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  const stop = async () => {
    if (proc.exitCode === null) {
      const exited = new Promise((r) => proc.once('exit', r));
      killGroup('SIGTERM');
      const t = setTimeout(() => killGroup('SIGKILL'), 5000);
      await exited;
      clearTimeout(t);
    }
    killGroup('SIGKILL');
    // the worker is forked by the extension host into the same group; make sure nothing of ours survives
    for (const pid of pidsMatching(base)) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {}
    }
    if (!opts.keep) rmSync(base, { recursive: true, force: true });
  };
  return { url, port, base, extDir, proc, stop, getLog: () => log };
}

/** Processes whose command line contains `needle` (e.g. this run's private extensions dir). */
export function pidsMatching(...needles) {
  const out = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d) || Number(d) === process.pid) continue;
    try {
      const cmd = readFileSync(`/proc/${d}/cmdline`, 'utf8').replace(/\0/g, ' ');
      if (needles.every((n) => cmd.includes(n))) out.push(Number(d));
    } catch {}
  }
  return out;
}

function run(cmd, args, env, timeoutMs) {
  return new Promise((res, rej) => {
    const p = spawn(cmd, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    const t = setTimeout(() => p.kill('SIGKILL'), timeoutMs);
    p.stdout.on('data', (d) => (out += d));
    p.stderr.on('data', (d) => (out += d));
    p.on('exit', (code) => {
      clearTimeout(t);
      code === 0 ? res(out) : rej(new Error(`${cmd} ${args.join(' ')} -> ${code}\n${out}`));
    });
  });
}

export async function launchChromium(contextOptions = {}) {
  const udd = mkdtempSync(join(tmpdir(), 'camlens-chromium-'));
  const context = await chromium.launchPersistentContext(udd, {
    executablePath: process.env.CHROMIUM_BIN ?? '/usr/bin/chromium',
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
    viewport: { width: 1600, height: 1000 },
    env: { ...process.env, XDG_CONFIG_HOME: join(udd, 'xdg-config'), XDG_CACHE_HOME: join(udd, 'xdg-cache') },
    timeout: 60_000,
    ...contextOptions,
  });
  const close = async () => {
    await context.close().catch(() => {});
    rmSync(udd, { recursive: true, force: true });
  };
  return { context, close };
}
