// TLS-RPT (RFC 8460): where sending servers report TLS failures (MTA-STS, DANE,
// STARTTLS) when delivering to this domain. The _smtp._tls TXT record's syntax,
// and whether each report destination can actually receive reports.
import type { Check, CheckContext, CheckOutput, Finding } from '../src/types.ts';
import { finder } from '../src/findings.ts';
import { addresses, describe, evidenceOf, isFailure, mxRecords, txtRecords, type DnsResponse } from '../src/dns/resolver.ts';
import { TLSRPT_FINDINGS } from '../src/catalog/tls-rpt.ts';

const f = finder('tls-rpt');

export interface RptUri {
  uri: string;
  scheme: 'mailto' | 'https';
  /** the domain that receives the reports (the mailto domain or the https host) */
  host: string;
  resolves: boolean | null;
}

/**
 * The record by the RFC 8460 §3 grammar: "v=TLSRPTv1" first, one rua= with one or
 * more mailto:/https: URIs separated by commas, extension fields by their grammar.
 */
export function parseTlsRptRecord(record: string): { rua: RptUri[] } | { error: string } {
  const fields = record.split(';').map((s) => s.replace(/^[ \t]+|[ \t]+$/g, ''));
  if (fields[0] !== 'v=TLSRPTv1') return { error: 'the record must begin with exactly "v=TLSRPTv1;"' };
  let rua: RptUri[] | undefined;
  for (let i = 1; i < fields.length; i++) {
    const field = fields[i]!;
    if (!field) {
      if (i === fields.length - 1) continue; // an optional trailing ';'
      return { error: 'empty field between two ";"' };
    }
    const eq = field.indexOf('=');
    if (eq < 1) return { error: `"${field}" is not a name=value field` };
    const name = field.slice(0, eq);
    const value = field.slice(eq + 1);
    if (name === 'rua') {
      if (rua) return { error: 'rua= appears twice; list every destination in one rua=, separated by commas' };
      rua = [];
      for (const raw of value.split(',').map((s) => s.trim())) {
        if (!raw) return { error: 'rua= has an empty URI' };
        let u: URL;
        try {
          u = new URL(raw);
        } catch {
          return { error: `rua URI "${raw}" is not a URI (use mailto:tlsrpt@example.com or https://…)` };
        }
        if (u.protocol === 'mailto:') {
          const addr = decodeURIComponent(u.pathname);
          const at = addr.lastIndexOf('@');
          const domain = addr.slice(at + 1).toLowerCase().replace(/\.$/, '');
          if (at < 1 || !/^[a-z0-9_-]+(\.[a-z0-9_-]+)+$/.test(domain)) return { error: `rua URI "${raw}" is not mailto: followed by an email address` };
          rua.push({ uri: raw, scheme: 'mailto', host: domain, resolves: null });
        } else if (u.protocol === 'https:') {
          if (!u.hostname) return { error: `rua URI "${raw}" has no host` };
          rua.push({ uri: raw, scheme: 'https', host: u.hostname.toLowerCase(), resolves: null });
        } else {
          return { error: `rua URI "${raw}" uses the scheme ${u.protocol.slice(0, -1)}; only mailto: and https: are defined` };
        }
      }
    } else if (!/^[A-Za-z0-9][A-Za-z0-9_.-]{0,31}$/.test(name) || !/^[\x21-\x3a\x3c\x3e-\x7e]+$/.test(value)) {
      return { error: `"${field}" is not a valid field` };
    }
  }
  return rua ? { rua } : { error: 'there is no rua= field (it is required)' };
}

/** Can this destination receive reports? mailto: an MX or an address (RFC 5321 §5.1); https: an address. */
async function destinationResolves(ctx: CheckContext, u: RptUri): Promise<{ resolves: boolean | null; evidence: DnsResponse[] }> {
  if (u.scheme === 'mailto') {
    const mx = await ctx.dns.query(u.host, 'MX');
    const hosts = mxRecords(mx).filter((m) => m.exchange && m.exchange !== '.');
    if (hosts.length) return { resolves: true, evidence: [mx] };
    if (mxRecords(mx).length) return { resolves: false, evidence: [mx] }; // a null MX accepts no mail
    const [a, aaaa] = await Promise.all([ctx.dns.query(u.host, 'A'), ctx.dns.query(u.host, 'AAAA')]);
    if (addresses(a).length || addresses(aaaa).length) return { resolves: true, evidence: [mx, a, aaaa] };
    return { resolves: isFailure(mx) || isFailure(a) || isFailure(aaaa) ? null : false, evidence: [mx, a, aaaa] };
  }
  const [a, aaaa] = await Promise.all([ctx.dns.query(u.host, 'A'), ctx.dns.query(u.host, 'AAAA')]);
  if (addresses(a).length || addresses(aaaa).length) return { resolves: true, evidence: [a, aaaa] };
  return { resolves: isFailure(a) || isFailure(aaaa) ? null : false, evidence: [a, aaaa] };
}

/** Is MTA-STS enforced for this domain? Read from the mta-sts check; undefined when unknown. */
async function stsEnforced(ctx: CheckContext): Promise<boolean | undefined> {
  try {
    const r = await ctx.result('mta-sts');
    const mode = (r.data?.policy as { mode?: string } | undefined)?.mode;
    if (mode) return mode === 'enforce';
    return r.status === 'unknown' ? undefined : false;
  } catch {
    return undefined;
  }
}

