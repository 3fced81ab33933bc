// MTA-STS (RFC 8461): does the domain tell sending servers to require TLS when
// they deliver to it, and would that policy work? The _mta-sts TXT record, the
// policy file fetched over verified HTTPS, its mode and max_age, and whether
// every MX host is covered (an uncovered MX under `enforce` loses inbound mail).
import { createRequire } from 'node:module';
import type { Check, CheckContext, CheckOutput, Evidence, Finding } from '../src/types.ts';
import { finder } from '../src/findings.ts';
import { describe, evidenceOf, isFailure, mxRecords, txtRecords } from '../src/dns/resolver.ts';
import { httpsCliOptions, httpsGet, httpsSettings, type HttpsResult, type HttpsSettings } from '../src/net/https.ts';
import { MTASTS_FINDINGS } from '../src/catalog/mta-sts.ts';
import { muted, span } from '../src/report/details.ts';

const require = createRequire(import.meta.url);
// mailauth's RFC 8461 policy-file parser and MX pattern matcher
const { parsePolicy, validateMx } = require('mailauth/lib/mta-sts.js') as {
  parsePolicy(file: string | Buffer, opts?: { strict?: boolean }): { mode: string; version: string; maxAge: number; mx?: string[] };
  validateMx(mx: string, policy: object): { valid: boolean; match?: string; mode: string };
};

const f = finder('mta-sts');
const MAX_AGE_LIMIT = 31_557_600;
const ONE_DAY = 86_400;
// RFC 8461 §3.3 suggests senders cap the policy size at 64 KB
const MAX_POLICY_BYTES = 64 * 1024;

export interface StsPolicy {
  version: string;
  mode: 'enforce' | 'testing' | 'none';
  maxAge: number;
  mx: string[];
}

export interface StsMx {
  exchange: string;
  priority: number;
  covered: boolean;
  /** the policy pattern that matched */
  match?: string;
}

/**
 * The TXT record by the RFC 8461 §3.1 grammar: `v=STSv1` first, `id=` of 1-32
 * letters and digits, extension fields by their grammar. Returns the id, or why not.
 */
export function parseStsRecord(record: string): { id: string } | { error: string } {
  const parts = record.split(';');
  if (!/^v=STSv1[ \t]*$/.test(parts[0] ?? '')) return { error: 'the record must begin with exactly "v=STSv1;"' };
  let id: string | undefined;
  for (let i = 1; i < parts.length; i++) {
    const field = parts[i]!.trim();
    if (!field) {
      if (i === parts.length - 1) continue; // an optional trailing ';'
      return { error: 'empty field between two ";"' };
    }
    const eq = field.indexOf('=');
    if (eq < 1) return { error: `"${field}" is not a name=value field` };
    const name = field.slice(0, eq);
    const value = field.slice(eq + 1);
    if (name === 'id') {
      if (id !== undefined) continue; // the first id wins (RFC 8461 §3.1)
      if (!/^[A-Za-z0-9]{1,32}$/.test(value)) return { error: `id "${value}" must be 1 to 32 letters and digits (e.g. a timestamp such as 20240115T120000)` };
      id = value;
    } else if (!/^[A-Za-z0-9][A-Za-z0-9_.-]{0,31}$/.test(name) || !/^[\x21-\x3a\x3c\x3e-\x7e]+$/.test(value)) {
      return { error: `"${field}" is not a valid extension field` };
    }
  }
  return id === undefined ? { error: 'there is no id= field' } : { id };
}

function fetchEvidence(url: string, r: HttpsResult): Evidence {
  if (r.ok) return { query: url, type: 'HTTPS', answers: [`HTTP ${r.status}`, `Content-Type: ${r.headers['content-type'] ?? '(none)'}`, `${r.body.length} bytes from ${r.address}`] };
  return { query: url, type: 'HTTPS', note: r.error };
}

/** The policy file as evidence: its lines (at most 50), rendered "a | b | c". */
function policyLines(url: string, body: string): Evidence {
  return { query: url, type: 'policy', answers: body.split(/\r?\n/).map((l) => l.trim()).filter(Boolean).slice(0, 50) };
}

