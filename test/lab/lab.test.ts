// The lab (src/lab/) for real: Dovecot on loopback over IMAP/IMAPS/POP3/POP3S
// with TLS verified against the lab CA, the lab MX authenticating mail with
// mailauth against the lab DNS and filing it per provider, DSNs, snapshots,
// IDLE notifications, restart and a clean stop.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPrivateKey, createPublicKey } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { spawn } from 'node:child_process';
import net from 'node:net';
import tls from 'node:tls';
import path from 'node:path';
import { ImapFlow } from 'imapflow';
import nodemailer from 'nodemailer';
import YAML from 'yaml';
import { startLab, type Lab, LAB_ZONES_DIR } from '../../src/lab/index.ts';
import { startDovecot, configFor, type Dovecot } from '../../src/lab/dovecot.ts';
import { classify, LAB_PROVIDERS, type Verdict } from '../../src/lab/providers.ts';
import { labTls } from '../../src/lab/tls.ts';
import { loadSeeds } from '../../src/placement/seeds.ts';

let lab: Lab;

beforeAll(async () => {
  lab = await startLab({ providers: ['gmail', 'outlook', 'yahoo', 'icloud', 'generic', 'strict'], imapSeeds: 6, pop3Seeds: 2 });
});
afterAll(async () => {
  await lab?.stop();
});

const seed = (address: string) => {
  const s = lab.seeds.find((x) => x.address === address);
  if (!s) throw new Error(`no seed ${address}`);
  return s;
};

function transport() {
  return nodemailer.createTransport({
    host: '127.0.0.1',
    port: lab.mx.port,
    secure: false,
    requireTLS: true,
    tls: { ca: lab.caPem },
    name: 'mta.goodsender.test',
  });
}

let counter = 0;
async function send(kind: 'good' | 'broken', to: string, extra: Record<string, unknown> = {}) {
  const s = lab.senders[kind];
  const subject = `lab test ${++counter} ${Date.now()}`;
  const info = await transport().sendMail({
    from: s.from,
    to,
    subject,
    text: 'Hello from the lab.',
    envelope: { from: s.envelopeFrom, to },
    ...(s.dkim ? { dkim: { domainName: s.domain, keySelector: s.dkim.selector, privateKey: s.dkim.privateKey } } : {}),
    ...extra,
  });
  return { info, subject, messageId: info.messageId as string };
}

function imap(user: string, pass: string, o: { port?: number; secure?: boolean; ca?: string } = {}) {
  return new ImapFlow({
    host: '127.0.0.1',
    port: o.port ?? lab.dovecot.imapPort,
    secure: o.secure ?? false,
    doSTARTTLS: o.secure ? undefined : true,
    auth: { user, pass },
    tls: { ca: o.ca ?? lab.caPem },
    logger: false,
  });
}

async function fetchFrom(user: string, pass: string, folder: string, messageId: string): Promise<string | undefined> {
  const c = imap(user, pass);
  await c.connect();
  try {
    await c.mailboxOpen(folder, { readOnly: true });
    const uids = await c.search({ header: { 'message-id': messageId } }, { uid: true });
    if (!uids || !uids.length) return undefined;
    const m = await c.fetchOne(String(uids[0]), { source: true }, { uid: true });
    return m ? m.source!.toString() : undefined;
  } finally {
    await c.logout();
  }
}

