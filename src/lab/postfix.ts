// Debian's Postfix as a private lab MX: its own main.cf/master.cf, queue and data
// directories in a temp dir, one smtpd listener on a loopback address, started
// with `postfix -c DIR start` and stopped with `postfix -c DIR stop`. It receives
// mail for the lab's seed domains only (virtual mailbox domains delivered by LMTP
// to the lab's Dovecot), refuses unknown users at RCPT (550 5.1.1), relays nothing
// (every other transport is `error:`), and hands each message to its milters
// (rspamd) before queueing. Postfix's master must start as root: without root
// startPostfix() throws, naming that.
//
// Every daemon of the instance carries MAIL_CONFIG=DIR in its environment (the
// master passes it on), so teardown finds and kills exactly this instance's
// processes even when the master is gone: after `postfix stop`, on a failed
// start, and on process exit.
import { execFile, execFileSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { chmod, chown, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { passwdEntry } from './daemon.ts';
import { promisify } from 'node:util';
import { labCertFor } from './tls.ts';

const execFileP = promisify(execFile);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const INSTALL_HINT = 'install it with `bash scripts/setup.sh` (Debian/Ubuntu: `apt-get install postfix`, answering "No configuration")';

export interface StartPostfixOptions {
  /** myhostname: the name in its greeting and Received headers (and what rspamd writes as authserv-id) */
  hostname: string;
  /** the domains it receives for (virtual_mailbox_domains) */
  domains: string[];
  /** the mailboxes that exist (full addresses); any other recipient at those domains is refused with 550 5.1.1 */
  mailboxes: string[];
  /** where accepted mail goes: Dovecot's LMTP listener */
  lmtp: { host: string; port: number };
  /** milters to run on every message received over SMTP, e.g. ["inet:127.0.0.1:11332"] */
  milters?: string[];
  /** the loopback address to listen on (default: a random 127.0.0.X) */
  address?: string;
  /** how long to wait for the greeting (default 60 s: a loaded machine) */
  readyTimeoutMs?: number;
}

export interface LabPostfix {
  host: string;
  port: number;
  hostname: string;
  /** the configuration (and queue, data) directory: `postfix -c DIR …` */
  dir: string;
  /** Postfix's own log (maillog_file), for error messages and assertions */
  log(): Promise<string>;
  logTail(lines?: number): string;
  /** pids of this instance's processes still running (empty after stop()) */
  pids(): number[];
  stop(): Promise<void>;
}

function findPostfix(): string {
  const bin = ['/usr/sbin/postfix', '/usr/local/sbin/postfix'].find((p) => existsSync(p));
  if (!bin || !existsSync('/usr/lib/postfix/sbin/master')) throw new Error(`Postfix is not installed (no /usr/sbin/postfix): ${INSTALL_HINT}`);
  return bin;
}

/** The pids whose environment names this configuration directory: this instance's master and daemons. */
export function instancePids(dir: string): number[] {
  const want = Buffer.from(`MAIL_CONFIG=${dir}\0`);
  const out: number[] = [];
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return out;
  }
  for (const e of entries) {
    if (!/^\d+$/.test(e) || Number(e) === process.pid) continue;
    try {
      const env = readFileSync(`/proc/${e}/environ`);
      if (env.includes(want)) out.push(Number(e));
    } catch {
      // gone, or not ours to read
    }
  }
  return out;
}

function killAll(pids: number[], signal: NodeJS.Signals): void {
  for (const p of pids) {
    try { process.kill(p, signal); } catch { /* already gone */ }
  }
}

const live = new Set<string>();
let hooked = false;
function exitHook(): void {
  if (hooked) return;
  hooked = true;
  process.once('exit', () => {
    for (const dir of live) {
      try { execFileSync(findPostfix(), ['-c', dir, 'abort'], { stdio: 'ignore', timeout: 5000 }); } catch { /* not running */ }
      killAll(instancePids(dir), 'SIGKILL');
      try { rmSync(dir, { recursive: true, force: true }); } catch { /* best effort */ }
    }
  });
}

/** A port free on `address` a moment ago (Postfix binds it itself). */
function freePortOn(address: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, address, () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

function greets(host: string, port: number, timeoutMs = 3000): Promise<string> {
  return new Promise((resolve, reject) => {
    const sock = net.connect({ host, port });
    let buf = '';
    const timer = setTimeout(() => done(new Error('no greeting')), timeoutMs);
    const done = (err?: Error, line?: string) => {
      clearTimeout(timer);
      if (line) sock.end('QUIT\r\n');
      else sock.destroy();
      if (err) reject(err);
      else resolve(line!);
    };
    sock.on('error', (e) => done(e));
    sock.on('data', (d) => {
      buf += d.toString('latin1');
      const nl = buf.indexOf('\n');
      if (nl >= 0) {
        const line = buf.slice(0, nl).trim();
        if (/^220 /.test(line)) done(undefined, line);
        else done(new Error(`greeting: ${line}`));
      }
    });
  });
}


const NAME = /^[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)+$/;

export function mainCf(o: StartPostfixOptions & { dir: string; address: string }): string {
  const milters = o.milters ?? [];
  return `# Generated by inboxlens (src/lab/postfix.ts): a private lab MX on loopback, relaying nothing.
compatibility_level = 3.6
queue_directory = ${o.dir}/queue
data_directory = ${o.dir}/data
maillog_file = ${o.dir}/postfix.log
maillog_file_prefixes = ${o.dir}
mail_owner = postfix
setgid_group = postdrop
myhostname = ${o.hostname}
mydomain = ${o.hostname.split('.').slice(1).join('.')}
myorigin = $myhostname
# listeners carry their own loopback address in master.cf
inet_interfaces = all
inet_protocols = ipv4
smtp_bind_address = 127.0.0.1
mynetworks = 127.0.0.1/32
mydestination =
relayhost =
relay_domains =
alias_maps =
alias_database =
biff = no
append_dot_mydomain = no
smtputf8_enable = no
# the seed domains: mailboxes delivered by LMTP to the lab's Dovecot
virtual_mailbox_domains = ${o.domains.join(' ')}
virtual_mailbox_maps = texthash:${o.dir}/vmailbox
virtual_transport = lmtp:inet:${o.lmtp.host}:${o.lmtp.port}
lmtp_host_lookup = native
# nothing leaves the lab
default_transport = error:5.7.1 this lab MX relays nothing
relay_transport = error:5.7.1 this lab MX relays nothing
local_transport = error:5.1.1 no local delivery in the lab
smtpd_relay_restrictions = reject_unauth_destination
smtpd_recipient_restrictions = reject_unauth_destination
smtpd_banner = $myhostname ESMTP Postfix (inboxlens lab)
smtpd_tls_security_level = may
smtpd_tls_cert_file = ${o.dir}/tls/server.crt
smtpd_tls_key_file = ${o.dir}/tls/server.key
smtpd_tls_loglevel = 1
smtpd_tls_received_header = yes
# reverse lookups of 127.0.0.1 come from /etc/hosts
smtpd_peername_lookup = yes
smtp_dns_support_level = disabled
# a milter that does not answer defers the message (4xx): never a silent pass
milter_default_action = tempfail
milter_protocol = 6
milter_connect_timeout = 30s
milter_command_timeout = 60s
milter_content_timeout = 120s
smtpd_milters = ${milters.join(' ')}
non_smtpd_milters =
`;
}

export function masterCf(address: string, port: number): string {
  // chroot off (column 5): the daemons read the temp dir directly
  return `# Generated by inboxlens (src/lab/postfix.ts)
${address}:${port} inet n - n - - smtpd
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
tlsmgr    unix  -       -       n       1000?   1       tlsmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
proxywrite unix -       -       n       -       1       proxymap
smtp      unix  -       -       n       -       -       smtp
relay     unix  -       -       n       -       -       smtp
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
lmtp      unix  -       -       n       -       -       lmtp
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
`;
}

/**
 * Start a private Postfix. Throws (after stopping whatever it started) when not
 * root, when Postfix is missing, or when it does not greet in time, with the
 * tail of its log.
 */
export async function startPostfix(o: StartPostfixOptions): Promise<LabPostfix> {
  if (process.getuid?.() !== 0) throw new Error('Postfix\'s master starts only as root (it binds, then runs its daemons as the postfix user): run as root, as CI does');
  const bin = findPostfix();
  if (!NAME.test(o.hostname)) throw new Error(`startPostfix: hostname ${JSON.stringify(o.hostname)} is not a host name`);
  for (const d of o.domains) if (!NAME.test(d)) throw new Error(`startPostfix: ${JSON.stringify(d)} is not a domain`);
  for (const m of o.mailboxes) if (!/^[^\s@]+@[^\s@]+$/.test(m)) throw new Error(`startPostfix: ${JSON.stringify(m)} is not a mailbox address`);
  const address = o.address ?? `127.0.0.${2 + Math.floor(Math.random() * 250)}`;
  if (!/^127\.\d+\.\d+\.\d+$/.test(address) || net.isIPv4(address) === false) throw new Error(`startPostfix: ${address} is not a loopback address (127.0.0.0/8)`);
  const timeoutMs = o.readyTimeoutMs ?? 60_000;
  const dir = await mkdtemp(path.join(os.tmpdir(), 'inboxlens-postfix-'));
  live.add(dir);
  exitHook();
  let port = 0;
  const pf = (...args: string[]) => execFileP(bin, ['-c', dir, ...args], { timeout: 60_000, env: { ...process.env, MAIL_CONFIG: dir } });
  const tail = (lines = 15) => {
    try {
      return readFileSync(path.join(dir, 'postfix.log'), 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
    } catch {
      return '(no log yet)';
    }
  };
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    const asked = await pf('stop').then(() => true, () => false);
    // the master stops its children; give them a moment (none if no master answered), then make sure
    for (let i = 0; asked && i < 100 && instancePids(dir).length; i++) await sleep(100);
    if (instancePids(dir).length) {
      await pf('abort').catch(() => {});
      killAll(instancePids(dir), 'SIGTERM');
      for (let i = 0; i < 30 && instancePids(dir).length; i++) await sleep(100);
      killAll(instancePids(dir), 'SIGKILL');
      for (let i = 0; i < 30 && instancePids(dir).length; i++) await sleep(100);
    }
    live.delete(dir);
    await rm(dir, { recursive: true, force: true });
  };
  try {
    // the postfix user reads the configuration and writes the queue
    await chmod(dir, 0o755);
    // valid for its host name and its loopback address, from the lab CA
    const tls = await labCertFor([o.hostname, 'localhost'], [address]);
    await mkdir(path.join(dir, 'tls'), { mode: 0o700 });
    await writeFile(path.join(dir, 'tls', 'server.crt'), `${tls.certPem.trimEnd()}\n${tls.caPem.trimEnd()}\n`);
    await writeFile(path.join(dir, 'tls', 'server.key'), tls.keyPem, { mode: 0o600 });
    await writeFile(path.join(dir, 'vmailbox'), o.mailboxes.map((m) => `${m} ok\n`).join(''));
    // postfix-script needs the queue directory (root's; postfix makes its subdirectories) and
    // the data directory (the postfix user's, for its caches)
    await mkdir(path.join(dir, 'queue'), { mode: 0o755 });
    await mkdir(path.join(dir, 'data'), { mode: 0o700 });
    const pfUser = passwdEntry('postfix');
    if (!pfUser) throw new Error(`Postfix's system user (postfix) is missing: ${INSTALL_HINT}`);
    await chown(path.join(dir, 'data'), pfUser.uid, pfUser.gid);
    for (let attempt = 1; ; attempt++) {
      port = await freePortOn(address);
      await writeFile(path.join(dir, 'main.cf'), mainCf({ ...o, dir, address }));
      await writeFile(path.join(dir, 'master.cf'), masterCf(address, port));
      try {
        await pf('start');
      } catch (e) {
        const err = e as { stderr?: string; message: string };
        throw new Error(`postfix -c ${dir} start failed: ${(err.stderr || err.message).trim()}\n${tail()}`);
      }
      const deadline = Date.now() + timeoutMs;
      let last = 'not tried';
      let up = false;
      do {
        try {
          await greets(address, port);
          up = true;
          break;
        } catch (e) {
          last = (e as Error).message;
        }
        if (/address already in use/i.test(tail(50))) break;
        await sleep(200);
      } while (Date.now() < deadline);
      if (up) break;
      await pf('stop').catch(() => {});
      for (let i = 0; i < 50 && instancePids(dir).length; i++) await sleep(100);
      if (attempt < 3 && /address already in use/i.test(tail(50))) continue;
      throw new Error(`Postfix (${dir}) did not greet on ${address}:${port} within ${timeoutMs} ms (${last}). Its log:\n${tail()}`);
    }
  } catch (e) {
    await stop();
    throw e;
  }
  return {
    host: address,
    port,
    hostname: o.hostname,
    dir,
    log: () => readFile(path.join(dir, 'postfix.log'), 'utf8').catch(() => ''),
    logTail: tail,
    pids: () => instancePids(dir),
    stop,
  };
}
