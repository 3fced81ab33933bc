// The SMTP client state machine and the receiving/sending-side probes, in-process,
// against real smtp-server instances on loopback (src/smtp/lab.ts). The lab servers
// record every command they receive: that record is what proves RSET and QUIT are
// sent and DATA never is.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import net from 'node:net';
import { closedPort, labCa, labCert, startLabSmtp, type LabSmtp, type Pem } from '../../src/smtp/lab.ts';
import { SmtpSession, bannerHost, parseEhlo, parseReplyLines } from '../../src/smtp/probe.ts';
import { classifyRcpt, isGreylisting, probeMx, verifyRecipients } from '../../src/smtp/receive.ts';
import { parseSubmissionUrl, probeSubmission } from '../../src/smtp/submit.ts';
import { daneMatch, judgeCert, tlsaFor } from '../../src/smtp/tls.ts';
import { parseCanary, port25Status } from '../../src/smtp/port25.ts';
import { DnsClient } from '../../src/dns/resolver.ts';
import { redact } from '../../src/util/redact.ts';
import { FixtureDns, parseZone } from '../../src/dns/fixture-server.ts';

const HOST = 'mx.unit.smtp-lab.example';
let ca: Pem;
let cert: Pem;
const servers: LabSmtp[] = [];
let good: LabSmtp;
let grey: LabSmtp;
let tarpit: LabSmtp;
let submit: LabSmtp;
let dns: FixtureDns;
let client: DnsClient;

async function lab(o: Parameters<typeof startLabSmtp>[0]): Promise<LabSmtp> {
  const s = await startLabSmtp(o);
  servers.push(s);
  return s;
}

beforeAll(async () => {
  ca = await labCa();
  cert = await labCert([HOST, 'submit.unit.smtp-lab.example'], { ca });
  good = await lab({ name: HOST, tls: cert, mailboxes: ['alice@unit.smtp-lab.example'] });
  grey = await lab({ name: HOST, tls: cert, greylist: true });
  tarpit = await lab({ name: HOST, tls: cert, bannerDelayMs: 60_000 });
  submit = await lab({ name: 'submit.unit.smtp-lab.example', tls: cert, auth: { user: 'app', pass: 'S3cret-pass-42' } });
  dns = await FixtureDns.start({ zone: parseZone({ 'submit.unit.smtp-lab.example': { A: ['127.0.0.1'] } }) });
  client = new DnsClient({ resolvers: [{ host: '127.0.0.1', port: dns.port }], timeoutMs: 500, retries: 0 });
});
afterAll(async () => {
  await Promise.all(servers.map((s) => s.stop()));
  await dns?.stop();
});

const at = (s: LabSmtp) => ({ host: HOST, priority: 10, ip: '127.0.0.1', port: s.port });

describe('reply parsing', () => {
  it('reads multi-line replies, enhanced status codes and EHLO keywords', () => {
    const gmail = parseReplyLines([
      '550-5.1.1 The email account that you tried to reach does not exist. Please try',
      '550-5.1.1 double-checking the recipient\'s email address for typos or',
      '550 5.1.1 unnecessary spaces. https://support.google.com/mail/?p=NoSuchUser',
    ]);
    expect(gmail.code).toBe(550);
    expect(gmail.enhanced).toBe('5.1.1');
    expect(gmail.text).toMatch(/^The email account .* unnecessary spaces\. https/);
    expect(gmail.text).not.toContain('5.1.1');
    const ehlo = parseReplyLines(['250-mx.example.com at your service', '250-SIZE 157286400', '250-8BITMIME', '250-STARTTLS', '250-AUTH LOGIN PLAIN', '250-AUTH=LOGIN', '250 SMTPUTF8']);
    expect(parseEhlo(ehlo)).toEqual({ SIZE: '157286400', '8BITMIME': '', STARTTLS: '', AUTH: 'LOGIN PLAIN', SMTPUTF8: '' });
    expect(bannerHost(parseReplyLines(['220 mx.google.com ESMTP a1si123'] ))).toBe('mx.google.com');
    expect(bannerHost(parseReplyLines(['220 ESMTP ready']))).toBeUndefined();
  });

  it('classifies RCPT replies: greylisting patterns, mailbox vs policy rejections', () => {
    const r = (lines: string[]) => parseReplyLines(lines);
    expect(classifyRcpt('a@x.example', r(['250 2.1.5 OK'])).status).toBe('accepted');
    expect(classifyRcpt('a@x.example', r(['450 4.2.0 <a@x.example>: Recipient address rejected: Greylisted'])).status).toBe('greylisted');
    // 4.7.1 without greylisting words is a temporary policy refusal (issue 12: test/smtp/tempfail.test.ts)
    expect(classifyRcpt('a@x.example', r(['451 4.7.1 Please try again later'])).status).toBe('deferred');
    expect(isGreylisting(r(['451 Greylisting in action, please come back later']))).toBe(true);
    expect(classifyRcpt('a@x.example', r(['452 4.2.2 Mailbox full'])).status).toBe('deferred');
    const gone = classifyRcpt('a@x.example', r(['550 5.1.1 User unknown']));
    expect([gone.status, gone.rejectKind, gone.enhanced]).toEqual(['rejected', 'mailbox', '5.1.1']);
    const policy = classifyRcpt('a@x.example', r(['550 5.7.1 Client host rejected: blocked using zen.spamhaus.org']));
    expect([policy.status, policy.rejectKind]).toEqual(['rejected', 'policy']);
    expect(classifyRcpt('a@x.example', r(['550 No such user here'])).rejectKind).toBe('mailbox');
  });
});

