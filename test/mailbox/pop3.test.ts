// The POP3 client against the lab's real Dovecot: STLS and implicit TLS verified
// against the lab CA, exact bytes through dot-stuffing, TOP only (never RETR or
// DELE), login failures reported without the password, and no change to the mailbox.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDovecot, type Dovecot } from '../../src/lab/dovecot.ts';
import { Pop3Client, Pop3Error, unstuff } from '../../src/mailbox/pop3.ts';
import { registerSecret } from '../../src/util/redact.ts';

let d: Dovecot;
const USER = 'pop@mail.lab.test';
const PASS = 'pop3-test-password-41';
registerSecret(PASS);

// every awkward byte sequence a POP3 server has to dot-stuff, plus 8-bit text
const BODY = Buffer.concat([
  Buffer.from('first line\r\n.starts with a dot\r\n..two dots\r\n.\r\nthe line above was a lone dot\r\n', 'latin1'),
  Buffer.from('caf\u00e9 in UTF-8: ', 'utf8'),
  Buffer.from([0x63, 0x61, 0x66, 0xc3, 0xa9, 0x0d, 0x0a]),
  Buffer.from(' leading space\r\n\r\n\r\n.\r\n..\r\nlast line\r\n', 'latin1'),
]);
const HEAD = 'From: a@sender.test\r\nTo: pop@mail.lab.test\r\nSubject: dots [il-pop3-bytes]\r\nX-Inboxlens-Token: il-pop3-bytes\r\nMessage-ID: <dots@sender.test>\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n';
const RAW = Buffer.concat([Buffer.from(HEAD, 'latin1'), BODY]);

beforeAll(async () => {
  d = await startDovecot({ users: [{ user: USER, pass: PASS }] });
  await d.deliver(USER, 'INBOX', 'From: a@sender.test\r\nSubject: first\r\n\r\nhello\r\n');
  await d.deliver(USER, 'INBOX', RAW);
});
afterAll(async () => {
  await d?.stop();
});

function opts(extra: Partial<Parameters<typeof Pop3Client.connect>[0]> = {}) {
  return { host: d.host, port: d.pop3Port, secure: false, ca: d.caPem, ...extra };
}

describe('POP3 client on Dovecot', () => {
  it('upgrades with STLS (verified), logs in, lists UIDL, and reads exact bytes with TOP', async () => {
    const before = await d.snapshot(USER);
    const c = await Pop3Client.connect(opts());
    expect(c.encrypted).toBe(true);
    expect(c.capabilities).toContain('TOP');
    await c.login(USER, { pass: PASS });
    const ids = await c.uidl();
    expect(ids.map((x) => x.n)).toEqual([1, 2]);
    expect(new Set(ids.map((x) => x.uid)).size).toBe(2);
    const head = await c.top(2, 0);
    const headText = head.toString('latin1');
    expect(headText).toContain('X-Inboxlens-Token: il-pop3-bytes');
    // TOP n 0: the header and the empty line after it, nothing of the body
    expect(headText.endsWith('\r\n\r\n')).toBe(true);
    expect(headText).not.toContain('first line');
    const full = await c.top(2, 1_000_000_000);
    // Dovecot adds its own trace headers on top; the original message follows byte for byte
    expect(full.subarray(full.length - RAW.length).equals(RAW)).toBe(true);
    // TOP n 2: the header and the first two body lines, the dot-stuffed one restored
    const two = (await c.top(2, 2)).toString('latin1');
    expect(two.endsWith('\r\n\r\nfirst line\r\n.starts with a dot\r\n')).toBe(true);
    await c.quit();
    expect(c.transcript).toEqual(expect.arrayContaining(['STLS', `USER ${USER}`, 'PASS [redacted]', 'UIDL', 'TOP 2 0', 'QUIT']));
    expect(c.transcript.join('\n')).not.toMatch(/^(RETR|DELE)/m);
    expect(c.transcript.join('\n')).not.toContain(PASS);
    // TOP changes nothing: same messages, same flags (no \Seen), same bytes
    expect(await d.snapshot(USER)).toEqual(before);
  });

  it('speaks implicit TLS on the pop3s port', async () => {
    const c = await Pop3Client.connect(opts({ port: d.pop3sPort, secure: true }));
    await c.login(USER, { pass: PASS });
    expect((await c.stat()).count).toBe(2);
    await c.quit();
  });

  it('refuses a server certificate it cannot verify (no CA given), unless insecure', async () => {
    const e = await Pop3Client.connect(opts({ ca: undefined })).catch((x) => x);
    expect(e).toBeInstanceOf(Pop3Error);
    expect(e.kind).toBe('tls');
    const e2 = await Pop3Client.connect(opts({ port: d.pop3sPort, secure: true, ca: undefined })).catch((x) => x);
    expect(e2.kind).toBe('tls');
    const c = await Pop3Client.connect(opts({ port: d.pop3sPort, secure: true, ca: undefined, insecure: true }));
    await c.quit();
  });

  it('reports a refused login as an auth error, without the password', async () => {
    const c = await Pop3Client.connect(opts());
    const e = await c.login(USER, { pass: 'wrong-password-xyz-1' }).catch((x) => x);
    expect(e).toBeInstanceOf(Pop3Error);
    expect(e.kind).toBe('auth');
    expect(e.message).toMatch(/login for pop@mail\.lab\.test was refused: -ERR/);
    expect(e.message).not.toContain('wrong-password');
    c.close();
  });

  it('reports an XOAUTH2 refusal as an auth error (the lab has no OAuth2 mechanism)', async () => {
    const c = await Pop3Client.connect(opts());
    const e = await c.login(USER, { accessToken: 'some-access-token-abc' }).catch((x) => x);
    expect(e.kind).toBe('auth');
    expect(c.transcript).toContain('AUTH XOAUTH2 [redacted]');
    c.close();
  });

  it('fails a dead port as a network error', async () => {
    const e = await Pop3Client.connect({ host: '127.0.0.1', port: 1, secure: false }).catch((x) => x);
    expect(e).toBeInstanceOf(Pop3Error);
    expect(e.kind).toBe('network');
    expect(e.message).toMatch(/ECONNREFUSED/);
  });
});

