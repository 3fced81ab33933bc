// SMTP TLS reports (RFC 8460 §4): the JSON a sending MTA mails to the address
// in the receiving domain's _smtp._tls TXT record, about sessions to its MX hosts.
import { ReportError, type TlsFailureDetail, type TlsPolicy, type TlsReport } from './types.ts';
import { decodeXml } from './aggregate.ts';

type Obj = Record<string, unknown>;
const isObj = (x: unknown): x is Obj => Boolean(x) && typeof x === 'object' && !Array.isArray(x);
const str = (x: unknown): string | undefined => (typeof x === 'string' && x.trim() ? x.trim() : undefined);

function count(x: unknown, what: string): number {
  const n = typeof x === 'string' && /^\d+$/.test(x.trim()) ? Number(x) : x;
  if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < 0) throw new ReportError('invalid-report', `${what} is not a whole number (${JSON.stringify(x)})`);
  return n;
}

function time(x: unknown, what: string): number {
  const s = str(x);
  const t = s ? Date.parse(s) : NaN;
  if (!Number.isFinite(t)) throw new ReportError('invalid-report', `${what} '${String(x)}' is not an RFC 3339 date-time`);
  return Math.floor(t / 1000);
}

export function parseTlsReport(bytes: Uint8Array): TlsReport {
  if (!bytes.length) throw new ReportError('empty', 'the file is empty');
  // RFC 8460 §4: UTF-8 JSON; the strict decoder names a bad byte's offset
  const text = decodeXml(bytes);
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw new ReportError('invalid-json', `invalid JSON: ${(e as Error).message}`);
  }
  if (!isObj(doc)) throw new ReportError('not-a-report', 'not an SMTP TLS report: the JSON is not an object');
  const org = str(doc['organization-name']);
  const reportId = str(doc['report-id']);
  const range = doc['date-range'];
  if (!org || !reportId || !isObj(range) || !Array.isArray(doc.policies)) {
    const missing = ['organization-name', 'report-id', 'date-range', 'policies'].filter((k) => doc[k as keyof typeof doc] === undefined);
    throw new ReportError(missing.length === 4 ? 'not-a-report' : 'invalid-report', `not an SMTP TLS report (RFC 8460 §4.4): ${missing.length ? `no ${missing.join(', ')}` : 'a required field is empty or of the wrong type'}`);
  }
  const warnings: string[] = [];
  const policies: TlsPolicy[] = doc.policies.map((p, i): TlsPolicy => {
    if (!isObj(p) || !isObj(p.policy) || !isObj(p.summary)) throw new ReportError('invalid-report', `policies[${i}] lacks policy or summary`);
    const pol = p.policy;
    const policyDomain = str(pol['policy-domain'])?.toLowerCase().replace(/\.$/, '');
    if (!policyDomain) throw new ReportError('invalid-report', `policies[${i}].policy has no policy-domain`);
    const mx = pol['mx-host'];
    const details: TlsFailureDetail[] = (Array.isArray(p['failure-details']) ? p['failure-details'] : []).map((d, j): TlsFailureDetail => {
      if (!isObj(d)) throw new ReportError('invalid-report', `policies[${i}].failure-details[${j}] is not an object`);
      const resultType = str(d['result-type']);
      if (!resultType) throw new ReportError('invalid-report', `policies[${i}].failure-details[${j}] has no result-type`);
      const o: TlsFailureDetail = { resultType, failedSessionCount: count(d['failed-session-count'], `policies[${i}].failure-details[${j}].failed-session-count`) };
      const map: [keyof TlsFailureDetail, string][] = [
        ['sendingMtaIp', 'sending-mta-ip'],
        ['receivingMxHostname', 'receiving-mx-hostname'],
        ['receivingMxHelo', 'receiving-mx-helo'],
        ['receivingIp', 'receiving-ip'],
        ['additionalInformation', 'additional-information'],
        ['failureReasonCode', 'failure-reason-code'],
      ];
      for (const [k, j2] of map) {
        const v = str(d[j2]);
        if (v) (o as unknown as Record<string, unknown>)[k] = k === 'receivingMxHostname' ? v.toLowerCase().replace(/\.$/, '') : v;
      }
      return o;
    });
    const policyString = Array.isArray(pol['policy-string']) ? pol['policy-string'].filter((s): s is string => typeof s === 'string') : undefined;
    return {
      policyType: str(pol['policy-type'])?.toLowerCase() ?? 'unknown',
      policyDomain,
      ...(policyString?.length ? { policyString } : {}),
      ...(typeof mx === 'string' ? { mxHost: [mx] } : Array.isArray(mx) ? { mxHost: mx.filter((s): s is string => typeof s === 'string') } : {}),
      successful: count(p.summary['total-successful-session-count'], `policies[${i}].summary.total-successful-session-count`),
      failed: count(p.summary['total-failure-session-count'], `policies[${i}].summary.total-failure-session-count`),
      failureDetails: details,
    };
  });
  for (const [i, p] of policies.entries()) {
    const sum = p.failureDetails.reduce((a, d) => a + d.failedSessionCount, 0);
    if (sum > p.failed) warnings.push(`policies[${i}] (${p.policyDomain}): the failure details add up to ${sum} sessions, more than the summary's ${p.failed}`);
  }
  return {
    kind: 'tls',
    org,
    reportId,
    ...(str(doc['contact-info']) ? { contactInfo: str(doc['contact-info']) } : {}),
    begin: time(range['start-datetime'], 'date-range.start-datetime'),
    end: time(range['end-datetime'], 'date-range.end-datetime'),
    policies,
    warnings,
  };
}
