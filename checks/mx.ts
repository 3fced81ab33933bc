// MX: can the sending domain receive mail (bounces, replies, and the receivers'
// "does this domain exist for mail" test)? RFC 5321 §5.1, RFC 7505 (null MX).
import net from 'node:net';
import type { Check, CheckContext, CheckOutput, Finding } from '../src/types.ts';
import { finder } from '../src/findings.ts';
import { addresses, answersOf, evidenceOf, isFailure, mxRecords, describe } from '../src/dns/resolver.ts';
import { MX_FINDINGS } from '../src/catalog/mx.ts';
import { muted, span } from '../src/report/details.ts';

const f = finder('mx');

export interface MxHost {
  exchange: string;
  priority: number;
  addresses: string[];
  status: 'ok' | 'unresolvable' | 'unknown' | 'cname' | 'ip-literal';
  cname?: string;
}

async function run(ctx: CheckContext): Promise<CheckOutput> {
  const domain = ctx.target;
  const findings: Finding[] = [];
  const resp = await ctx.dns.query(domain, 'MX');
  if (isFailure(resp)) return { status: 'unknown', reason: `MX lookup failed: ${describe(resp)}`, findings };
  const mx = mxRecords(resp).sort((a, b) => a.priority - b.priority);
  if (!mx.length) {
    // no MX: RFC 5321 §5.1 falls back to the A/AAAA of the domain itself
    const [a, aaaa] = await Promise.all([ctx.dns.query(domain, 'A'), ctx.dns.query(domain, 'AAAA')]);
    const fallback = [...addresses(a), ...addresses(aaaa)];
    findings.push(f('mx.missing', 'warn', fallback.length ? `${domain} has no MX record; mail for it falls back to its A/AAAA address` : `${domain} has no MX record and no address: it cannot receive bounces or replies`, {
      evidence: [evidenceOf(resp), evidenceOf(a), evidenceOf(aaaa)],
      fix: `Publish an MX record for ${domain} pointing at a host that accepts mail, e.g. "${domain}. MX 10 mx.${domain}."`,
      ref: 'RFC 5321 §5.1',
    }));
    return { findings, data: { hosts: [] } };
  }
  if (mx.length === 1 && (mx[0]!.exchange === '' || mx[0]!.exchange === '.')) {
    findings.push(f('mx.null', 'error', `${domain} publishes a null MX: it declares that it accepts no mail`, {
      evidence: [evidenceOf(resp)],
      detail: 'RFC 7505 §4.3: a domain with a null MX should not appear in MAIL FROM or From; receivers may reject its mail with 550 5.7.27.',
      fix: `Do not send from ${domain}, or replace the null MX with real MX hosts.`,
      ref: 'RFC 7505 §4.3',
    }));
    return { findings, data: { hosts: [], nullMx: true } };
  }
  const hosts: MxHost[] = await Promise.all(
    mx.map(async ({ exchange, priority }): Promise<MxHost> => {
      if (net.isIP(exchange.replace(/^\[|\]$/g, ''))) return { exchange, priority, addresses: [], status: 'ip-literal' };
      const [a, aaaa] = await Promise.all([ctx.dns.query(exchange, 'A'), ctx.dns.query(exchange, 'AAAA')]);
      const cname = answersOf(a, 'CNAME')[0]?.data as string | undefined;
      const addrs = [...addresses(a), ...addresses(aaaa)];
      if (!addrs.length && (isFailure(a) || isFailure(aaaa))) return { exchange, priority, addresses: [], status: 'unknown' };
      if (!addrs.length) return { exchange, priority, addresses: [], status: 'unresolvable' };
      return { exchange, priority, addresses: addrs, status: cname ? 'cname' : 'ok', ...(cname ? { cname } : {}) };
    }),
  );
  for (const h of hosts) {
    if (h.status === 'ip-literal') {
      findings.push(f('mx.ip-literal', 'error', `MX ${h.exchange} is an IP address, not a host name`, {
        fix: `Point the MX at a host name with an A/AAAA record (e.g. mx.${domain}) instead of an address.`, ref: 'RFC 5321 §5.1', subject: h.exchange,
      }));
    } else if (h.status === 'unresolvable') {
      findings.push(f('mx.unresolvable', 'error', `MX ${h.exchange} has no A or AAAA record`, {
        fix: `Give ${h.exchange} an A (and/or AAAA) record, or remove it from ${domain}'s MX set.`, ref: 'RFC 5321 §5.1', subject: h.exchange,
      }));
    } else if (h.status === 'cname') {
      findings.push(f('mx.cname-target', 'warn', `MX ${h.exchange} is a CNAME (to ${h.cname})`, {
        detail: 'RFC 2181 §10.3: an MX must point directly at a host with address records; some senders refuse CNAME targets.',
        fix: `Point the MX record at ${h.cname} directly.`, ref: 'RFC 2181 §10.3', subject: h.exchange,
      }));
    }
  }
  const unknown = hosts.filter((h) => h.status === 'unknown');
  const good = hosts.filter((h) => h.status === 'ok' || h.status === 'cname');
  if (unknown.length && !findings.some((x) => x.severity === 'error')) {
    return { status: 'unknown', reason: `address lookups failed for ${unknown.map((h) => h.exchange).join(', ')}`, findings, data: { hosts } };
  }
  if (good.length) findings.push(f('mx.ok', 'pass', `${good.length} of ${hosts.length} MX host(s) resolve: ${good.map((h) => `${h.priority} ${h.exchange}`).join(', ')}`));
  return { findings, data: { hosts } };
}

const check: Check = {
  findings: MX_FINDINGS,
  docs: 'docs/checks/mx.md',
  id: 'mx',
  title: 'MX',
  needs: ['dns'],
  run,
  details: (r) => [{ kind: 'list', items: ((r.data?.hosts as MxHost[] | undefined) ?? []).map((h) => [span(`${String(h.priority).padStart(3)} ${h.exchange} `), muted(h.addresses.join(', ') || h.status)]) }],
  headline: (r) => ((r.data?.hosts as MxHost[] | undefined) ?? []).map((h) => h.exchange).join(', ') || undefined,
};
export default check;
