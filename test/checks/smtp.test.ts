// The smtp check and `inboxlens smtp` through the real CLI: the fixture DNS sends
// every MX of smtp-lab.example to 127.0.0.1, and one smtp-server per behaviour
// (well-behaved, no STARTTLS, TLS 1.0 only, expired certificate, greylisting,
// catch-all, tar-pit, refusing, submission) answers on its own port (--smtp-port).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import net from 'node:net';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { FixtureDns } from '../../src/dns/fixture-server.ts';
import { runCli } from '../helpers/cli.ts';
import { dnsArgs, startDns } from '../helpers/dns.ts';
import { startHttpsLab, type HttpsLab } from '../helpers/https-lab.ts';
import { validateReport } from '../../src/report/validate.ts';
import { closedPort, labCa, labCert, startLabSmtp, type LabSmtp, type Pem } from '../../src/smtp/lab.ts';
import { tlsaFor } from '../../src/smtp/tls.ts';
import { smtpConfig } from '../../checks/smtp.ts';
import { UsageError } from '../../src/cli/errors.ts';

const D = 'smtp-lab.example';
const PASS = 'Lab-Submission-Pass-9931';
let dns: FixtureDns;
let https: HttpsLab;
let dir: string;
let caFile: string;
let ca: Pem;
let selfSigned: Pem;
const srv: Record<string, LabSmtp> = {};
let web: net.Server;
let webPort: number;
let closed: number;

beforeAll(async () => {
  dns = await startDns();
  dir = await mkdtemp(path.join(tmpdir(), 'inboxlens-smtp-'));
  ca = await labCa();
  caFile = path.join(dir, 'ca.pem');
  await writeFile(caFile, ca.cert);
  const day = 86_400_000;
  const [goodCert, oldCert, expiredCert, expiringCert, submitCert] = await Promise.all([
    labCert([`mx.good.${D}`, `mx1.twomx.${D}`, `implicit.${D}`, `mx.greylist.${D}`, `mx.catchall.${D}`], { ca }),
    labCert([`mx.oldtls.${D}`], { ca }),
    labCert([`mx.expired.${D}`, `mx.enforce.${D}`, `mx.testing.${D}`, `mx.daneunknown.${D}`], { ca, notBefore: new Date(Date.now() - 400 * day), notAfter: new Date(Date.now() - 10 * day) }),
    labCert([`mx.expiring.${D}`], { ca, notBefore: new Date(Date.now() - 80 * day), notAfter: new Date(Date.now() + 5 * day) }),
    labCert([`submit.${D}`], { ca }),
  ]);
  selfSigned = await labCert([`mx.dane.${D}`]);
  const start = async (key: string, o: Parameters<typeof startLabSmtp>[0]) => {
    srv[key] = await startLabSmtp(o);
  };
  await Promise.all([
    start('good', { name: `mx.good.${D}`, tls: goodCert, mailboxes: [`alice@good.${D}`, `carol@good.${D}`] }),
    start('nostarttls', { name: `mx.nostarttls.${D}`, mailboxes: [] }),
    start('oldtls', { name: `mx.oldtls.${D}`, tls: oldCert, tls10Only: true }),
    start('expired', { name: `mx.expired.${D}`, tls: expiredCert }),
    start('expiring', { name: `mx.expiring.${D}`, tls: expiringCert }),
    start('dane', { name: `mx.dane.${D}`, tls: selfSigned }),
    start('greylist', { name: `mx.greylist.${D}`, tls: goodCert, greylist: true }),
    start('catchall', { name: 'inbound.bulkhost.example', tls: goodCert, catchAll: true }),
    start('tarpit', { name: `mx.tarpit.${D}`, bannerDelayMs: 120_000 }),
    start('refuses', { name: `mx.refuses.${D}`, refuseGreeting: { code: 554, message: '5.7.1 Client host rejected: blocked using zen.spamhaus.org' } }),
    start('submit', { name: `submit.${D}`, tls: submitCert, auth: { user: 'app', pass: PASS } }),
    start('submitClear', { name: `submit.${D}`, tls: submitCert, auth: { user: 'app', pass: PASS, beforeTls: true } }),
    start('submitTls', { name: `submit.${D}`, tls: submitCert, secure: true, auth: { user: 'app', pass: PASS } }),
  ]);
  https = await startHttpsLab({ hosts: [`mta-sts.testing.${D}`] });
  https.route(`mta-sts.testing.${D}`, '/.well-known/mta-sts.txt', { type: 'text/plain', body: `version: STSv1\r\nmode: testing\r\nmx: mx.testing.${D}\r\nmax_age: 86400\r\n` });
  web = net.createServer((s) => s.destroy());
  await new Promise<void>((r) => web.listen(0, '127.0.0.1', r));
  webPort = (web.address() as net.AddressInfo).port;
  closed = await closedPort();
}, 120_000);

