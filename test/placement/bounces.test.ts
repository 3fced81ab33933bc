// Bounces: DSNs (RFC 3464) in the envelope sender's mailbox turn a copy the relay
// accepted and the receiver later refused into `bounced`, with the status code
// and the remote server's text. On the lab MX in relay mode (refusals as DSNs).
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import YAML from 'yaml';
import { startLab, type Lab } from '../../src/lab/index.ts';
import { parseDsn, bouncesFromDsn } from '../../src/placement/bounces.ts';
import { parseSeeds } from '../../src/placement/seeds.ts';
import { validateReport } from '../../src/report/validate.ts';
import { runCli, ROOT } from '../helpers/cli.ts';

describe('DSN parsing', () => {
  it('reads the per-recipient fields and the returned headers of a multipart/report', () => {
    const dsn = parseDsn(readFileSync(path.join(ROOT, 'fixtures/messages/placement-dsn.eml')))!;
    expect(dsn.reportingMta).toBe('mx.gmail.lab');
    expect(dsn.recipients).toEqual([{
      finalRecipient: 'seed1@gmail.lab', originalRecipient: 'seed1@gmail.lab', action: 'failed', status: '5.7.26',
      diagnostic: "550-5.7.26 Unauthenticated email from broken.lab is not accepted due to domain's DMARC policy.", remoteMta: 'gmail-smtp-in.l.google.com',
    }]);
    expect(dsn.originalHeaders).toContain('X-Inboxlens-Token: il-abc123');
    const seeds = parseSeeds('seeds:\n  - address: Seed1@gmail.lab\n    imap: { host: h }\n    auth: { user: u, pass: pppp }\n', 's.yaml').seeds;
    expect(bouncesFromDsn(dsn, { token: 'il-abc123' }, seeds).get('Seed1@gmail.lab')).toMatchObject({ source: 'dsn', status: '5.7.26', remoteMta: 'gmail-smtp-in.l.google.com' });
    // a DSN about another run is not this run's bounce
    expect(bouncesFromDsn(dsn, { token: 'il-other-run' }, seeds).size).toBe(0);
    expect(parseDsn('From: a@b\r\nSubject: not a report\r\n\r\nhello\r\n')).toBeUndefined();
  });
});

describe('bounces on the lab (relay mode)', () => {
  let lab: Lab;
  beforeAll(async () => {
    lab = await startLab({ providers: ['strict', 'generic'], imapSeeds: 2, pop3Seeds: 0, bounces: 'dsn' });
  });
  afterAll(async () => {
    await lab?.stop();
  });

  it('turns the strict provider\'s DSN into bounced with 5.7.26; the other seed is spam', async () => {
    const u = lab.dovecot.users.find((x) => x.user === lab.senders.broken.envelopeFrom)!;
    const seedsDoc = YAML.parse(readFileSync(lab.seedsFile, 'utf8'));
    const bouncesFile = path.join(lab.dir, 'bounces.yaml');
    writeFileSync(bouncesFile, YAML.stringify({ ...seedsDoc.bounces, address: u.user, auth: { user: u.user, pass: u.pass } }));
    const b = lab.senders.broken;
    const r = await runCli(['placement', 'run', '--seeds', lab.seedsFile, '--from', b.from, '--envelope-from', b.envelopeFrom, '--smtp', lab.smtpUrl, '--smtp-ca', lab.caFile,
      '--bounces', bouncesFile, '--timeout', '60s', '--poll-interval', '500ms', '--resolver', lab.dns.address, '--json'], { timeoutMs: 90_000 });
    const d = r.json();
    expect(validateReport(d)).toEqual([]);
    const c = d.targets[0].checks[0];
    const rows = Object.fromEntries(c.data.rows.map((x: any) => [x.seed, x]));
    const strict = lab.seeds.find((s) => s.labProvider === 'strict')!.address;
    const generic = lab.seeds.find((s) => s.labProvider === 'generic')!.address;
    // the relay said 250 to everything
    expect(c.data.send.every((s: any) => s.status === 'accepted')).toBe(true);
    expect(rows[strict]).toMatchObject({ placement: 'bounced', bounce: { source: 'dsn', status: '5.7.26', action: 'failed', remoteMta: 'mx.lab.test', reportingMta: 'mx.lab.test' } });
    expect(rows[strict].bounce.diagnostic).toMatch(/550 5\.7\.26 .*DMARC/);
    expect(rows[generic].placement).toBe('spam');
    expect(c.data.bounces).toMatchObject({ mailbox: u.user, dsns: 1 });
    const f = c.findings.find((x: any) => x.code === 'placement.bounced');
    expect(f.severity).toBe('error');
    expect(f.evidence[0].note).toMatch(/DSN 5\.7\.26/);
    expect(r.code).toBe(1);
    expect(r.stdout + r.stderr).not.toContain(u.pass);
  });
});
