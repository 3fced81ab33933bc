// `inboxlens analyze` on real received copies: messages signed with the lab sender's
// DKIM key, sent through the lab MX (src/lab/mx.ts: mailauth authenticates them and
// writes Received, Authentication-Results and the provider's spam headers) into the
// lab's Dovecot, and read back over IMAP as a mailbox would serve them; plus the
// mailauth fixtures (real Gmail copies) over the fixture DNS. The CLI runs in a child.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import nodemailer from 'nodemailer';
import { ImapFlow } from 'imapflow';
import { startLab, LAB_SENDER_IP, type Lab } from '../../src/lab/index.ts';
import { analyze } from '../../src/analyze/index.ts';
import { validateReport } from '../../src/report/validate.ts';
import { runCli, ROOT } from '../helpers/cli.ts';
import { startDns } from '../helpers/dns.ts';
import type { FixtureDns } from '../../src/dns/fixture-server.ts';
import { DnsClient, parseResolver } from '../../src/dns/resolver.ts';
import { checkConnection as checkHost } from '../../src/spf/evaluate.ts';

let lab: Lab;
let dns: FixtureDns;
const tmp = mkdtempSync(path.join(os.tmpdir(), 'inboxlens-analyze-'));
const copies: Record<string, Buffer> = {};

function transport() {
  return nodemailer.createTransport({ host: '127.0.0.1', port: lab.mx.port, secure: false, requireTLS: true, tls: { ca: lab.caPem }, name: 'mta.goodsender.test' });
}

async function send(kind: 'good' | 'broken', to: string, extra: Record<string, unknown> = {}): Promise<string> {
  const s = lab.senders[kind];
  const info = await transport().sendMail({
    from: s.from, to, subject: `analyze ${kind} ${Date.now()}`,
    text: 'Hello from the lab.\r\nFrom here on, a line an mbox file would quote.\r\nhttps://goodsender.test/offer\r\n',
    envelope: { from: s.envelopeFrom, to },
    ...(s.dkim ? { dkim: { domainName: s.domain, keySelector: s.dkim.selector, privateKey: s.dkim.privateKey } } : {}),
    ...extra,
  });
  return info.messageId as string;
}

