// placement send/run against a submission server on loopback (smtp-server), and what
// real servers showed (issue 12, "Real servers"): every SMTP session ends with QUIT;
// a 4xx at submission (452 at RCPT, 451 after DATA) is a copy never queued, reported
// as deferred at once rather than waited for and called missing; reply codes are
// written once; the submission host and seed hosts resolve through --resolver.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SMTPServer } from 'smtp-server';
import type { FixtureDns } from '../../src/dns/fixture-server.ts';
import { sendCopies, type MessageSpec, type SmtpTarget } from '../../src/placement/send.ts';
import { collectPlacement } from '../../src/placement/collect.ts';
import type { Seed } from '../../src/placement/types.ts';
import { validateReport } from '../../src/report/validate.ts';
import { runCli } from '../helpers/cli.ts';
import { startDns } from '../helpers/dns.ts';

const D = 'send.h-smtp.lab.test';
let dns: FixtureDns;
let server: SMTPServer;
let port: number;
let closedImap: number;
const tmp = mkdtempSync(path.join(os.tmpdir(), 'inboxlens-send-'));
/** per session id: the commands it received */
const sessions = new Map<string, string[]>();

beforeAll(async () => {
  dns = await startDns({ [`submit.${D}`]: { A: ['127.0.0.1'] } });
  const record = (obj: { tnx?: string; cid?: string } | undefined, tag: unknown, line: unknown) => {
    if (obj?.tnx === 'command' && tag === 'C:') {
      const list = sessions.get(String(obj.cid)) ?? [];
      list.push(String(line));
      sessions.set(String(obj.cid), list);
    }
  };
  const logger = { trace() {}, debug: record, info() {}, warn() {}, error() {}, fatal() {}, child() { return logger; } };
  server = new SMTPServer({
    logger: logger as any,
    disabledCommands: ['STARTTLS', 'AUTH'],
    authOptional: true,
    disableReverseLookup: true,
    onConnect(session, cb) {
      sessions.set(session.id, sessions.get(session.id) ?? []);
      cb();
    },
    onRcptTo(addr, _s, cb) {
      const local = addr.address.split('@')[0];
      if (local === 'full') return cb(Object.assign(new Error('4.5.3 Error: too many recipients'), { responseCode: 452 }));
      if (local === 'nobody') return cb(Object.assign(new Error('5.1.1 <nobody@' + D + '>: Recipient address rejected: User unknown'), { responseCode: 550 }));
      cb();
    },
    onData(stream, session, cb) {
      stream.resume();
      stream.on('end', () => {
        if (session.envelope.rcptTo.some((r) => r.address.startsWith('later@'))) return cb(Object.assign(new Error('4.3.0 Error: queue file write error'), { responseCode: 451 }));
        cb(null, 'Ok: queued as LAB1');
      });
    },
  });
  server.on('error', () => {});
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  port = (server.server.address() as net.AddressInfo).port;
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  closedImap = (s.address() as net.AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
}, 60_000);

afterAll(async () => {
  await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
  await dns?.stop();
  rmSync(tmp, { recursive: true, force: true });
});

const LOCALS = ['ok1', 'ok2', 'full', 'later', 'nobody', 'ok3', 'ok4', 'ok5'];
function seeds(locals = LOCALS): Seed[] {
  return locals.map((l, i) => ({
    index: i + 1,
    address: `${l}@${D}`,
    provider: 'generic',
    access: { protocol: 'imap', host: '127.0.0.1', port: closedImap, secure: false, allowPlaintext: false, insecure: false },
    auth: { user: l, pass: `pw-${l}-send-lab` },
  }) as Seed);
}
const spec: MessageSpec = { from: `news@${D}`, subject: 'send test', tokenInSubject: true };
const target = (): SmtpTarget => ({ host: '127.0.0.1', port, secure: false, insecure: false, allowPlaintext: true });

/** Sessions that began after `before` (ids already seen are left out). */
function newSessions(before: Set<string>): string[][] {
  return [...sessions.entries()].filter(([id]) => !before.has(id)).map(([, cmds]) => cmds);
}

function seedsFile(name: string, locals: string[]): string {
  const file = path.join(tmp, name);
  writeFileSync(file, `seeds:\n${locals.map((l) => `  - address: ${l}@${D}\n    imap: { host: 127.0.0.1, port: ${closedImap}, secure: false }\n    auth: { user: ${l}, pass: pw-${l}-send-lab }\n`).join('')}`);
  return file;
}

describe('placement send', () => {
  it('ends every SMTP session with QUIT, also after refused and deferred copies; each copy gets its own outcome', async () => {
    const before = new Set(sessions.keys());
    const res = await sendCopies(spec, seeds(), 'il-sendtest-0000000001', target(), { maxConnections: 2 });
    expect(res.map((r) => [r.seed.split('@')[0], r.status, r.code])).toEqual([
      ['ok1', 'accepted', 250], ['ok2', 'accepted', 250], ['full', 'deferred', 452], ['later', 'deferred', 451],
      ['nobody', 'rejected', 550], ['ok3', 'accepted', 250], ['ok4', 'accepted', 250], ['ok5', 'accepted', 250],
    ]);
    const mine = newSessions(before);
    expect(mine.length).toBeGreaterThanOrEqual(1);
    expect(mine.length).toBeLessThanOrEqual(2);
    // the server saw QUIT as the last command of every session
    for (const cmds of mine) expect(cmds.at(-1)).toBe('QUIT');
    // every copy was tried: one RCPT per seed
    expect(mine.flat().filter((c) => /^RCPT TO:/i.test(c))).toHaveLength(8);
  }, 60_000);

  it('placement run: 452 at RCPT and 451 after DATA are deferred at submission at once, not waited for and called missing; codes are written once', async () => {
    const before = new Set(sessions.keys());
    const file = seedsFile('run.yaml', ['full', 'later', 'nobody']);
    const r = await runCli(['placement', 'run', '--seeds', file, '--from', `news@${D}`, '--smtp', `smtp://127.0.0.1:${port}`, '--smtp-plaintext', '--timeout', '90s', '--json', '--resolver', dns.address, '--dns-timeout', '1s', '--retries', '1'], { timeoutMs: 120_000 });
    const doc = r.json();
    expect(validateReport(doc)).toEqual([]);
    const c = doc.targets[0].checks[0];
    const rows = Object.fromEntries(c.data.rows.map((x: any) => [x.seed.split('@')[0], x]));
    expect(rows.full).toMatchObject({ placement: 'deferred', smtp: { status: 'deferred', code: 452 } });
    expect(rows.later).toMatchObject({ placement: 'deferred', smtp: { status: 'deferred', code: 451 } });
    expect(rows.full.note).toMatch(/^deferred at submission \(452 4\.5\.3 Error: too many recipients\): not queued/);
    expect(rows.nobody).toMatchObject({ placement: 'bounced', smtp: { status: 'rejected', code: 550 } });
    // nothing was waited for: the 90 s deadline never came
    expect(c.data.durationMs).toBeLessThan(30_000);
    const codes = c.findings.map((x: any) => x.code);
    expect(codes).toContain('placement.deferred');
    expect(codes).not.toContain('placement.missing');
    const deferred = c.findings.find((x: any) => x.code === 'placement.deferred');
    expect(deferred.summary).toMatch(/deferred 2 of 3 copies at submission: they were not queued/);
    // reply codes once: "550 5.1.1 …", never "550 550 5.1.1 …"
    const text = JSON.stringify(c.findings);
    expect(text).not.toMatch(/\b(\d{3}) \1\b/);
    expect(c.findings.find((x: any) => x.code === 'placement.bounced').evidence[0].note).toMatch(new RegExp(`^nobody@${D.replace(/\./g, '\\.')}: SMTP 550 5\\.1\\.1 `));
    expect(deferred.evidence.map((e: any) => e.note)).toEqual([`full@${D}: 452 4.5.3 Error: too many recipients`, `later@${D}: 451 4.3.0 Error: queue file write error`]);
    expect(c.status).toBe('fail');
    // the run's sessions ended with QUIT too
    for (const cmds of newSessions(before)) expect(cmds.at(-1)).toBe('QUIT');
  }, 120_000);

  it('the submission host name resolves through --resolver, like every other name', async () => {
    const file = seedsFile('send.yaml', ['ok1', 'ok2']);
    const r = await runCli(['placement', 'send', '--seeds', file, '--from', `news@${D}`, '--smtp', `smtp://submit.${D}:${port}`, '--smtp-plaintext', '--json', '--resolver', dns.address, '--dns-timeout', '1s', '--retries', '1'], { timeoutMs: 60_000 });
    const doc = r.json();
    expect(validateReport(doc)).toEqual([]);
    const c = doc.targets[0].checks[0];
    expect(c.data.send.map((s: any) => s.status)).toEqual(['accepted', 'accepted']);
    expect(r.code).toBe(0);
    // a name the resolver does not know: every copy is an error naming the host, before any connection
    const bad = await runCli(['placement', 'send', '--seeds', file, '--from', `news@${D}`, '--smtp', `smtp://nosuch.${D}:${port}`, '--smtp-plaintext', '--json', '--resolver', dns.address, '--dns-timeout', '1s', '--retries', '1'], { timeoutMs: 60_000 });
    const b = bad.json().targets[0].checks[0];
    expect(b.data.send.every((s: any) => s.status === 'error' && s.error.includes(`nosuch.${D}`))).toBe(true);
  }, 120_000);

  it('a refused login is an error for every copy (not sent), not a refusal by the receiver', async () => {
    const auth = new SMTPServer({
      logger: false,
      disabledCommands: ['STARTTLS'],
      allowInsecureAuth: true,
      disableReverseLookup: true,
      onAuth: (_a, _s, cb) => cb(Object.assign(new Error('Authentication credentials invalid'), { responseCode: 535 })),
    });
    auth.on('error', () => {});
    await new Promise<void>((r) => auth.listen(0, '127.0.0.1', () => r()));
    try {
      const p = (auth.server.address() as net.AddressInfo).port;
      const res = await sendCopies(spec, seeds(['ok1', 'ok2']), 'il-sendtest-0000000003', { ...target(), port: p, user: 'app', pass: 'wrong-send-lab-pass' });
      for (const r of res) {
        expect(r).toMatchObject({ status: 'error', code: 535 });
        expect(r.error).toMatch(/^the SMTP server refused the login of app: /);
        expect(r.error).not.toContain('wrong-send-lab-pass');
      }
    } finally {
      await new Promise<void>((r) => auth.close(() => r()));
    }
  }, 60_000);

  it('collect settles copies deferred at submission without watching their seeds', async () => {
    const sent = new Map([
      [`full@${D}`, { seed: `full@${D}`, status: 'deferred' as const, code: 452, response: '452 4.5.3 Error: too many recipients', messageId: '<a@x>', sentAt: new Date().toISOString() }],
    ]);
    const res = await collectPlacement({ seeds: seeds(['full']), matcher: { token: 'il-sendtest-0000000002' }, timeoutMs: 20_000, pollMs: 1000, idle: true, sent });
    expect(res.rows[0]).toMatchObject({ placement: 'deferred', smtp: { status: 'deferred', code: 452 } });
    expect(res.durationMs).toBeLessThan(10_000);
  }, 60_000);
});

describe('resolveHost', () => {
  it('takes A, then AAAA, from the run\'s resolver; localhost never goes to DNS; a missing name says so', async () => {
    const { DnsClient } = await import('../../src/dns/resolver.ts');
    const { resolveHost } = await import('../../src/placement/hosts.ts');
    const client = new DnsClient({ resolvers: [{ host: dns.host, port: dns.port }], timeoutMs: 1000, retries: 1 });
    expect(await resolveHost(`submit.${D}`, client)).toBe('127.0.0.1');
    expect(await resolveHost('localhost', client)).toBe('127.0.0.1');
    expect(await resolveHost('192.0.2.7', client)).toBe('192.0.2.7');
    await expect(resolveHost(`nosuch.${D}`, client)).rejects.toThrow(`nosuch.${D}`);
  });

  it('a name DNS does not know is looked up as the system would (/etc/hosts): this machine\'s own host name', async () => {
    const os = await import('node:os');
    const { lookup } = await import('node:dns/promises');
    const { DnsClient } = await import('../../src/dns/resolver.ts');
    const { resolveHost } = await import('../../src/placement/hosts.ts');
    const client = new DnsClient({ resolvers: [{ host: dns.host, port: dns.port }], timeoutMs: 1000, retries: 1 });
    const name = os.hostname();
    // Debian writes the host name into /etc/hosts; the fixture DNS has never heard of it
    const system = await lookup(name);
    expect(await resolveHost(name, client)).toBe(system.address);
  });
});
