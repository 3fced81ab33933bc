// Many seeds at one host (issue 10, "Every wait bounded"): collect opens at most
// --max-connections connections at once to one host:port, queues the rest, and a
// seed still in line at the deadline is `error` saying it was never checked, not
// `missing`. Connections are counted at a loopback TCP proxy in front of the lab
// Dovecot (IMAP and POP3), so the cap is measured where the server would see it.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDovecot, type Dovecot } from '../../src/lab/dovecot.ts';
import { collectPlacement } from '../../src/placement/collect.ts';
import { HostSlots, SlotKind } from '../../src/placement/host-slots.ts';
import type { Seed } from '../../src/placement/types.ts';
import { runCli } from '../helpers/cli.ts';
import { startChildProxy } from '../helpers/child-proxy.ts';

interface Proxy { port: number; stats(): Promise<{ open: number; max: number; total: number }>; reset(): Promise<void>; close(): Promise<void> }

// A TCP proxy to 127.0.0.1:PORT in a process of its own (its event loop is not the
// collector's), counting the connections open through it: opened when accepted and
// counted at the next turn of its loop, closed as soon as either side ends it (a
// connection the client closed just before opening the next is seen closed first).
// Commands on stdin: "stats" (prints JSON), "reset".
const PROXY = `
const net = require('node:net');
const target = Number(process.argv[1]);
const st = { open: 0, max: 0, total: 0 };
const server = net.createServer((client) => {
  const up = net.connect(target, '127.0.0.1');
  let counted = false, closed = false;
  setImmediate(() => { if (closed) return; counted = true; st.open++; st.total++; st.max = Math.max(st.max, st.open); });
  const ended = () => { if (closed) return; closed = true; if (counted) st.open--; else st.total++; };
  const done = () => { ended(); client.destroy(); up.destroy(); };
  client.on('end', ended).on('error', done).on('close', done);
  up.on('end', ended).on('error', done).on('close', done);
  client.pipe(up);
  up.pipe(client);
});
server.listen(0, '127.0.0.1', () => process.stdout.write(JSON.stringify({ port: server.address().port }) + '\\n'));
let buf = '';
process.stdin.on('data', (d) => {
  buf += d;
  let i;
  while ((i = buf.indexOf('\\n')) >= 0) {
    const cmd = buf.slice(0, i); buf = buf.slice(i + 1);
    if (cmd === 'reset') { st.max = st.open; st.total = 0; }
    process.stdout.write(JSON.stringify(st) + '\\n');
  }
});
process.stdin.on('end', () => process.exit(0));
`;

async function proxy(target: number): Promise<Proxy> {
  const child = await startChildProxy(PROXY, [String(target)]);
  const ask = (cmd: string) => child.ask<{ open: number; max: number; total: number }>(cmd);
  return {
    port: child.port,
    stats: () => ask('stats'),
    reset: async () => { await ask('reset'); },
    close: () => child.close(),
  };
}

const USERS = Array.from({ length: 4 }, (_, i) => ({ user: `u${i}@conn.lab.test`, pass: `pw-conn-${i}-lab`, layout: 'generic' as const }));
let dovecot: Dovecot;
let imapProxy: Proxy;
let pop3Proxy: Proxy;
const tmp = mkdtempSync(path.join(os.tmpdir(), 'inboxlens-conn-'));

beforeAll(async () => {
  dovecot = await startDovecot({ users: USERS });
  imapProxy = await proxy(dovecot.imapPort);
  pop3Proxy = await proxy(dovecot.pop3Port);
});
afterAll(async () => {
  await imapProxy?.close();
  await pop3Proxy?.close();
  await dovecot?.stop();
  rmSync(tmp, { recursive: true, force: true });
});

/** n seeds (distinct addresses, a few real logins) behind one proxy: no copy ever arrives. */
function seeds(n: number, protocol: 'imap' | 'pop3', port: number): Seed[] {
  return Array.from({ length: n }, (_, i) => {
    const u = USERS[i % USERS.length]!;
    return {
      address: `${protocol}${i}@conn.lab.test`,
      provider: 'generic',
      access: { protocol, host: '127.0.0.1', port, secure: false, allowPlaintext: false, insecure: false, ca: dovecot.caPem },
      auth: { user: u.user, pass: u.pass },
    } as Seed;
  });
}