describe('SmtpSession', () => {
  it('refuses to send DATA or BDAT, whatever the caller asks', async () => {
    const s = await SmtpSession.connect({ host: HOST, ip: '127.0.0.1', port: good.port, timeoutMs: 5000 });
    try {
      expect((await s.greeting()).code).toBe(220);
      await expect(s.command('DATA', 'data')).rejects.toThrow(/never sends DATA/);
      await expect(s.command('bdat 100 LAST', 'data')).rejects.toThrow(/never sends DATA/);
      await expect(s.command('NOOP\r\nDATA', 'x')).rejects.toThrow(/line break/);
      await s.quit();
    } finally {
      s.close();
    }
    const sessions = new Set(good.commands.map((c) => c.session));
    for (const id of sessions) expect(good.lines(id).map((l) => l.split(' ')[0]!.toUpperCase())).not.toContain('DATA');
  });
});

describe('probeMx', () => {
  it('records banner, capabilities before and after STARTTLS, TLS and certificate, timings and transcript', async () => {
    const p = await probeMx({ host: HOST, priority: 10, ip: '127.0.0.1' }, { port: good.port, timeoutMs: 5000, ca: [ca.cert] });
    expect(p.status).toBe('ok');
    expect(p.bannerHost).toBe(HOST);
    expect(p.extensions).toMatchObject({ STARTTLS: '', PIPELINING: '', '8BITMIME': '', SMTPUTF8: '', SIZE: String(35 * 1024 * 1024) });
    expect(p.extensionsTls).not.toHaveProperty('STARTTLS');
    expect(p.starttls).toMatchObject({ offered: true, ok: true });
    expect(p.tls).toMatchObject({ protocol: 'TLSv1.3', authorized: true, nameMatch: true });
    expect(p.tls!.chain[0]!.subject).toBe('inboxlens lab CA');
    expect(judgeCert(p.tls!).problems).toEqual([]);
    for (const k of ['connect', 'banner', 'ehlo', 'starttls', 'handshake', 'ehlo-tls']) expect(p.timings[k]).toBeTypeOf('number');
    expect(p.transcript.filter((l) => l.dir === 'C').map((l) => l.line)).toEqual(['EHLO [127.0.0.1]', 'STARTTLS', 'EHLO [127.0.0.1]', 'QUIT']);
  });

  it('judges the chain separately from the connection: without the lab CA the same server is untrusted', async () => {
    const p = await probeMx({ host: HOST, priority: 10, ip: '127.0.0.1' }, { port: good.port, timeoutMs: 5000 });
    expect(p.starttls.ok).toBe(true);
    expect(p.tls!.authorized).toBe(false);
    expect(p.tls!.nameMatch).toBe(true);
    expect(judgeCert(p.tls!).problems.join()).toMatch(/chain does not verify/);
  });

  it('cuts a tar-pit off at the step timeout instead of hanging', async () => {
    const p = await probeMx({ host: HOST, priority: 10, ip: '127.0.0.1' }, { port: tarpit.port, timeoutMs: 300 });
    expect(p.status).toBe('slow');
    expect(p.failure).toMatchObject({ kind: 'timeout', step: 'banner' });
  }, 10_000);

  it('reports a closed port as unreachable with the reason', async () => {
    const port = await closedPort();
    const p = await probeMx({ host: HOST, priority: 10, ip: '127.0.0.1' }, { port, timeoutMs: 2000 });
    expect(p.status).toBe('unreachable');
    expect(p.failure).toMatchObject({ kind: 'refused', step: 'connect' });
  });
});

