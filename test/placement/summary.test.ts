// What a found copy says: the receiver's Authentication-Results and spam headers
// in the dialects of the big providers, arrival dates, placements, rates and findings.
import { describe, expect, it } from 'vitest';
import { authFailures, placementOf, receivedDate, receiverAuth, spamHeaders } from '../../src/placement/classify.ts';
import { median, placementFindings, summarize } from '../../src/placement/summary.ts';
import type { PlacementRow } from '../../src/placement/types.ts';
import { validateReport } from '../../src/report/validate.ts';

const GMAIL = [
  'Delivered-To: seed1@gmail.com',
  'Received: by 2002:a05:6a10:1234 with SMTP id abc;',
  '        Tue, 3 Jun 2025 03:00:02 -0700 (PDT)',
  'ARC-Authentication-Results: i=1; mx.google.com; dkim=pass header.i=@example.com',
  'Authentication-Results: mx.google.com;',
  '       dkim=pass header.i=@example.com header.s=s1 header.b=Ab1;',
  '       spf=pass (google.com: domain of bounce@mail.example.com designates 192.0.2.10 as permitted sender) smtp.mailfrom=bounce@mail.example.com;',
  '       dmarc=pass (p=REJECT sp=REJECT dis=NONE) header.from=example.com',
  'Received: from mail.example.com (mail.example.com. [192.0.2.10]) by mx.google.com; Tue, 3 Jun 2025 03:00:01 -0700 (PDT)',
  'Subject: hi',
  '',
  'body',
].join('\r\n');

const OUTLOOK = [
  'Authentication-Results: spf=softfail (sender IP is 203.0.113.7) smtp.mailfrom=broken.example; dkim=none (message not signed) header.d=none;dmarc=fail action=oreject header.from=broken.example;compauth=fail reason=000',
  'X-MS-Exchange-Organization-SCL: 6',
  'X-Forefront-Antispam-Report: CIP:203.0.113.7;CTRY:;LANG:en;SCL:6;SRV:;IPV:NLI;SFV:SPM;H:x;PTR:;CAT:SPOOF;SFS:;DIR:INB;',
  'Subject: x',
  '',
  'b',
].join('\r\n');

describe('reading what the receiver said', () => {
  it('parses Gmail\'s Authentication-Results (the topmost one) with domains and selector', () => {
    const a = receiverAuth(GMAIL)!;
    expect(a.authservId).toBe('mx.google.com');
    expect(a.spf).toMatchObject({ result: 'pass', domain: 'mail.example.com' });
    expect(a.dkim).toEqual([expect.objectContaining({ result: 'pass', domain: 'example.com', selector: 's1' })]);
    expect(a.dmarc).toMatchObject({ result: 'pass', domain: 'example.com', comment: 'p=REJECT sp=REJECT dis=NONE' });
    expect(authFailures(a)).toEqual([]);
    // the topmost Received is the receiving MX's own stamp
    expect(receivedDate(GMAIL)?.toISOString()).toBe('2025-06-03T10:00:02.000Z');
  });

  it('parses Outlook\'s verdicts and spam scores (SCL, Forefront)', () => {
    const a = receiverAuth(OUTLOOK)!;
    expect(a.spf).toMatchObject({ result: 'softfail', domain: 'broken.example' });
    expect(a.dmarc).toMatchObject({ result: 'fail', domain: 'broken.example' });
    expect(authFailures(a)).toEqual(['dmarc=fail (header.from=broken.example)', 'spf=softfail (smtp.mailfrom=broken.example)']);
    expect(spamHeaders(OUTLOOK)).toMatchObject({ scl: 6, forefront: expect.stringContaining('SFV:SPM') });
    expect(spamHeaders('X-Spam-Status: Yes, score=7.3 required=5.0 tests=A,B\r\nX-Spam-Flag: YES\r\n\r\n')).toEqual({ spamStatus: 'Yes, score=7.3 required=5.0 tests=A,B', spamScore: 7.3, spamFlag: 'YES', verdicts: [{ filter: 'spamassassin', verdict: 'spam', score: 7.3, threshold: 5, notes: ['score 7.3 against a threshold of 5'] }] });
    expect(receiverAuth('Subject: none\r\n\r\nx')).toBeUndefined();
  });

  it('maps folders to placements', () => {
    const f = (role: any, extra: any = {}) => ({ folder: { path: extra.path ?? 'X', role, ...extra }, message: { uid: 1, copies: 1 }, seenAt: new Date() }) as any;
    expect(placementOf(f('inbox'), 'imap', 'generic')).toBe('inbox');
    expect(placementOf({ ...f('inbox'), tab: 'promotions' }, 'imap', 'gmail')).toBe('tab:promotions');
    expect(placementOf({ ...f('inbox'), tab: 'primary' }, 'imap', 'gmail')).toBe('inbox');
    expect(placementOf(f('tab', { tab: 'social' }), 'imap', 'gmail')).toBe('tab:social');
    expect(placementOf(f('junk'), 'imap', 'outlook')).toBe('spam');
    expect(placementOf(f('trash', { path: 'Deleted Items' }), 'imap', 'outlook')).toBe('other:Deleted Items');
    expect(placementOf(f('all', { path: '[Gmail]/All Mail' }), 'imap', 'gmail')).toBe('other:[Gmail]/All Mail');
    expect(placementOf(f('inbox'), 'pop3', 'gmail')).toBe('not-spam');
    expect(placementOf(f('inbox'), 'pop3', 'yahoo')).toBe('inbox');
  });
});

