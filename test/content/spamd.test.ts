// The spamc-protocol client against Debian's real spamd (started here on a
// loopback port, local rules only), and its failure modes against real sockets.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import net from 'node:net';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { startSpamd, type SpamdLab } from '../../src/lab/spamd.ts';
import { parseReportRules, parseSpamHeader, parseSpamdAddress, spamdPing, spamdReport, SpamdError } from '../../src/content/spamd.ts';
import { ROOT } from '../helpers/cli.ts';

let spamd: SpamdLab;
const servers: net.Server[] = [];
const sockets = new Set<net.Socket>();

async function tcpServer(onConn: (s: net.Socket) => void): Promise<number> {
  const srv = net.createServer((s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    onConn(s);
  });
  servers.push(srv);
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  return (srv.address() as net.AddressInfo).port;
}

beforeAll(async () => {
  spamd = await startSpamd();
}, 180_000);
afterAll(async () => {
  for (const s of sockets) s.destroy();
  await Promise.all(servers.map((s) => new Promise<void>((r) => s.close(() => r()))));
  await spamd?.stop();
});

describe('spamd client against Debian spamd', () => {
  it('the lab spamd listens on a loopback port and answers PING', async () => {
    expect(spamd.host).toBe('127.0.0.1');
    expect(spamd.port).toBeGreaterThan(0);
    await expect(spamdPing(spamd)).resolves.toBeUndefined();
  });
  it('scores the GTUBE as spam: score, threshold and the rules hit with their scores', async () => {
    const r = await spamdReport(await readFile(path.join(ROOT, '../shared/conformance/spam/gtube.eml')), spamd);
    expect(r.filter).toBe('spamassassin');
    expect(r.isSpam).toBe(true);
    expect(r.score).toBeGreaterThanOrEqual(1000);
    expect(r.threshold).toBe(5);
    expect(r.rules).toContainEqual({ name: 'GTUBE', score: 1000, description: 'BODY: Generic Test for Unsolicited Bulk Email' });
  });
  it('scores the good fixture as ham, and the rule scores add up to the total', async () => {
    const r = await spamdReport(await readFile(path.join(ROOT, 'fixtures/messages/content-good.eml')), spamd);
    expect(r.isSpam).toBe(false);
    expect(r.score).toBeLessThan(r.threshold);
    expect(r.rules.length).toBeGreaterThan(0);
    for (const rule of r.rules) {
      expect(rule.name).toMatch(/^[A-Z0-9_]+$/);
      expect(Number.isFinite(rule.score)).toBe(true);
    }
    // the report prints each score to one decimal: allow that rounding
    const sum = r.rules.reduce((a, x) => a + x.score, 0);
    expect(Math.abs(sum - r.score)).toBeLessThanOrEqual(0.05 * r.rules.length + 0.1);
  });
  it('an HTML-only message hits SpamAssassin\'s MIME_HTML_ONLY rule', async () => {
    const r = await spamdReport(await readFile(path.join(ROOT, 'fixtures/messages/content-no-text-part.eml')), spamd);
    expect(r.rules.map((x) => x.name)).toContain('MIME_HTML_ONLY');
  });
  it('scores several messages at once (spamd forks children)', async () => {
    const files = ['good', 'gtube', 'shortener', 'mismatched-link'].map((n) => path.join(ROOT, `fixtures/messages/content-${n}.eml`));
    const results = await Promise.all(files.map(async (f) => spamdReport(await readFile(f), spamd)));
    expect(results.map((r) => r.isSpam)).toEqual([false, true, false, false]);
  });
});

