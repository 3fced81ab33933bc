// A real Dovecot (IMAP, POP3, LMTP) for the lab's seed mailboxes: started in the
// foreground from a generated configuration in a temp dir, on free loopback
// ports, with TLS from the lab CA, a passwd-file of users and Maildirs laid out
// like the providers they stand for. Tests, the placement benchmark and the demo
// read placements from it exactly as they would from Gmail or Outlook.
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { chmod, chown, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { ImapFlow } from 'imapflow';
import SMTPConnection from 'nodemailer/lib/smtp-connection';
import { registerSecret } from '../util/redact.ts';
import { labTls } from './tls.ts';
import { freePorts } from './ports.ts';
import { LAYOUTS, foldersOf, storeOf, type Layout, type Store } from './layouts.ts';
import { LabStartError, findLabBinary, missingBinary, passwdEntry } from './daemon.ts';

const execFileP = promisify(execFile);

export interface LabUser {
  user: string;
  pass: string;
  layout?: Layout;
}

export interface SnapshotEntry {
  uid: number;
  flags: string[];
  size: number;
  sha256: string;
}

export interface Dovecot {
  host: '127.0.0.1';
  imapPort: number;
  imapsPort: number;
  pop3Port: number;
  pop3sPort: number;
  lmtpPort?: number;
  lmtpSocket?: string;
  version: string;
  dir: string;
  users: LabUser[];
  /** the lab CA that signed Dovecot's certificate (for seeds' TLS verification) */
  caPem: string;
  /** Deliver a message over LMTP into one of the user's folders (INBOX, Junk, [Gmail]/Spam, …). */
  deliver(user: string, folder: string, raw: Buffer | string, opts?: { from?: string }): Promise<void>;
  /** Every folder's messages (read-only, over IMAP): compare two snapshots to prove nothing was touched. */
  snapshot(user: string): Promise<Record<string, SnapshotEntry[]>>;
  /** The folders a user has (INBOX first). */
  folders(user: string): string[];
  /** The tail of Dovecot's log, for error messages. */
  logTail(lines?: number): string;
  restart(): Promise<void>;
  stop(): Promise<void>;
}

export interface StartDovecotOptions {
  users: LabUser[];
  /** how long to wait for Dovecot's greeting and a test login (default 20 s) */
  readyTimeoutMs?: number;
  /** the dovecot binary (default: found on PATH or in /usr/sbin, /usr/local/sbin, Homebrew) */
  bin?: string;
  /**
   * SASL mechanisms (default plain, login). Add xoauth2 / oauthbearer to test
   * OAuth2 seeds: Dovecot then checks the bearer token against the passdb like a
   * password, so a lab user's password doubles as its access token.
   */
  authMechanisms?: string[];
  /**
   * a Sieve script (RFC 5228) every LMTP delivery runs first (Pigeonhole's
   * sieve_before; Debian: dovecot-sieve), e.g. filing spam into Junk
   */
  sieveBefore?: string;
}

const DOVECOT_CANDIDATES = ['/usr/sbin/dovecot', '/usr/local/sbin/dovecot', '/opt/homebrew/sbin/dovecot', '/usr/local/opt/dovecot/sbin/dovecot'];
export const DOVECOT_PACKAGES = ['dovecot-imapd', 'dovecot-pop3d', 'dovecot-lmtpd'];

/** The dovecot binary: $INBOXLENS_DOVECOT, else on PATH or in the usual places. */
export function findDovecot(): string {
  const found = findLabBinary('dovecot', 'INBOXLENS_DOVECOT', DOVECOT_CANDIDATES);
  if (!found) throw new LabStartError('Dovecot', DOVECOT_PACKAGES, `${missingBinary('dovecot', 'INBOXLENS_DOVECOT', 'on PATH or in /usr/sbin')}`);
  return found;
}

/** `dovecot --version` → "2.3.19.1" */
export async function dovecotVersion(bin = findDovecot()): Promise<string> {
  const { stdout } = await execFileP(bin, ['--version'], { timeout: 10_000 });
  const m = /^(\d+\.\d+(?:\.\d+)*)/.exec(stdout.trim());
  if (!m) throw new Error(`could not read Dovecot's version from \`${bin} --version\`: ${JSON.stringify(stdout.trim())}`);
  return m[1]!;
}

interface Accounts {
  uid: number;
  gid: number;
  /** the user Dovecot's internal processes (auth, …) run as */
  internalUser: string;
  loginUser: string;
}


/**
 * Who runs what. As root (CI, this lab machine), mail belongs to `mail` and
 * Dovecot's own processes run as `dovecot`/`dovenull`, as in a packaged install.
 * Not as root, everything runs as the current user (Dovecot supports this for
 * unprivileged instances) — untested here, where tests run as root.
 */
function accounts(): Accounts {
  if (process.getuid?.() === 0) {
    const mail = passwdEntry('mail');
    if (!mail) throw new Error('the lab stores mail as the `mail` user, which /etc/passwd does not have');
    const internal = passwdEntry('dovecot') ? 'dovecot' : undefined;
    const login = passwdEntry('dovenull') ? 'dovenull' : internal;
    if (!internal || !login) throw new LabStartError('Dovecot', DOVECOT_PACKAGES, "is not fully installed (its system users dovecot and dovenull are missing)");
    return { uid: mail.uid, gid: mail.gid, internalUser: internal, loginUser: login };
  }
  const me = os.userInfo();
  return { uid: me.uid, gid: me.gid, internalUser: me.username, loginUser: me.username };
}

interface Ports {
  imap: number;
  imaps: number;
  pop3: number;
  pop3s: number;
  lmtp: number;
}

export interface ConfigInput {
  dir: string;
  /** SASL mechanisms, lower case (default plain login) */
  mechanisms?: string[];
  ports: Ports;
  acc: Accounts;
  instance: string;
  /** how mail is stored (default maildir); one store per instance */
  store?: Store;
  /** the compiled-at-start sieve_before script, when there is one */
  sievePath?: string;
}

function quote(s: string): string {
  return `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

/**
 * One `mailbox` block per distinct folder name of every layout of this store:
 * special-use attributes (RFC 6154). mdbox folders are not made on disk
 * beforehand: Dovecot creates and subscribes them (auto = subscribe); its block
 * names are relative to the namespace prefix.
 */
function mailboxBlocks(store: Store = 'maildir'): string {
  const seen = new Map<string, string | undefined>();
  for (const [layout, folders] of Object.entries(LAYOUTS)) {
    if (storeOf(layout as Layout) !== store) continue;
    for (const f of folders) {
      if (f.name === 'INBOX' || seen.has(f.name)) continue;
      if (store === 'maildir' && !f.specialUse) continue;
      seen.set(f.name, f.specialUse);
    }
  }
  return [...seen].map(([name, use]) => {
    const inner = [...(use ? [`special_use = ${use}`] : []), ...(store === 'mdbox-dotted' ? ['auto = subscribe'] : [])];
    const rel = store === 'mdbox-dotted' ? name.replace(/^INBOX\./, '') : name;
    return `  mailbox ${quote(rel)} {\n${inner.map((l) => `    ${l}\n`).join('')}  }`;
  }).join('\n');
}

function namespaceBlock(store: Store = 'maildir'): string {
  if (store === 'mdbox-dotted') return `namespace inbox {\n  inbox = yes\n  prefix = INBOX.\n  separator = .\n${mailboxBlocks(store)}\n}`;
  return `namespace inbox {\n  inbox = yes\n  separator = /\n${mailboxBlocks(store)}\n}`;
}

function sieveBlock(c: ConfigInput): string {
  if (!c.sievePath) return '';
  return `
# Pigeonhole Sieve on LMTP delivery: the lab's global script runs before any user's
protocol lmtp {
  mail_plugins = $mail_plugins sieve
}
plugin {
  sieve = file:~/sieve;active=~/.dovecot.sieve
  sieve_before = ${c.sievePath}
}
`;
}

/** Dovecot 2.3 configuration (Debian 12, this machine: tested). */
export function config23(c: ConfigInput): string {
  const dh = existsSync('/usr/share/dovecot/dh.pem') ? 'ssl_dh = </usr/share/dovecot/dh.pem\n' : '';
  return `# Generated by inboxlens (src/lab/dovecot.ts) for a lab instance: loopback only, temp dir, throwaway users.
base_dir = ${c.dir}/run
state_dir = ${c.dir}/state
instance_name = ${c.instance}
protocols = imap pop3 lmtp
listen = 127.0.0.1
log_path = ${c.dir}/dovecot.log
auth_verbose = yes
auth_mechanisms = ${(c.mechanisms ?? ['plain', 'login']).join(' ')}
# plaintext logins are refused by clients unless a seed opts in (allowPlaintext); the lab allows them so that can be tested
disable_plaintext_auth = no
ssl = yes
ssl_cert = <${c.dir}/tls/server.crt
ssl_key = <${c.dir}/tls/server.key
ssl_min_protocol = TLSv1.2
${dh}
default_internal_user = ${c.acc.internalUser}
default_login_user = ${c.acc.loginUser}
first_valid_uid = ${c.acc.uid}
first_valid_gid = ${c.acc.gid}
mail_location = ${c.store === 'mdbox-dotted' ? 'mdbox:~/mdbox' : 'maildir:~/Maildir'}
mailbox_list_index = yes
# IDLE clients hear about new mail at once (inotify) or within a second (polling fallback)
mailbox_idle_check_interval = 1 secs
imap_idle_notify_interval = 1 secs
# LMTP to user+Folder@domain files into Folder: how the lab MX sorts mail
recipient_delimiter = +
lmtp_save_to_detail_mailbox = yes
lda_mailbox_autocreate = no
# the +Folder detail is lab plumbing: keep it out of Delivered-To and Received
lmtp_hdr_delivery_address = none
hostname = store.lab.test
pop3_uidl_format = %08Xu%08Xv
login_greeting = Dovecot ready.
# the placement benchmark opens ~100 connections from 127.0.0.1
default_process_limit = 500
default_client_limit = 4000
mail_max_userip_connections = 50

passdb {
  driver = passwd-file
  args = scheme=PLAIN username_format=%u ${c.dir}/passwd
}
userdb {
  driver = passwd-file
  args = username_format=%u ${c.dir}/passwd
}

${namespaceBlock(c.store)}
${sieveBlock(c)}
service imap-login {
  inet_listener imap {
    address = 127.0.0.1
    port = ${c.ports.imap}
  }
  inet_listener imaps {
    address = 127.0.0.1
    port = ${c.ports.imaps}
    ssl = yes
  }
}
service pop3-login {
  inet_listener pop3 {
    address = 127.0.0.1
    port = ${c.ports.pop3}
  }
  inet_listener pop3s {
    address = 127.0.0.1
    port = ${c.ports.pop3s}
    ssl = yes
  }
}
service lmtp {
  inet_listener lmtp {
    address = 127.0.0.1
    port = ${c.ports.lmtp}
  }
  unix_listener lmtp {
    mode = 0600
  }
}
# every seed logs in from 127.0.0.1: one seed's wrong password must not slow the
# others down (real seeds sit at different providers), so no per-IP auth penalty
service anvil {
  unix_listener anvil-auth-penalty {
    mode = 0
  }
}
`;
}

/**
 * Dovecot 2.4 configuration (Debian 13, Homebrew), written from the 2.4
 * documentation and the 2.3→2.4 upgrade notes (doc.dovecot.org "Upgrading
 * Dovecot CE from 2.3 to 2.4": dovecot_config_version first, named passdb/userdb
 * sections, mail_driver/mail_path for mail_location, ssl_server_*_file for
 * ssl_cert/ssl_key, auth_allow_cleartext for disable_plaintext_auth, `listen`
 * inside inet_listener, %{…} variables). UNTESTED: this machine has 2.3.
 */
export function config24(c: ConfigInput): string {
  if ((c.store ?? 'maildir') !== 'maildir' || c.sievePath) throw new Error('the lab\'s mdbox layout and Sieve are configured for Dovecot 2.3 only (this machine\'s; 2.4 renamed their settings): use the maildir layouts, or Dovecot 2.3');
  const mailboxes = mailboxBlocks();
  return `# Generated by inboxlens (src/lab/dovecot.ts) for a lab instance (Dovecot 2.4 syntax, untested).
dovecot_config_version = 2.4.0
dovecot_storage_version = 2.4.0
base_dir = ${c.dir}/run
state_dir = ${c.dir}/state
instance_name = ${c.instance}
protocols = imap pop3 lmtp
listen = 127.0.0.1
log_path = ${c.dir}/dovecot.log
auth_verbose = yes
auth_mechanisms = ${(c.mechanisms ?? ['plain', 'login']).join(' ')}
auth_allow_cleartext = yes
ssl = yes
ssl_server_cert_file = ${c.dir}/tls/server.crt
ssl_server_key_file = ${c.dir}/tls/server.key
ssl_min_protocol = TLSv1.2
default_internal_user = ${c.acc.internalUser}
default_login_user = ${c.acc.loginUser}
first_valid_uid = ${c.acc.uid}
first_valid_gid = ${c.acc.gid}
mail_driver = maildir
mail_path = ~/Maildir
mailbox_list_index = yes
mailbox_idle_check_interval = 1s
imap_idle_notify_interval = 1s
recipient_delimiter = +
lmtp_save_to_detail_mailbox = yes
lda_mailbox_autocreate = no
lmtp_hdr_delivery_address = none
hostname = store.lab.test
pop3_uidl_format = %{uid | hex(8)}%{uidvalidity | hex(8)}
login_greeting = Dovecot ready.
default_process_limit = 500
default_client_limit = 4000
mail_max_userip_connections = 50

# 2.4 lower-cases user names by default (%{user | lower}); the lab keeps them as given
passdb passwd-file {
  default_password_scheme = PLAIN
  auth_username_format = %{user}
  passwd_file_path = ${c.dir}/passwd
}
userdb passwd-file {
  auth_username_format = %{user}
  passwd_file_path = ${c.dir}/passwd
}

namespace inbox {
  inbox = yes
  separator = /
${mailboxes}
}

service imap-login {
  inet_listener imap {
    listen = 127.0.0.1
    port = ${c.ports.imap}
  }
  inet_listener imaps {
    listen = 127.0.0.1
    port = ${c.ports.imaps}
    ssl = yes
  }
}
service pop3-login {
  inet_listener pop3 {
    listen = 127.0.0.1
    port = ${c.ports.pop3}
  }
  inet_listener pop3s {
    listen = 127.0.0.1
    port = ${c.ports.pop3s}
    ssl = yes
  }
}
service lmtp {
  inet_listener lmtp {
    listen = 127.0.0.1
    port = ${c.ports.lmtp}
  }
  unix_listener lmtp {
    mode = 0600
  }
}
service anvil {
  unix_listener anvil-auth-penalty {
    mode = 0
  }
}
`;
}

export function configFor(version: string, c: ConfigInput): string {
  const [major, minor] = version.split('.').map(Number);
  if (major === 2 && minor === 3) return config23(c);
  if (major === 2 && minor === 4) return config24(c);
  throw new LabStartError('Dovecot', DOVECOT_PACKAGES, `${version} is not supported by the lab (it generates configurations for Dovecot 2.3 and 2.4): install 2.3 or 2.4`);
}

/** Maildir++ stores folder a/b as .a.b (RFC-free, Dovecot's default layout). */
function maildirOf(folder: string): string {
  return folder.toUpperCase() === 'INBOX' ? '' : `.${folder.split('/').join('.')}`;
}

function validateUsers(users: LabUser[]): void {
  if (!users.length) throw new Error('startDovecot: give at least one user');
  const seen = new Set<string>();
  for (const u of users) {
    // passwd-file has no escaping: these characters would split or corrupt the line
    if (!u.user || /[:\s\\/"]/.test(u.user)) throw new Error(`startDovecot: user name ${JSON.stringify(u.user)} must be non-empty without ':', '/', quotes, backslashes or whitespace`);
    if (!u.pass || /[:\r\n]/.test(u.pass)) throw new Error(`startDovecot: the password of ${u.user} must be non-empty without ':' or line breaks`);
    if (u.layout && !LAYOUTS[u.layout]) throw new Error(`startDovecot: user ${u.user} has unknown layout '${u.layout}' (use ${Object.keys(LAYOUTS).join(', ')})`);
    // lab passwords are throwaway, but they are still passwords: never in output
    registerSecret(u.pass);
    const key = u.user.toLowerCase();
    if (seen.has(key)) throw new Error(`startDovecot: user ${u.user} is listed twice`);
    seen.add(key);
  }
}

/** Live instances, killed on process exit so a crashed test never leaks a Dovecot. */
const live = new Map<number, string>();
let exitHookInstalled = false;
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', () => {
    for (const [pgid, dir] of live) {
      try { process.kill(-pgid, 'SIGKILL'); } catch { /* already gone */ }
      try { rmSync(dir, { recursive: true, force: true }); } catch { /* best effort */ }
    }
  });
}

function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// $1 = dovecot binary, $2 = config, $3 = the instance's temp dir. Background
// jobs of a non-interactive shell get /dev/null as stdin (POSIX), hence the
// explicit fd 3 for the watchdog's read. The shell ignores SIGTERM (after
// starting Dovecot, which keeps the default) so that it outlives Dovecot and
// reaps it: no zombies for stop() to wait on. When our end of the pipe closes
// (we died without stop()), the watchdog marks the dir orphaned and terminates
// the group, and the shell removes the dir once Dovecot is gone.
const WATCHDOG = `exec 3<&0
"$1" -F -c "$2" </dev/null 3<&- &
p=$!
trap '' TERM
{ read -r _ <&3; : > "$3/.orphaned"; kill -TERM 0; } &
w=$!
wait "$p"
s=$?
if [ -e "$3/.orphaned" ]; then
  wait "$w" 2>/dev/null
  rm -rf "$3"
else
  kill -KILL "$w" 2>/dev/null
  wait "$w" 2>/dev/null
fi
exit "$s"`;

/** Read one CRLF-terminated line after sending `send` (if any). */
function lineExchange(port: number, steps: { send?: string; expect: RegExp }[], timeoutMs = 3000): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const sock = net.connect({ host: '127.0.0.1', port });
    const got: string[] = [];
    let buf = '';
    let i = 0;
    const timer = setTimeout(() => finish(new Error(`no answer within ${timeoutMs} ms (got ${JSON.stringify(got)})`)), timeoutMs);
    const finish = (err?: Error) => {
      clearTimeout(timer);
      sock.destroy();
      if (err) reject(err);
      else resolve(got);
    };
    sock.on('error', (e) => finish(e));
    sock.on('close', () => finish(new Error(`connection closed (got ${JSON.stringify(got)})`)));
    sock.on('data', (d) => {
      buf += d.toString('latin1');
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl).replace(/\r$/, '');
        buf = buf.slice(nl + 1);
        got.push(line);
        const step = steps[i]!;
        if (step.expect.test(line)) {
          i++;
          if (i === steps.length) return finish();
          if (steps[i]!.send) sock.write(steps[i]!.send!);
        } else if (/^(\S+ (NO|BAD)|-ERR)/.test(line)) {
          return finish(new Error(`unexpected answer: ${line}`));
        }
      }
    });
    if (steps[0]!.send) sock.on('connect', () => sock.write(steps[0]!.send!));
  });
}

class DovecotInstance implements Dovecot {
  readonly host = '127.0.0.1' as const;
  imapPort = 0;
  imapsPort = 0;
  pop3Port = 0;
  pop3sPort = 0;
  lmtpPort = 0;
  lmtpSocket: string;
  version: string;
  dir: string;
  users: LabUser[];
  caPem = '';
  private bin: string;
  private confPath: string;
  private child?: ChildProcess;
  private stderr = '';
  private readyTimeoutMs: number;
  private mechanisms: string[];
  private store: Store;
  private sieveBefore?: string;
  private sievePath?: string;
  private stopped = false;
  private byName = new Map<string, LabUser>();

  constructor(bin: string, version: string, dir: string, users: LabUser[], readyTimeoutMs: number, mechanisms: string[], sieveBefore?: string) {
    this.mechanisms = mechanisms;
    this.store = storeOf(users[0]?.layout);
    this.sieveBefore = sieveBefore;
    this.bin = bin;
    this.version = version;
    this.dir = dir;
    this.users = users;
    this.readyTimeoutMs = readyTimeoutMs;
    this.confPath = path.join(dir, 'dovecot.conf');
    this.lmtpSocket = path.join(dir, 'run', 'lmtp');
    for (const u of users) this.byName.set(u.user.toLowerCase(), u);
  }

  private user(name: string): LabUser {
    const u = this.byName.get(name.toLowerCase());
    if (!u) throw new Error(`no lab user ${JSON.stringify(name)} (users: ${this.users.map((x) => x.user).join(', ')})`);
    return u;
  }

  folders(user: string): string[] {
    return foldersOf(this.user(user).layout).map((f) => f.name);
  }

  logTail(lines = 25): string {
    let log = '';
    try { log = readFileSync(path.join(this.dir, 'dovecot.log'), 'utf8'); } catch { /* not written yet */ }
    const all = `${this.stderr}${log}`.trimEnd().split('\n');
    return all.slice(-lines).join('\n');
  }

  async prepare(): Promise<void> {
    const acc = accounts();
    const tls = await labTls();
    this.caPem = tls.caPem;
    // Dovecot's auth and login processes run unprivileged and must traverse the dir
    await chmod(this.dir, 0o755);
    await mkdir(path.join(this.dir, 'tls'), { mode: 0o700 });
    await writeFile(path.join(this.dir, 'tls', 'server.crt'), tls.certPem);
    await writeFile(path.join(this.dir, 'tls', 'server.key'), tls.keyPem, { mode: 0o600 });
    await writeFile(path.join(this.dir, 'tls', 'ca.crt'), tls.caPem);
    await mkdir(path.join(this.dir, 'state'), { mode: 0o750 });
    const home = path.join(this.dir, 'home');
    await mkdir(home, { mode: 0o755 });
    const lines: string[] = [];
    await Promise.all(this.users.map(async (u, i) => {
      const h = path.join(home, `u${i}`);
      lines[i] = `${u.user}:{PLAIN}${u.pass}:${acc.uid}:${acc.gid}::${h}::`;
      if (this.store === 'mdbox-dotted') {
        // Dovecot lays out mdbox itself and creates the layout's folders (auto = subscribe)
        await mkdir(h, { recursive: true, mode: 0o700 });
        await chownR(h, acc.uid, acc.gid);
        return;
      }
      const md = path.join(h, 'Maildir');
      for (const f of foldersOf(u.layout)) {
        const fdir = path.join(md, maildirOf(f.name));
        for (const sub of ['cur', 'new', 'tmp']) await mkdir(path.join(fdir, sub), { recursive: true, mode: 0o700 });
        if (f.name !== 'INBOX') await writeFile(path.join(fdir, 'maildirfolder'), '');
      }
      // subscribed like a fresh provider account: every folder of the layout
      // the old one-name-per-line format, in Maildir++'s on-disk hierarchy separator
      await writeFile(path.join(md, 'subscriptions'), foldersOf(u.layout).filter((f) => f.name !== 'INBOX').map((f) => `${f.name.split('/').join('.')}\n`).join(''));
      await chownR(h, acc.uid, acc.gid);
    }));
    const passwd = path.join(this.dir, 'passwd');
    await writeFile(passwd, lines.join('\n') + '\n', { mode: 0o600 });
    // read by the auth process, which runs as the internal user
    const internal = passwdEntry(acc.internalUser);
    if (internal && process.getuid?.() === 0) await chown(passwd, internal.uid, internal.gid);
    if (this.sieveBefore !== undefined) await this.compileSieve(acc);
    await this.writeConfig(acc);
  }

  /** Write and compile (sievec) the global script, so a syntax error fails here with sievec's message. */
  private async compileSieve(acc: Accounts): Promise<void> {
    const sievec = ['/usr/bin/sievec', '/usr/local/bin/sievec'].find((p) => existsSync(p));
    if (!sievec) throw new Error('Sieve needs Pigeonhole (no sievec): install it with `bash scripts/setup.sh` (Debian/Ubuntu: `apt-get install dovecot-sieve`)');
    const dir = path.join(this.dir, 'sieve');
    await mkdir(dir, { mode: 0o755 });
    this.sievePath = path.join(dir, 'before.sieve');
    await writeFile(this.sievePath, this.sieveBefore!);
    try {
      await execFileP(sievec, [this.sievePath], { timeout: 30_000 });
    } catch (e) {
      const err = e as { stderr?: string; message: string };
      throw new Error(`the lab's Sieve script does not compile: ${(err.stderr || err.message).trim()}`);
    }
    await chownR(dir, acc.uid, acc.gid);
  }

  private async writeConfig(acc: Accounts): Promise<void> {
    const [imap, imaps, pop3, pop3s, lmtp] = await freePorts(5);
    Object.assign(this, { imapPort: imap, imapsPort: imaps, pop3Port: pop3, pop3sPort: pop3s, lmtpPort: lmtp });
    const instance = `inboxlens-${path.basename(this.dir)}`;
    const conf = configFor(this.version, { dir: this.dir, mechanisms: this.mechanisms, ports: { imap: imap!, imaps: imaps!, pop3: pop3!, pop3s: pop3s!, lmtp: lmtp! }, acc, instance, store: this.store, ...(this.sievePath ? { sievePath: this.sievePath } : {}) });
    await writeFile(this.confPath, conf);
  }

  /** Start the master in the foreground, in its own process group, and wait until it serves. */
  async launch(): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        await this.launchOnce();
        return;
      } catch (e) {
        await this.kill();
        // a port taken between freePorts() and Dovecot's bind: new ports, once more
        if (attempt < 3 && /Address already in use/i.test(this.logTail(50))) {
          await rm(path.join(this.dir, 'dovecot.log'), { force: true });
          await this.writeConfig(accounts());
          continue;
        }
        throw e;
      }
    }
  }

  private async launchOnce(): Promise<void> {
    this.stderr = '';
    // In its own process group (stop() signals the whole group), under a small
    // watchdog shell: it holds our stdin pipe, and when this process dies — even
    // by SIGKILL, where no exit hook runs — the pipe closes and the watchdog
    // terminates the group, so a crashed test run never leaves a Dovecot behind.
    const child = spawn('/bin/sh', ['-c', WATCHDOG, 'inboxlens-dovecot', this.bin, this.confPath, this.dir], { detached: true, stdio: ['pipe', 'pipe', 'pipe'] });
    child.stdin!.on('error', () => {});
    this.child = child;
    const onData = (d: Buffer) => {
      this.stderr += d.toString();
      if (this.stderr.length > 20_000) this.stderr = this.stderr.slice(-10_000);
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    let exited: string | undefined;
    child.once('exit', (code, signal) => { exited = signal ? `signal ${signal}` : `exit code ${code}`; });
    const spawnError = new Promise<never>((_, reject) => child.once('error', (e) => reject(new Error(`could not run ${this.bin}: ${e.message}`))));
    spawnError.catch(() => {});
    if (child.pid) live.set(child.pid, this.dir);
    installExitHook();

    const deadline = Date.now() + this.readyTimeoutMs;
    const probe = this.users[0]!;
    let lastErr = '';
    while (Date.now() < deadline) {
      if (exited) throw new Error(`Dovecot ${this.version} exited during start-up (${exited}). Last log lines:\n${this.logTail()}`);
      try {
        await Promise.race([spawnError, this.probe(probe)]);
        return;
      } catch (e) {
        lastErr = (e as Error).message;
        if (/could not run/.test(lastErr)) throw e;
      }
      await sleep(50);
    }
    throw new Error(`Dovecot did not become ready within ${this.readyTimeoutMs} ms (${lastErr}). Last log lines:\n${this.logTail()}`);
  }

  /** The real greeting, a successful LOGIN over IMAP, and POP3's greeting. */
  private async probe(u: LabUser): Promise<void> {
    // literal strings: the password may hold characters IMAP quoting would trip on
    const lit = (s: string) => `{${Buffer.byteLength(s)}+}\r\n${s}`;
    await lineExchange(this.imapPort, [
      { expect: /^\* OK .*Dovecot ready\./ },
      { send: `a LOGIN ${lit(u.user)} ${lit(u.pass)}\r\n`, expect: /^a OK/ },
      { send: 'b LOGOUT\r\n', expect: /^b OK/ },
    ]);
    await lineExchange(this.pop3Port, [{ expect: /^\+OK .*Dovecot ready\./ }, { send: 'QUIT\r\n', expect: /^\+OK/ }]);
  }

  private async kill(): Promise<void> {
    const child = this.child;
    if (!child?.pid) return;
    const pgid = child.pid;
    const exited = child.exitCode !== null || child.signalCode !== null ? Promise.resolve() : new Promise<void>((r) => child.once('exit', () => r()));
    try { process.kill(-pgid, 'SIGTERM'); } catch { /* gone */ }
    await Promise.race([exited, sleep(5000)]);
    // the master is gone; its children notice and exit, but do not wait for stragglers long
    for (let i = 0; i < 40 && groupAlive(pgid); i++) await sleep(50);
    if (groupAlive(pgid)) {
      try { process.kill(-pgid, 'SIGKILL'); } catch { /* gone */ }
      for (let i = 0; i < 40 && groupAlive(pgid); i++) await sleep(50);
    }
    live.delete(pgid);
    this.child = undefined;
  }

  async restart(): Promise<void> {
    if (this.stopped) throw new Error('this Dovecot was stopped');
    await this.kill();
    await this.launch();
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    await this.kill();
    await rm(this.dir, { recursive: true, force: true });
  }

  async deliver(user: string, folder: string, raw: Buffer | string, opts: { from?: string } = {}): Promise<void> {
    const u = this.user(user);
    const known = this.folders(u.user);
    const target = folder.toUpperCase() === 'INBOX' ? 'INBOX' : folder;
    if (!known.includes(target)) throw new Error(`lab user ${u.user} has no folder ${JSON.stringify(folder)} (folders: ${known.join(', ')})`);
    const [local, domain] = splitAddress(u.user);
    // RFC 5321 §4.1.2: a local part with spaces or brackets must be a quoted string
    const withDetail = target === 'INBOX' ? local : `${local}+${target}`;
    const lp = /^[A-Za-z0-9!#$%&'*+\-/=?^_`{|}~.]+$/.test(withDetail) && !/^\.|\.\.|\.$/.test(withDetail) ? withDetail : quote(withDetail);
    const rcpt = domain ? `${lp}@${domain}` : lp;
    await lmtpSend(this.lmtpPort, opts.from ?? '', rcpt, typeof raw === 'string' ? Buffer.from(raw) : raw).catch((e: Error) => {
      throw new Error(`LMTP delivery to ${u.user} (${target}) failed: ${e.message}`);
    });
  }

  async snapshot(user: string): Promise<Record<string, SnapshotEntry[]>> {
    const u = this.user(user);
    const client = new ImapFlow({
      host: this.host,
      port: this.imapPort,
      secure: false,
      doSTARTTLS: true,
      auth: { user: u.user, pass: u.pass },
      tls: { ca: this.caPem },
      logger: false,
    });
    await client.connect();
    try {
      const out: Record<string, SnapshotEntry[]> = {};
      const list = await client.list();
      for (const mb of list) {
        if (mb.flags.has('\\Noselect') || mb.flags.has('\\NonExistent')) continue;
        // EXAMINE: read-only, so taking the snapshot changes nothing (no \Seen, no \Recent reset)
        const box = await client.mailboxOpen(mb.path, { readOnly: true });
        const entries: SnapshotEntry[] = [];
        if (box.exists > 0) {
          for await (const m of client.fetch('1:*', { uid: true, flags: true, size: true, source: true })) {
            entries.push({
              uid: m.uid,
              // \Recent belongs to a session, not to the message
              flags: [...(m.flags ?? [])].filter((f) => f !== '\\Recent').sort(),
              size: m.size ?? 0,
              sha256: createHash('sha256').update(m.source ?? Buffer.alloc(0)).digest('hex'),
            });
          }
        }
        entries.sort((a, b) => a.uid - b.uid);
        out[mb.path] = entries;
        await client.mailboxClose();
      }
      return out;
    } finally {
      await client.logout().catch(() => client.close());
    }
  }
}

function splitAddress(user: string): [string, string | undefined] {
  const at = user.lastIndexOf('@');
  return at > 0 ? [user.slice(0, at), user.slice(at + 1)] : [user, undefined];
}

async function chownR(dir: string, uid: number, gid: number): Promise<void> {
  if (process.getuid?.() !== 0) return;
  const { readdir } = await import('node:fs/promises');
  await chown(dir, uid, gid);
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) await chownR(p, uid, gid);
    else await chown(p, uid, gid);
  }
}

