// reports import --imap against the lab's real Dovecot: the report mailbox is
// read with EXAMINE and BODY.PEEK[] — a snapshot of every folder (UIDs, flags,
// sizes, hashes) is the same after the import — and only --move moves, and
// then only the messages whose reports were stored. A server that offers
// neither MOVE nor UIDPLUS is refused before a single message is read.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { startDovecot, type Dovecot } from '../../src/lab/dovecot.ts';
import { ROOT, runCli } from '../helpers/cli.ts';
import { dnsArgs, startDns } from '../helpers/dns.ts';
import type { FixtureDns } from '../../src/dns/fixture-server.ts';

const PD = path.join(ROOT, '../shared/conformance/dmarc-reports/parsedmarc/samples');
const USER = 'dmarc@reports.lab.test';
const PASS = 'reports-imap-pass-3';
let d: Dovecot;
let dns: FixtureDns;
let tmp: string;
let caFile: string;

const welcome = 'From: postmaster@reports.lab.test\r\nTo: dmarc@reports.lab.test\r\nSubject: Welcome to your mailbox\r\nMessage-ID: <w1@lab>\r\n\r\nHello.\r\n';
function brokenReport(): string {
  const gz = zlib.gzipSync(readFileSync(path.join(PD, 'extract_report/nice-input.xml')));
  const cut = gz.subarray(0, gz.length - 30).toString('base64');
  return `From: noreply@broken.example\r\nTo: dmarc@reports.lab.test\r\nSubject: Report domain: example.com\r\nMIME-Version: 1.0\r\nContent-Type: application/gzip; name="r.xml.gz"\r\nContent-Disposition: attachment; filename="r.xml.gz"\r\nContent-Transfer-Encoding: base64\r\n\r\n${cut.replace(/.{76}/g, '$&\r\n')}\r\n`;
}

