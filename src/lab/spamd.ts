// Debian's SpamAssassin spamd on a loopback port, for tests and the demo:
// local rules only (-L: no DNS blocklists, no network tests), no per-user
// config, no Bayes learning, its own temp home; ready once it answers PING.
// It binds port 0 and the port the kernel chose is read back from /proc,
// so no port is ever guessed (elsewhere a free port is picked and retried).
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, readdir, readlink, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { spamdPing } from '../content/spamd.ts';
import { freePorts } from './ports.ts';
import { LabStartError, findLabBinary, missingBinary, spawnDaemon } from './daemon.ts';

export interface SpamdLab {
  host: string;
  port: number;
  pid: number;
  /** "127.0.0.1:PORT", the value for --spamd */
  address: string;
  stop(): Promise<void>;
}

export interface StartSpamdOptions {
  /** how long to wait for the first PONG (rules load in 2-15 s; longer on a busy machine); default 120 s */
  timeoutMs?: number;
  /** extra configuration lines (spamd --cf) */
  config?: string[];
  /** the spamd binary (default: $INBOXLENS_SPAMD, else spamd on PATH, /usr/sbin/spamd) */
  bin?: string;
  /** give up: the daemon is stopped and the start rejects (the demo aborts it when another lab part failed) */
  signal?: AbortSignal;
}

export const SPAMD_PACKAGES = ['spamd', 'spamassassin'];

/**
 * The TCP ports a process listens on, from /proc (Linux): the socket inodes
 * among its open files, matched against the LISTEN rows of /proc/net/tcp{,6}.
 */
export async function listeningPorts(pid: number): Promise<number[]> {
  const inodes = new Set<string>();
  let fds: string[];
  try {
    fds = await readdir(`/proc/${pid}/fd`);
  } catch {
    return [];
  }
  await Promise.all(fds.map(async (fd) => {
    const target = await readlink(`/proc/${pid}/fd/${fd}`).catch(() => '');
    const m = /^socket:\[(\d+)\]$/.exec(target);
    if (m) inodes.add(m[1]!);
  }));
  const ports: number[] = [];
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    const text = await readFile(table, 'utf8').catch(() => '');
    for (const line of text.split('\n').slice(1)) {
      const cols = line.trim().split(/\s+/);
      // local_address is HEX_IP:HEX_PORT; state 0A is LISTEN; column 9 is the inode
      if (cols.length > 9 && cols[3] === '0A' && inodes.has(cols[9]!)) ports.push(parseInt(cols[1]!.split(':')[1]!, 16));
    }
  }
  return [...new Set(ports)];
}

const canReadProc = () => existsSync('/proc/net/tcp');

export async function startSpamd(o: StartSpamdOptions = {}): Promise<SpamdLab> {
  const bin = o.bin ?? findLabBinary('spamd', 'INBOXLENS_SPAMD', ['/usr/sbin/spamd', '/usr/local/sbin/spamd', '/usr/local/bin/spamd', '/opt/homebrew/bin/spamd']);
  if (!bin) throw new LabStartError('spamd (SpamAssassin)', SPAMD_PACKAGES, missingBinary('spamd', 'INBOXLENS_SPAMD', 'on PATH or in /usr/sbin'));
  if (o.signal?.aborted) throw o.signal.reason ?? new Error('aborted');
  const timeoutMs = o.timeoutMs ?? 120_000;
  const home = await mkdtemp(path.join(tmpdir(), 'inboxlens-spamd-'));
  let attempt = 0;
  for (;;) {
    attempt++;
    const port = canReadProc() ? 0 : (await freePorts(1))[0]!;
    const args = [
      '-L', // local tests only: no DNS blocklists, no network
      '-x', // no per-user configuration files
      '-H', home, // helper home: nothing lands in the real $HOME
      '-i', `127.0.0.1:${port}`,
      '-r', path.join(home, 'spamd.pid'),
      '-s', 'stderr',
      '--min-children', '1',
      '--max-children', '2',
      '--cf=use_bayes 0',
      '--cf=bayes_auto_learn 0',
      ...(o.config ?? []).map((c) => `--cf=${c}`),
    ];
    const daemon = spawnDaemon(bin, args, { ...process.env, HOME: home });
    const { child, stop } = daemon;
    const deadline = Date.now() + timeoutMs;
    let found = port;
    let failure: string | undefined;
    while (Date.now() < deadline) {
      if (o.signal?.aborted) {
        await stop();
        await rm(home, { recursive: true, force: true });
        throw o.signal.reason ?? new Error('spamd: start aborted');
      }
      if (daemon.gone()) {
        failure = `exited (${child.exitCode ?? child.signalCode}) before answering: ${daemon.tail()}`;
        break;
      }
      if (!found) found = (await listeningPorts(child.pid!))[0] ?? 0;
      if (found) {
        try {
          await spamdPing({ host: '127.0.0.1', port: found }, 2000);
          return {
            host: '127.0.0.1',
            port: found,
            pid: child.pid!,
            address: `127.0.0.1:${found}`,
            stop: async () => {
              await stop();
              await rm(home, { recursive: true, force: true });
            },
          };
        } catch {
          // not listening yet, or children still starting
        }
      }
      await new Promise((r) => setTimeout(r, 200));
    }
    await stop();
    failure ??= `did not answer PING within ${timeoutMs} ms: ${daemon.tail()}`;
    // a picked port can be taken in the meantime (only without /proc): try another one
    if (port && /Address already in use|could not create/i.test(daemon.tail(20)) && attempt < 3) continue;
    await rm(home, { recursive: true, force: true });
    throw new LabStartError('spamd (SpamAssassin)', SPAMD_PACKAGES, `failed to start (${bin}): ${failure}`);
  }
}