afterAll(async () => {
  await Promise.all(Object.values(srv).map((s) => s.stop()));
  await new Promise<void>((r) => (web ? web.close(() => r()) : r()));
  await https?.stop();
  await dns?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

interface Run {
  code: number;
  stdout: string;
  stderr: string;
  doc: any;
  res: any;
  codes: string[];
  f(code: string): any;
}

async function smtp(args: string[], o: { env?: NodeJS.ProcessEnv; server?: LabSmtp } = {}): Promise<Run> {
  const port = o.server ? ['--smtp-port', String(o.server.port)] : [];
  const r = await runCli(['smtp', ...args, '--json', '--smtp-ca', caFile, ...port, ...dnsArgs(dns)], { env: o.env });
  let doc: any;
  try {
    doc = r.json();
  } catch {
    throw new Error(`not JSON (exit ${r.code}): ${r.stderr || r.stdout}`);
  }
  expect(validateReport(doc)).toEqual([]);
  const res = doc.targets[0].checks.find((c: any) => c.check === 'smtp');
  const codes = res.findings.map((x: any) => x.code);
  return { ...r, doc, res, codes, f: (code: string) => res.findings.find((x: any) => x.code === code) };
}

describe('smtp: receiving side', () => {
  it('passes a well-behaved MX: banner, EHLO capabilities, STARTTLS with TLS 1.3, a trusted certificate for the MX name', async () => {
    const r = await smtp([`good.${D}`], { server: srv.good });
    expect(r.code).toBe(0);
    expect(r.res.status).toBe('pass');
    expect(r.codes.sort()).toEqual(['smtp.cert-ok', 'smtp.reachable', 'smtp.starttls']);
    const p = r.res.data.receive.probes[0];
    expect(p).toMatchObject({ host: `mx.good.${D}`, ip: '127.0.0.1', status: 'ok', bannerHost: `mx.good.${D}`, starttls: { offered: true, ok: true } });
    expect(Object.keys(p.extensions)).toEqual(expect.arrayContaining(['SIZE', 'PIPELINING', '8BITMIME', 'SMTPUTF8', 'STARTTLS']));
    expect(p.tls).toMatchObject({ protocol: 'TLSv1.3', authorized: true, nameMatch: true });
    expect(p.transcript.map((l: any) => `${l.dir}: ${l.line}`)).toContain('C: STARTTLS');
    expect(Object.keys(p.timings)).toEqual(expect.arrayContaining(['connect', 'banner', 'ehlo', 'starttls', 'handshake']));
    expect(r.res.data.receive.mtaSts).toMatchObject({ source: 'none', strict: false });
  });

  it('the same server without the lab CA: untrusted chain is a warning under opportunistic TLS', async () => {
    const r = await runCli(['smtp', `good.${D}`, '--json', '--smtp-port', String(srv.good.port), ...dnsArgs(dns)]);
    const res = r.json().targets[0].checks[0];
    const f = res.findings.find((x: any) => x.code === 'smtp.cert-invalid');
    expect(f.severity).toBe('warn');
    expect(f.summary).toMatch(/chain does not verify/);
    expect(r.code).toBe(0);
  });

  it('warns when STARTTLS is not offered (and --fail-on warn makes it exit 1)', async () => {
    const r = await smtp([`nostarttls.${D}`], { server: srv.nostarttls });
    expect(r.f('smtp.no-starttls')).toMatchObject({ severity: 'warn', subject: `mx.nostarttls.${D}` });
    expect(r.f('smtp.no-starttls').fix).toMatch(/STARTTLS/);
    expect(r.f('smtp.no-starttls').ref).toMatch(/RFC 3207/);
    expect(r.code).toBe(0);
    const strict = await smtp([`nostarttls.${D}`, '--fail-on', 'warn'], { server: srv.nostarttls });
    expect(strict.code).toBe(1);
  });

  it('sees TLS 1.0 (the probe allows it) and flags it as below TLS 1.2', async () => {
    const r = await smtp([`oldtls.${D}`], { server: srv.oldtls });
    expect(r.res.data.receive.probes[0].tls.protocol).toBe('TLSv1');
    expect(r.f('smtp.tls-old')).toMatchObject({ severity: 'warn' });
    expect(r.f('smtp.tls-old').ref).toMatch(/RFC 8996/);
    expect(r.codes).not.toContain('smtp.starttls');
  });

  it('an expired certificate is a warning without MTA-STS or DANE', async () => {
    const r = await smtp([`expired.${D}`], { server: srv.expired });
    const f = r.f('smtp.cert-invalid');
    expect(f.severity).toBe('warn');
    expect(f.summary).toMatch(/expired on \d{4}-\d\d-\d\d/);
    expect(r.code).toBe(0);
  });

  it('the same expired certificate is an error where MTA-STS is published (mode not read: judged from the TXT)', async () => {
    const r = await smtp([`enforce.${D}`], { server: srv.expired });
    expect(r.f('smtp.cert-invalid').severity).toBe('error');
    expect(r.f('smtp.cert-invalid').detail).toMatch(/MTA-STS/);
    expect(r.res.data.receive.mtaSts).toMatchObject({ source: 'txt', strict: true });
    expect(r.code).toBe(1);
  });

  it('reads the mta-sts check: under mode testing the expired certificate is only a warning', async () => {
    const r = await runCli(['check', `testing.${D}`, '--only', 'smtp', '--json', '--smtp-ca', caFile, '--ca-file', https.caFile, '--smtp-port', String(srv.expired.port), ...dnsArgs(dns)], {
      env: { INBOXLENS_HTTPS_PORT_MAP: https.portMap },
    });
    const doc = r.json();
    expect(validateReport(doc)).toEqual([]);
    const res = doc.targets[0].checks[0];
    expect(res.check).toBe('smtp');
    expect(res.data.receive.mtaSts).toMatchObject({ source: 'mta-sts check', mode: 'testing', strict: false });
    expect(res.findings.find((x: any) => x.code === 'smtp.cert-invalid').severity).toBe('warn');
    expect(r.code).toBe(0);
  });

  it('warns about a certificate that expires within 14 days', async () => {
    const r = await smtp([`expiring.${D}`], { server: srv.expiring });
    expect(r.f('smtp.cert-expiring')).toMatchObject({ severity: 'warn' });
    expect(r.f('smtp.cert-expiring').summary).toMatch(/in [45] days/);
  });

  it('DANE: a matching TLSA record authenticates a self-signed certificate; a stale one is an error', async () => {
    const name = `_25._tcp.mx.dane.${D}`;
    dns.set(name, 'TLSA', [tlsaFor(selfSigned.cert)]);
    const ok = await smtp([`dane.${D}`], { server: srv.dane });
    expect(ok.res.data.receive.probes[0].dane.matched).toBe(tlsaFor(selfSigned.cert));
    expect(ok.f('smtp.cert-invalid').severity).toBe('info');
    expect(ok.codes).not.toContain('smtp.dane-mismatch');
    expect(ok.code).toBe(0);
    dns.set(name, 'TLSA', [`3 1 1 ${'ab'.repeat(32)}`]);
    const stale = await smtp([`dane.${D}`], { server: srv.dane });
    expect(stale.f('smtp.dane-mismatch')).toMatchObject({ severity: 'error' });
    // the lab DNS does not validate (no AD on the root zone): the records are assumed signed, and it says so
    expect(stale.res.data.receive.mx[0].tlsa.dnssec).toBe('unknown');
    expect(stale.f('smtp.dane-mismatch').detail).toMatch(/resolver does not validate DNSSEC/);
    expect(stale.f('smtp.cert-invalid').severity).toBe('error');
    expect(stale.code).toBe(1);
  });

  it('DANE needs DNSSEC: unsigned TLSA records (a validating resolver did not authenticate them) are ignored, signed ones apply', async () => {
    const name = `_25._tcp.mx.dane.${D}`;
    dns.set(name, 'TLSA', [`3 1 1 ${'ab'.repeat(32)}`]);
    // the resolver validates: it authenticates the (always signed) root zone
    dns.set('.', 'NS', ['a.root-servers.net']);
    dns.setSecure('.', true);
    try {
      const unsigned = await smtp([`dane.${D}`], { server: srv.dane });
      expect(unsigned.res.data.receive.mx[0].tlsa.dnssec).toBe('insecure');
      expect(unsigned.f('smtp.dane-unsigned')).toMatchObject({ severity: 'warn', summary: expect.stringMatching(/not DNSSEC-signed: DANE senders ignore them/) });
      expect(unsigned.codes).not.toContain('smtp.dane-mismatch');
      // no DANE, no MTA-STS: a bad certificate matters as under opportunistic TLS
      expect(unsigned.f('smtp.cert-invalid').severity).toBe('warn');
      expect(unsigned.code).toBe(0);

      dns.setSecure(name, true);
      const signed = await smtp([`dane.${D}`], { server: srv.dane });
      expect(signed.res.data.receive.mx[0].tlsa.dnssec).toBe('secure');
      expect(signed.codes).not.toContain('smtp.dane-unsigned');
      expect(signed.f('smtp.dane-mismatch')).toMatchObject({ severity: 'error' });
      expect(signed.f('smtp.dane-mismatch').detail).not.toMatch(/does not validate/);
      expect(signed.code).toBe(1);
    } finally {
      dns.setSecure(name, false);
      dns.setSecure('.', false);
      dns.set('.', 'NS', []);
    }
  });

  it('a failed TLSA lookup leaves the verdict on a bad certificate unknown (exit 3), not a pass or a guess', async () => {
    const r = await smtp([`daneunknown.${D}`], { server: srv.expired });
    expect(r.res.status).toBe('unknown');
    expect(r.res.reason).toMatch(/TLSA lookup .* failed/);
    expect(r.code).toBe(3);
  });

  it('cuts a tar-pit off at --smtp-timeout: smtp.slow, result unknown', async () => {
    const r = await smtp([`tarpit.${D}`, '--smtp-timeout', '500ms'], { server: srv.tarpit });
    expect(r.f('smtp.slow')).toMatchObject({ severity: 'warn' });
    expect(r.f('smtp.slow').summary).toMatch(/no greeting within 500 ms/);
    expect(r.res.status).toBe('unknown');
    expect(r.code).toBe(3);
  }, 60_000);

  it('reports a 554 greeting as a refusal of this prober, not as a dead server', async () => {
    const r = await smtp([`refuses.${D}`], { server: srv.refuses });
    expect(r.f('smtp.greeting-refused').summary).toMatch(/554 .*zen\.spamhaus\.org/);
    expect(r.codes).not.toContain('smtp.unreachable');
    expect(r.res.status).toBe('unknown');
  });

  it('a dead backup MX is a warning while the primary answers', async () => {
    const r = await smtp([`twomx.${D}`], { server: srv.good });
    const f = r.f('smtp.unreachable');
    expect(f).toMatchObject({ severity: 'warn', subject: `mx2.twomx.${D}` });
    expect(f.summary).toMatch(/127\.0\.0\.2/);
    expect(r.f('smtp.banner-mismatch')).toMatchObject({ severity: 'info' });
    expect(r.f('smtp.reachable').summary).toMatch(/1 of 2/);
  });

  it('when no MX answers and the port 25 canaries are dead but the web canary answers: unknown, outbound port 25 blocked', async () => {
    const r = await smtp([`down.${D}`, '--smtp-port', String(closed), '--smtp-canary', `127.0.0.1:${closed}`, '--net-canary', `127.0.0.1:${webPort}`]);
    expect(r.res.status).toBe('unknown');
    expect(r.res.reason).toMatch(/outbound port 25 blocked/);
    expect(r.codes).toEqual(['smtp.port25-blocked']);
    expect(r.res.data.receive.port25.blocked).toBe(true);
    expect(r.code).toBe(3);
  });

  it('when the port 25 canary answers, the silent MX really is unreachable (error)', async () => {
    const r = await smtp([`down.${D}`, '--smtp-port', String(closed), '--smtp-canary', `127.0.0.1:${srv.good.port}`, '--net-canary', `127.0.0.1:${webPort}`]);
    expect(r.f('smtp.unreachable')).toMatchObject({ severity: 'error' });
    expect(r.res.data.receive.port25.blocked).toBe(false);
    expect(r.code).toBe(1);
  });

  it('with no network at all (every canary silent) the result is unknown, never unreachable', async () => {
    const r = await smtp([`down.${D}`, '--smtp-port', String(closed), '--smtp-canary', `127.0.0.1:${closed}`, '--net-canary', `127.0.0.1:${closed}`]);
    expect(r.res.status).toBe('unknown');
    expect(r.res.reason).toMatch(/no network/);
    expect(r.codes).not.toContain('smtp.unreachable');
  });

  it('probes the domain itself when it has no MX (RFC 5321 §5.1); a null MX or a failed MX lookup is unknown', async () => {
    const r = await smtp([`implicit.${D}`], { server: srv.good });
    expect(r.res.data.receive.implicitMx).toBe(true);
    expect(r.res.data.receive.probes[0].host).toBe(`implicit.${D}`);
    expect(r.res.status).not.toBe('unknown');
    const nul = await smtp([`nullmx.${D}`]);
    expect(nul.res).toMatchObject({ status: 'unknown' });
    expect(nul.res.reason).toMatch(/null MX/);
    const fail = await smtp([`mxfail.${D}`]);
    expect(fail.res.reason).toMatch(/MX lookup failed.*SERVFAIL/);
    expect(fail.code).toBe(3);
  });
});

describe('smtp: recipient verification', () => {
  it('accepted and rejected (code + enhanced status), RSET then QUIT, never DATA', async () => {
    const r = await smtp([`--rcpt`, `alice@good.${D}`, '--rcpt', `nobody@good.${D}`, '--rcpt-interval', '10ms'], { server: srv.good });
    expect(r.doc.targets.map((t: any) => t.target)).toEqual([`good.${D}`]);
    const rc = r.res.data.receive.rcpt;
    expect(rc.results.map((x: any) => [x.address, x.status, x.code, x.enhanced])).toEqual([
      [`alice@good.${D}`, 'accepted', 250, '2.1.5'],
      [`nobody@good.${D}`, 'rejected', 550, '5.1.1'],
    ]);
    expect(r.f('smtp.rcpt-rejected')).toMatchObject({ severity: 'error' });
    expect(r.f('smtp.rcpt-rejected').summary).toMatch(/550 5\.1\.1/);
    expect(r.f('smtp.rcpt-accepted').severity).toBe('pass');
    expect(r.code).toBe(1);
    // what the server received, in order, in the recipient session (other tests share this server)
    const session = srv.good.commands.find((c) => c.line === `RCPT TO:<nobody@good.${D}>`)!.session;
    const got = srv.good.lines(session);
    const mail = got.indexOf('MAIL FROM:<>');
    expect(mail).toBeGreaterThan(-1);
    expect(got.slice(mail + 1, mail + 3)).toEqual([`RCPT TO:<alice@good.${D}>`, `RCPT TO:<nobody@good.${D}>`]);
    expect(got[mail + 3]).toMatch(/^RCPT TO:<inboxlens-probe-[0-9a-f]+@good\.smtp-lab\.example>$/);
    expect(got.slice(mail + 4, mail + 6)).toEqual(['RSET', 'QUIT']);
    expect(got.some((l) => /^(DATA|BDAT)\b/i.test(l))).toBe(false);
    expect(rc).toMatchObject({ reset: true, quit: true, tls: true });
  });

  it('greylisting (450 4.2.0) is reported as greylisted, not rejected', async () => {
    const r = await smtp(['--rcpt', `alice@greylist.${D}`, '--rcpt-interval', '10ms'], { server: srv.greylist });
    expect(r.f('smtp.greylisted')).toMatchObject({ severity: 'info' });
    expect(r.f('smtp.greylisted').summary).toMatch(/450 4\.2\.0/);
    expect(r.codes).not.toContain('smtp.rcpt-rejected');
    expect(srv.greylist.lines().slice(-2)).toEqual(['RSET', 'QUIT']);
  });

  it('suspects a catch-all when a random local part is accepted', async () => {
    const r = await smtp(['--rcpt', `whoever@catchall.${D}`, '--rcpt-interval', '10ms'], { server: srv.catchall });
    expect(r.f('smtp.catch-all')).toMatchObject({ severity: 'info' });
    expect(r.f('smtp.rcpt-accepted').summary).toMatch(/accepts any address/);
    expect(r.f('smtp.banner-mismatch').summary).toMatch(/greets as inbound\.bulkhost\.example/);
    expect(srv.catchall.lines().some((l) => /^DATA/i.test(l))).toBe(false);
  });

  it('in `check`, --rcpt opts the smtp check in; a plain check leaves it out', async () => {
    const r = await runCli(['check', `good.${D}`, '--only', 'mx,smtp', '--json', '--rcpt', `carol@good.${D}`, '--rcpt-interval', '10ms', '--smtp-ca', caFile, '--smtp-port', String(srv.good.port), ...dnsArgs(dns)]);
    const doc = r.json();
    expect(validateReport(doc)).toEqual([]);
    const res = doc.targets[0].checks.find((c: any) => c.check === 'smtp');
    expect(res.data.receive.rcpt.results[0]).toMatchObject({ address: `carol@good.${D}`, status: 'accepted' });
    expect(r.code).toBe(0);
    const optIn = await runCli(['check', `good.${D}`, '--json', '--smtp-probe', '--smtp-ca', caFile, '--smtp-port', String(srv.good.port), ...dnsArgs(dns)]);
    expect(optIn.json().targets[0].checks.map((c: any) => c.check)).toContain('smtp');
    const plain = await runCli(['check', `good.${D}`, '--json', ...dnsArgs(dns)]);
    expect(plain.json().targets[0].checks.map((c: any) => c.check)).not.toContain('smtp');
  }, 60_000);
});

describe('smtp: sending side (--smtp)', () => {
  const url = (s: LabSmtp, scheme = 'smtp', user = 'app') => `${scheme}://${user}@submit.${D}:${s.port}`;

  it('STARTTLS on submission, AUTH only under TLS, the login accepted; the password never printed', async () => {
    const r = await smtp(['--smtp', url(srv.submit), '-v'], { env: { INBOXLENS_SMTP_PASS: PASS } });
    expect(r.doc.targets.map((t: any) => t.target)).toEqual([`submit.${D}:${srv.submit.port}`]);
    expect(r.res.data.submission).toMatchObject({ mode: 'starttls', status: 'ok', authBeforeTls: [], authMechanisms: ['PLAIN', 'LOGIN'], auth: { attempted: true, ok: true } });
    expect(r.f('smtp.auth-ok').severity).toBe('pass');
    expect(r.f('smtp.submission-ok').severity).toBe('pass');
    expect(r.res.data.receive).toBeUndefined();
    expect(r.code).toBe(0);
    expect(r.stdout + r.stderr).not.toContain(PASS);
    expect(r.stdout).not.toContain(Buffer.from(`\0app\0${PASS}`).toString('base64'));
    const text = await runCli(['smtp', '--smtp', url(srv.submit), '--transcript', '-v', '--smtp-ca', caFile, ...dnsArgs(dns)], { env: { INBOXLENS_SMTP_PASS: PASS } });
    expect(text.stdout).toContain('AUTH PLAIN [redacted]');
    expect(text.stdout + text.stderr).not.toContain(PASS);
  });

  it('a refused login is smtp.auth-failed (exit 1), still without printing the password', async () => {
    const r = await smtp(['--smtp', url(srv.submit)], { env: { INBOXLENS_SMTP_PASS: 'not-the-password-77' } });
    expect(r.f('smtp.auth-failed')).toMatchObject({ severity: 'error' });
    expect(r.f('smtp.auth-failed').summary).toMatch(/535/);
    expect(r.stdout + r.stderr).not.toContain('not-the-password-77');
    expect(r.code).toBe(1);
  });

  it('AUTH offered before STARTTLS is a finding (info on loopback, where nothing crosses a network)', async () => {
    const r = await smtp(['--smtp', url(srv.submitClear)], { env: { INBOXLENS_SMTP_PASS: PASS } });
    expect(r.f('smtp.auth-before-tls')).toMatchObject({ severity: 'info' });
    expect(r.res.data.submission.authBeforeTls).toEqual(['PLAIN', 'LOGIN']);
    expect(r.res.data.submission.loopback).toBe(true);
  });

  it('implicit TLS on a 465-style port works with smtps://, and smtps:// to a STARTTLS port fails TLS', async () => {
    const r = await smtp(['--smtp', url(srv.submitTls, 'smtps')], { env: { INBOXLENS_SMTP_PASS: PASS } });
    expect(r.res.data.submission).toMatchObject({ mode: 'implicit-tls', status: 'ok', auth: { ok: true } });
    expect(r.res.data.submission.tls.protocol).toBe('TLSv1.3');
    const wrong = await smtp(['--smtp', url(srv.submit, 'smtps'), '--smtp-timeout', '2s']);
    expect(wrong.f('smtp.tls-failed')).toMatchObject({ severity: 'error' });
  });

  it('without INBOXLENS_SMTP_PASS the login is not tested (info), everything else is', async () => {
    const r = await smtp(['--smtp', url(srv.submit)], { env: { INBOXLENS_SMTP_PASS: '' } });
    expect(r.f('smtp.auth-untested').summary).toMatch(/INBOXLENS_SMTP_PASS is not set/);
    expect(r.res.data.submission.auth.attempted).toBe(false);
    expect(r.code).toBe(0);
  });

  it('never sends the password over TLS whose certificate failed verification: untrusted chain, or a trusted chain naming another host', async () => {
    const authLines = () => srv.submit.lines().filter((l) => /^AUTH\b/i.test(l)).length;
    const before = authLines();
    // no --smtp-ca: the lab CA is not trusted
    const untrusted = await runCli(['smtp', '--smtp', url(srv.submit), '--json', ...dnsArgs(dns)], { env: { INBOXLENS_SMTP_PASS: PASS } });
    const u = untrusted.json().targets[0].checks[0];
    expect(u.data.submission.auth).toMatchObject({ attempted: false, unverifiedTls: true });
    expect(u.findings.find((x: any) => x.code === 'smtp.auth-withheld').summary).toMatch(/sends no password over TLS it cannot authenticate/);
    expect(u.findings.map((x: any) => x.code)).toContain('smtp.cert-invalid');
    // --smtp-ca given, but the certificate names submit.<lab>, not the host in the URL
    const wrongName = await smtp(['--smtp', `smtp://app@mx.good.${D}:${srv.submit.port}`], { env: { INBOXLENS_SMTP_PASS: PASS } });
    expect(wrongName.res.data.submission.tls.authorized).toBe(true);
    expect(wrongName.res.data.submission.auth).toMatchObject({ attempted: false, unverifiedTls: true });
    expect(wrongName.f('smtp.auth-withheld').summary).toMatch(/mx\.good/);
    expect(authLines()).toBe(before);
    expect(untrusted.stdout + untrusted.stderr + wrongName.stdout + wrongName.stderr).not.toContain(PASS);
    // the loud opt-out for a lab: sent, and said so
    const lab = await runCli(['smtp', '--smtp', url(srv.submit), '--smtp-insecure-auth', '--json', ...dnsArgs(dns)], { env: { INBOXLENS_SMTP_PASS: PASS } });
    const l = lab.json().targets[0].checks[0];
    expect(l.data.submission.auth).toMatchObject({ attempted: true, ok: true, unverifiedTls: true });
    expect(l.findings.find((x: any) => x.code === 'smtp.auth-unverified-tls').severity).toBe('warn');
    expect(authLines()).toBe(before + 1);
  });

  it('a submission server that does not answer is unreachable (error)', async () => {
    const r = await smtp(['--smtp', `smtp://app@submit.${D}:${closed}`]);
    expect(r.f('smtp.unreachable')).toMatchObject({ severity: 'error' });
    expect(r.code).toBe(1);
  });
});

describe('smtp: input errors (exit 2, one line)', () => {
  const bad = async (args: string[], pattern: RegExp) => {
    const r = await runCli(['smtp', ...args, ...dnsArgs(dns)]);
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(pattern);
    expect(r.stderr).not.toMatch(/at .*\.ts:\d+/);
    return r;
  };
  it('names the argument and the fix, and never echoes a password given in the URL', async () => {
    await bad([], /give a domain/);
    await bad(['--rcpt', 'not-an-address'], /--rcpt: 'not-an-address' is not an email address/);
    const r = await bad(['--smtp', 'smtp://app:Sup3rSecretInUrl@submit.smtp-lab.example:587'], /do not put the password in the URL/);
    expect(r.stderr).not.toContain('Sup3rSecretInUrl');
  });

  it('validates every smtp option once, before any connection (UsageError naming the flag)', () => {
    const cfg = (o: Record<string, unknown>) => () => smtpConfig({ ips: [], selectors: [], ...o });
    expect(cfg({ rcpt: ['a@b@'] })).toThrow(/--rcpt/);
    expect(cfg({ rcpt: [`${'x'.repeat(65)}@good.${D}`] })).toThrow(/longer than 64 octets/);
    expect(cfg({ rcpt: Array.from({ length: 21 }, (_, i) => `u${i}@good.${D}`) })).toThrow(/at most 20/);
    expect(cfg({ smtpPort: 99999 })).toThrow(/--smtp-port/);
    expect(cfg({ smtpTimeout: 'soon' })).toThrow(/--smtp-timeout/);
    expect(cfg({ smtpTimeout: '1ms' })).toThrow(/--smtp-timeout/);
    expect(cfg({ smtpConcurrency: 0 })).toThrow(/--smtp-concurrency/);
    expect(cfg({ smtp: 'ftp://x@host.example' })).toThrow(/scheme 'ftp'/);
    expect(cfg({ smtp: 'smtp://x@host.example/path' })).toThrow(/must not have a path/);
    expect(cfg({ smtpCa: '/nonexistent/ca.pem' })).toThrow(/--smtp-ca: cannot read/);
    expect(cfg({ smtpCanary: ['bad host'] })).toThrow(/--smtp-canary/);
    expect(cfg({ smtpMailFrom: 'nobody' })).toThrow(/--smtp-mail-from/);
    expect(cfg({ smtpHelo: 'not a name' })).toThrow(/--smtp-helo/);
    expect(cfg({ rcpt: ['x'] })).toThrow(UsageError);
    expect(cfg({ smtpPort: -1 })).toThrow(UsageError);
    const ok = smtpConfig({ ips: [], selectors: [], rcpt: ['Alice@Good.Smtp-Lab.Example', 'alice@good.smtp-lab.example'], smtpMailFrom: '<>', smtpHelo: '[192.0.2.1]' });
    expect(ok).toMatchObject({ rcpts: ['Alice@good.smtp-lab.example', 'alice@good.smtp-lab.example'], mailFrom: '', helo: '[192.0.2.1]', port: 25, timeoutMs: 20_000, intervalMs: 1000, concurrency: 8 });
  });
});
