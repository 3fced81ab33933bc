// Summary lines as real runs showed them wrong (issue 12, "Real servers"): one
// denominator for counts and rates ("3 of 8 spam" beside "spam 43%"; "1 of 8 POP3
// seeds" with 2 POP3 seeds), and no "authentication passed at the receiver" for
// copies that carried no Authentication-Results. Pure functions over a fact set.
import { describe, expect, it } from 'vitest';
import { placementFindings, smtpReply, summarize } from '../../src/placement/summary.ts';
import type { PlacementRow } from '../../src/placement/types.ts';

const row = (seed: string, placement: PlacementRow['placement'], extra: Partial<PlacementRow> = {}): PlacementRow => ({ seed: `${seed}@lab.test`, provider: 'generic', protocol: 'imap', placement, ...extra });

// 8 generic seeds: 6 IMAP (3 spam without Authentication-Results, 2 inbox, 1 not checked), 2 POP3
const ROWS: PlacementRow[] = [
  row('s1', 'spam', { folder: 'Junk' }),
  row('s2', 'spam', { folder: 'Junk' }),
  row('s3', 'spam', { folder: 'Junk' }),
  row('i1', 'inbox', { folder: 'INBOX' }),
  row('i2', 'inbox', { folder: 'INBOX' }),
  row('e1', 'error', { error: 'seed e1@lab.test (IMAP 127.0.0.1:143): login refused' }),
  row('p1', 'not-in-inbox', { protocol: 'pop3' }),
  row('p2', 'inbox', { protocol: 'pop3' }),
];

describe('placement summary lines', () => {
  const findings = placementFindings(ROWS);
  const by = (code: string) => findings.find((x) => x.code === code)!;

  it('counts over the seeds that could be checked, the denominator of the rates', () => {
    const sm = summarize(ROWS);
    expect(Math.round(sm.providers.generic!.rates.spam * 100)).toBe(43);
    // 3 of 7 is the 43 % beside it; the seed that could not be checked is said apart
    expect(by('placement.spam').summary).toBe('3 of 7 generic seed(s) (1 more not checked) put the copy in spam');
    expect(by('placement.inbox').summary).toBe('3 of 7 seed(s) received the copy in the inbox (43%)');
  });

  it('POP3 counts are over the POP3 seeds', () => {
    expect(by('placement.not-in-inbox').summary).toBe('1 of 2 generic POP3 seed(s) did not show the copy');
  });

  it('never says authentication passed at the receiver when the copies carried no Authentication-Results', () => {
    const spam = by('placement.spam');
    expect(spam.detail).not.toMatch(/Authentication passed/);
    expect(spam.detail).toMatch(/no Authentication-Results/);
    // with a receiver's verdict on some copies, what passed is said of those only
    const mixed = placementFindings([
      row('a', 'spam', { receiverAuth: { authservId: 'mx.lab.test', spf: { result: 'pass' }, dkim: [{ result: 'pass' }], dmarc: { result: 'pass' }, raw: 'mx.lab.test; spf=pass; dkim=pass; dmarc=pass' } }),
      row('b', 'spam'),
    ]).find((x) => x.code === 'placement.spam')!;
    expect(mixed.detail).toMatch(/^Authentication passed at the receiver for the 1 copy that carried Authentication-Results \(1 carried none\)/);
  });

  it('a seed error in the evidence names its seed even when the error itself names only the host', () => {
    const f = placementFindings([row('x', 'error', { error: 'IMAP 127.0.0.1:143: timed out (ETIMEDOUT)' })]).find((x) => x.code === 'placement.seed-error')!;
    expect(f.evidence![0]!.note).toBe('x@lab.test: IMAP 127.0.0.1:143: timed out (ETIMEDOUT)');
  });

  it('an SMTP reply is written with its code once', () => {
    expect(smtpReply(550, '550 5.1.1 <x@lab.test>: Recipient address rejected')).toBe('550 5.1.1 <x@lab.test>: Recipient address rejected');
    expect(smtpReply(452, '4.5.3 too many recipients')).toBe('452 4.5.3 too many recipients');
    expect(smtpReply(451, undefined)).toBe('451');
    expect(smtpReply('5.1.1', 'smtp; 550 5.1.1 no such user')).toBe('5.1.1 smtp; 550 5.1.1 no such user');
  });
});