async function run(ctx: CheckContext): Promise<CheckOutput> {
  const domain = ctx.target;
  const name = `_smtp._tls.${domain}`;
  const findings: Finding[] = [];
  const resp = await ctx.dns.query(name, 'TXT');
  if (isFailure(resp)) return { status: 'unknown', reason: `the TLS-RPT TXT lookup failed: ${describe(resp)}`, findings };
  const all = txtRecords(resp);
  // RFC 8460 §3: records that do not begin with "v=TLSRPTv1;" are discarded
  const rpt = all.filter((r) => /^v=TLSRPTv1[ \t]*;/.test(r));
  const nearMiss = all.filter((r) => !rpt.includes(r) && /^\s*v\s*=\s*tlsrpt/i.test(r));
  const example = `${name}. TXT "v=TLSRPTv1; rua=mailto:tlsrpt@${domain}"`;
  const ev = [evidenceOf(resp)];

  if (!rpt.length) {
    if (nearMiss.length) {
      findings.push(f('tls-rpt.syntax', 'error', `${name} has a TXT record that is not a valid TLS-RPT record`, {
        evidence: ev, detail: `"${nearMiss[0]}" does not begin with exactly "v=TLSRPTv1;" (the version is case-sensitive), so senders ignore it.`,
        fix: `Publish ${example}.`, ref: 'RFC 8460 §3',
      }));
      return { findings, data: { record: nearMiss[0] } };
    }
    const enforced = await stsEnforced(ctx);
    findings.push(f('tls-rpt.missing', enforced ? 'warn' : 'info', enforced
      ? `${domain} enforces MTA-STS but publishes no TLS-RPT record: nobody tells you when senders cannot deliver over TLS`
      : `${domain} publishes no TLS-RPT record (optional)`, {
      evidence: ev,
      detail: enforced
        ? 'With MTA-STS in enforce mode, a certificate or MX mistake makes senders defer mail to you; TLS-RPT reports are how you find out.'
        : `TLS-RPT is optional; it is most useful with MTA-STS or DANE.${enforced === undefined ? ' (Whether MTA-STS is enforced could not be determined.)' : ''}`,
      fix: `Publish ${example}.`, ref: 'RFC 8460 §3',
    }));
    return { findings, data: {} };
  }
  if (rpt.length > 1) {
    findings.push(f('tls-rpt.multiple-records', 'error', `${name} has ${rpt.length} TLS-RPT records: senders treat that as no TLS-RPT at all`, {
      evidence: ev, fix: `Keep one record and list every destination in its rua=, comma-separated, e.g. "v=TLSRPTv1; rua=mailto:a@${domain},mailto:b@${domain}".`, ref: 'RFC 8460 §3',
    }));
    return { findings, data: { record: rpt[0] } };
  }
  const record = rpt[0]!;
  const parsed = parseTlsRptRecord(record);
  if ('error' in parsed) {
    findings.push(f('tls-rpt.syntax', 'error', `the TLS-RPT record of ${domain} is invalid: ${parsed.error}`, {
      evidence: ev, detail: 'Senders ignore an invalid record.', fix: `Publish ${example}.`, ref: 'RFC 8460 §3',
    }));
    return { findings, data: { record } };
  }

  // every destination is checked at once
  const checks = await Promise.all(parsed.rua.map((u) => destinationResolves(ctx, u)));
  const rua = parsed.rua.map((u, i) => ({ ...u, resolves: checks[i]!.resolves }));
  for (const [i, u] of rua.entries()) {
    if (u.resolves === false) {
      findings.push(f('tls-rpt.rua-unresolvable', 'warn', `TLS-RPT destination ${u.uri} cannot receive reports: ${u.host} has no ${u.scheme === 'mailto' ? 'MX or address' : 'address'} record`, {
        evidence: [...ev, ...checks[i]!.evidence.map(evidenceOf)], subject: u.host,
        fix: u.scheme === 'mailto' ? `Use a mailbox at a domain that receives mail, or give ${u.host} an MX record.` : `Give ${u.host} an A/AAAA record, or use a mailto: destination.`,
        ref: 'RFC 8460 §3',
      }));
    }
  }
  const unknown = rua.filter((u) => u.resolves === null);
  if (unknown.length && !findings.length) {
    return { status: 'unknown', reason: `could not check report destination(s) ${unknown.map((u) => u.host).join(', ')}: ${checks.flatMap((c) => c.evidence).filter(isFailure).map(describe).join('; ')}`, findings, data: { record, rua } };
  }
  if (!findings.length) findings.push(f('tls-rpt.ok', 'pass', `TLS-RPT reports go to ${rua.map((u) => u.uri).join(', ')}`, { evidence: ev }));
  return { findings, data: { record, rua } };
}

const check: Check = {
  findings: TLSRPT_FINDINGS,
  docs: 'docs/checks/tls-rpt.md',
  id: 'tls-rpt',
  title: 'TLS-RPT',
  needs: ['dns'],
  // only read when the record is missing: is MTA-STS enforced (then a missing TLS-RPT is a warning)?
  dependsOn: ['mta-sts'],
  run,
};
export default check;
