// Hostile and broken mailbox servers on loopback: every wait of a collect is
// bounded by --timeout, and a server that floods one line is refused at a cap
// real servers never reach. Each server is a few lines of net.Server, so the
// faults are exact; the test bounds the bytes each one may send.
import net from 'node:net';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.ts';

type Mode = 'imap-silent-login' | 'imap-silent-after-login' | 'imap-endless-line' | 'imap-echo-login' | 'imap-echo-plain' | 'pop3-endless-line' | 'pop3-trickle' | 'pop3-stls-silent';
const FLOOD_CAP = 300 * 1024 * 1024; // what a flooding server may send at most, whatever the client does
const servers: net.Server[] = [];
const sent: Record<string, number> = {};
let dir: string;

function flood(sock: net.Socket, mode: Mode, prefix: string): void {
  const chunk = Buffer.alloc(64 * 1024, 0x61);
  sock.write(prefix);
  const push = () => {
    while (!sock.destroyed && (sent[mode] ?? 0) < FLOOD_CAP) {
      sent[mode] = (sent[mode] ?? 0) + chunk.length;
      if (!sock.write(chunk)) return void sock.once('drain', push);
    }
    sock.destroy();
  };
  push();
}

function hostile(mode: Mode): Promise<number> {
  const srv = net.createServer((sock) => {
    sock.on('error', () => {});
    if (mode === 'imap-endless-line') return flood(sock, mode, '* OK ');
    if (mode.startsWith('pop3')) {
      sock.write('+OK POP3 ready\r\n');
      let buf = '';
      sock.on('data', (d) => {
        buf += d.toString('latin1');
        let i;
        while ((i = buf.indexOf('\r\n')) >= 0) {
          const line = buf.slice(0, i);
          buf = buf.slice(i + 2);
          const verb = line.split(' ')[0]!.toUpperCase();
          if (verb === 'CAPA') sock.write(`+OK\r\n${mode === 'pop3-stls-silent' ? 'STLS\r\n' : ''}USER\r\nUIDL\r\nTOP\r\n.\r\n`);
          // says yes to STLS, then never speaks TLS (nor anything else)
          else if (verb === 'STLS') sock.write('+OK begin TLS\r\n');
          else if (verb === 'USER' || verb === 'PASS') sock.write('+OK\r\n');
          else if (verb === 'UIDL' && mode === 'pop3-endless-line') flood(sock, mode, '+OK ');
          else if (verb === 'UIDL') {
            // one byte a second: never idle long enough for a socket timeout, never done
            sock.write('+OK\r\n1 ');
            const t = setInterval(() => (sock.destroyed ? clearInterval(t) : sock.write('a')), 1000);
          } else if (verb === 'QUIT') sock.end('+OK bye\r\n');
        }
      });
      return;
    }
    const caps = mode === 'imap-echo-login' ? 'IMAP4rev1' : 'IMAP4rev1 AUTH=PLAIN';
    sock.write(`* OK [CAPABILITY ${caps}] hostile ready\r\n`);
    let buf = '';
    let pending: string | undefined;
    sock.on('data', (d) => {
      buf += d.toString('latin1');
      let i;
      while ((i = buf.indexOf('\r\n')) >= 0) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 2);
        if (pending) {
          // the SASL response after a continuation: echoed back, as careless servers do
          sock.write(`${pending} NO [AUTHENTICATIONFAILED] bad credentials ${line}\r\n`);
          pending = undefined;
          continue;
        }
        const [tag, verb] = line.split(' ');
        const v = (verb ?? '').toUpperCase();
        if (v === 'CAPABILITY') sock.write(`* CAPABILITY ${caps}\r\n${tag} OK done\r\n`);
        else if (mode.startsWith('imap-echo') && v === 'AUTHENTICATE' && line.split(' ').length === 3) {
          pending = tag;
          sock.write('+ \r\n');
        } else if (mode.startsWith('imap-echo') && (v === 'LOGIN' || v === 'AUTHENTICATE')) sock.write(`${tag} NO [AUTHENTICATIONFAILED] rejected: ${line}\r\n`);
        else if (v === 'LOGIN' || v === 'AUTHENTICATE') {
          // silent-login never answers; silent-after-login answers this and nothing after it
          if (mode === 'imap-silent-after-login') sock.write(`${tag} OK logged in\r\n`);
        } else if (v === 'LOGOUT') sock.end(`* BYE\r\n${tag} OK bye\r\n`);
      }
    });
  });
  servers.push(srv);
  return new Promise((resolve) => srv.listen(0, '127.0.0.1', () => resolve((srv.address() as net.AddressInfo).port)));
}

async function seedsFile(name: string, proto: 'imap' | 'pop3', port: number, pass = 'hostile-pass-1'): Promise<string> {
  const f = path.join(dir, `${name}.yaml`);
  await writeFile(f, `seeds:\n  - address: seed@hostile.test\n    provider: generic\n    ${proto}: { host: 127.0.0.1, port: ${port}, secure: false, allowPlaintext: true }\n    auth: { user: seed, pass: ${JSON.stringify(pass)} }\n`);
  return f;
}

