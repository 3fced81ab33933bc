// The lab's real receiving stack, built from parts nobody here wrote: Debian's
// Postfix as the MX on a loopback address, rspamd as its milter (the proxy worker
// in milter mode) writing real Authentication-Results and X-Spam/X-Spamd/X-Rspamd
// headers from SPF/DKIM/DMARC lookups it makes against the lab DNS, and delivery
// by LMTP to a Dovecot whose Sieve (Pigeonhole) files spam into Junk — a German
// mailbox on a dotted `INBOX.` namespace in mdbox, whose spam folder
// `INBOX.Unerwünscht` carries no \Junk attribute. Beside the simulated providers
// (src/lab/mx.ts), so placement, `smtp`, bounce and analysis tests meet real
// receivers' behaviour. Postfix starts only as root.
//
// One thing the lab cannot model with a real MTA: the connection comes from
// 127.0.0.1 (not the lab's pretend sender address, LAB_SENDER_IP), and rspamd
// evaluates SPF for what Postfix saw. So this stack's DNS authorizes 127.0.0.1 in
// goodsender.test's SPF, beside the lab address.
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import YAML from 'yaml';
import { FixtureDns, loadZoneDir, mergeZone, parseZone } from '../dns/fixture-server.ts';
import { registerSecret } from '../util/redact.ts';
import { startDovecot, type Dovecot } from './dovecot.ts';
import { startPostfix, type LabPostfix } from './postfix.ts';
import { startRspamd, type RspamdLab } from './rspamd.ts';
import { freePorts } from './ports.ts';
import { junkFolderOf, type Layout } from './layouts.ts';
import type { LabSender } from './index.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** The domain the real stack receives for, and its MX's name (Postfix's myhostname, rspamd's authserv-id). */
export const REAL_DOMAIN = 'real.lab.test';
export const REAL_MX = 'mx.postfix.lab.test';
export const REAL_LAYOUT: Layout = 'dotted-de';
/** the seeds' IMAP host name, in the stack's DNS only (A 127.0.0.1) */
export const REAL_IMAP = 'imap.real.lab.test';

/**
 * Files spam into the localized Junk: rspamd's milter adds `X-Spam: Yes` for the
 * "add header" action (and the x-spam-status routine X-Spam-Status: Yes, …).
 */
export const SPAM_SIEVE = `require ["fileinto"];
# rspamd (milter): X-Spam: Yes for "add header" and above, X-Spam-Status: Yes, score=…
if anyof (header :is "X-Spam" "Yes", header :matches "X-Spam-Status" "Yes*") {
  fileinto "${junkFolderOf(REAL_LAYOUT)}";
  stop;
}
`;

/** rspamd's local.d for the stack: the headers it writes, and checks for the loopback client too. */
export const RSPAMD_LOCAL_D: Record<string, string> = {
  // rspamd skips headers, SPF and DMARC for local and authenticated senders by default;
  // in the lab every connection is from 127.0.0.1
  'milter_headers.conf': `use = ["authentication-results", "x-spam-status", "x-spamd-result", "x-rspamd-queue-id", "x-rspamd-server", "x-spam-level"];
extended_spam_headers = true;
skip_local = false;
skip_authenticated = false;
`,
  'spf.conf': 'check_local = true;\ncheck_authed = true;\n',
  'dmarc.conf': 'check_local = true;\ncheck_authed = true;\n',
  'dkim.conf': 'check_local = true;\ncheck_authed = true;\n',
  'arc.conf': 'check_local = true;\ncheck_authed = true;\n',
};

export interface RealSeed {
  address: string;
  user: string;
  pass: string;
  layout: Layout;
  junk: string;
}

export interface RealStack {
  dns: FixtureDns;
  postfix: LabPostfix;
  rspamd: RspamdLab;
  dovecot: Dovecot;
  /** smtp://HOST:PORT of Postfix's listener (STARTTLS with the lab CA, no AUTH) */
  smtpUrl: string;
  /** what rspamd writes as authserv-id (Postfix's myhostname) */
  authservId: string;
  seeds: RealSeed[];
  /** seeds file for `placement --seeds` (with authservId), `ca:` pointing at caFile */
  seedsFile: string;
  caFile: string;
  caPem: string;
  senders: { good: LabSender; broken: LabSender };
  dir: string;
  /** stops Postfix (every daemon), rspamd, Dovecot and the DNS; safe to call twice */
  stop(): Promise<void>;
}

export interface StartRealStackOptions {
  /** seed mailboxes at REAL_DOMAIN (default 2: seed1@, seed2@) */
  seeds?: number;
  /** generous by default: rspamd loads its rules in 5–30 s on a loaded machine */
  readyTimeoutMs?: number;
}

function password(): string {
  const p = `lab-${randomBytes(12).toString('base64url')}`;
  registerSecret(p);
  return p;
}