/** A line-oriented POP3 session on a raw socket, with STLS upgraded and verified against `ca`. */
class Pop3 {
  private sock!: net.Socket | tls.TLSSocket;
  private buf = '';
  private waiters: ((l: string) => void)[] = [];
  private lines: string[] = [];
  static async open(port: number, o: { implicitTls?: boolean; ca: string }): Promise<{ pop: Pop3; greeting: string }> {
    const pop = new Pop3();
    pop.attach(o.implicitTls ? tls.connect({ host: '127.0.0.1', port, ca: o.ca, servername: 'localhost' }) : net.connect({ host: '127.0.0.1', port }));
    const greeting = await pop.line();
    return { pop, greeting };
  }
  private attach(s: net.Socket | tls.TLSSocket) {
    this.sock = s;
    s.on('data', (d: Buffer) => {
      this.buf += d.toString('latin1');
      let i: number;
      while ((i = this.buf.indexOf('\r\n')) >= 0) {
        const l = this.buf.slice(0, i);
        this.buf = this.buf.slice(i + 2);
        const w = this.waiters.shift();
        if (w) w(l);
        else this.lines.push(l);
      }
    });
    s.on('error', () => {});
  }
  line(): Promise<string> {
    const l = this.lines.shift();
    if (l !== undefined) return Promise.resolve(l);
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error('POP3: no answer in 5 s')), 5000);
      this.waiters.push((x) => { clearTimeout(t); resolve(x); });
    });
  }
  async cmd(c: string): Promise<string> {
    this.sock.write(`${c}\r\n`);
    return this.line();
  }
  async stls(ca: string): Promise<tls.TLSSocket> {
    const r = await this.cmd('STLS');
    if (!r.startsWith('+OK')) throw new Error(`STLS refused: ${r}`);
    const plain = this.sock as net.Socket;
    plain.removeAllListeners('data');
    const secured = tls.connect({ socket: plain, ca, servername: 'localhost' });
    await new Promise<void>((resolve, reject) => { secured.once('secureConnect', () => resolve()); secured.once('error', reject); });
    this.attach(secured);
    return secured;
  }
  close() { this.sock.destroy(); }
}

describe('lab Dovecot', () => {
  it('greets with the real Dovecot banner and reports its version', async () => {
    const greeting = await new Promise<string>((resolve, reject) => {
      const s = net.connect({ host: '127.0.0.1', port: lab.dovecot.imapPort });
      s.once('data', (d) => { resolve(d.toString()); s.destroy(); });
      s.once('error', reject);
    });
    expect(greeting).toMatch(/^\* OK \[CAPABILITY [^\]]*STARTTLS[^\]]*\] Dovecot ready\./);
    expect(lab.dovecot.version).toMatch(/^2\.[34]\./);
  });

  it('logs in over IMAP with STARTTLS verified against the lab CA, and lists special-use folders', async () => {
    const s = seed('seed1@gmail.lab.test');
    const c = imap(s.user, s.pass);
    await c.connect();
    expect(c.secureConnection || (c as any).socket?.encrypted).toBeTruthy();
    const list = await c.list();
    const byUse = Object.fromEntries(list.filter((m) => m.specialUse).map((m) => [m.specialUse, m.path]));
    expect(byUse['\\Junk']).toBe('[Gmail]/Spam');
    expect(byUse['\\All']).toBe('[Gmail]/All Mail');
    expect(byUse['\\Trash']).toBe('[Gmail]/Trash');
    expect(list.map((m) => m.path)).toContain('Categories/Promotions');
    await c.logout();

    const o = seed('seed1@outlook.lab.test');
    const c2 = imap(o.user, o.pass);
    await c2.connect();
    const l2 = await c2.list();
    expect(l2.find((m) => m.specialUse === '\\Junk')?.path).toBe('Junk Email');
    await c2.logout();
  });

  it('serves implicit TLS (IMAPS) verified against the lab CA, and fails verification against another CA', async () => {
    const s = seed('seed1@yahoo.lab.test');
    const c = imap(s.user, s.pass, { port: lab.dovecot.imapsPort, secure: true });
    await c.connect();
    const list = await c.list();
    expect(list.find((m) => m.specialUse === '\\Junk')?.path).toBe('Bulk Mail');
    await c.logout();

    // TLS stays verified in the lab: the system CAs do not trust the lab's certificate
    const err = await new Promise<Error>((resolve) => {
      const t = tls.connect({ host: '127.0.0.1', port: lab.dovecot.imapsPort, servername: 'localhost' });
      t.once('error', resolve);
      t.once('secureConnect', () => { t.destroy(); resolve(new Error('connected')); });
    });
    expect(err.message).toMatch(/self[- ]signed|unable to (get|verify)|certificate/i);
  });

  it('refuses a wrong password over IMAP', async () => {
    const s = seed('seed1@icloud.lab.test');
    const c = imap(s.user, `${s.pass}-wrong`);
    await expect(c.connect()).rejects.toThrow();
    c.close();
  });

  it('logs in over POP3 (raw socket) after STLS verified against the lab CA; POP3S too; wrong password is -ERR', async () => {
    const s = lab.seeds.find((x) => x.protocol === 'pop3')!;
    const { pop, greeting } = await Pop3.open(lab.dovecot.pop3Port, { ca: lab.caPem });
    expect(greeting).toMatch(/^\+OK .*Dovecot ready\./);
    const secured = await pop.stls(lab.caPem);
    expect(secured.authorized).toBe(true);
    expect(await pop.cmd(`USER ${s.user}`)).toMatch(/^\+OK/);
    expect(await pop.cmd(`PASS ${s.pass}`)).toMatch(/^\+OK/);
    expect(await pop.cmd('STAT')).toMatch(/^\+OK \d+ \d+/);
    await pop.cmd('QUIT');
    pop.close();

    const { pop: pops, greeting: g2 } = await Pop3.open(lab.dovecot.pop3sPort, { implicitTls: true, ca: lab.caPem });
    expect(g2).toMatch(/^\+OK/);
    expect(await pops.cmd(`USER ${s.user}`)).toMatch(/^\+OK/);
    expect(await pops.cmd(`PASS not-${s.pass}`)).toMatch(/^-ERR/);
    pops.close();
  });

  it('the seeds file is valid for the placement engine and names the lab CA', () => {
    const doc = YAML.parse(readFileSync(lab.seedsFile, 'utf8'));
    expect(doc.seeds).toHaveLength(lab.seeds.length);
    const parsed = loadSeeds(lab.seedsFile);
    expect(parsed.seeds.map((s) => s.address)).toEqual(lab.seeds.map((s) => s.address));
    const g = parsed.seeds.find((s) => s.provider === 'gmail')!;
    expect(g.access).toMatchObject({ protocol: 'imap', host: '127.0.0.1', port: lab.dovecot.imapPort, secure: false, insecure: false, allowPlaintext: false });
    expect(g.access.ca).toBe(lab.caPem);
    expect(g.folders?.tabs?.promotions).toBe('Categories/Promotions');
    expect(parsed.seeds.filter((s) => s.access.protocol === 'pop3')).toHaveLength(2);
    expect(parsed.bounces?.address).toBe(lab.bounces.user);
  });
});