describe('verifyRecipients (the transcript test)', () => {
  it('sends MAIL, the RCPTs and a random local part, then RSET and QUIT; never DATA', async () => {
    const before = new Set(good.commands.map((c) => c.session));
    const run = await verifyRecipients({ host: HOST, priority: 10, ip: '127.0.0.1' }, ['alice@unit.smtp-lab.example', 'nobody@unit.smtp-lab.example'], {
      port: good.port, timeoutMs: 5000, ca: [ca.cert], mailFrom: '', intervalMs: 0, catchAllDomain: 'unit.smtp-lab.example',
    });
    const id = [...new Set(good.commands.map((c) => c.session))].find((s) => !before.has(s))!;
    const received = good.lines(id);
    expect(received.slice(0, 6)).toEqual(['EHLO [127.0.0.1]', 'STARTTLS', 'EHLO [127.0.0.1]', 'MAIL FROM:<>', 'RCPT TO:<alice@unit.smtp-lab.example>', 'RCPT TO:<nobody@unit.smtp-lab.example>']);
    expect(received[6]).toMatch(/^RCPT TO:<inboxlens-probe-[0-9a-f]{12}@unit\.smtp-lab\.example>$/);
    expect(received.slice(7)).toEqual(['RSET', 'QUIT']);
    expect(received.some((l) => /^(DATA|BDAT)\b/i.test(l))).toBe(false);
    expect(run.tls).toBe(true);
    expect(run.reset).toBe(true);
    expect(run.quit).toBe(true);
    expect(run.results.map((r) => [r.address, r.status, r.code, r.enhanced])).toEqual([
      ['alice@unit.smtp-lab.example', 'accepted', 250, '2.1.5'],
      ['nobody@unit.smtp-lab.example', 'rejected', 550, '5.1.1'],
    ]);
    expect(run.catchAll?.status).toBe('rejected');
  });

  it('ends with RSET and QUIT on a greylisting server too', async () => {
    const run = await verifyRecipients({ host: HOST, priority: 10, ip: '127.0.0.1' }, ['alice@unit.smtp-lab.example'], {
      port: grey.port, timeoutMs: 5000, ca: [ca.cert], mailFrom: 'probe@sender.smtp-lab.example', intervalMs: 0,
    });
    expect(run.results[0]).toMatchObject({ status: 'greylisted', code: 450, enhanced: '4.2.0' });
    const lines = grey.lines();
    expect(lines).toContain('MAIL FROM:<probe@sender.smtp-lab.example>');
    expect(lines.slice(-2)).toEqual(['RSET', 'QUIT']);
    expect(lines.some((l) => /^DATA/i.test(l))).toBe(false);
  });

  it('paces RCPT commands to one address by the interval (a lower bound read from the transcript)', async () => {
    const run = await verifyRecipients({ host: HOST, priority: 10, ip: '127.0.0.1' }, ['a1@unit.smtp-lab.example', 'a2@unit.smtp-lab.example', 'a3@unit.smtp-lab.example'], {
      port: good.port, timeoutMs: 5000, ca: [ca.cert], mailFrom: '', intervalMs: 150,
    });
    const sent = run.transcript.filter((l) => l.dir === 'C' && l.line.startsWith('RCPT')).map((l) => l.t);
    expect(sent).toHaveLength(3);
    // a behaviour, not a speed: the probe must wait at least (most of) the interval between RCPTs
    for (let i = 1; i < sent.length; i++) expect(sent[i]! - sent[i - 1]!).toBeGreaterThanOrEqual(148);
  });

  it('makes every recipient unknown (not rejected) when the server cannot be reached', async () => {
    const port = await closedPort();
    const run = await verifyRecipients({ host: HOST, priority: 10, ip: '127.0.0.1' }, ['x@unit.smtp-lab.example'], { port, timeoutMs: 1000, mailFrom: '', intervalMs: 0 });
    expect(run.results).toEqual([expect.objectContaining({ address: 'x@unit.smtp-lab.example', status: 'unknown' })]);
  });
});

