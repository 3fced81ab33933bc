// The library's placement(): the same run `inboxlens placement run` does, in-process,
// against the embedded lab (lab DNS, Dovecot seed mailboxes, the lab MX): typed
// options in, the versioned report out; bad input is a UsageError before anything is sent.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { placement, ResultStream, UsageError, validateReport } from '../../src/index.ts';
import { startLab, type Lab } from '../../src/lab/index.ts';

let lab: Lab;
beforeAll(async () => {
  lab = await startLab({ providers: ['gmail', 'generic'], imapSeeds: 2, pop3Seeds: 1 });
}, 120_000);
afterAll(async () => {
  await lab?.stop();
});

describe('library: placement()', () => {
  it('run: sends one copy per seed and finds where each landed; live partial rows reach the stream', async () => {
    const s = lab.senders.good;
    const stream = new ResultStream();
    const partial: number[] = [];
    stream.on('event', (e: { type: string; data?: { rows?: unknown[] } }) => {
      if (e.type === 'partial' && e.data?.rows) partial.push(e.data.rows.length);
    });
    const report = await placement('run', {
      seeds: lab.seedsFile, from: s.from, envelopeFrom: s.envelopeFrom, smtp: lab.smtpUrl, smtpCa: lab.caFile,
      ...(s.dkim ? { dkimKey: s.dkim.keyFile, dkimSelector: s.dkim.selector } : {}),
      resolvers: [lab.dns.address], timeoutMs: 1000, retries: 1, timeout: '60s', stream,
    });
    expect(validateReport(report)).toEqual([]);
    expect(report.command).toBe('placement run');
    const c = report.targets[0]!.checks[0]!;
    const rows = (c.data as { rows: { seed: string; placement: string }[] }).rows;
    expect(rows).toHaveLength(lab.seeds.length);
    for (const r of rows) expect(['inbox', 'tab:promotions', 'tab:updates', 'tab:social', 'tab:forums', 'not-spam']).toContain(r.placement);
    expect(report.summary.exitCode).toBe(0);
    expect(partial.length).toBeGreaterThan(0);
  }, 120_000);

  it('collect with a token nobody sent: every seed missing, an error finding and exit code 1, never a pass', async () => {
    const report = await placement('collect', { seeds: lab.seedsFile, token: 'il-zzzzzzzz-0123456789', timeout: '3s', resolvers: [lab.dns.address] });
    const c = report.targets[0]!.checks[0]!;
    expect(c.findings.map((f) => f.code)).toContain('placement.none-arrived');
    expect(report.summary.exitCode).toBe(1);
  }, 60_000);

  it('refuses what does not belong to the action, or a token inboxlens did not make, before reading any mailbox', async () => {
    await expect(placement('watch', { seeds: lab.seedsFile, matchSubject: 'x', cleanup: true })).rejects.toThrow(/placement watch never deletes/);
    await expect(placement('collect', { seeds: lab.seedsFile, token: 'newsletter' })).rejects.toBeInstanceOf(UsageError);
    await expect(placement('collect', { seeds: lab.seedsFile, token: 'il-zzzzzzzz-0123456789', smtp: lab.smtpUrl })).rejects.toThrow(/--smtp is for sending/);
    await expect(placement('fly' as never, { seeds: lab.seedsFile })).rejects.toThrow(/'fly' is not an action/);
  });
});
