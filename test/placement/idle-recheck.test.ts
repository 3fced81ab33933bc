// IMAP IDLE is not enough (issue 12, "Real servers"): Cyrus without idled reports
// new mail during IDLE only every 60 s, so a copy that arrived mid-watch was called
// missing. Here a loopback proxy in front of the lab Dovecot plays such a server: it
// holds every untagged response the server sends during IDLE until the client's next
// command (DONE). A copy delivered to INBOX mid-watch must still be found before the
// deadline, because a folder watched with IDLE is searched again at an interval.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDovecot, type Dovecot } from '../../src/lab/dovecot.ts';
import { collectPlacement } from '../../src/placement/collect.ts';
import type { Seed } from '../../src/placement/types.ts';
import { startChildProxy } from '../helpers/child-proxy.ts';

interface HoldingProxy { port: number; stats(): Promise<{ idles: number; held: number; released: number }>; close(): Promise<void> }

// A TCP proxy to 127.0.0.1:PORT in a process of its own. Server lines are read whole:
// STARTTLS is taken out of every capability list (so the session stays readable), and
// while the client is in IDLE every untagged line ("* 3 EXISTS") is held back until
// the client sends DONE. Commands on stdin: any line prints the counters as JSON.
const PROXY = `
const net = require('node:net');
const target = Number(process.argv[1]);
const st = { idles: 0, held: 0, released: 0 };
const server = net.createServer((client) => {
  const up = net.connect(target, '127.0.0.1');
  let idling = false, held = [], fromServer = '', fromClient = '';
  const done = () => { client.destroy(); up.destroy(); };
  client.on('error', done).on('close', done);
  up.on('error', done).on('close', done);
  up.on('data', (d) => {
    fromServer += d.toString('latin1');
    let i;
    while ((i = fromServer.indexOf('\\n')) >= 0) {
      let line = fromServer.slice(0, i + 1);
      fromServer = fromServer.slice(i + 1);
      if (/CAPABILITY/i.test(line)) line = line.replace(/ STARTTLS/gi, '');
      if (idling && line.startsWith('* ')) { held.push(line); st.held++; continue; }
      client.write(Buffer.from(line, 'latin1'));
    }
  });
  client.on('data', (d) => {
    fromClient += d.toString('latin1');
    let i;
    while ((i = fromClient.indexOf('\\n')) >= 0) {
      const line = fromClient.slice(0, i).replace(/\\r$/, '');
      fromClient = fromClient.slice(i + 1);
      if (/^\\S+ IDLE$/i.test(line)) { idling = true; st.idles++; }
      else if (idling && /^DONE$/i.test(line)) {
        idling = false;
        for (const h of held) client.write(Buffer.from(h, 'latin1'));
        st.released += held.length;
        held = [];
      }
    }
    up.write(d);
  });
});
server.listen(0, '127.0.0.1', () => process.stdout.write(JSON.stringify({ port: server.address().port }) + '\\n'));
process.stdin.on('data', () => process.stdout.write(JSON.stringify(st) + '\\n'));
process.stdin.on('end', () => process.exit(0));
`;

async function holdingProxy(target: number): Promise<HoldingProxy> {
  const child = await startChildProxy(PROXY, [String(target)]);
  return { port: child.port, stats: () => child.ask('stats'), close: () => child.close() };
}

const USER = { user: 'held@idle.lab.test', pass: 'pw-idle-held-lab', layout: 'generic' as const };
const TOKEN = 'il-idlehold-0123456789';
let dovecot: Dovecot;
let proxy: HoldingProxy;

beforeAll(async () => {
  dovecot = await startDovecot({ users: [USER] });
  proxy = await holdingProxy(dovecot.imapPort);
}, 60_000);
afterAll(async () => {
  await proxy?.close();
  await dovecot?.stop();
});

function seed(): Seed {
  return {
    index: 1,
    address: USER.user,
    provider: 'generic',
    // plaintext through the proxy (it hides STARTTLS) so it can read the session; loopback only
    access: { protocol: 'imap', host: '127.0.0.1', port: proxy.port, secure: false, allowPlaintext: true, insecure: false },
    auth: { user: USER.user, pass: USER.pass },
  };
}

describe('IMAP IDLE that never announces new mail', () => {
  it('a copy delivered to INBOX mid-watch is found before the deadline, though the server holds its EXISTS during IDLE', async () => {
    const deadline = 60_000;
    const collecting = collectPlacement({ seeds: [seed()], matcher: { token: TOKEN }, timeoutMs: deadline, pollMs: 1000, idleRecheckMs: 2000, idle: true });
    // both connections of the seed are in IDLE (INBOX, and spam between polls): the first search is over
    for (let i = 0; i < 400 && (await proxy.stats()).idles < 2; i++) await new Promise((r) => setTimeout(r, 100));
    expect((await proxy.stats()).idles).toBeGreaterThanOrEqual(2);
    await dovecot.deliver(USER.user, 'INBOX', `From: sender@example.org\r\nTo: ${USER.user}\r\nSubject: held copy [${TOKEN}]\r\nX-Inboxlens-Token: ${TOKEN}\r\nMessage-ID: <held.1@example.org>\r\n\r\ninboxlens test ${TOKEN}\r\n`);
    const res = await collecting;
    expect(res.rows).toHaveLength(1);
    expect(res.rows[0]).toMatchObject({ seed: USER.user, placement: 'inbox', folder: 'INBOX' });
    // it was found before the deadline, not by it
    expect(res.durationMs).toBeLessThan(deadline);
    // the proxy really held what the server said during IDLE
    expect((await proxy.stats()).held).toBeGreaterThan(0);
  }, 150_000);
});