describe('lab MX', () => {
  it('files a well-signed message into INBOX with dkim=pass, spf=pass, dmarc=pass in Authentication-Results', async () => {
    const s = seed('seed1@gmail.lab.test');
    const { messageId, info } = await send('good', s.address);
    expect(info.response).toMatch(/^250 /);
    const rec = lab.mx.received.find((r) => r.messageId === messageId)!;
    expect(rec).toMatchObject({ rcpt: s.address, folder: 'INBOX', kind: 'inbox', spf: 'pass', dkim: 'pass', dmarc: 'pass', provider: 'gmail' });
    const src = await fetchFrom(s.user, s.pass, 'INBOX', messageId);
    expect(src).toBeDefined();
    const ar = /^Authentication-Results: ([\s\S]*?)\r\n(?=\S)/m.exec(src!)![1]!.replace(/\r\n\s+/g, ' ');
    expect(ar).toMatch(/^mx\.lab\.test;/);
    expect(ar).toMatch(/dkim=pass header\.i=@goodsender\.test header\.s=lab/);
    expect(ar).toMatch(/spf=pass .*smtp\.mailfrom=bounces@goodsender\.test/);
    expect(ar).toMatch(/dmarc=pass .*header\.from=goodsender\.test/);
    expect(src).toMatch(/^Received: from mta\.goodsender\.test \(\[198\.51\.100\.25\]\)\r\n\tby mx\.lab\.test/m);
    expect(src).toMatch(/^X-Gm-Spam: 0/m);
  });

  it('files a broken sender (SPF fail, no DKIM, DMARC p=reject fail) into each provider\'s Junk folder', async () => {
    const targets = ['seed1@gmail.lab.test', 'seed1@outlook.lab.test', 'seed1@yahoo.lab.test', 'seed1@icloud.lab.test', 'seed1@mail.lab.test'];
    const sent = await Promise.all(targets.map((t) => send('broken', t)));
    for (const [i, t] of targets.entries()) {
      const s = seed(t);
      const rec = lab.mx.received.find((r) => r.messageId === sent[i]!.messageId && r.rcpt === t)!;
      expect(rec, t).toMatchObject({ folder: s.junk, kind: 'spam', spf: 'fail', dkim: 'none', dmarc: 'fail' });
      expect(rec.rules).toEqual(['SPF_FAIL', 'DKIM_NONE', 'DMARC_REJECT']);
      const src = await fetchFrom(s.user, s.pass, s.junk, sent[i]!.messageId);
      expect(src, `${t} ${s.junk}`).toMatch(/dmarc=fail/);
    }
    expect(seed('seed1@outlook.lab.test').junk).toBe('Junk Email');
    expect(seed('seed1@yahoo.lab.test').junk).toBe('Bulk Mail');
    const o = seed('seed1@outlook.lab.test');
    const src = await fetchFrom(o.user, o.pass, 'Junk Email', sent[1]!.messageId);
    expect(src).toMatch(/^X-MS-Exchange-Organization-SCL: 5/m);
    expect(src).toMatch(/^X-Forefront-Antispam-Report: .*SFV:SPM;.*CAT:SPOOF;/m);
    const g = seed('seed1@icloud.lab.test');
    expect(await fetchFrom(g.user, g.pass, 'Junk', sent[3]!.messageId)).toMatch(/^X-Spam-Status: Yes, score=9\.0 required=5\.0 tests=SPF_FAIL,DKIM_NONE,DMARC_REJECT/m);
  });

  it('files bulk mail (List-Unsubscribe) into Promotions at the gmail-like provider and INBOX elsewhere', async () => {
    const extra = { list: { unsubscribe: { url: 'https://goodsender.test/u/1', comment: 'Unsubscribe' } }, headers: { 'List-Unsubscribe-Post': 'List-Unsubscribe=One-Click' } };
    const g = seed('seed1@gmail.lab.test');
    const o = seed('seed1@outlook.lab.test');
    const [a, b] = await Promise.all([send('good', g.address, extra), send('good', o.address, extra)]);
    expect(lab.mx.received.find((r) => r.messageId === a.messageId)).toMatchObject({ folder: 'Categories/Promotions', kind: 'tab', tab: 'promotions', dmarc: 'pass' });
    expect(lab.mx.received.find((r) => r.messageId === b.messageId)).toMatchObject({ folder: 'INBOX', kind: 'inbox' });
    expect(await fetchFrom(g.user, g.pass, 'Categories/Promotions', a.messageId)).toMatch(/^List-Unsubscribe: /m);
  });

  it('refuses unknown recipients (5.1.1), foreign domains (5.7.1) and, at the strict provider, DMARC-failing mail (5.7.26)', async () => {
    await expect(send('good', 'nobody@gmail.lab.test')).rejects.toThrow(/550 5\.1\.1/);
    await expect(send('good', 'someone@example.com')).rejects.toThrow(/550 5\.7\.1/);
    const st = seed('seed1@strict.lab.test');
    await expect(send('broken', st.address)).rejects.toThrow(/550 5\.7\.26 Unauthenticated email from brokensender\.test/);
    expect(lab.mx.rejected.some((r) => r.rcpt === st.address && r.stage === 'data' && r.enhanced === '5.7.26')).toBe(true);
    // the strict provider still takes authenticated mail
    const ok = await send('good', st.address);
    expect(lab.mx.received.find((r) => r.messageId === ok.messageId)?.folder).toBe('INBOX');
  });

  it('accepts plus-addressed recipients for the base mailbox', async () => {
    const s = seed('seed1@mail.lab.test');
    const { messageId } = await send('good', s.address.replace('@', '+promo@'));
    expect(lab.mx.received.find((r) => r.messageId === messageId)).toMatchObject({ user: s.user, folder: 'INBOX' });
  });

  it('defers (451 4.4.3) when the lab DNS fails and nothing authenticates — unknown is not pass', async () => {
    lab.dns.setBehavior('brokensender.test', 'servfail');
    try {
      await expect(send('broken', 'seed1@mail.lab.test')).rejects.toThrow(/451 4\.4\.3/);
    } finally {
      lab.dns.setBehavior('brokensender.test', undefined);
    }
  });

  it('a mixed transaction delivers to the accepting seeds and bounces the refused one with a DSN to the sender', async () => {
    const st = seed('seed1@strict.lab.test');
    const y = seed('seed1@yahoo.lab.test');
    const s = lab.senders.good;
    // goodsender signs, but the From says brokensender: DMARC fails (p=reject), strict refuses after accepting the other
    const info = await transport().sendMail({
      from: 'news@brokensender.test', to: [st.address, y.address], subject: 'mixed', text: 'x',
      envelope: { from: s.envelopeFrom, to: [st.address, y.address] },
    });
    expect(info.accepted).toEqual([st.address, y.address]);
    const rej = lab.mx.rejected.find((r) => r.messageId === info.messageId && r.rcpt === st.address)!;
    expect(rej).toMatchObject({ stage: 'dsn', code: 550, enhanced: '5.7.26', dsnTo: lab.bounces.user });
    expect(lab.mx.received.find((r) => r.messageId === info.messageId)?.rcpt).toBe(y.address);
    const c = imap(lab.bounces.user, lab.bounces.pass);
    await c.connect();
    await c.mailboxOpen('INBOX', { readOnly: true });
    const uids = await c.search({ body: info.messageId }, { uid: true });
    expect(uids && uids.length).toBeTruthy();
    const m = await c.fetchOne(String((uids as number[]).at(-1)), { source: true }, { uid: true });
    await c.logout();
    const dsn = m ? m.source!.toString() : '';
    expect(dsn).toMatch(/Content-Type: multipart\/report; report-type=delivery-status/);
    expect(dsn).toMatch(new RegExp(`Final-Recipient: rfc822; ${st.address.replace(/\./g, '\\.')}`));
    expect(dsn).toMatch(/Status: 5\.7\.26/);
    expect(dsn).toMatch(/Diagnostic-Code: smtp; 550 5\.7\.26/);
  });

  it('notifies an IMAP IDLE client of a delivery without polling', async () => {
    const s = seed('seed1@icloud.lab.test');
    const c = imap(s.user, s.pass);
    await c.connect();
    const box = await c.mailboxOpen('INBOX', { readOnly: true });
    const before = box.exists;
    const seen = new Promise<number>((resolve) => c.on('exists', (e: { count: number }) => resolve(e.count)));
    // idle() resolves only when IDLE ends: leave it running (imapflow's own auto-IDLE waits 15 s)
    const idling = c.idle();
    for (let i = 0; i < 50 && !c.idling; i++) await new Promise((r) => setTimeout(r, 20));
    expect(c.idling).toBe(true);
    await send('good', s.address);
    const count = await Promise.race([seen, new Promise<number>((_, rej) => setTimeout(() => rej(new Error('no EXISTS while idling')), 10_000))]);
    expect(count).toBe(before + 1);
    await c.logout();
    await idling.catch(() => {});
  });

  it('snapshot proves nothing else was touched: only the target folder of the target seed changes', async () => {
    const g = seed('seed1@gmail.lab.test');
    const other = seed('seed1@yahoo.lab.test');
    const [g0, o0] = await Promise.all([lab.dovecot.snapshot(g.user), lab.dovecot.snapshot(other.user)]);
    const { messageId } = await send('good', g.address);
    const [g1, o1] = await Promise.all([lab.dovecot.snapshot(g.user), lab.dovecot.snapshot(other.user)]);
    expect(o1).toEqual(o0);
    for (const folder of Object.keys(g0)) {
      if (folder === 'INBOX') continue;
      expect(g1[folder], folder).toEqual(g0[folder]);
    }
    expect(g1.INBOX!.length).toBe(g0.INBOX!.length + 1);
    expect(g1.INBOX!.slice(0, -1)).toEqual(g0.INBOX);
    const added = g1.INBOX!.at(-1)!;
    expect(added.flags).toEqual([]);
    expect(added.sha256).toMatch(/^[0-9a-f]{64}$/);
    // reading the message (EXAMINE + BODY.PEEK) did not mark it \Seen
    expect(await fetchFrom(g.user, g.pass, 'INBOX', messageId)).toBeDefined();
    expect((await lab.dovecot.snapshot(g.user)).INBOX).toEqual(g1.INBOX);
  });
});

