// jupyter_server.mjs — a private Jupyter Notebook server and headless Chromium for one test file.
//
// start({ notebooks, env, shots }) installs a kernelspec for the built kernel (CAIRN_KERNEL)
// into a temporary prefix, copies the given notebooks into a temporary notebook root, starts
// `jupyter notebook` on 127.0.0.1 with a token and every Jupyter directory in the temporary
// tree, and opens Chromium (playwright-core, /usr/bin/chromium) on it. stopServer() stops the
// server alone (SIGTERM: it shuts its kernels down itself); stop() closes the browser, stops
// the server and kills what it left behind, each by its own pid. Small helpers for polling
// and screenshots come with it.
//
// The timeouts are generous on purpose: the tests run niced on a 2-core machine shared with
// other builds, where loading Notebook's page alone can take half a minute.
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const HERE = path.dirname(fileURLToPath(import.meta.url));
export const ROOT = path.resolve(HERE, '..', '..');
export const KERNEL = path.resolve(process.env.CAIRN_KERNEL || path.join(ROOT, 'build', 'kernel', 'cairn-kernel'));
const CHROMIUM = process.env.CAIRN_CHROMIUM || '/usr/bin/chromium';

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Poll fn() until it returns a truthy value; fail naming `what` after `timeout` ms. */
export async function until(fn, what, timeout = 20000, every = 100) {
  const end = Date.now() + timeout;
  let last;
  for (;;) {
    try {
      last = await fn();
      if (last) return last;
    } catch (e) {
      last = e;
    }
    if (Date.now() > end) throw new Error(`timed out after ${timeout} ms waiting for ${what} (last: ${last})`);
    await sleep(every);
  }
}

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const p = s.address().port;
      s.close(() => resolve(p));
    });
  });
}

/** Is `pid` a live (not zombie) process? */
export function alive(pid) {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0] !== 'Z';
  } catch {
    return false;
  }
}

/** Every live descendant pid of `pid` (read from /proc). */
export function descendants(pid) {
  const parent = new Map();
  for (const e of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${e}/stat`, 'utf8');
      parent.set(Number(e), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
    } catch { /* gone meanwhile */ }
  }
  const out = [];
  const todo = [pid];
  while (todo.length) {
    const p = todo.pop();
    for (const [child, pp] of parent) if (pp === p && !out.includes(child)) { out.push(child); todo.push(child); }
  }
  return out;
}

/** Start server and browser; returns { page, port, token, root, serverPid, shot(name),
 *  open(notebook), stopServer(), stop() }. Screenshots go to `shots`, emptied first so no
 *  stale picture from an earlier run remains. */
export async function start({ notebooks = [], env: extraEnv = {}, shots }) {
  if (!fs.existsSync(KERNEL)) throw new Error(`built kernel not found: ${KERNEL} (set CAIRN_KERNEL)`);
  fs.rmSync(shots, { recursive: true, force: true });
  const token = 'cairn-browser-' + process.pid + '-' + Date.now().toString(36);
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cairn-browser-'));
  const dirs = {};
  for (const d of ['home', 'config', 'data', 'runtime', 'prefix', 'root', 'profile']) {
    dirs[d] = path.join(tmp, d);
    fs.mkdirSync(dirs[d]);
  }
  const inst = spawnSync(KERNEL, ['install', '--prefix', dirs.prefix], { encoding: 'utf8' });
  if (inst.status !== 0) throw new Error('cairn-kernel install: ' + inst.stderr);
  const spec = JSON.parse(fs.readFileSync(path.join(dirs.prefix, 'share/jupyter/kernels/cairn/kernel.json'), 'utf8'));
  if (spec.argv[0] !== KERNEL) throw new Error(`the kernelspec runs ${spec.argv[0]}, not the kernel under test ${KERNEL}`);
  for (const nb of notebooks) fs.copyFileSync(nb, path.join(dirs.root, path.basename(nb)));

  const port = await freePort();
  const env = {
    PATH: process.env.PATH || '/usr/bin:/bin',
    LANG: 'C.UTF-8',
    HOME: dirs.home,
    TMPDIR: tmp,
    JUPYTER_CONFIG_DIR: dirs.config,
    JUPYTER_DATA_DIR: dirs.data,
    JUPYTER_RUNTIME_DIR: dirs.runtime,
    JUPYTER_PATH: path.join(dirs.prefix, 'share', 'jupyter'),
    IPYTHONDIR: path.join(dirs.home, '.ipython'),
    PYDEVD_DISABLE_FILE_VALIDATION: '1',
    ...extraEnv,
  };
  const args = ['notebook', '--no-browser', '--ip=127.0.0.1', `--port=${port}`, '--port-retries=0',
    `--NotebookApp.token=${token}`, `--notebook-dir=${dirs.root}`, '--NotebookApp.open_browser=False'];
  if (process.getuid && process.getuid() === 0) args.push('--allow-root');
  const serverLog = path.join(tmp, 'server.log');
  const log = fs.openSync(serverLog, 'w');
  const server = spawn('/usr/bin/jupyter', args, { cwd: dirs.root, env, stdio: ['ignore', log, log] });
  fs.closeSync(log);
  let context = null, page = null;

  let kids = [];
  /** SIGTERM the server (it shuts its kernels down first), SIGKILL it after 15 s. */
  async function stopServer() {
    if (!server.pid || !alive(server.pid)) return;
    kids = descendants(server.pid);
    server.kill('SIGTERM');
    const end = Date.now() + 15000;
    while (alive(server.pid) && Date.now() < end) await sleep(100);
    if (alive(server.pid)) server.kill('SIGKILL');
    await until(() => !alive(server.pid), 'the server to exit', 5000).catch(() => {});
  }

  async function stop() {
    if (context) await Promise.race([context.close().catch(() => {}), sleep(10000)]);
    await stopServer();
    // Kernel processes the server started and left behind (by pid, nothing else).
    for (const pid of kids) if (alive(pid)) { try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ } }
    fs.rmSync(tmp, { recursive: true, force: true });
  }

  try {
    await until(async () => {
      if (server.exitCode !== null) throw new Error('server exited: ' + fs.readFileSync(serverLog, 'utf8'));
      const r = await fetch(`http://127.0.0.1:${port}/api/kernelspecs?token=${token}`);
      return r.ok && (await r.json()).kernelspecs.cairn;
    }, 'the Jupyter server to answer with the cairn kernelspec', 120000, 200);
    context = await chromium.launchPersistentContext(dirs.profile, {
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run',
        '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-quic'],
      viewport: { width: 1200, height: 900 },
      timeout: 60000,
    });
    page = context.pages()[0] || await context.newPage();
    page.setDefaultTimeout(60000);
  } catch (e) {
    await stop();
    throw e;
  }

  async function shot(name) {
    fs.mkdirSync(shots, { recursive: true });
    await page.screenshot({ path: path.join(shots, name + '.png'), fullPage: true });
  }

  /** Open notebook `name` of the root and wait until its kernel is idle. Only the HTML is
   *  waited for: the idle indicator shows once Notebook's scripts have run and the kernel
   *  answered, which is what matters (the 'load' event also waits for every image and font). */
  async function open(name) {
    await page.goto(`http://127.0.0.1:${port}/notebooks/${name}?token=${token}`,
      { waitUntil: 'domcontentloaded', timeout: 120000 });
    await until(() => page.locator('#kernel_indicator_icon.kernel_idle_icon').count(), 'the cairn kernel to start (idle)', 120000);
  }

  return { page, port, token, root: dirs.root, serverPid: server.pid, shot, open, stopServer, stop };
}