export async function startRealStack(o: StartRealStackOptions = {}): Promise<RealStack> {
  if (process.getuid?.() !== 0) throw new Error('the real receiving stack needs root: Postfix\'s master starts only as root (CI runs as root)');
  const n = o.seeds ?? 2;
  const seeds: RealSeed[] = Array.from({ length: n }, (_, i) => {
    const address = `seed${i + 1}@${REAL_DOMAIN}`;
    return { address, user: address, pass: password(), layout: REAL_LAYOUT, junk: junkFolderOf(REAL_LAYOUT) };
  });
  const timeoutMs = o.readyTimeoutMs ?? 120_000;
  const started: { stop(): Promise<void> }[] = [];
  const stopAll = async () => {
    const errors: string[] = [];
    // Postfix first (nothing new arrives), then its milter, the store, the DNS
    for (const s of started.splice(0).reverse()) await s.stop().catch((e: Error) => errors.push(e.message));
    if (errors.length) throw new Error(`stopping the real stack: ${errors.join('; ')}`);
  };
  try {
    const zone = await loadZoneDir(path.join(ROOT, 'fixtures/lab/zones'));
    const address = `127.0.0.${2 + Math.floor(Math.random() * 250)}`;
    mergeZone(zone, parseZone({
      // the connection reaches Postfix from 127.0.0.1: authorize it (see the header comment)
      'goodsender.test': { TXT: ['v=spf1 ip4:198.51.100.25 ip4:127.0.0.1 -all'], MX: ['10 mx.goodsender.test'], A: ['198.51.100.25'] },
      [REAL_DOMAIN]: { MX: [`10 ${REAL_MX}`], TXT: ['v=spf1 -all'] },
      [REAL_MX]: { A: [address] },
      // the seeds reach Dovecot by a name only the lab DNS knows: seed hosts resolve through --resolver
      [REAL_IMAP]: { A: ['127.0.0.1'] },
    }, 'real stack zone'));
    const dns = await FixtureDns.start({ zone });
    started.push(dns);
    const dovecotP = startDovecot({ users: seeds.map((s) => ({ user: s.user, pass: s.pass, layout: s.layout })), sieveBefore: SPAM_SIEVE, readyTimeoutMs: Math.min(timeoutMs, 60_000) });
    const [milterPort] = await freePorts(1);
    const rspamdP = startRspamd({
      dns: `${dns.host}:${dns.port}`,
      milterPort: milterPort!,
      localD: RSPAMD_LOCAL_D,
      // rspamd's own "add header" GTUBE variant (YJS*…): the standard XJS* GTUBE is a reject
      options: 'enable_test_patterns = true;\n  check_local = true;\n  check_authed = true;',
      timeoutMs,
    });
    const [dR, rR] = await Promise.allSettled([dovecotP, rspamdP]);
    if (dR.status === 'fulfilled') started.push(dR.value);
    if (rR.status === 'fulfilled') started.push(rR.value);
    if (dR.status === 'rejected') throw dR.reason;
    if (rR.status === 'rejected') throw rR.reason;
    const dovecot = dR.value;
    const rspamd = rR.value;
    const postfix = await startPostfix({
      hostname: REAL_MX,
      address,
      domains: [REAL_DOMAIN],
      mailboxes: seeds.map((s) => s.address),
      lmtp: { host: dovecot.host, port: dovecot.lmtpPort! },
      milters: [`inet:127.0.0.1:${milterPort}`],
      readyTimeoutMs: Math.min(timeoutMs, 60_000),
    });
    started.push(postfix);

    const dir = path.join(dovecot.dir, 'real-stack');
    await mkdir(dir, { mode: 0o700 });
    const caFile = path.join(dir, 'lab-ca.pem');
    await writeFile(caFile, dovecot.caPem);
    const seedsFile = path.join(dir, 'seeds.yaml');
    const doc = {
      seeds: seeds.map((s) => ({
        address: s.address,
        provider: 'generic',
        // the receiver's verdicts are trusted by this id (src/analyze/receiver.ts)
        authservId: REAL_MX,
        // Dovecot's certificate names localhost: TLS checks that name, the connection goes to what DNS says
        imap: { host: REAL_IMAP, port: dovecot.imapPort, secure: false, servername: 'localhost' },
        ca: caFile,
        auth: { user: s.user, pass: s.pass },
      })),
    };
    await writeFile(seedsFile, `# Generated by inboxlens's real receiving stack (src/lab/real-stack.ts)\n${YAML.stringify(doc)}`, { mode: 0o600 });
    const keyFile = path.join(ROOT, 'fixtures/lab/dkim/goodsender.test.lab.key');
    const privateKey = await readFile(keyFile, 'utf8');
    return {
      dns, postfix, rspamd, dovecot,
      smtpUrl: `smtp://${postfix.host}:${postfix.port}`,
      authservId: REAL_MX,
      seeds, seedsFile, caFile, caPem: dovecot.caPem,
      senders: {
        good: { domain: 'goodsender.test', from: 'news@goodsender.test', envelopeFrom: 'bounces@goodsender.test', dkim: { selector: 'lab', keyFile, privateKey } },
        broken: { domain: 'brokensender.test', from: 'news@brokensender.test', envelopeFrom: 'bounces@brokensender.test' },
      },
      dir,
      stop: stopAll,
    };
  } catch (e) {
    await stopAll().catch(() => {});
    throw e;
  }
}