describe('lab fixtures and policy', () => {
  it('the committed DKIM test key matches the public key in the lab zone', () => {
    const zone = YAML.parse(readFileSync(path.join(LAB_ZONES_DIR, 'senders.yaml'), 'utf8'));
    const txt: string = zone['lab._domainkey.goodsender.test'].TXT;
    const p = /p=([A-Za-z0-9+/=]+)/.exec(txt)![1];
    const pub = createPublicKey(createPrivateKey(lab.senders.good.dkim!.privateKey)).export({ type: 'spki', format: 'der' }).toString('base64');
    expect(p).toBe(pub);
  });

  it('classify: temp DNS failure defers, DMARC reject fails go to spam or are refused, bulk goes to a tab only where tabs exist', () => {
    const gmail = LAB_PROVIDERS.find((p) => p.id === 'gmail')!;
    const strict = LAB_PROVIDERS.find((p) => p.id === 'strict')!;
    const good: Verdict = { spf: 'pass', dkim: 'pass', dkimAligned: true, dmarc: 'pass', dmarcPolicy: 'reject', bulk: false, list: false };
    expect(classify(gmail, good)).toMatchObject({ action: 'deliver', folder: 'INBOX', kind: 'inbox', score: 0 });
    expect(classify(gmail, { ...good, bulk: true })).toMatchObject({ folder: 'Categories/Promotions', tab: 'promotions' });
    expect(classify(gmail, { ...good, list: true })).toMatchObject({ folder: 'Categories/Forums', tab: 'forums' });
    expect(classify({ ...gmail, tabs: false }, { ...good, bulk: true })).toMatchObject({ folder: 'INBOX' });
    const bad: Verdict = { spf: 'fail', dkim: 'none', dkimAligned: false, dmarc: 'fail', dmarcPolicy: 'reject', bulk: false, list: false };
    expect(classify(gmail, bad)).toMatchObject({ action: 'deliver', folder: '[Gmail]/Spam', kind: 'spam', score: 9 });
    expect(classify(strict, bad)).toMatchObject({ action: 'reject', code: 550, enhanced: '5.7.26' });
    expect(classify(gmail, { ...bad, spf: 'temperror', dmarc: 'temperror' })).toMatchObject({ action: 'defer', code: 451, enhanced: '4.4.3' });
    // authenticated but no DMARC record and SPF softfail: score 1+1.5 < 5 → inbox
    expect(classify(gmail, { ...good, spf: 'softfail', dmarc: 'none', dmarcPolicy: undefined })).toMatchObject({ kind: 'inbox', score: 2.5 });
    // DMARC fail under p=quarantine with a passing unaligned DKIM: spam, not refused
    expect(classify(strict, { ...good, dkimAligned: false, spf: 'fail', dmarc: 'fail', dmarcPolicy: 'quarantine' })).toMatchObject({ action: 'deliver', kind: 'spam' });
  });

  it('generates Dovecot 2.3 and 2.4 configurations and refuses other versions clearly', () => {
    const input = { dir: '/tmp/x', ports: { imap: 1, imaps: 2, pop3: 3, pop3s: 4, lmtp: 5 }, acc: { uid: 8, gid: 8, internalUser: 'dovecot', loginUser: 'dovenull' }, instance: 'i' };
    const c23 = configFor('2.3.19.1', input);
    expect(c23).toMatch(/^mail_location = maildir:~\/Maildir$/m);
    expect(c23).toMatch(/^ssl_cert = <\/tmp\/x\/tls\/server\.crt$/m);
    expect(c23).toMatch(/mailbox "\[Gmail\]\/Spam" \{\n\s+special_use = \\Junk/);
    const c24 = configFor('2.4.1', input);
    expect(c24).toMatch(/^dovecot_config_version = 2\.4\.0$/m);
    expect(c24).toMatch(/^mail_driver = maildir$/m);
    expect(c24).toMatch(/^ssl_server_cert_file = \/tmp\/x\/tls\/server\.crt$/m);
    expect(c24).not.toMatch(/mail_location|ssl_cert = </);
    expect(() => configFor('2.2.36', input)).toThrow(/Dovecot 2\.2\.36 is not supported.*2\.3 and 2\.4/);
  });

  it('says how to install Dovecot when it is missing, and rejects users passwd-file cannot hold', async () => {
    await expect(startDovecot({ users: [{ user: 'a', pass: 'b' }], bin: '/nonexistent/dovecot' })).rejects.toThrow(/Dovecot is not installed.*scripts\/setup\.sh.*apt-get install dovecot-imapd/);
    await expect(startDovecot({ users: [{ user: 'a:b', pass: 'secret' }] })).rejects.toThrow(/user name "a:b"/);
    await expect(startDovecot({ users: [{ user: 'a', pass: 'x:y' }] })).rejects.toThrow(/password of a/);
    await expect(startDovecot({ users: [] })).rejects.toThrow(/at least one user/);
  });
});

function processesMentioning(needle: string): number[] {
  const pids: number[] = [];
  for (const e of readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    try {
      const cmd = readFileSync(`/proc/${e}/cmdline`, 'utf8');
      if (cmd.includes(needle)) pids.push(Number(e));
    } catch { /* exited meanwhile */ }
  }
  return pids;
}

describe('Dovecot options', () => {
  it('authMechanisms adds OAuth2 SASL (the password doubles as the bearer token); the default offers only PLAIN and LOGIN', async () => {
    const greeting = (port: number) => new Promise<string>((resolve, reject) => {
      const s = net.connect({ host: '127.0.0.1', port });
      s.once('data', (d) => { resolve(d.toString()); s.destroy(); });
      s.once('error', reject);
    });
    expect(await greeting(lab.dovecot.imapPort)).not.toMatch(/AUTH=XOAUTH2/);
    const d = await startDovecot({ users: [{ user: 'o@outlook.lab.test', pass: 'lab-token-0001', layout: 'outlook' }], authMechanisms: ['plain', 'login', 'xoauth2', 'oauthbearer'] });
    try {
      expect(await greeting(d.imapPort)).toMatch(/AUTH=XOAUTH2 AUTH=OAUTHBEARER/);
      const c = new ImapFlow({ host: '127.0.0.1', port: d.imapPort, secure: false, auth: { user: 'o@outlook.lab.test', accessToken: 'lab-token-0001' }, tls: { ca: d.caPem }, logger: false });
      await c.connect();
      expect((await c.list()).find((m) => m.specialUse === '\\Junk')?.path).toBe('Junk Email');
      await c.logout();
    } finally {
      await d.stop();
    }
    await expect(startDovecot({ users: [{ user: 'a', pass: 'bbbb' }], authMechanisms: ['plain; rm'] })).rejects.toThrow(/not a SASL mechanism/);
  });
});

describe('Dovecot start-up failures', () => {
  let tmp: string;
  beforeAll(() => { tmp = mkdtempSync(path.join(os.tmpdir(), 'inboxlens-labtest-')); });
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));
  const wrapper = (name: string, body: string) => {
    const f = path.join(tmp, name);
    writeFileSync(f, `#!/bin/sh\n${body}\n`, { mode: 0o755 });
    return f;
  };

  it('a configuration Dovecot refuses: the error carries Dovecot\'s own log lines', async () => {
    // the real Dovecot, handed a config with one setting it does not know
    const bin = wrapper('dovecot-bad-config', 'if [ "$1" = "--version" ]; then exec /usr/sbin/dovecot --version; fi\necho "no_such_lab_setting = 1" >> "$3"\nexec /usr/sbin/dovecot "$@"');
    const err = await startDovecot({ users: [{ user: 'f@mail.lab.test', pass: 'fail-pass-1' }], bin, readyTimeoutMs: 10_000 }).then(() => undefined, (e: Error) => e);
    expect(err?.message).toMatch(/exited during start-up/);
    expect(err?.message).toMatch(/no_such_lab_setting/);
  });

  it('an unsupported Dovecot version is refused clearly', async () => {
    const bin = wrapper('dovecot-2.5', 'echo "2.5.0 (0000000000)"');
    await expect(startDovecot({ users: [{ user: 'f@mail.lab.test', pass: 'fail-pass-1' }], bin })).rejects.toThrow(/Dovecot 2\.5\.0 is not supported by the lab.*2\.3 and 2\.4/);
  });
});

