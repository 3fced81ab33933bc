// Seed hosts through the run's resolver, and seed errors that say which seed (issue
// 12, "Real servers"): a seed's IMAP/POP3 host name resolves through --resolver like
// every other name (then the connection goes to the address and TLS names the host),
// and when several seeds share one host, each error names its own seed.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FixtureDns } from '../../src/dns/fixture-server.ts';
import { startDovecot, type Dovecot } from '../../src/lab/dovecot.ts';
import { validateReport } from '../../src/report/validate.ts';
import { runCli } from '../helpers/cli.ts';
import { startDns } from '../helpers/dns.ts';

const D = 'seeds.h-smtp.lab.test';
const USERS = [
  { user: `imap@${D}`, pass: 'pw-seedhost-imap-lab', layout: 'generic' as const },
  { user: `pop@${D}`, pass: 'pw-seedhost-pop-lab', layout: 'generic' as const },
];
let dns: FixtureDns;
let dovecot: Dovecot;
const tmp = mkdtempSync(path.join(os.tmpdir(), 'inboxlens-seedhosts-'));

beforeAll(async () => {
  dns = await startDns({ [`mail.${D}`]: { A: ['127.0.0.1'] } });
  dovecot = await startDovecot({ users: USERS });
  writeFileSync(path.join(tmp, 'ca.pem'), dovecot.caPem);
}, 60_000);
afterAll(async () => {
  await dovecot?.stop();
  await dns?.stop();
  rmSync(tmp, { recursive: true, force: true });
});

/** One collect over all four seeds, shared by the tests below. */
let run: Promise<{ c: any; rows: Record<string, any>; stdout: string }> | undefined;
function collect() {
  run ??= (async () => {
    // the lab certificate is for localhost: servername says so, the address comes from the fixture DNS
    const host = `{ host: mail.${D}, servername: localhost, secure: false, ca: ./ca.pem`;
    const file = path.join(tmp, 'seeds.yaml');
    writeFileSync(file, `seeds:
  - address: imap@${D}
    imap: ${host}, port: ${dovecot.imapPort} }
    auth: { user: imap@${D}, pass: ${USERS[0]!.pass} }
  - address: pop@${D}
    pop3: ${host}, port: ${dovecot.pop3Port} }
    auth: { user: pop@${D}, pass: ${USERS[1]!.pass} }
  - address: wrong1@${D}
    imap: { host: 127.0.0.1, port: ${dovecot.imapPort}, secure: false, ca: ./ca.pem }
    auth: { user: imap@${D}, pass: not-the-password-1 }
  - address: wrong2@${D}
    imap: { host: 127.0.0.1, port: ${dovecot.imapPort}, secure: false, ca: ./ca.pem }
    auth: { user: imap@${D}, pass: not-the-password-2 }
`);
    const r = await runCli(['placement', 'collect', '--seeds', file, '--token', 'il-aaaaaaaa-0000000000', '--timeout', '8s', '--json', '--resolver', dns.address, '--dns-timeout', '1s', '--retries', '1'], { timeoutMs: 90_000 });
    const doc = r.json();
    expect(validateReport(doc)).toEqual([]);
    const c = doc.targets[0].checks[0];
    return { c, rows: Object.fromEntries(c.data.rows.map((x: any) => [x.seed, x])), stdout: r.stdout };
  })();
  return run;
}

describe('seed hosts', () => {
  it('resolve through --resolver (IMAP and POP3), and TLS still verifies against the name given', async () => {
    const { rows } = await collect();
    // searched everywhere, nothing there: the mailboxes were reached through the name
    expect(rows[`imap@${D}`]).toMatchObject({ placement: 'missing' });
    expect(rows[`pop@${D}`]).toMatchObject({ placement: 'not-in-inbox' });
  }, 120_000);

  it('seeds sharing a host each name themselves in their errors (and the finding\'s evidence)', async () => {
    const { c, rows, stdout } = await collect();
    for (const w of ['wrong1', 'wrong2']) {
      expect(rows[`${w}@${D}`].placement).toBe('error');
      expect(rows[`${w}@${D}`].error).toMatch(new RegExp(`^seed ${w}@${D.replace(/\./g, '\\.')} \\(IMAP 127\\.0\\.0\\.1:${dovecot.imapPort}\\): login refused`));
    }
    const seedError = c.findings.find((x: any) => x.code === 'placement.seed-error');
    expect(seedError.evidence.map((e: any) => e.note)).toEqual([expect.stringContaining(`wrong1@${D}`), expect.stringContaining(`wrong2@${D}`)]);
    // the password never appears
    expect(stdout).not.toContain('not-the-password');
  }, 120_000);
});