describe('DANE matching', () => {
  it('matches a 3 1 1 record against the leaf and a 2 x x record against the issuer in the chain', async () => {
    const p = await probeMx({ host: HOST, priority: 10, ip: '127.0.0.1' }, { port: good.port, timeoutMs: 5000, ca: [ca.cert] });
    const der = p.certsDer!;
    const [u, s, m, data] = tlsaFor(cert.cert).split(' ');
    const ee = { usage: Number(u), selector: Number(s), matchingType: Number(m), data: data! };
    expect(daneMatch([ee], der).matched).toEqual(ee);
    expect(daneMatch([{ ...ee, data: '00'.repeat(32) }], der).matched).toBeUndefined();
    // PKIX-EE (usage 1) is unusable for SMTP (RFC 7672 §3.1.3)
    expect(daneMatch([{ ...ee, usage: 1 }], der).usable).toEqual([]);
    // DANE-TA: only when the server sends the CA in its chain
    const [, , , caData] = tlsaFor(ca.cert).split(' ');
    const ta = { usage: 2, selector: 1, matchingType: 1, data: caData! };
    expect(daneMatch([ta], der.slice(0, 1)).matched).toBeUndefined();
    expect(daneMatch([ta], [der[0]!, Buffer.from(new (await import('node:crypto')).X509Certificate(ca.cert).raw)]).matched).toEqual(ta);
  });
});

describe('submission', () => {
  it('logs in over STARTTLS, offers AUTH only after TLS, and never writes the password into the transcript', async () => {
    const t = parseSubmissionUrl(`smtp://app@submit.unit.smtp-lab.example:${submit.port}`);
    const p = await probeSubmission(t, client, { timeoutMs: 5000, ca: [ca.cert], password: 'S3cret-pass-42' });
    expect(p.status).toBe('ok');
    expect(p.authBeforeTls).toEqual([]);
    expect(p.authMechanisms).toEqual(['PLAIN', 'LOGIN']);
    expect(p.auth).toMatchObject({ attempted: true, ok: true, mechanism: 'PLAIN', code: 235 });
    const text = JSON.stringify(p);
    expect(text).not.toContain('S3cret-pass-42');
    expect(text).not.toContain(Buffer.from('\0app\0S3cret-pass-42').toString('base64'));
    expect(p.transcript.some((l) => l.line === 'AUTH PLAIN [redacted]')).toBe(true);
    // and the redactor masks it anywhere else it might surface
    expect(redact('x S3cret-pass-42 y')).toBe('x [redacted] y');
    expect(submit.lines().some((l) => /^(MAIL|DATA)/i.test(l))).toBe(false);
  });

  it('reports refused credentials as a failed login', async () => {
    const t = parseSubmissionUrl(`smtp://app@submit.unit.smtp-lab.example:${submit.port}`);
    const p = await probeSubmission(t, client, { timeoutMs: 5000, ca: [ca.cert], password: 'wrong-password-1' });
    expect(p.auth).toMatchObject({ attempted: true, ok: false, code: 535 });
  });

  it('parses submission URLs and refuses passwords in them', () => {
    expect(parseSubmissionUrl('smtp://me@smtp.example.com')).toMatchObject({ scheme: 'smtp', port: 587, user: 'me' });
    expect(parseSubmissionUrl('smtps://me%40corp@smtp.example.com')).toMatchObject({ scheme: 'smtps', port: 465, user: 'me@corp', display: 'smtps://me%40corp@smtp.example.com:465' });
    expect(() => parseSubmissionUrl('smtp://me:hunter2hunter2@smtp.example.com:587')).toThrow(/do not put the password in the URL/);
    expect(redact('hunter2hunter2')).toBe('[redacted]');
    expect(() => parseSubmissionUrl('http://smtp.example.com')).toThrow(/scheme 'http'/);
  });
});

describe('outbound port 25 canaries', () => {
  it('tells blocked 25 (web canary answers) from working 25 and from no network', async () => {
    const closed = await closedPort();
    const web = net.createServer((s) => s.destroy());
    await new Promise<void>((r) => web.listen(0, '127.0.0.1', r));
    const open = (web.address() as net.AddressInfo).port;
    try {
      const c = (p: number) => parseCanary(`127.0.0.1:${p}`, 25)!;
      expect((await port25Status(client, [c(closed)], [c(open)], 1000)).blocked).toBe(true);
      expect((await port25Status(client, [c(good.port)], [c(open)], 1000)).blocked).toBe(false);
      const none = await port25Status(client, [c(closed)], [c(closed)], 1000);
      expect(none.blocked).toBeNull();
      // names resolve through the run's DNS; an unknown name is a failed canary, not a crash
      const unresolved = await port25Status(client, [{ host: 'nowhere.unit.smtp-lab.example', port: 25 }], [c(open)], 1000);
      expect(unresolved.attempts[0]).toMatchObject({ ok: false });
      expect(unresolved.blocked).toBe(true);
    } finally {
      await new Promise<void>((r) => web.close(() => r()));
    }
    expect(parseCanary('[::1]:2525', 25)).toEqual({ host: '::1', port: 2525 });
    expect(parseCanary('gmail-smtp-in.l.google.com', 25)).toEqual({ host: 'gmail-smtp-in.l.google.com', port: 25 });
    expect(parseCanary('bad host:x', 25)).toBeUndefined();
  });
});