async function collect(file: string) {
  // a hang guard, not a speed test: the old code ran for 300 s; --timeout is 6 s
  const r = await runCli(['placement', 'collect', '--seeds', file, '--token', 'il-hostile1-0000000000', '--timeout', '6s', '--json'], { timeoutMs: 120_000 });
  const c = r.json().targets[0].checks[0];
  return { r, c, row: c.data.rows[0] };
}

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'inboxlens-hostile-'));
});
afterAll(async () => {
  for (const s of servers) s.close();
  await rm(dir, { recursive: true, force: true });
});

describe.concurrent('every wait of a collect is bounded by --timeout', () => {
  it('IMAP: a server that never answers the login, and one that answers it and then nothing: unknown with the step, not a hang', async () => {
    for (const mode of ['imap-silent-login', 'imap-silent-after-login'] as const) {
      const { r, c, row } = await collect(await seedsFile(mode, 'imap', await hostile(mode)));
      expect(r.code).toBe(3);
      expect(c.status).toBe('unknown');
      expect(row.placement).toBe('error');
      expect(row.error).toMatch(/connecting and logging in: the server (did not answer within 6 s|had not answered when the watch ended)/);
      expect(r.stdout + r.stderr).not.toContain('hostile-pass-1');
    }
  }, 150_000);

  it('POP3: a server that trickles one byte a second never ending its answer is cut off at the step deadline', async () => {
    const { r, row } = await collect(await seedsFile('trickle', 'pop3', await hostile('pop3-trickle')));
    expect(r.code).toBe(3);
    expect(row.placement).toBe('error');
    expect(row.error).toMatch(/UIDL: (the server had not answered when the watch ended|.*no complete answer within)/);
  }, 150_000);

  it('POP3: a server that accepts STLS and then never does the TLS handshake: unknown at the deadline, not a hang', async () => {
    // the old code took the socket's timeout away for the handshake and waited forever
    const { r, row } = await collect(await seedsFile('stls-silent', 'pop3', await hostile('pop3-stls-silent')));
    expect(r.code).toBe(3);
    expect(row.placement).toBe('error');
    expect(row.error).toMatch(/STLS|TLS|had not answered when the watch ended/);
  }, 150_000);
});

describe.concurrent('a server that floods one line is refused at a cap real servers never reach', () => {
  it('IMAP: an endless greeting line ends the seed with the reason after a few hundred KB', async () => {
    const { row } = await collect(await seedsFile('imap-flood', 'imap', await hostile('imap-endless-line')));
    expect(row.placement).toBe('error');
    expect(row.error).toMatch(/larger than inboxlens accepts/);
    // the cap is 256 KB; the socket buffers in flight add a few MB at most
    expect(sent['imap-endless-line']).toBeLessThan(32 * 1024 * 1024);
  }, 150_000);

  it('POP3: an endless UIDL line ends the seed with the reason', async () => {
    const { row } = await collect(await seedsFile('pop3-flood', 'pop3', await hostile('pop3-endless-line')));
    expect(row.placement).toBe('error');
    expect(row.error).toMatch(/line longer than 64 KB/);
    expect(sent['pop3-endless-line']).toBeLessThan(32 * 1024 * 1024);
  }, 150_000);
});

describe('a server that echoes the credentials back never gets them into any output', () => {
  it('IMAP LOGIN (quoted) and AUTHENTICATE PLAIN (base64) echoed in the refusal: masked in stdout, stderr, JSON, JUnit, Markdown and history', async () => {
    const pass = 'pa"ss\\word-77';
    const forms = [pass, pass.replace(/\\/g, '\\\\').replace(/"/g, '\\"'), JSON.stringify(pass).slice(1, -1), Buffer.from(`\0seed\0${pass}`).toString('base64'), encodeURIComponent(pass)];
    for (const mode of ['imap-echo-login', 'imap-echo-plain'] as const) {
      const file = await seedsFile(mode, 'imap', await hostile(mode), pass);
      const out = { junit: path.join(dir, `${mode}.xml`), md: path.join(dir, `${mode}.md`), db: path.join(dir, `${mode}.db`) };
      const r = await runCli(['placement', 'collect', '--seeds', file, '--token', 'il-hostile1-0000000000', '--timeout', '4s', '--json', '--junit', out.junit, '--markdown', out.md, '--db', out.db], { timeoutMs: 60_000 });
      const row = r.json().targets[0].checks[0].data.rows[0];
      expect(row.placement).toBe('error');
      expect(row.error).toMatch(/login refused/);
      // the echo is there, masked
      expect(row.error).toMatch(/\[redacted\]/);
      const all = [r.stdout, r.stderr, await readFile(out.junit, 'utf8'), await readFile(out.md, 'utf8'), (await readFile(out.db)).toString('latin1')].join('\n');
      for (const f of forms) expect(all, `${mode}: ${f}`).not.toContain(f);
    }
  }, 150_000);
});