describe('Dovecot lifecycle', () => {
  let d: Dovecot | undefined;
  afterAll(async () => { await d?.stop(); });

  it('restart drops connections, keeps the mail, and serves again on the same ports', async () => {
    d = await startDovecot({ users: [{ user: 'life@mail.lab.test', pass: 'life-pass-1' }] });
    await d.deliver('life@mail.lab.test', 'INBOX', 'From: a@goodsender.test\r\nSubject: kept\r\nMessage-ID: <kept@lab>\r\n\r\nbody\r\n');
    const before = await d.snapshot('life@mail.lab.test');
    const c = new ImapFlow({ host: '127.0.0.1', port: d.imapPort, secure: false, auth: { user: 'life@mail.lab.test', pass: 'life-pass-1' }, tls: { ca: d.caPem }, logger: false });
    await c.connect();
    const closed = new Promise<void>((r) => c.once('close', () => r()));
    const ports = [d.imapPort, d.pop3Port];
    await d.restart();
    await closed;
    expect([d.imapPort, d.pop3Port]).toEqual(ports);
    expect(await d.snapshot('life@mail.lab.test')).toEqual(before);
  });

  it('stop kills every Dovecot process of the instance and removes its directory', async () => {
    const dir = d!.dir;
    const tag = path.basename(dir);
    expect(processesMentioning(tag).length).toBeGreaterThan(0);
    await d!.stop();
    d = undefined;
    expect(processesMentioning(tag)).toEqual([]);
    expect(existsSync(dir)).toBe(false);
  });

  it('a test process that dies without stop() — even by SIGKILL — leaves no Dovecot behind', async () => {
    const mod = path.join(path.dirname(LAB_ZONES_DIR), '../../src/lab/dovecot.ts');
    const code = `const { startDovecot } = await import(${JSON.stringify(mod)});
      const d = await startDovecot({ users: [{ user: 'orphan@mail.lab.test', pass: 'orphan-pass-1' }] });
      process.stdout.write(d.dir + '\\n');
      if (process.argv[1] === 'exit') process.exit(0);
      setInterval(() => {}, 1000);`;
    for (const mode of ['exit', 'kill'] as const) {
      const child = spawn(process.execPath, ['--input-type=module', '-e', code, mode], { stdio: ['ignore', 'pipe', 'inherit'] });
      const dir = await new Promise<string>((resolve, reject) => {
        let out = '';
        child.stdout!.on('data', (d) => { out += d; if (out.includes('\n')) resolve(out.trim()); });
        child.once('exit', () => resolve(out.trim()));
        child.once('error', reject);
      });
      expect(dir, mode).toMatch(/inboxlens-dovecot-/);
      const tag = path.basename(dir);
      if (mode === 'kill') {
        expect(processesMentioning(tag).length).toBeGreaterThan(0);
        child.kill('SIGKILL');
      }
      await new Promise((r) => (child.exitCode !== null || child.signalCode !== null ? r(null) : child.once('exit', r)));
      // bounded wait for the watchdog / exit hook to finish the job
      for (let i = 0; i < 50 && processesMentioning(tag).length; i++) await new Promise((r) => setTimeout(r, 100));
      expect(processesMentioning(tag), mode).toEqual([]);
      // the exit hook (exit) or the watchdog shell (SIGKILL: no hook runs) removes the temp dir
      for (let i = 0; i < 50 && existsSync(dir); i++) await new Promise((r) => setTimeout(r, 100));
      expect(existsSync(dir), mode).toBe(false);
    }
  });

  it('the lab CA verifies the lab certificate for localhost and 127.0.0.1, and nothing else does', async () => {
    const t = await labTls();
    const server = tls.createServer({ cert: t.certPem, key: t.keyPem }, (sock) => sock.end());
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const port = (server.address() as net.AddressInfo).port;
    const attempt = (o: tls.ConnectionOptions) => new Promise<string>((resolve) => {
      const c = tls.connect({ host: '127.0.0.1', port, ...o }, () => { resolve(c.authorized ? 'ok' : String(c.authorizationError)); c.destroy(); });
      c.once('error', (e) => resolve(e.message));
    });
    try {
      expect(await attempt({ ca: t.caPem, servername: 'localhost' })).toBe('ok');
      expect(await attempt({ ca: t.caPem })).toBe('ok');
      expect(await attempt({ ca: t.caPem, servername: 'mx.example.com' })).toMatch(/altnames|Hostname/i);
      expect(await attempt({ servername: 'localhost' })).toMatch(/certificate|self[- ]signed/i);
    } finally {
      server.close();
    }
  });
});