/** One LMTP transaction (RFC 2033) on loopback; rejects with the server's reply on failure. */
export function lmtpSend(port: number, from: string, rcpt: string, raw: Buffer): Promise<string> {
  return new Promise((resolve, reject) => {
    const conn = new SMTPConnection({ host: '127.0.0.1', port, lmtp: true, ignoreTLS: true, name: 'inboxlens-lab', connectionTimeout: 10_000, greetingTimeout: 10_000, socketTimeout: 30_000, logger: false });
    let settled = false;
    const done = (err: Error | null, res?: string) => {
      if (settled) return;
      settled = true;
      try { conn.quit(); } catch { conn.close(); }
      if (err) reject(err);
      else resolve(res ?? '');
    };
    conn.once('error', (e: Error) => done(e));
    conn.connect((err) => {
      if (err) return done(err);
      conn.send({ from, to: [rcpt] }, raw, (e, info) => {
        if (e) return done(e);
        if (info?.rejected?.length) return done(new Error(info.rejectedErrors?.map((x) => x.message).join('; ') || `rejected ${rcpt}`));
        done(null, info?.response);
      });
    });
  });
}

/**
 * Start a Dovecot for these users. Throws, with the last lines of Dovecot's log,
 * if it is missing, unsupported, or does not greet and accept a login in time.
 */