/** A scripted SMTP server on a raw socket, for behaviours smtp-server will not play. */
async function scripted(script: (line: string, sock: net.Socket) => void, greeting: string | null = '220 raw.smtp-lab.example ESMTP'): Promise<{ port: number; lines: string[]; close(): Promise<void> }> {
  const lines: string[] = [];
  const socks = new Set<net.Socket>();
  const srv = net.createServer((sock) => {
    socks.add(sock);
    sock.on('close', () => socks.delete(sock));
    sock.on('error', () => {});
    if (greeting !== null) sock.write(`${greeting}\r\n`);
    let buf = '';
    sock.on('data', (d) => {
      buf += d.toString('latin1');
      let i: number;
      while ((i = buf.indexOf('\r\n')) !== -1) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 2);
        lines.push(line);
        script(line, sock);
      }
    });
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  return {
    port: (srv.address() as net.AddressInfo).port,
    lines,
    close: async () => {
      for (const s of socks) s.destroy();
      await new Promise<void>((r) => srv.close(() => r()));
    },
  };
}

describe('odd servers', () => {
  const mx = { host: 'raw.smtp-lab.example', priority: 10, ip: '127.0.0.1' };

  it('STARTTLS offered, 220, then no TLS: a TLS failure on a reachable server, not a crash or a pass', async () => {
    const s = await scripted((line, sock) => {
      if (line.startsWith('EHLO')) sock.write('250-raw.smtp-lab.example\r\n250-STARTTLS\r\n250 8BITMIME\r\n');
      else if (line === 'STARTTLS') sock.end('220 go ahead\r\n');
    });
    try {
      const p = await probeMx(mx, { port: s.port, timeoutMs: 3000 });
      expect(p.status).toBe('ok');
      expect(p.starttls).toMatchObject({ offered: true, attempted: true, ok: false });
      expect(p.starttls.error).toMatch(/TLS|closed/);
      expect(p.tls).toBeUndefined();
    } finally {
      await s.close();
    }
  });

  it('EHLO refused: falls back to HELO and says there is no ESMTP', async () => {
    const s = await scripted((line, sock) => {
      if (line.startsWith('EHLO')) sock.write('502 5.5.1 command not implemented\r\n');
      else if (line.startsWith('HELO')) sock.write('250 raw.smtp-lab.example\r\n');
      else if (line === 'QUIT') sock.end('221 bye\r\n');
    });
    try {
      const p = await probeMx(mx, { port: s.port, timeoutMs: 3000 });
      expect(p).toMatchObject({ status: 'ok', esmtp: false, extensions: {} });
      expect(s.lines).toEqual(['EHLO [127.0.0.1]', 'HELO [127.0.0.1]', 'QUIT']);
    } finally {
      await s.close();
    }
  });

  it('something that is not SMTP (an HTTP server) is a protocol error with the offending line', async () => {
    const s = await scripted(() => {}, 'HTTP/1.1 400 Bad Request');
    try {
      const p = await probeMx(mx, { port: s.port, timeoutMs: 3000 });
      expect(p.status).toBe('error');
      expect(p.failure).toMatchObject({ kind: 'protocol', step: 'banner' });
      expect(p.failure!.message).toContain('HTTP/1.1 400');
    } finally {
      await s.close();
    }
  });

  it('a server that hangs up after the greeting: the session error names the step', async () => {
    const s = await scripted((_line, sock) => sock.destroy());
    try {
      const p = await probeMx(mx, { port: s.port, timeoutMs: 3000 });
      expect(p.status).toBe('error');
      expect(p.failure).toMatchObject({ kind: 'closed', step: 'ehlo' });
    } finally {
      await s.close();
    }
  });

  it('a slow EHLO (after a prompt banner) is cut off at the step timeout too', async () => {
    const s = await scripted(() => {});
    try {
      const p = await probeMx(mx, { port: s.port, timeoutMs: 300 });
      expect(p.status).toBe('slow');
      expect(p.failure).toMatchObject({ kind: 'timeout', step: 'ehlo' });
    } finally {
      await s.close();
    }
  }, 10_000);
});

