// Debian's rspamd on a loopback port, for tests and the demo: the packaged
// rules with a lab top-level config — one normal worker (the /checkv2 HTTP
// API) bound to port 0, no controller or proxy, its own temp dirs, and DNS
// pointed at the lab resolver (or at nothing), so no query leaves the machine.
import { existsSync } from 'node:fs';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { listeningPorts } from './spamd.ts';
import { freePorts } from './ports.ts';
import { LabStartError, findLabBinary, missingBinary, spawnDaemon } from './daemon.ts';

export interface RspamdLab {
  host: string;
  port: number;
  pid: number;
  /** "http://127.0.0.1:PORT", the value for --rspamd */
  url: string;
  stop(): Promise<void>;
}

export interface StartRspamdOptions {
  /** the resolver rspamd uses (HOST:PORT, e.g. the fixture DNS); default: a closed port, so every lookup fails fast */
  dns?: string;
  /** how long to wait for /ping (rules and the TLD list load in 5-20 s) */
  timeoutMs?: number;
}


export async function startRspamd(o: StartRspamdOptions = {}): Promise<RspamdLab> {
  // not from PATH: the lab's configuration includes the packaged rules in /etc/rspamd
  const bin = findLabBinary('rspamd', 'INBOXLENS_RSPAMD', ['/usr/bin/rspamd', '/usr/local/bin/rspamd', '/opt/homebrew/bin/rspamd'], false);
  if (!bin) throw new LabStartError('rspamd', ['rspamd'], missingBinary('rspamd', 'INBOXLENS_RSPAMD', 'in /usr/bin, /usr/local/bin'));
  if (!existsSync('/etc/rspamd/common.conf')) throw new LabStartError('rspamd', ['rspamd'], 'is not fully installed (no /etc/rspamd/common.conf, the packaged rules)');
  const timeoutMs = o.timeoutMs ?? 90_000;
  const dir = await mkdtemp(path.join(tmpdir(), 'inboxlens-rspamd-'));
  await mkdir(path.join(dir, 'local.d'));
  // network modules off: fuzzy hashes go to rspamd.com, RBL/SURBL query public lists
  for (const m of ['fuzzy_check', 'rbl', 'surbl', 'url_redirector', 'asn', 'emails', 'phishing']) {
    await writeFile(path.join(dir, 'local.d', `${m}.conf`), 'enabled = false;\n');
  }
  const port = existsSync('/proc/net/tcp') ? 0 : (await freePorts(1))[0]!;
  const conf = `# inboxlens lab rspamd: one normal worker on loopback, no network
.include "$CONFDIR/common.conf"
options {
  pidfile = "$RUNDIR/rspamd.pid";
  .include "$CONFDIR/options.inc"
  .include(try=true; priority=1,duplicate=merge) "$LOCAL_CONFDIR/local.d/options.inc"
  dns { nameserver = ["${o.dns ?? '127.0.0.1:1'}"]; timeout = 300ms; retransmits = 1; }
}
logging { type = "file"; filename = "$LOGDIR/rspamd.log"; level = "error"; }
worker "normal" {
  bind_socket = "127.0.0.1:${port}";
  .include "$CONFDIR/worker-normal.inc"
  count = 1;
}
`;
  await writeFile(path.join(dir, 'rspamd.conf'), conf);
  const vars = ['CONFDIR=/etc/rspamd', `LOCAL_CONFDIR=${dir}`, `DBDIR=${dir}`, `RUNDIR=${dir}`, `LOGDIR=${dir}`].map((v) => `--var=${v}`);
  const user = process.getuid?.() === 0 ? ['-u', 'root', '-g', 'root', '-i'] : [];
  const daemon = spawnDaemon(bin, ['-f', ...user, '-c', path.join(dir, 'rspamd.conf'), ...vars], { ...process.env, HOME: dir });
  const { child } = daemon;
  const stop = async () => {
    await daemon.stop();
    await rm(dir, { recursive: true, force: true });
  };
  const deadline = Date.now() + timeoutMs;
  let found = port;
  while (Date.now() < deadline) {
    if (daemon.gone()) {
      await stop();
      throw new LabStartError('rspamd', ['rspamd'], `failed to start (${bin}): exited (${child.exitCode ?? child.signalCode}) before answering: ${daemon.tail()}`);
    }
    if (!found) found = (await listeningPorts(child.pid!))[0] ?? 0;
    if (found) {
      try {
        const res = await fetch(`http://127.0.0.1:${found}/ping`, { signal: AbortSignal.timeout(2000) });
        if (res.ok && (await res.text()).trim() === 'pong') {
          return { host: '127.0.0.1', port: found, pid: child.pid!, url: `http://127.0.0.1:${found}`, stop };
        }
      } catch {
        // the worker is not up yet
      }
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  await stop();
  throw new LabStartError('rspamd', ['rspamd'], `failed to start (${bin}): did not answer /ping within ${timeoutMs} ms: ${daemon.tail()}`);
}