describe('spamd client failures', () => {
  it('a closed port: connection refused, as an error that names the address', async () => {
    const port = await tcpServer(() => {});
    await new Promise<void>((r) => servers.pop()!.close(() => r()));
    const e = await spamdReport(Buffer.from('Subject: x\r\n\r\nx\r\n'), { host: '127.0.0.1', port }).catch((x) => x);
    expect(e).toBeInstanceOf(SpamdError);
    expect(e.message).toBe(`spamd 127.0.0.1:${port}: connection refused (is spamd running and listening there?)`);
  });
  it('a server that is not spamd', async () => {
    const port = await tcpServer((s) => s.end('HTTP/1.1 400 Bad Request\r\n\r\n'));
    const e = await spamdReport(Buffer.from('Subject: x\r\n\r\nx\r\n'), { host: '127.0.0.1', port }).catch((x) => x);
    expect(e.message).toMatch(/did not answer with the spamc protocol \(first line: "HTTP\/1\.1 400 Bad Request"\)/);
  });
  it('a server that never answers is cut off at the timeout', async () => {
    const port = await tcpServer(() => {});
    const e = await spamdReport(Buffer.from('Subject: x\r\n\r\nx\r\n'), { host: '127.0.0.1', port }, { timeoutMs: 300 }).catch((x) => x);
    expect(e.message).toBe(`spamd 127.0.0.1:${port} did not answer within 300 ms`);
  });
  it('a spamd refusal (non-zero status) is an error with the status line', async () => {
    const port = await tcpServer((s) => s.end('SPAMD/1.0 76 Bad header line: (Content-Length mismatch)\r\n'));
    const e = await spamdReport(Buffer.from('x'), { host: '127.0.0.1', port }).catch((x) => x);
    expect(e.message).toMatch(/refused the request: SPAMD\/1\.0 76 Bad header line/);
  });
});

describe('spamc protocol parsing', () => {
  it('reads the Spam: header', () => {
    expect(parseSpamHeader('True ; 1000.0 / 5.0')).toEqual({ isSpam: true, score: 1000, threshold: 5 });
    expect(parseSpamHeader('False ; -1.2 / 5.0')).toEqual({ isSpam: false, score: -1.2, threshold: 5 });
    expect(parseSpamHeader('maybe')).toBeNull();
  });
  it('reads the report table, continuation lines included', () => {
    const report = [
      'Content analysis details:   (6.1 points, 5.0 required)',
      '',
      ' pts rule name              description',
      '---- ---------------------- --------------------------------------------------',
      ' 2.5 URIBL_DBL_SPAM         Contains a spam URL listed in the Spamhaus DBL',
      '                            blocklist',
      '                            [URIs: example.com]',
      ' 3.6 HTML_IMAGE_ONLY_24     BODY: HTML: images with 2000-2400 bytes of words',
      '-0.0 NO_RELAYS              Informational: message was not relayed via SMTP',
      '',
      'trailing text',
    ].join('\n');
    expect(parseReportRules(report)).toEqual([
      { name: 'URIBL_DBL_SPAM', score: 2.5, description: 'Contains a spam URL listed in the Spamhaus DBL blocklist [URIs: example.com]' },
      { name: 'HTML_IMAGE_ONLY_24', score: 3.6, description: 'BODY: HTML: images with 2000-2400 bytes of words' },
      { name: 'NO_RELAYS', score: 0, description: 'Informational: message was not relayed via SMTP' },
    ]);
  });
  it('parses --spamd addresses', () => {
    expect(parseSpamdAddress('127.0.0.1')).toEqual({ host: '127.0.0.1', port: 783 });
    expect(parseSpamdAddress('spam.example:10783')).toEqual({ host: 'spam.example', port: 10783 });
    expect(parseSpamdAddress('[::1]:783')).toEqual({ host: '::1', port: 783 });
    expect(parseSpamdAddress('::1')).toEqual({ host: '::1', port: 783 });
    expect(() => parseSpamdAddress('host:abc')).toThrow(/not a number/);
    expect(() => parseSpamdAddress('host:0')).toThrow(/out of range/);
    expect(() => parseSpamdAddress('bad host:1')).toThrow(/not a host name/);
  });
});

describe('lab spamd lifecycle', () => {
  it('stop() ends spamd: its port refuses connections afterwards', async () => {
    const own = await startSpamd();
    await spamdPing(own);
    await own.stop();
    await expect(spamdPing(own, 1000)).rejects.toThrow(/connection refused/);
  });
});
