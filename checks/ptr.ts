// PTR / FCrDNS: does every sending IP (--ip) have a reverse name that points back
// to it, and does that name look like a mail server rather than a dynamic pool?
// Gmail, Yahoo and Microsoft refuse or junk mail from IPs without forward-confirmed
// reverse DNS. RFC 1912 §2.1, Gmail's sender guidelines.
import ipaddr from 'ipaddr.js';
import type { Check, CheckContext, CheckOutput, Evidence, Finding } from '../src/types.ts';
import { finder } from '../src/findings.ts';
import { addresses, answersOf, describe, evidenceOf, isFailure } from '../src/dns/resolver.ts';
import { registrableDomain } from '../src/dns/orgdomain.ts';
import { PTR_FINDINGS } from '../src/catalog/ptr.ts';
import { muted, span } from '../src/report/details.ts';

const f = finder('ptr');
const GMAIL_REF = 'https://support.google.com/a/answer/81126 (Gmail sender guidelines: PTR records)';

export interface PtrIp {
  ip: string;
  /** the in-addr.arpa / ip6.arpa name that was queried */
  reverseName: string;
  /** the PTR names, in the order the resolver gave them */
  names: string[];
  /** null when it could not be determined (a DNS failure) */
  forwardConfirmed: boolean | null;
  /** the PTR names whose A/AAAA contains the IP */
  confirmedNames: string[];
  generic: boolean;
  /** why a name looks generic, for the finding */
  genericReason?: string;
  status: 'ok' | 'missing' | 'not-confirmed' | 'unknown';
  reason?: string;
}

/** The reverse-lookup name of an address (RFC 1035 §3.5 in-addr.arpa, RFC 3596 §2.5 ip6.arpa nibbles). */
export function reverseName(ip: string): string {
  const addr = ipaddr.process(ip);
  if (addr.kind() === 'ipv4') return `${addr.toByteArray().reverse().join('.')}.in-addr.arpa`;
  const hex = addr.toByteArray().map((b) => b.toString(16).padStart(2, '0')).join('');
  return `${hex.split('').reverse().join('.')}.ip6.arpa`;
}

function sameAddress(a: string, b: string): boolean {
  try {
    return ipaddr.process(a).toString() === ipaddr.process(b).toString();
  } catch {
    return a === b;
  }
}

/*
 * The "generic" heuristic. Receivers (Spamhaus PBL, Gmail, many spam filters)
 * treat reverse names that look auto-generated for a pool of customer addresses
 * as a sign of a residential or dynamic IP. A name is generic when, in the part
 * of the name below its registrable domain (so a provider called "cable.com" is
 * not held against itself), either:
 *  1. the IP address is embedded: the four IPv4 octets forwards or backwards with
 *     any separators ("192-0-2-10", "10.2.0.192", "ip192x0x2x10", zero-padded
 *     "192000002010"), the last three octets in either order ("0-2-10"), the
 *     address as 8 hex digits ("c000020a"), or an IPv6 address written with
 *     dashes or as its 32 hex nibbles; or
 *  2. a label token (letters, split at digits, dots, dashes, underscores) is one
 *     of the words ISPs use for customer pools: dhcp, dyn, dynamic, dynip, pool,
 *     dsl, adsl, vdsl, xdsl, cable, cablemodem, ppp, pppoe, dial, dialup, dialin,
 *     broadband, bb, cust, customer, client, res, resi, residential, home, user,
 *     ftth, fttx, fiber, fibre, cpe, wifi, wireless, mobile, lte, gprs,
 *     unassigned, unknown, nat; or the pair "static" + "ip" ("static-ip-…"),
 *     which ISPs use for business lines that are still not mail servers.
 * Names like mail., mx., smtp., out., mta., bounce. are never generic by
 * themselves. It is a heuristic: it says so in the finding, and it only warns.
 */
const POOL_WORDS = new Set([
  'dhcp', 'dyn', 'dynamic', 'dynip', 'pool', 'dsl', 'adsl', 'vdsl', 'xdsl', 'cable', 'cablemodem', 'ppp', 'pppoe',
  'dial', 'dialup', 'dialin', 'broadband', 'bb', 'cust', 'customer', 'client', 'res', 'resi', 'residential', 'home',
  'user', 'ftth', 'fttx', 'fiber', 'fibre', 'cpe', 'wifi', 'wireless', 'mobile', 'lte', 'gprs', 'unassigned', 'unknown', 'nat',
]);

