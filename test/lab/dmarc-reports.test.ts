// The lab MX reports back like a receiver: after a campaign from the good and the
// broken sender, each simulated provider's DMARC aggregate report (RFC 9990 XML)
// counts what it received from each author domain, with the disposition it applied.
import { XMLParser } from 'fast-xml-parser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { placement } from '../../src/engine/api.ts';
import { startLab, type Lab } from '../../src/lab/index.ts';

let lab: Lab;
beforeAll(async () => {
  lab = await startLab({ providers: ['gmail', 'outlook', 'strict'], imapSeeds: 3, pop3Seeds: 0 });
}, 120_000);
afterAll(async () => {
  await lab?.stop();
});

const send = (sender: 'good' | 'broken') => {
  const s = lab.senders[sender];
  return placement('send', { seeds: lab.seedsFile, from: s.from, envelopeFrom: s.envelopeFrom, smtp: lab.smtpUrl, smtpCa: lab.caFile, ...(s.dkim ? { dkimKey: s.dkim.keyFile, dkimSelector: s.dkim.selector } : {}), resolvers: [lab.dns.address] });
};

describe('lab DMARC aggregate reports', () => {
  it('one report per provider and author domain: counts, alignment, disposition, the published policy', async () => {
    await send('good');
    await send('broken');
    const reports = lab.mx.aggregateReports();
    const parser = new XMLParser({ processEntities: false, isArray: (_name, jpath) => ['feedback.record', 'feedback.record.auth_results.dkim'].includes(String(jpath)) });
    const parsed = reports.map((r) => ({ r, doc: parser.parse(r.xml).feedback }));
    const find = (org: string, domain: string) => parsed.find((p) => p.r.reporter.org.startsWith(org) && p.r.domain === domain);

    const good = find('gmail', lab.senders.good.domain)!;
    expect(good.doc['@_xmlns'] ?? good.doc.version).toBeDefined();
    expect(good.doc.report_metadata.report_id).toBe(good.r.reportId);
    expect(good.doc.policy_published.domain).toBe(lab.senders.good.domain);
    expect(good.doc.policy_published.p).toBe('reject');
    const gRows = good.doc.record;
    expect(gRows.reduce((a: number, x: any) => a + Number(x.row.count), 0)).toBe(good.r.messages);
    expect(gRows[0].row.policy_evaluated).toMatchObject({ disposition: 'none', dkim: 'pass', spf: 'pass' });
    expect(gRows[0].identifiers.envelope_from).toBe(lab.senders.good.envelopeFrom.split('@').pop());
    expect(gRows[0].auth_results.dkim[0]).toMatchObject({ domain: lab.senders.good.domain, result: 'pass' });

    // the broken sender fails DMARC: filed as spam (quarantine) by gmail, refused (reject) by the strict provider
    const badGmail = find('gmail', lab.senders.broken.domain)!;
    expect(badGmail.doc.record[0].row.policy_evaluated.disposition).toBe('quarantine');
    expect(badGmail.doc.record[0].row.policy_evaluated.spf).toBe('fail');
    const strict = find('strict', lab.senders.broken.domain)!;
    expect(strict.doc.record[0].row.policy_evaluated.disposition).toBe('reject');
    // a well-formed document: begin ≤ end, numeric counts
    for (const p of parsed) {
      expect(Number(p.doc.report_metadata.date_range.begin)).toBeLessThanOrEqual(Number(p.doc.report_metadata.date_range.end));
      for (const rec of p.doc.record) expect(Number(rec.row.count)).toBeGreaterThan(0);
    }
  }, 120_000);
});