async function fetchCopy(address: string, folder: string, messageId: string): Promise<Buffer> {
  const seed = lab.seeds.find((x) => x.address === address)!;
  const c = new ImapFlow({ host: '127.0.0.1', port: lab.dovecot.imapPort, secure: false, doSTARTTLS: true, auth: { user: seed.user, pass: seed.pass }, tls: { ca: lab.caPem }, logger: false });
  await c.connect();
  try {
    await c.mailboxOpen(folder, { readOnly: true });
    for (let i = 0; i < 100; i++) {
      const uids = await c.search({ header: { 'message-id': messageId } }, { uid: true });
      if (uids && uids.length) {
        const m = await c.fetchOne(String(uids[0]), { source: true }, { uid: true });
        if (m && m.source) return m.source;
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`no copy of ${messageId} in ${address} ${folder}`);
  } finally {
    await c.logout();
  }
}

const seedAt = (p: string) => lab.seeds.find((s) => s.labProvider === p && s.protocol === 'imap')!;
const received = (report: any) => report.targets[0].checks.find((c: any) => c.check === 'received');
const codes = (report: any) => report.targets[0].checks.flatMap((c: any) => c.findings.map((f: any) => `${f.code}:${f.severity}`));

beforeAll(async () => {
  [lab, dns] = await Promise.all([startLab({ providers: ['generic', 'outlook'], imapSeeds: 2, pop3Seeds: 0 }), startDns()]);
  const generic = seedAt('generic').address;
  const outlook = seedAt('outlook').address;
  const [good, broken, planted] = await Promise.all([
    send('good', generic),
    send('broken', outlook),
    // the sender writes a verdict of its own under the receiver's name
    send('broken', generic, { headers: { 'Authentication-Results': 'mx.lab.test; spf=pass smtp.mailfrom=brokensender.test; dmarc=pass header.from=brokensender.test' } }),
  ]);
  copies.good = await fetchCopy(generic, 'INBOX', good);
  copies.broken = await fetchCopy(outlook, seedAt('outlook').junk, broken);
  copies.planted = await fetchCopy(generic, seedAt('generic').junk, planted);
}, 120_000);
afterAll(async () => {
  await Promise.all([lab?.stop(), dns?.stop()]);
  rmSync(tmp, { recursive: true, force: true });
});

const opts = () => ({ resolvers: [lab.dns.address], timeoutMs: 1500, retries: 1 });

describe('a copy received through the lab MX', () => {
  it('a good sender: the hop, the receiver\'s verdicts and inboxlens\'s own agree (pass), the key judged, the report valid', async () => {
    const report = await analyze(copies.good!, { ...opts(), label: 'good.eml' });
    expect(validateReport(report)).toEqual([]);
    const r = received(report);
    expect(r.data.hop).toMatchObject({ by: 'mx.lab.test', ip: LAB_SENDER_IP, helo: 'mta.goodsender.test' });
    expect(r.data.envelope).toMatchObject({ returnPath: lab.senders.good.envelopeFrom, fromDomain: 'goodsender.test' });
    expect(r.data.receiver.verdicts).toMatchObject({ authservId: 'mx.lab.test', spf: { result: 'pass' }, dkim: [{ result: 'pass', domain: 'goodsender.test' }], dmarc: { result: 'pass' } });
    expect(r.data.receiver.receivedSpf).toMatchObject({ result: 'pass' });
    // the local part of the envelope sender is kept (RFC 7208 §4.3)
    expect(r.data.local.spf).toMatchObject({ ip: LAB_SENDER_IP, sender: lab.senders.good.envelopeFrom, result: 'pass' });
    expect(r.data.local.dkim).toEqual([expect.objectContaining({ domain: 'goodsender.test', selector: 'lab', result: 'pass', aligned: true, key: expect.objectContaining({ state: 'found', keyType: 'rsa' }) })]);
    expect(r.data.local.dmarc).toMatchObject({ result: 'pass', fromDomain: 'goodsender.test' });
    expect(r.data.disagreements).toEqual([]);
    expect(r.data.spam).toEqual([expect.objectContaining({ filter: 'spamassassin', verdict: 'not-spam', threshold: 5 })]);
    expect(codes(report)).toEqual(expect.arrayContaining(['received.hop:info', 'received.receiver-auth:pass', 'received.spf:pass', 'received.dkim:pass', 'received.dmarc:pass', 'received.spam-verdict:pass']));
    // the sending IP's reverse DNS, and the IP and the domains on blacklists
    const ptr: any = report.targets[0]!.checks.find((c: any) => c.check === 'ptr');
    expect(ptr.data.ips[0]).toMatchObject({ ip: LAB_SENDER_IP, names: ['mta.goodsender.test'], forwardConfirmed: true });
    const bl: any = report.targets[0]!.checks.find((c: any) => c.check === 'blacklist');
    expect(bl.data.targets.map((t: any) => t.target)).toEqual(expect.arrayContaining([LAB_SENDER_IP, 'goodsender.test']));
    expect(report.targets[0].checks.map((c: any) => c.check)).toEqual(expect.arrayContaining(['received', 'ptr', 'blacklist', 'content']));
  });

  it('a broken sender at the Exchange-style provider: dmarc=fail at the receiver and here, SCL 5 / SFV:SPM decoded as spam', async () => {
    const report = await analyze(copies.broken!, opts());
    expect(validateReport(report)).toEqual([]);
    const r = received(report);
    expect(r.data.receiver.verdicts.dmarc).toMatchObject({ result: 'fail', domain: 'brokensender.test' });
    expect(r.data.local.spf).toMatchObject({ result: 'fail' });
    expect(r.data.local.dmarc).toMatchObject({ result: 'fail' });
    expect(r.data.spam).toEqual([expect.objectContaining({ filter: 'microsoft', verdict: 'spam', scl: 5, sfv: 'SPM', cat: 'SPOOF' })]);
    expect(codes(report)).toEqual(expect.arrayContaining(['received.receiver-auth:error', 'received.spam-verdict:error', 'received.dkim:error', 'received.dmarc:error']));
    expect(report.summary.exitCode).toBe(1);
  });

  it('a verdict the sender planted is not the receiver\'s: ignored, named, the receiver\'s own dmarc=fail stands', async () => {
    const report = await analyze(copies.planted!, opts());
    const r = received(report);
    expect(r.data.receiver.verdicts.dmarc).toMatchObject({ result: 'fail' });
    expect(r.data.receiver.ignored).toEqual([expect.objectContaining({ authservId: 'mx.lab.test', reason: expect.stringContaining('right below the receiver\'s arrival Received') })]);
    expect(codes(report)).toContain('received.not-receivers-header:warn');
  });

  it('a copy saved through an mbox (">From " quoting): the receiver\'s dkim=pass against inboxlens\'s fail is informational, with the cause', async () => {
    const quoted = Buffer.from(copies.good!.toString('latin1').replace('\r\nFrom here on', '\r\n>From here on'), 'latin1');
    expect(quoted.equals(copies.good!)).toBe(false);
    const report = await analyze(quoted, opts());
    const r = received(report);
    expect(r.data.local.dkim[0].result).not.toBe('pass');
    expect(r.data.disagreements).toEqual([expect.objectContaining({ method: 'dkim', receiver: 'pass', inboxlens: r.data.local.dkim[0].result, causes: expect.arrayContaining([expect.stringContaining('>From')]) })]);
    const f = r.findings.find((x: any) => x.code === 'received.disagrees');
    expect(f.severity).toBe('info');
    // the same copy cut from an mbox file, with its "From " separator line
    const boxed = Buffer.concat([Buffer.from('From bounces@goodsender.test Tue Jun  3 10:00:01 2025\n'), quoted]);
    const r2 = received(await analyze(boxed, { ...opts(), offline: true }));
    expect(r2.data.hop.ip).toBe(LAB_SENDER_IP);
    expect(r2.data.disagreements[0].causes).toEqual(expect.arrayContaining([expect.stringContaining('mbox "From " separator')]));
  });

  it('a key rotated since the send: the disagreement names it', async () => {
    const name = 'lab._domainkey.goodsender.test';
    const before = lab.dns.zone.get(name);
    expect(before).toBeDefined();
    lab.dns.zone.delete(name);
    try {
      const report = await analyze(copies.good!, opts());
      const r = received(report);
      expect(r.data.local.dkim[0].key.state).not.toBe('found');
      expect(r.data.disagreements).toEqual([expect.objectContaining({ method: 'dkim', receiver: 'pass', causes: expect.arrayContaining([expect.stringContaining('rotated or revoked since the send')]) })]);
      expect(codes(report)).toContain('received.dkim-key:error');
    } finally {
      if (before) lab.dns.zone.set(name, before);
    }
  });
});

describe('SPF with the Return-Path\'s local part', () => {
  it('a record that tests %{l} passes for the envelope sender the receiver recorded, not for postmaster@', async () => {
    const name = 'goodsender.test';
    const before = lab.dns.zone.get(name)!.records.get('TXT')!;
    const local = lab.senders.good.envelopeFrom.split('@')[0]!;
    lab.dns.set(name, 'TXT', ['v=spf1 exists:%{l}._spf.goodsender.test -all']);
    lab.dns.set(`${local}._spf.goodsender.test`, 'A', ['127.0.0.2']);
    try {
      const r = received(await analyze(copies.good!, { ...opts(), offline: true }));
      expect(r.data.local.spf).toMatchObject({ sender: lab.senders.good.envelopeFrom, result: 'pass' });
      // what an evaluation with the assumed postmaster@ (the spf check's --ip today) gets
      const dns = new DnsClient({ resolvers: [parseResolver(lab.dns.address)], timeoutMs: 1500, retries: 1 });
      expect((await checkHost(dns, { ip: LAB_SENDER_IP, sender: 'postmaster@goodsender.test' })).result).toBe('fail');
    } finally {
      lab.dns.set(name, 'TXT', before);
      lab.dns.zone.delete(`${local}._spf.goodsender.test`);
    }
  });
});

describe('the mailauth fixtures (real Gmail copies) over the fixture DNS', () => {
  it('arc-pass.eml: Gmail\'s hop and verdicts; keys absent here, so inboxlens\'s results differ, informational for DKIM', async () => {
    const raw = readFileSync(path.join(ROOT, '../shared/conformance/mailauth-fixtures/arc-pass.eml'));
    const report = await analyze(raw, { resolvers: [dns.address], timeoutMs: 300, retries: 0, offline: true });
    expect(validateReport(report)).toEqual([]);
    const r = received(report);
    expect(r.data.hop).toMatchObject({ by: 'mx.google.com', ip: '209.85.220.41', helo: 'mail-sor-f41.google.com' });
    expect(r.data.receiver).toMatchObject({ profile: 'gmail', arcAuthResults: { instance: 2 }, verdicts: { arc: { result: 'pass' }, spf: { result: 'neutral' } } });
    expect(r.data.disagreements.filter((d: any) => d.method === 'dkim').every((d: any) => r.findings.some((f: any) => f.code === 'received.disagrees' && f.severity === 'info' && f.subject === d.subject))).toBe(true);
  });
});

describe('the command line', () => {
  it('analyze FILE --json and analyze - (standard input) print the same valid report', async () => {
    const file = path.join(tmp, 'good.eml');
    writeFileSync(file, copies.good!);
    // --offline: the lab DNS serves no blacklist zones, so their answers would be unknown (exit 3)
    const args = ['--resolver', lab.dns.address, '--timeout', '1500ms', '--retries', '1', '--json', '--no-save', '--offline'];
    const [a, b] = await Promise.all([runCli(['analyze', file, ...args]), runCli(['analyze', '-', ...args], { input: copies.good!.toString('latin1') })]);
    expect(a.stderr).toBe('');
    expect(a.code).toBe(0);
    const ja = a.json();
    const jb = b.json();
    expect(validateReport(ja)).toEqual([]);
    expect(ja.command).toBe('analyze');
    expect(received(ja).data.hop.ip).toBe(LAB_SENDER_IP);
    expect(received(jb).data.local.dkim[0].result).toBe('pass');
    expect(jb.targets[0].target).toBe('standard input');
  }, 90_000);

  it('the text report shows the hop and the receiver against inboxlens', async () => {
    const file = path.join(tmp, 'broken.eml');
    writeFileSync(file, copies.broken!);
    const r = await runCli(['analyze', file, '--resolver', lab.dns.address, '--timeout', '1500ms', '--retries', '1', '--no-save', '--offline']);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/hop mta\.goodsender\.test \[198\.51\.100\.25\] → mx\.lab\.test/);
    expect(r.stdout).toMatch(/dmarc\s+receiver fail\s+inboxlens fail/);
    expect(r.stdout).toMatch(/microsoft spam SCL 5 SFV:SPM/);
  }, 60_000);

  it('bad input: exit 2, one line naming the problem, before any work', async () => {
    const notMail = path.join(tmp, 'notmail.eml');
    writeFileSync(notMail, '<html>not a message</html>\n');
    const cases: [string[], RegExp][] = [
      [['analyze', path.join(tmp, 'missing.eml')], /analyze: cannot read .*missing\.eml.*ENOENT/],
      [['analyze', notMail], /does not start with a header field/],
      [['analyze', path.join(tmp, 'good.eml'), '--authserv-id', 'mx example; dkim=pass'], /--authserv-id: 'mx example; dkim=pass' is not a host name/],
      [['analyze', tmp], /is a directory/],
    ];
    for (const [args, re] of cases) {
      const r = await runCli([...args, '--resolver', '127.0.0.1:9', '--no-save']);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toMatch(re);
    }
  }, 60_000);
});