export function genericReason(name: string, ip: string): string | undefined {
  const n = name.toLowerCase().replace(/\.$/, '');
  const reg = registrableDomain(n);
  const host = reg && n !== reg && n.endsWith(`.${reg}`) ? n.slice(0, -reg.length - 1) : n === reg ? '' : n;
  if (!host) return undefined;
  let addr: ipaddr.IPv4 | ipaddr.IPv6;
  try {
    addr = ipaddr.process(ip);
  } catch {
    return undefined;
  }
  if (addr.kind() === 'ipv4') {
    const o = (addr as ipaddr.IPv4).octets.map(String);
    const seq = (parts: string[]) => new RegExp(`(?:^|\\D)${parts.map((p) => `0{0,2}${p}`).join('\\D+')}(?:\\D|$)`);
    const forms = [seq(o), seq([...o].reverse()), seq(o.slice(1)), seq(o.slice(1).reverse())];
    if (forms.some((re) => re.test(host))) return `the address ${ip} is written into the name`;
    const padded = o.map((x) => x.padStart(3, '0')).join('');
    const hex = (addr as ipaddr.IPv4).octets.map((x) => x.toString(16).padStart(2, '0')).join('');
    if (host.includes(padded) || new RegExp(`(?:^|[^0-9a-f])${hex}(?:[^0-9a-f]|$)`).test(host)) return `the address ${ip} is written into the name`;
  } else {
    const v6 = addr as ipaddr.IPv6;
    const nibbles = v6.toByteArray().map((b) => b.toString(16).padStart(2, '0')).join('');
    const dashed = [v6.toString().replace(/:/g, '-'), v6.toNormalizedString().replace(/:/g, '-')];
    if (host.replace(/[^0-9a-f]/g, '').includes(nibbles) || dashed.some((d) => host.includes(d))) return `the address ${ip} is written into the name`;
  }
  const tokens = host.split(/[^a-z]+/).filter(Boolean);
  const hit = tokens.find((t) => POOL_WORDS.has(t));
  if (hit) return `the name contains '${hit}', a word ISPs use for customer address pools`;
  if (/static[^a-z]*ip/.test(host) || tokens.includes('staticip')) return `the name contains 'static-ip', a pattern ISPs use for customer lines`;
  return undefined;
}

async function checkIp(ctx: CheckContext, ip: string): Promise<{ row: PtrIp; evidence: Evidence[] }> {
  const rname = reverseName(ip);
  const resp = await ctx.dns.query(rname, 'PTR');
  const evidence: Evidence[] = [evidenceOf(resp)];
  const base = { ip, reverseName: rname, confirmedNames: [] as string[], generic: false };
  if (isFailure(resp)) return { row: { ...base, names: [], forwardConfirmed: null, status: 'unknown', reason: describe(resp) }, evidence };
  const names = [...new Set(answersOf(resp, 'PTR').map((a) => String(a.data)))].filter(Boolean);
  if (!names.length) return { row: { ...base, names, forwardConfirmed: false, status: 'missing' }, evidence };
  const family = ipaddr.process(ip).kind() === 'ipv4' ? 'A' : 'AAAA';
  // every name is forward-checked at once
  const forward = await Promise.all(names.map((n) => ctx.dns.query(n, family)));
  evidence.push(...forward.map(evidenceOf));
  const confirmedNames = names.filter((_n, i) => addresses(forward[i]!).some((a) => sameAddress(a, ip)));
  const failed = forward.filter(isFailure);
  const generic = names.map((n) => genericReason(n, ip)).find(Boolean);
  const row: PtrIp = {
    ...base,
    names,
    confirmedNames,
    forwardConfirmed: confirmedNames.length ? true : failed.length ? null : false,
    generic: Boolean(generic),
    ...(generic ? { genericReason: generic } : {}),
    status: confirmedNames.length ? 'ok' : failed.length ? 'unknown' : 'not-confirmed',
    ...(!confirmedNames.length && failed.length ? { reason: failed.map(describe).join('; ') } : {}),
  };
  return { row, evidence };
}