export async function startDovecot(opts: StartDovecotOptions): Promise<Dovecot> {
  validateUsers(opts.users);
  const mechanisms = (opts.authMechanisms ?? ['plain', 'login']).map((m) => m.toLowerCase());
  for (const m of mechanisms) if (!/^[a-z0-9-]+$/.test(m)) throw new Error(`startDovecot: '${m}' is not a SASL mechanism name`);
  if (opts.bin && !existsSync(opts.bin)) throw new LabStartError('Dovecot', DOVECOT_PACKAGES, `is not installed (no ${opts.bin})`);
  const bin = opts.bin ?? findDovecot();
  const version = await dovecotVersion(bin);
  const dir = await mkdtemp(path.join(os.tmpdir(), 'inboxlens-dovecot-'));
  const users = opts.users.map((u) => ({ ...u, layout: u.layout ?? 'generic' }));
  const stores = new Set(users.map((u) => storeOf(u.layout)));
  if (stores.size > 1) throw new Error(`startDovecot: one Dovecot serves one store, and these users mix ${[...stores].join(' and ')} layouts (${users.map((u) => `${u.user}: ${u.layout}`).join(', ')}): start one Dovecot per store`);
  const d = new DovecotInstance(bin, version, dir, users, opts.readyTimeoutMs ?? 20_000, mechanisms, opts.sieveBefore);
  try {
    await d.prepare();
    await d.launch();
    // an mdbox user's folders exist once Dovecot has listed them (auto = subscribe): list and open
    // each now, so the first LMTP delivery (a Sieve fileinto) finds them
    if (stores.has('mdbox-dotted')) for (const u of users) await d.snapshot(u.user);
    return d;
  } catch (e) {
    await d.stop().catch(() => {});
    throw e;
  }
}

/** Dovecot's whole log file (the error messages carry only its tail). */
export async function readLog(d: Dovecot): Promise<string> {
  return readFile(path.join(d.dir, 'dovecot.log'), 'utf8').catch(() => '');
}
