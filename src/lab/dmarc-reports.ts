// The lab MX as a DMARC reporter: after a campaign, each simulated provider mails
// back an aggregate report (RFC 7489 Appendix C, as extended by RFC 9990) for the
// messages it received from each author domain, so that the whole loop —
// pre-flight, send, placement, reports — runs without the internet. The XML is
// built with fast-xml-parser's XMLBuilder (already a dependency), not by hand.
import { randomBytes } from 'node:crypto';
import { XMLBuilder } from 'fast-xml-parser';

/** What a receiver records of one message for its aggregate report. */
export interface ReportFacts {
  sourceIp: string;
  headerFrom: string;
  envelopeFrom: string;
  spf: { domain: string; result: string };
  dkim: { domain: string; selector: string; result: string }[];
  /** the DMARC evaluation: pass when SPF or DKIM aligned */
  dkimAligned: boolean;
  spfAligned: boolean;
  /** what the receiver did: none (delivered), quarantine (to spam), reject */
  disposition: 'none' | 'quarantine' | 'reject';
  /** the published policy as discovered (the policy domain and its tags) */
  policy?: { domain: string; p: string; sp?: string; np?: string; adkim: 'r' | 's'; aspf: 'r' | 's'; testing: boolean };
  at: Date;
}

export interface Reporter {
  /** the reporting organisation ("Google (lab)") and where its reports come from */
  org: string;
  email: string;
}

export interface AggregateReport {
  reporter: Reporter;
  domain: string;
  reportId: string;
  xml: string;
  /** messages counted, over all rows */
  messages: number;
}

const builder = new XMLBuilder({ ignoreAttributes: false, format: true, suppressEmptyNode: true });

/**
 * One aggregate report per author domain for what this reporter received, rows
 * grouped as receivers group them: by source IP and identical evaluation.
 */
export function aggregateReports(reporter: Reporter, facts: ReportFacts[], opts: { begin?: Date; end?: Date } = {}): AggregateReport[] {
  const byDomain = new Map<string, ReportFacts[]>();
  for (const f of facts) {
    const d = f.headerFrom.toLowerCase();
    byDomain.set(d, [...(byDomain.get(d) ?? []), f]);
  }
  const out: AggregateReport[] = [];
  for (const [domain, list] of byDomain) {
    const rows = new Map<string, { f: ReportFacts; count: number }>();
    for (const f of list) {
      const key = JSON.stringify([f.sourceIp, f.disposition, f.dkimAligned, f.spfAligned, f.envelopeFrom, f.spf, f.dkim]);
      const row = rows.get(key);
      if (row) row.count++;
      else rows.set(key, { f, count: 1 });
    }
    const times = list.map((f) => f.at.getTime());
    const begin = Math.floor((opts.begin?.getTime() ?? Math.min(...times)) / 1000);
    const end = Math.ceil((opts.end?.getTime() ?? Math.max(...times)) / 1000);
    const reportId = `${reporter.org.toLowerCase().replace(/[^a-z0-9]+/g, '-')}-${begin}-${randomBytes(4).toString('hex')}`;
    const pol = list.find((f) => f.policy)?.policy;
    const doc = {
      '?xml': { '@_version': '1.0', '@_encoding': 'UTF-8' },
      feedback: {
        '@_xmlns': 'urn:ietf:params:xml:ns:dmarc-2.0',
        version: '2.0',
        report_metadata: {
          org_name: reporter.org,
          email: reporter.email,
          report_id: reportId,
          date_range: { begin, end },
        },
        policy_published: {
          domain: pol?.domain ?? domain,
          ...(pol ? { adkim: pol.adkim, aspf: pol.aspf, p: pol.p, ...(pol.sp ? { sp: pol.sp } : {}), ...(pol.np ? { np: pol.np } : {}), testing: pol.testing ? 'y' : 'n', discovery_method: 'treewalk' } : { p: 'none' }),
        },
        record: [...rows.values()].map(({ f, count }) => ({
          row: {
            source_ip: f.sourceIp,
            count,
            policy_evaluated: {
              disposition: f.disposition,
              dkim: f.dkimAligned ? 'pass' : 'fail',
              spf: f.spfAligned ? 'pass' : 'fail',
            },
          },
          identifiers: { envelope_from: f.envelopeFrom.split('@').pop() ?? '', header_from: domain },
          auth_results: {
            ...(f.dkim.length ? { dkim: f.dkim.map((d) => ({ domain: d.domain, selector: d.selector, result: d.result })) } : {}),
            spf: { domain: f.spf.domain, scope: 'mfrom', result: f.spf.result },
          },
        })),
      },
    };
    out.push({ reporter, domain, reportId, xml: builder.build(doc) as string, messages: list.length });
  }
  return out;
}