beforeAll(async () => {
  d = await startDovecot({ users: [{ user: USER, pass: PASS, layout: 'generic' }] });
  dns = await startDns();
  tmp = await mkdtemp(path.join(tmpdir(), 'inboxlens-reports-imap-'));
  caFile = path.join(tmp, 'ca.pem');
  await writeFile(caFile, d.caPem);
  const files = ['aggregate/twilight.eml', 'aggregate/mimecast-weird-gzip.eml', 'failure/exim_plain_text_only_no_arf_part.eml', 'smtp_tls/google.com_smtp_tls_report.eml'];
  for (const f of files) await d.deliver(USER, 'INBOX', readFileSync(path.join(PD, f)));
  await d.deliver(USER, 'INBOX', welcome);
  await d.deliver(USER, 'INBOX', brokenReport());
}, 120_000);
afterAll(async () => {
  await d?.stop();
  await dns?.stop();
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

const env = (name: string) => ({ INBOXLENS_DB: path.join(tmp, `${name}.db`), INBOXLENS_IMAP_PASS: PASS });
const url = (scheme = 'imaps', folder = 'INBOX') => `${scheme}://${encodeURIComponent(USER)}@127.0.0.1:${scheme === 'imaps' ? d.imapsPort : d.imapPort}/${folder}`;
const run = (name: string, args: string[]) => runCli(['reports', 'import', ...args, '--imap-ca', caFile, '--no-resolve', ...dnsArgs(dns)], { env: env(name), timeoutMs: 120_000 });

describe('reports import --imap (lab Dovecot)', () => {
  it('reads the folder read-only: reports imported, nothing flagged, moved or deleted', async () => {
    const before = await d.snapshot(USER);
    expect(before.INBOX!.length).toBe(6);
    const r = await run('ro', ['--imap', url(), '--json']);
    // the broken report is a failure of the run; the welcome mail is no report and is left alone
    expect(r.code, r.stderr).toBe(1);
    const j = r.json();
    expect(j.reports).toEqual({ aggregate: 2, failure: 1, tls: 1 });
    expect(j.outcomes.imported).toBe(4);
    expect(j.problemKinds).toEqual({ 'truncated-gzip': 1 });
    expect(j.problems[0].where).toMatch(/^imaps:\/\/dmarc@reports\.lab\.test@127\.0\.0\.1:\d+\/INBOX UID \d+/);
    expect(j.skipped).toBe(1);
    expect(r.stdout + r.stderr).not.toContain(PASS);
    const after = await d.snapshot(USER);
    expect(after).toEqual(before);
    for (const m of after.INBOX!) expect(m.flags).not.toContain('\\Seen');
    // STARTTLS on the plain port reads the same, and finds every report already stored
    const again = await run('ro', ['--imap', url('imap'), '--json']);
    expect(again.json().outcomes).toMatchObject({ imported: 0, duplicate: 4 });
    expect(await d.snapshot(USER)).toEqual(before);
  });

  it('--move to a folder that does not exist is refused before anything is read', async () => {
    const before = await d.snapshot(USER);
    const r = await run('nomove', ['--imap', url(), '--move', 'Processed']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--move: the folder 'Processed' does not exist/);
    expect(await d.snapshot(USER)).toEqual(before);
  });

  it('--move moves only the messages whose reports were stored', async () => {
    const before = await d.snapshot(USER);
    const r = await run('move', ['--imap', url(), '--move', 'Trash', '--json']);
    expect(r.code, r.stderr).toBe(1);
    expect(r.json().moved).toEqual({ moved: 4, folder: 'Trash' });
    const after = await d.snapshot(USER);
    // left: the welcome mail and the broken report, untouched (same UIDs, flags and bytes)
    const keptHashes = after.INBOX!.map((m) => m.sha256).sort();
    expect(after.INBOX!.length).toBe(2);
    expect(before.INBOX!.filter((m) => keptHashes.includes(m.sha256)).map((m) => m.uid)).toEqual(after.INBOX!.map((m) => m.uid));
    expect(after.INBOX!.map((m) => m.flags)).toEqual(before.INBOX!.filter((m) => keptHashes.includes(m.sha256)).map((m) => m.flags));
    expect(after.Trash!.length).toBe((before.Trash?.length ?? 0) + 4);
    expect(after.Junk).toEqual(before.Junk);
  });
});

describe('--move on a server without MOVE and UIDPLUS', () => {
  it('is refused after login, before the folder is opened; nothing else is sent', async () => {
    const seen: string[] = [];
    const srv = net.createServer((sock) => {
      sock.on('error', () => {});
      sock.write('* OK [CAPABILITY IMAP4rev1] no-move lab ready\r\n');
      let buf = '';
      sock.on('data', (chunk) => {
        buf += chunk.toString('latin1');
        let i;
        while ((i = buf.indexOf('\r\n')) >= 0) {
          const line = buf.slice(0, i);
          buf = buf.slice(i + 2);
          const [tag, verb] = line.split(' ');
          const v = (verb ?? '').toUpperCase();
          seen.push(v);
          if (v === 'CAPABILITY') sock.write(`* CAPABILITY IMAP4rev1\r\n${tag} OK done\r\n`);
          else if (v === 'LOGIN') sock.write(`${tag} OK [CAPABILITY IMAP4rev1] logged in\r\n`);
          else if (v === 'LOGOUT') sock.end(`* BYE\r\n${tag} OK bye\r\n`);
          else sock.write(`${tag} OK done\r\n`);
        }
      });
    });
    await new Promise<void>((res) => srv.listen(0, '127.0.0.1', () => res()));
    try {
      const port = (srv.address() as net.AddressInfo).port;
      const r = await runCli(['reports', 'import', '--imap', `imap://reports@127.0.0.1:${port}/INBOX`, '--imap-plaintext', '--move', 'Done', '--no-resolve', ...dnsArgs(dns)], { env: env('nomovecap') });
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/supports neither MOVE nor UIDPLUS/);
      expect(r.stderr).toMatch(/expunges every message marked \\Deleted/);
      expect(seen).toContain('LOGIN');
      for (const v of ['EXAMINE', 'SELECT', 'FETCH', 'UID', 'STORE', 'EXPUNGE', 'COPY']) expect(seen).not.toContain(v);
    } finally {
      srv.close();
    }
  });
});