describe('connections per host', () => {
  it('60 IMAP and 20 POP3 seeds with a cap of 4: never more than 4 connections to either server; the seeds never reached are not checked, not missing', async () => {
    const all = [...seeds(60, 'imap', imapProxy.port), ...seeds(20, 'pop3', pop3Proxy.port)];
    // a deadline long enough for some seeds to be searched on a loaded machine, too short for all 80
    const res = await collectPlacement({ seeds: all, matcher: { token: 'il-aaaaaaaa-0000000000' }, timeoutMs: 6000, pollMs: 1000, idle: true, maxConnectionsPerHost: 4 });
    const imap = await imapProxy.stats();
    const pop3 = await pop3Proxy.stats();
    expect(imap.max).toBeLessThanOrEqual(4);
    // POP3: at most 4 sessions; the proxy may see one finished session (QUIT answered, socket
    // closed on our side) end a few ms after the next one connects, so one of overlap is allowed
    expect(pop3.max).toBeLessThanOrEqual(5);
    expect(pop3.total).toBeGreaterThan(5);
    // the cap was reached, so the seeds really did wait in line
    expect(imap.max).toBe(4);
    expect(imap.total).toBeGreaterThan(4);
    expect(res.rows).toHaveLength(80);
    const by = (p: string) => res.rows.filter((r) => r.placement === p);
    // searched everywhere, no copy: missing (IMAP) / not-in-inbox (POP3)
    expect(by('missing').length).toBeGreaterThan(0);
    expect(by('not-in-inbox').length).toBeGreaterThan(0);
    const errors = by('error');
    expect(by('missing').length + by('not-in-inbox').length + errors.length).toBe(80);
    // any other was still in line, or mid-session, at the deadline: unknown, with the reason
    for (const r of errors) expect(r.error).toMatch(/not checked: the deadline came while it waited|had not answered when the watch ended/);
    // every connection was closed at the end
    await new Promise((r) => setTimeout(r, 200));
    expect((await imapProxy.stats()).open).toBe(0);
    expect((await pop3Proxy.stats()).open).toBe(0);
  }, 120_000);

  it('a seed still in line at the deadline is an error saying it was never checked, not missing', async () => {
    // one connection at a time and a deadline too short for 60 sessions
    const res = await collectPlacement({ seeds: seeds(60, 'imap', imapProxy.port), matcher: { token: 'il-aaaaaaaa-0000000000' }, timeoutMs: 700, pollMs: 1000, idle: true, maxConnectionsPerHost: 1 });
    const missing = res.rows.filter((r) => r.placement === 'missing');
    const queued = res.rows.filter((r) => r.placement === 'error' && /^seed imap\d+@conn\.lab\.test \(IMAP 127\.0\.0\.1:\d+\): not checked: the deadline came while it waited for a connection to 127\.0\.0\.1:\d+ \(at most 1 at once per host, --max-connections\)$/.test(r.error ?? ''));
    expect(queued.length).toBeGreaterThan(20);
    // in line means never searched: the first seeds (served first) are the ones that were
    expect(res.rows.slice(0, missing.length).every((r) => r.placement === 'missing')).toBe(true);
    expect(res.rows.slice(-10).every((r) => queued.includes(r))).toBe(true);
    for (const r of res.rows) expect(['missing', 'error']).toContain(r.placement);
    expect((await imapProxy.stats()).max).toBeLessThanOrEqual(4);
  }, 120_000);

  it('a few seeds under the cap still get their IDLE connection (two per IMAP seed)', async () => {
    await imapProxy.reset();
    const res = await collectPlacement({ seeds: seeds(3, 'imap', imapProxy.port), matcher: { token: 'il-aaaaaaaa-0000000000' }, timeoutMs: 6000, pollMs: 1000, idle: true, maxConnectionsPerHost: 16 });
    expect(res.rows.map((r) => r.placement)).toEqual(['missing', 'missing', 'missing']);
    const st = await imapProxy.stats();
    expect(st.max).toBe(6);
    expect(st.total).toBe(6);
  }, 120_000);

  it('--max-connections must be a whole number from 1 to 1000 (exit 2 naming the option)', async () => {
    const file = path.join(tmp, 'seeds.yaml');
    writeFileSync(file, `seeds:\n  - address: a@conn.lab.test\n    imap: { host: 127.0.0.1, port: ${imapProxy.port}, secure: false }\n    auth: { user: a, pass: not-used-pass }\n`);
    for (const bad of ['0', '2.5', 'many']) {
      const r = await runCli(['placement', 'collect', '--seeds', file, '--token', 'il-aaaaaaaa-0000000000', '--max-connections', bad]);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/--max-connections: '.*' must be a whole number from 1 to 1000/);
    }
  }, 120_000);
});

describe('HostSlots', () => {
  it('serves never-checked seeds first, then seeds polling again, extra (IDLE) connections last; an abandoned wait gives nothing away', async () => {
    const slots = new HostSlots(1);
    const never = new AbortController().signal;
    const first = (await slots.acquire('h:1', never))!;
    const order: string[] = [];
    const gone = new AbortController();
    const wait = (name: string, kind: SlotKind, signal = never) => slots.acquire('h:1', signal, kind).then((r) => {
      order.push(r ? name : `${name}: abandoned`);
      return r;
    });
    const extra = wait('extra', SlotKind.Extra);
    const again = wait('again', SlotKind.Again);
    const dropped = wait('dropped', SlotKind.First, gone.signal);
    const fresh = wait('fresh', SlotKind.First);
    expect(slots.contended('h:1')).toBe(true);
    gone.abort();
    await dropped;
    first();
    first(); // twice is harmless
    (await fresh)!();
    (await again)!();
    expect(slots.contended('h:1')).toBe(false);
    (await extra)!();
    expect(order).toEqual(['dropped: abandoned', 'fresh', 'again', 'extra']);
    expect(slots.active('h:1')).toBe(0);
    // another host has slots of its own
    const other = (await slots.acquire('h:2', never))!;
    expect(slots.active('h:2')).toBe(1);
    other();
  });
});