describe('summary and findings', () => {
  const row = (seed: string, provider: any, placement: any, extra: Partial<PlacementRow> = {}): PlacementRow => ({ seed, provider, protocol: 'imap', placement, ...extra });
  const rows: PlacementRow[] = [
    row('a@gmail.com', 'gmail', 'inbox', { timeToArrivalMs: 2000 }),
    row('b@gmail.com', 'gmail', 'tab:promotions', { folder: 'INBOX', timeToArrivalMs: 4000 }),
    row('c@outlook.com', 'outlook', 'spam', { folder: 'Junk Email', receiverAuth: receiverAuth(OUTLOOK)!, spam: spamHeaders(OUTLOOK)! }),
    row('d@yahoo.com', 'yahoo', 'missing'),
    row('e@yahoo.com', 'yahoo', 'error', { error: 'seed e@yahoo.com: login refused' }),
    row('f@mail.example', 'generic', 'bounced', { bounce: { source: 'dsn', status: '5.7.26', diagnostic: '550 5.7.26 DMARC' } }),
  ];

  it('computes rates over the seeds that answered, per provider, and time to inbox', () => {
    const s = summarize(rows);
    expect(s.total).toBe(6);
    expect(s.counts).toEqual({ inbox: 1, tab: 1, spam: 1, missing: 1, error: 1, bounced: 1 });
    expect(s.rates).toEqual({ inbox: 0.2, tab: 0.2, spam: 0.2, missing: 0.4 });
    expect(s.providers.yahoo).toEqual({ total: 2, counts: { missing: 1, error: 1 }, rates: { inbox: 0, tab: 0, spam: 0, missing: 1 } });
    expect(s.timeToInbox).toEqual({ n: 2, medianMs: 3000, maxMs: 4000 });
    expect(median([5, 1, 3])).toBe(3);
  });

  it('turns rows into findings with evidence, fix and reference', () => {
    const fs = placementFindings(rows, { timeoutMs: 60_000 });
    const by = (code: string) => fs.filter((f) => f.code === code);
    expect(by('placement.spam')).toHaveLength(1);
    expect(by('placement.spam')[0]).toMatchObject({ severity: 'error', subject: 'outlook', ref: expect.stringContaining('outlook') });
    expect(by('placement.spam')[0]!.evidence![0]!.note).toMatch(/c@outlook\.com: Junk Email — spf=softfail dkim=none dmarc=fail; SCL 6/);
    expect(by('placement.tab')[0]).toMatchObject({ severity: 'info', summary: '1 of 2 gmail seed(s) filed the copy under the promotions tab' });
    // the rates' denominator: the yahoo seed that could not be checked is said apart (issue 12)
    expect(by('placement.missing')[0]!.summary).toBe('1 of 1 yahoo seed(s) (1 more not checked) never received the copy within 60 s');
    expect(by('placement.bounced')[0]!.evidence![0]!.note).toBe('f@mail.example: DSN 5.7.26 550 5.7.26 DMARC');
    expect(by('placement.auth-fail-at-receiver')[0]!.severity).toBe('error');
    expect(by('placement.seed-error')[0]!.evidence![0]!.note).toBe('seed e@yahoo.com: login refused');
    for (const f of fs) {
      expect(f.code.startsWith('placement.')).toBe(true);
      if (f.severity !== 'pass') expect(f.fix && f.ref).toBeTruthy();
    }
  });

  it('the rows fit the published data schema', () => {
    const data = { phase: 'collect', matcher: { token: 'il-x' }, seeds: 6, timeoutMs: 60000, idle: true, rows, summary: summarize(rows) };
    const doc = {
      schemaVersion: '1.0', tool: { name: 'inboxlens', version: '0' }, command: 'placement collect', generatedAt: new Date().toISOString(), durationMs: 1,
      targets: [{ target: 'il-x', status: 'fail', ms: 1, checks: [{ check: 'placement', title: 'p', target: 'il-x', status: 'fail', ms: 1, findings: [], data }] }],
      summary: { status: 'fail', exitCode: 1, findings: { error: 0, warn: 0, info: 0, pass: 0 }, checks: { pass: 0, warn: 0, fail: 1, unknown: 0 } },
    };
    expect(validateReport(doc)).toEqual([]);
    const bad = structuredClone(doc);
    (bad.targets[0]!.checks[0]!.data.rows as any[])[4].error = undefined;
    delete (bad.targets[0]!.checks[0]!.data.rows as any[])[4].error;
    expect(validateReport(bad).join('\n')).toMatch(/must have required property 'error'/);
  });
});