describe('dot-unstuffing', () => {
  it('removes exactly one leading dot per line, only after CRLF', () => {
    expect(unstuff(Buffer.from('..a\r\n...b\r\nc.d\r\n.\r\n')).toString()).toBe('.a\r\n..b\r\nc.d\r\n\r\n');
    expect(unstuff(Buffer.from('x\n.y\r\n')).toString()).toBe('x\n.y\r\n');
    const bin = Buffer.from([0x2e, 0x2e, 0xff, 0x0d, 0x0a, 0x2e, 0x00]);
    expect([...unstuff(bin)]).toEqual([0x2e, 0xff, 0x0d, 0x0a, 0x00]);
  });
});

describe('a server without STLS', () => {
  // Dovecot always offers STLS, so this one server is a few lines of POP3 on loopback:
  // it proves no credential leaves in clear text unless the seed allows it
  async function fakePop3(): Promise<{ port: number; received: string[]; close(): Promise<void> }> {
    const net = await import('node:net');
    const received: string[] = [];
    const server = net.createServer((sock) => {
      sock.write('+OK plain POP3 ready\r\n');
      let buf = '';
      sock.on('data', (d) => {
        buf += d.toString();
        let i: number;
        while ((i = buf.indexOf('\r\n')) >= 0) {
          const line = buf.slice(0, i);
          buf = buf.slice(i + 2);
          received.push(line);
          if (line === 'CAPA') sock.write('+OK\r\nUSER\r\nUIDL\r\nTOP\r\n.\r\n');
          else if (line === 'QUIT') sock.end('+OK bye\r\n');
          else sock.write('+OK\r\n');
        }
      });
      sock.on('error', () => {});
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    return { port: (server.address() as any).port, received, close: () => new Promise((r) => server.close(() => r())) };
  }

  it('refuses to log in, sending no credentials, unless allowPlaintext', async () => {
    const s = await fakePop3();
    try {
      const e = await Pop3Client.connect({ host: '127.0.0.1', port: s.port, secure: false }).catch((x) => x);
      expect(e).toBeInstanceOf(Pop3Error);
      expect(e.kind).toBe('tls');
      expect(e.message).toMatch(/offers no STLS: refusing to log in without TLS/);
      expect(s.received.some((l) => /^(USER|PASS|AUTH)/.test(l))).toBe(false);
      const c = await Pop3Client.connect({ host: '127.0.0.1', port: s.port, secure: false, allowPlaintext: true });
      expect(c.encrypted).toBe(false);
      await c.login('u', { pass: 'plain-lab-pass' });
      await c.quit();
      expect(s.received).toContain('USER u');
    } finally {
      await s.close();
    }
  });
});