async function run(ctx: CheckContext<HttpsSettings>): Promise<CheckOutput> {
  const domain = ctx.target;
  const findings: Finding[] = [];
  const policyHost = `mta-sts.${domain}`;
  const policyUrl = `https://${policyHost}/.well-known/mta-sts.txt`;
  const [txt, mxResp] = await Promise.all([ctx.dns.query(`_mta-sts.${domain}`, 'TXT'), ctx.dns.query(domain, 'MX')]);
  if (isFailure(txt)) return { status: 'unknown', reason: `the MTA-STS TXT lookup failed: ${describe(txt)}`, findings };

  const all = txtRecords(txt);
  // RFC 8461 §3.1: records not beginning with "v=STSv1;" are discarded
  const sts = all.filter((r) => /^v=STSv1[ \t]*;/.test(r));
  const nearMiss = all.filter((r) => !sts.includes(r) && /^\s*v\s*=\s*sts/i.test(r));
  const recordFix = `Publish exactly one record: _mta-sts.${domain}. TXT "v=STSv1; id=${new Date().toISOString().replace(/[-:]|\.\d+/g, '').slice(0, 15)}" (change the id whenever the policy file changes).`;
  if (!sts.length) {
    if (nearMiss.length) {
      findings.push(f('mta-sts.syntax', 'error', `_mta-sts.${domain} has a TXT record that is not a valid MTA-STS record`, {
        evidence: [evidenceOf(txt)], detail: `"${nearMiss[0]}" does not begin with exactly "v=STSv1;" (the version is case-sensitive), so senders ignore it.`,
        fix: recordFix, ref: 'RFC 8461 §3.1',
      }));
      return { findings, data: { record: nearMiss[0], policyUrl } };
    }
    findings.push(f('mta-sts.missing', 'info', `${domain} publishes no MTA-STS policy (optional): senders may deliver to it without TLS`, {
      evidence: [evidenceOf(txt)],
      detail: 'MTA-STS is optional. It protects inbound mail from TLS downgrade and MX spoofing.',
      fix: `Serve a policy file at ${policyUrl} (text/plain, lines "version: STSv1", "mode: testing", "mx: mx1.${domain}", "max_age: 604800") with a valid certificate, then ${recordFix.charAt(0).toLowerCase()}${recordFix.slice(1)}`,
      ref: 'RFC 8461 §3',
    }));
    return { findings, data: { policyUrl } };
  }
  if (sts.length > 1) {
    findings.push(f('mta-sts.syntax', 'error', `_mta-sts.${domain} has ${sts.length} MTA-STS records: senders treat that as no policy`, {
      evidence: [evidenceOf(txt)], fix: recordFix, ref: 'RFC 8461 §3.1',
    }));
    return { findings, data: { record: sts[0], policyUrl } };
  }
  const record = sts[0]!;
  const parsed = parseStsRecord(record);
  if ('error' in parsed) {
    findings.push(f('mta-sts.syntax', 'error', `the MTA-STS record of ${domain} is invalid: ${parsed.error}`, {
      evidence: [evidenceOf(txt)], detail: 'Senders treat an invalid record as no policy.', fix: recordFix, ref: 'RFC 8461 §3.1',
    }));
    return { findings, data: { record, policyUrl } };
  }

  const fetched = await httpsGet(policyUrl, { dns: ctx.dns, settings: ctx.settings, maxBytes: MAX_POLICY_BYTES, signal: ctx.signal });
  const data: Record<string, unknown> = { record, id: parsed.id, policyUrl };
  const fetchInfo = fetched.ok
    ? { ok: true, status: fetched.status, mediaType: fetched.mediaType, address: fetched.address, bytes: fetched.body.length, ms: fetched.ms }
    : { ok: false, error: fetched.error, kind: fetched.kind, ...(fetched.tlsError ? { tlsError: fetched.tlsError } : {}), ms: fetched.ms };
  data.fetch = fetchInfo;
  const ev = [evidenceOf(txt), fetchEvidence(policyUrl, fetched), ...(!fetched.ok && fetched.dns ? fetched.dns.map(evidenceOf) : [])];

  if (!fetched.ok) {
    if (fetched.unknown) return { status: 'unknown', reason: `the MTA-STS policy could not be fetched: ${fetched.error}`, findings, data };
    const tls = fetched.kind === 'tls';
    const tooLarge = fetched.kind === 'too-large';
    findings.push(f(tooLarge ? 'mta-sts.policy-invalid' : 'mta-sts.policy-unreachable', 'error', tooLarge ? `the MTA-STS policy at ${policyUrl} is too large: ${fetched.error}` : `the MTA-STS policy at ${policyUrl} cannot be fetched: ${fetched.error}`, {
      evidence: ev,
      detail: tls
        ? `Senders must verify the policy host's certificate (PKIX, a DNS-ID for ${policyHost}); with ${fetched.tlsError} they discard the policy.`
        : 'The TXT record announces a policy that senders cannot retrieve, so they act as if there were none (or keep a stale cached one).',
      fix: tls
        ? `Install a certificate for ${policyHost} from a public CA (e.g. Let's Encrypt), with the full chain.`
        : fetched.kind === 'no-address'
          ? `Create ${policyHost} (A/AAAA) and serve the policy file there over HTTPS.`
          : `Serve the policy at ${policyUrl} over HTTPS on port 443.`,
      ref: 'RFC 8461 §3.3',
    }));
    return { findings, data };
  }

  if (fetched.status !== 200) {
    const redirect = fetched.status >= 300 && fetched.status < 400;
    findings.push(f('mta-sts.policy-unreachable', 'error', `${policyUrl} answered HTTP ${fetched.status}${redirect ? ` (a redirect to ${fetched.headers.location ?? '?'}), which senders do not follow` : ''}`, {
      evidence: ev, fix: `Serve the policy file itself at ${policyUrl} with status 200${redirect ? ': RFC 8461 §3.3 forbids following redirects' : ''}.`, ref: 'RFC 8461 §3.3',
    }));
    return { findings, data };
  }
  if (fetched.mediaType !== 'text/plain') {
    findings.push(f('mta-sts.policy-invalid', 'error', `${policyUrl} is served as ${fetched.headers['content-type'] ? `"${fetched.headers['content-type']}"` : 'no Content-Type'}, not text/plain`, {
      evidence: ev, detail: 'RFC 8461 §3.3: the policy is served with the media type text/plain; senders that check it discard the policy.',
      fix: `Configure the web server to send "Content-Type: text/plain" for /.well-known/mta-sts.txt.`, ref: 'RFC 8461 §3.2, §3.3',
    }));
    return { findings, data };
  }

  let policy: StsPolicy;
  try {
    const p = parsePolicy(fetched.body, { strict: true });
    policy = { version: p.version, mode: p.mode as StsPolicy['mode'], maxAge: p.maxAge, mx: p.mx ?? [] };
  } catch (e) {
    const err = e as Error & { code?: string };
    const body = fetched.body.toString('utf8');
    const maxAge = /^max_age:[ \t]*(\d+)[ \t]*$/m.exec(body)?.[1];
    if (err.code === 'invalid_sts_max_age' && maxAge && Number(maxAge) > MAX_AGE_LIMIT) {
      findings.push(f('mta-sts.max-age', 'error', `the MTA-STS policy's max_age ${maxAge} is over the maximum of ${MAX_AGE_LIMIT} (one year): senders reject the policy`, {
        evidence: [...ev, policyLines(policyUrl, body)], fix: `Set "max_age: 604800" (a week) to "max_age: 31557600" (a year) — weeks or more once the policy is stable.`, ref: 'RFC 8461 §3.2',
      }));
    } else {
      findings.push(f('mta-sts.policy-invalid', 'error', `the MTA-STS policy at ${policyUrl} is invalid: ${err.message}`, {
        evidence: [...ev, policyLines(policyUrl, body)],
        detail: 'Each line is "key: value"; "version: STSv1", "mode: enforce|testing|none", "max_age: <seconds>" and, unless mode is none, one or more "mx: <host or *.domain>" lines. Keys and values are case-sensitive.',
        fix: `Serve, one per line: "version: STSv1", "mode: testing", "mx: mx1.${domain}" (one line per MX host or *.domain pattern), "max_age: 604800".`,
        ref: 'RFC 8461 §3.2',
      }));
    }
    return { findings, data };
  }
  data.policy = policy;
  const policyEvidence: Evidence[] = [...ev, policyLines(policyUrl, fetched.body.toString('utf8'))];

  // coverage: every MX host must match an mx: pattern (a wildcard covers one label)
  let mxUnknown: string | undefined;
  if (isFailure(mxResp)) mxUnknown = `the MX lookup failed: ${describe(mxResp)}`;
  const mx = mxRecords(mxResp).filter((m) => m.exchange && m.exchange !== '.').sort((a, b) => a.priority - b.priority);
  const hosts: StsMx[] = mx.map((m) => {
    const v = validateMx(m.exchange, { ...policy, mode: policy.mode === 'none' ? 'testing' : policy.mode });
    return { exchange: m.exchange, priority: m.priority, covered: v.valid, ...(v.match ? { match: v.match } : {}) };
  });
  data.mx = hosts;
  const uncovered = hosts.filter((h) => !h.covered);
  if (policy.mode !== 'none' && uncovered.length) {
    const enforce = policy.mode === 'enforce';
    findings.push(f('mta-sts.mx-not-covered', enforce ? 'error' : 'warn', `MX host${uncovered.length > 1 ? 's' : ''} ${uncovered.map((h) => h.exchange).join(', ')} ${uncovered.length > 1 ? 'are' : 'is'} not covered by the MTA-STS policy's mx: lines (${policy.mx.join(', ')})`, {
      evidence: [evidenceOf(mxResp), ...policyEvidence],
      detail: enforce
        ? 'In enforce mode, senders refuse to deliver to an MX host the policy does not list: mail sent to that host is deferred and eventually bounces.'
        : 'In testing mode, senders still deliver but report the failure (TLS-RPT); switching to enforce would lose this mail.',
      fix: `Add ${uncovered.map((h) => `"mx: ${h.exchange}"`).join(' and ')} (or a wildcard such as "mx: *.${uncovered[0]!.exchange.split('.').slice(1).join('.')}", which matches exactly one label) to the policy, then change the id in the TXT record.`,
      ref: 'RFC 8461 §4.1',
    }));
  }

  if (policy.mode === 'testing') {
    findings.push(f('mta-sts.testing-mode', 'info', `the MTA-STS policy is in testing mode: failures are reported, not enforced`, {
      evidence: policyEvidence, fix: 'Once TLS-RPT reports show no failures for a few weeks, change "mode: testing" to "mode: enforce" and update the id in the TXT record.', ref: 'RFC 8461 §5',
    }));
  } else if (policy.mode === 'none') {
    findings.push(f('mta-sts.mode-none', 'info', 'the MTA-STS policy has mode none: it withdraws MTA-STS protection', {
      evidence: policyEvidence, detail: 'mode: none is how a domain retires MTA-STS; senders drop their cached policy.', fix: 'If that is not intended, use "mode: testing" or "mode: enforce" with the MX hosts listed.', ref: 'RFC 8461 §5, §8.3',
    }));
  }
  if (policy.mode === 'enforce' && policy.maxAge < ONE_DAY) {
    findings.push(f('mta-sts.max-age', 'warn', `the enforced MTA-STS policy's max_age is only ${policy.maxAge} s (under a day): an attacker who blocks the policy fetch soon strips the protection`, {
      evidence: policyEvidence, fix: 'Use "max_age: 604800" (a week) or more; RFC 8461 recommends weeks or greater.', ref: 'RFC 8461 §3.2',
    }));
  }

  if (mxUnknown && !findings.some((x) => x.severity === 'error')) {
    return { status: 'unknown', reason: `MX coverage could not be checked: ${mxUnknown}`, findings, data };
  }
  if (!findings.some((x) => x.severity === 'error' || x.severity === 'warn')) {
    findings.push(f('mta-sts.ok', 'pass', `MTA-STS id=${parsed.id}, mode ${policy.mode}, max_age ${policy.maxAge}${hosts.length ? `, covers all ${hosts.length} MX host(s)` : ''}`, { evidence: policyEvidence }));
  }
  return { findings, data };
}

const check: Check<HttpsSettings> = {
  findings: MTASTS_FINDINGS,
  docs: 'docs/checks/mta-sts.md',
  id: 'mta-sts',
  title: 'MTA-STS',
  needs: ['dns', 'https'],
  cliOptions: { ...httpsCliOptions },
  parse: httpsSettings,
  run,
  details: (r) => {
    const p = r.data?.policy as StsPolicy | undefined;
    if (!p) return [];
    return [{
      kind: 'list',
      items: [
        `mode ${p.mode}, max_age ${p.maxAge}, mx ${p.mx.join(', ') || '(none)'}`,
        ...((r.data?.mx as StsMx[] | undefined) ?? []).map((h) => [h.covered ? span('✓', 'good') : span('✗', 'bad'), span(` ${h.exchange}`), ...(h.match ? [muted(` (${h.match})`)] : [])]),
      ],
    }];
  },
};
export default check;