async function run(ctx: CheckContext): Promise<CheckOutput> {
  const findings: Finding[] = [];
  const results = await Promise.all(ctx.opts.ips.map((ip) => checkIp(ctx, ip)));
  for (const { row: r, evidence } of results) {
    if (r.status === 'missing') {
      findings.push(f('ptr.missing', 'error', `${r.ip} has no PTR record`, {
        subject: r.ip, evidence,
        detail: 'Gmail rejects mail from IPs without reverse DNS (550 5.7.25), and Yahoo and Microsoft count it against the sender.',
        fix: `Ask whoever owns ${r.ip} (your hosting provider or ESP: it is set in their control panel, not in your zone) to publish "${r.reverseName}. PTR mail.${ctx.target}." and give mail.${ctx.target} an ${r.ip.includes(':') ? 'AAAA' : 'A'} record of ${r.ip}.`,
        ref: `RFC 1912 §2.1; ${GMAIL_REF}`,
      }));
    } else if (r.status === 'not-confirmed') {
      findings.push(f('ptr.not-forward-confirmed', 'error', `${r.ip}'s PTR name${r.names.length > 1 ? 's' : ''} ${r.names.join(', ')} do${r.names.length > 1 ? '' : 'es'} not resolve back to ${r.ip} (no FCrDNS)`, {
        subject: r.ip, evidence,
        detail: 'Forward-confirmed reverse DNS: the PTR name must have an A/AAAA record containing the same IP. Gmail requires it (550 5.7.25).',
        fix: `Add "${r.names[0]}. ${r.ip.includes(':') ? 'AAAA' : 'A'} ${r.ip}" in the zone of ${r.names[0]}, or change the PTR of ${r.ip} to a name that already resolves to it.`,
        ref: `RFC 1912 §2.1 (PTR and A records must match); ${GMAIL_REF}`,
      }));
    }
    if (r.generic) {
      findings.push(f('ptr.generic', 'warn', `${r.ip}'s PTR name ${r.names.join(', ')} looks like a dynamic or residential pool name: ${r.genericReason}`, {
        subject: r.ip, evidence,
        detail: 'Spam filters (and policy block lists such as Spamhaus PBL) treat generic, ISP-assigned reverse names as end-user addresses that should not send mail directly. This is a heuristic on the name.',
        fix: `Set the PTR of ${r.ip} to a name of your own domain that says what it is (e.g. mail.${ctx.target} or out1.${ctx.target}), with a matching A/AAAA record.`,
        ref: `RFC 1912 §2.1; ${GMAIL_REF}`,
      }));
    }
    if (r.names.length > 1) {
      findings.push(f('ptr.multiple', 'info', `${r.ip} has ${r.names.length} PTR records: ${r.names.join(', ')}`, {
        subject: r.ip, evidence,
        detail: 'Many receivers use only one PTR name (whichever the resolver returns first), so the check may pass or fail at random.',
        fix: `Keep a single PTR record for ${r.ip}${r.confirmedNames.length ? `, e.g. ${r.confirmedNames[0]}` : ''}.`,
        ref: 'RFC 1912 §2.1',
      }));
    }
    if (r.status === 'ok' && !r.generic) {
      findings.push(f('ptr.ok', 'pass', `${r.ip} → ${r.confirmedNames.join(', ')} → ${r.ip} (forward-confirmed)`, { subject: r.ip }));
    }
  }
  const unknown = results.map((x) => x.row).filter((r) => r.status === 'unknown');
  const ips = results.map((x) => x.row);
  if (unknown.length && !findings.some((x) => x.severity === 'error')) {
    return { status: 'unknown', reason: `reverse DNS could not be determined for ${unknown.map((r) => `${r.ip} (${r.reason})`).join(', ')}`, findings, data: { ips } };
  }
  return { findings, data: { ips } };
}

const check: Check = {
  findings: PTR_FINDINGS,
  docs: 'docs/checks/ptr.md',
  id: 'ptr',
  title: 'PTR / FCrDNS',
  needs: ['dns'],
  applies: (opts) => (opts.ips.length ? true : 'no --ip given: reverse DNS is checked for the sending IPs you name with --ip'),
  run,
  details: (r) => [{
    kind: 'list',
    items: ((r.data?.ips as PtrIp[] | undefined) ?? []).map((x) => [
      x.status === 'ok' ? span('✓', 'good') : x.status === 'unknown' ? span('?', 'unknown') : span('✗', 'bad'),
      span(` ${x.ip} → `),
      x.names.length ? span(x.names.join(', ')) : muted('(no PTR)'),
      ...(x.generic ? [span(' generic', 'warn')] : []),
    ]),
  }],
};
export default check;
