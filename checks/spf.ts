// SPF (RFC 7208): walks the include/redirect tree of the From domain and, with
// --mail-from, of the envelope domain (where receivers actually evaluate SPF),
// then judges the tree: record selection, syntax, the 10-lookup and 2-void
// limits (the void limit per address family: what an unlisted IPv4 or IPv6 sender
// gets), loops, permissive endings, ptr, sizes. With --ip, mailauth evaluates the
// SPF result of each IP (src/spf/evaluate.ts) after the parallel walk has filled
// the DNS cache.
import ipaddr from 'ipaddr.js';
import { checkHost } from '../src/spf/evaluate.ts';
import type { Check, CheckContext, CheckOutput, Evidence, Finding, Severity, Detail } from '../src/types.ts';
import { finder } from '../src/findings.ts';
import { LOOKUP_LIMIT, VOID_LIMIT, MX_ADDRESS_LIMIT, walkSpf, type SpfNode, type SpfTree } from '../src/spf/walker.ts';
import { authorizedRanges, costliest, defaultResult, nodes, pathTo, recordSize, sizeProblems, toCidr, unmatchedResult, type AuthorizedRange, type UnmatchedResult } from '../src/spf/analyze.ts';
import { spfTreeDetail } from '../src/spf/view.ts';
import { muted, span } from '../src/report/details.ts';
import { SPF_FINDINGS } from '../src/catalog/spf.ts';

const f = finder('spf');

export type SpfRole = 'from' | 'envelope';

export interface SpfDomainData {
  roles: SpfRole[];
  record: string | null;
  tree: SpfNode;
  lookups: number;
  voidLookups: number;
  truncated: boolean;
  authorizedRanges: AuthorizedRange[];
  /** what check_host() gives a sender of each family that no ip4/ip6/a/mx range lists */
  unmatched: { ipv4: UnmatchedResult; ipv6: UnmatchedResult };
}

export interface SpfEvaluation {
  ip: string;
  domain: string;
  /** the MAIL FROM address evaluated (%{s}, %{l}, %{o}) */
  sender: string;
  /** the local part was not given: RFC 7208 §4.3 has "postmaster" assumed */
  assumedLocalPart?: 'postmaster';
  result: 'pass' | 'fail' | 'softfail' | 'neutral' | 'none' | 'permerror' | 'temperror';
  comment?: string;
  lookups?: number;
  voidLookups?: number;
}

const FIX_RECORD = (d: string) => `"v=spf1 ip4:<your sending IPs> include:<your email provider's SPF domain> -all" at ${d}`;

function where(tree: SpfTree, n: SpfNode): string {
  if (n === tree.root) return `${n.domain}'s record`;
  return `${n.domain} (${[tree.root.domain, ...pathTo(tree.root, n)].join(' → ')})`;
}

function txtEvidence(n: SpfNode): Evidence {
  return { query: n.domain, type: 'TXT', rcode: n.rcode, answers: n.txt.map((t) => JSON.stringify(t)) };
}

function parentOf(root: SpfNode, child: SpfNode): SpfNode | undefined {
  for (const n of nodes(root)) if (n.children.includes(child)) return n;
  return undefined;
}

/** Findings about one domain's tree; every finding's subject is that domain. */
export function treeFindings(tree: SpfTree, evaluated: boolean, otherEnvelope?: string): Finding[] {
  const d = tree.domain;
  const out: Finding[] = [];
  const add = (code: string, sev: Severity, summary: string, extra: Parameters<typeof f>[3] = {}) => out.push(f(code, sev, summary, { ...extra, subject: d }));
  const root = tree.root;

  const rootMissing = root.errors.find((e) => e.kind === 'missing');
  if (rootMissing) {
    add('spf.missing', evaluated ? 'error' : 'warn', `${d} has no SPF record`, {
      detail: `${rootMissing.message}. Receivers get SPF "none": nothing authorizes your servers and DMARC cannot pass on SPF.` +
        (evaluated ? '' : ` Mail is evaluated on the envelope domain ${otherEnvelope}; ${d} still needs a record so that nobody can use it as an envelope domain.`),
      evidence: [txtEvidence(root)],
      fix: evaluated
        ? `Publish one TXT record ${FIX_RECORD(d)}, listing every service that sends as ${d}.`
        : `Publish "v=spf1 -all" at ${d} if it is never used as an envelope domain, else ${FIX_RECORD(d)}.`,
      ref: 'RFC 7208 §4.5, §2.6.1',
    });
    return out;
  }

  for (const n of nodes(root)) {
    const at = where(tree, n);
    for (const e of n.errors) {
      switch (e.kind) {
        case 'missing': {
          const parent = parentOf(root, n);
          add('spf.missing', 'error', `"${n.term}" in ${parent?.domain ?? d}'s record points at ${n.domain}, which has no SPF record`, {
            detail: `${e.message}. An ${n.via} of a name without an SPF record is a permerror (RFC 7208 ${n.via === 'include' ? '§5.2' : '§6.1'}): receivers treat every message as failing SPF.`,
            evidence: [txtEvidence(n)],
            fix: `Remove "${n.term}" from ${parent?.domain ?? d}'s record, or correct the name (a typo, or a provider's old SPF domain: check its current documentation).`,
            ref: n.via === 'include' ? 'RFC 7208 §5.2' : 'RFC 7208 §6.1',
          });
          break;
        }
        case 'multiple-records':
          add('spf.multiple-records', 'error', `${n.domain} publishes more than one v=spf1 record${n === root ? '' : ` (reached by ${pathTo(root, n).join(' → ')})`}`, {
            detail: `${e.message}. Two records make every evaluation a permerror.`,
            evidence: [txtEvidence(n)],
            fix: n.shared ? `${n.domain} belongs to a provider: tell it, and until it is fixed list its ranges yourself.` : `Merge them into one TXT record at ${n.domain} (one "v=spf1 … -all" with all the terms) and delete the others.`,
            ref: 'RFC 7208 §3.2, §4.5',
          });
          break;
        case 'syntax':
          add('spf.syntax', 'error', `Syntax error in ${at}: "${e.term}": ${e.message}`, {
            detail: 'A syntax error anywhere in a record makes its evaluation a permerror, whatever the IP.',
            evidence: [{ query: n.domain, type: 'TXT', answers: [JSON.stringify(n.record)] }],
            fix: n.shared ? `${n.domain} belongs to a provider: report the broken term to it.` : `Correct or remove "${e.term}" in the TXT record at ${n.domain}.`,
            ref: 'RFC 7208 §4.6, §12',
          });
          break;
        case 'loop':
          add('spf.include-loop', 'error', `Include loop in ${d}'s SPF: ${e.message}`, {
            detail: `"${e.term}" in ${n.domain}'s record points back at a record that is already being evaluated; evaluation runs until the 10-lookup limit and ends in permerror.`,
            evidence: [{ query: n.domain, type: 'TXT', answers: [JSON.stringify(n.record)] }],
            fix: `Remove "${e.term}" from the record at ${n.domain}.`,
            ref: 'RFC 7208 §4.6.4, §5.2',
          });
          break;
        case 'mx-too-many-addresses':
          add('spf.mx-too-many-addresses', 'error', `"${e.term}" in ${at} needs more than ${MX_ADDRESS_LIMIT} address lookups`, {
            detail: `${e.message}; RFC 7208 §4.6.4 makes the mx mechanism a permerror beyond ${MX_ADDRESS_LIMIT}.`,
            evidence: [{ query: e.query?.replace(/^MX /, ''), type: 'MX', answers: (n.terms.find((t) => t.term === e.term)?.mx ?? []).map((h) => h.exchange) }],
            fix: `Replace "${e.term}" with ip4:/ip6: terms for the hosts that actually send, or an a: term per sending host.`,
            ref: 'RFC 7208 §4.6.4',
          });
          break;
      }
    }
  }

  const lower = tree.truncated || tree.failures.length ? 'at least ' : '';
  if (tree.lookups > LOOKUP_LIMIT) {
    const top = costliest(tree).slice(0, 6);
    add('spf.too-many-lookups', 'error', `${d}'s SPF needs ${lower}${tree.lookups} DNS lookups; the limit is ${LOOKUP_LIMIT}`, {
      detail: `include, a, mx, ptr, exists and redirect each cost a lookup, across the whole include/redirect tree. Over ${LOOKUP_LIMIT}, receivers stop with permerror and your mail fails SPF.\n` +
        `Costliest: ${top.map((c) => `${c.term} ${c.lookups}`).join(', ')}.`,
      evidence: [{ query: d, type: 'TXT', answers: [JSON.stringify(root.record)] }],
      fix: `Cut ${tree.lookups - LOOKUP_LIMIT} lookup(s): drop includes of services you no longer use, replace a/mx terms with the ip4:/ip6: ranges they resolve to, or point a subdomain envelope (e.g. bounces.${d}) at the heaviest provider (${top[0]?.term}) instead of including it.`,
      ref: 'RFC 7208 §4.6.4',
    });
  }
  const unmatched = { 4: unmatchedResult(tree, 4), 6: unmatchedResult(tree, 6) };
  const voidHit = [unmatched[4], unmatched[6]].filter((u) => u.limit === 'void');
  if (voidHit.length) {
    // RFC 7208 §5.3: an a term queries A for IPv4 clients, AAAA for IPv6 ones, so the count differs by family
    const both = voidHit.length === 2;
    const who = both ? 'senders' : `IPv${voidHit[0]!.family} senders`;
    const same = both && voidHit[0]!.term === voidHit[1]!.term && voidHit[0]!.domain === voidHit[1]!.domain;
    const at = (u: UnmatchedResult) => `"${u.term}" in ${u.domain}${u.domain === d ? "'s record" : ''}`;
    const other = both ? undefined : unmatched[voidHit[0]!.family === 4 ? 6 : 4];
    add('spf.void-lookups', 'error', `${d}'s SPF reaches ${VOID_LIMIT + 1} void lookups for ${both ? 'IPv4 and IPv6' : `IPv${voidHit[0]!.family}`} senders: every ${who.replace(/s$/, '')} not matched before ${same || !both ? at(voidHit[0]!) : `${at(voidHit[0]!)} (IPv4), ${at(voidHit[1]!)} (IPv6)`} gets permerror`, {
      detail: voidHit.map((u) => `IPv${u.family} senders (the a terms query ${u.family === 4 ? 'A' : 'AAAA'}): ${u.voidTerms.join(', ')} return NXDOMAIN or no records.`).join(' ') +
        (other ? ` IPv${other.family} senders: ${other.voidLookups}/${VOID_LIMIT} void (${other.result}${other.result === 'permerror' ? `: ${other.reason}` : ''}).` : '') +
        ` Receivers that enforce the limit (RFC 7208 §4.6.4) return permerror past it; a sender matched by an earlier term still passes.`,
      fix: `Remove or correct those terms, or move them after the ip4:/ip6: terms: ${[...new Set(voidHit.flatMap((u) => u.voidTerms))].join(', ')}.`,
      ref: 'RFC 7208 §4.6.4, §5.3',
    });
  } else if (tree.voidLookups > VOID_LIMIT) {
    const voids: string[] = [];
    for (const n of nodes(root)) for (const t of n.terms) if (t.void) voids.push(`"${t.term}" in ${n.domain}`);
    add('spf.void-lookups', 'error', `${d}'s SPF has ${tree.voidLookups} void lookups; the limit is ${VOID_LIMIT}`, {
      detail: `These terms look up names that do not exist or have no records: ${voids.join(', ')}. Receivers that enforce the limit return permerror.`,
      fix: `Remove or correct those terms: ${voids.join(', ')}.`,
      ref: 'RFC 7208 §4.6.4',
    });
  }

  // what an IP that nothing matches gets, following redirects (RFC 7208 §4.7)
  const def = root.record !== null ? defaultResult(root) : { qualifier: 'none' as const, at: root, explicit: false };
  if (def.qualifier === '+') {
    add('spf.permissive-all', 'error', `${def.at === root ? `${d}'s record` : where(tree, def.at)} ends in "+all": every IP on the internet passes SPF for ${d}`, {
      evidence: [{ query: def.at.domain, type: 'TXT', answers: [JSON.stringify(def.at.record)] }],
      fix: `End the record at ${def.at.domain} with "-all" (or "~all" while you check that every sender is listed).`,
      ref: 'RFC 7208 §5.1',
    });
  } else if (def.qualifier === '?') {
    add('spf.permissive-all', 'warn', def.explicit
      ? `${def.at === root ? `${d}'s record` : where(tree, def.at)} ends in "?all": every other IP gets "neutral", which protects nothing`
      : `${def.at === root ? `${d}'s record` : where(tree, def.at)} has no "all" and no redirect: every other IP gets "neutral"`, {
      detail: 'A neutral result is treated like no SPF policy: spoofed mail is not rejected and DMARC cannot pass on SPF for it.',
      evidence: [{ query: def.at.domain, type: 'TXT', answers: [JSON.stringify(def.at.record)] }],
      fix: `End the record at ${def.at.domain} with "-all" (or "~all" while you check that every sender is listed).`,
      ref: 'RFC 7208 §4.7, §5.1',
    });
  }
  // an included record whose default is +all matches every IP: the include then passes everyone
  for (const n of nodes(root)) {
    if (n.via !== 'include' || !n.record) continue;
    const inc = defaultResult(n);
    if (inc.qualifier !== '+') continue;
    add('spf.permissive-all', 'error', `${where(tree, inc.at)} ends in "+all": through "${n.term}", every IP passes SPF for ${d}`, {
      evidence: [{ query: inc.at.domain, type: 'TXT', answers: [JSON.stringify(inc.at.record)] }],
      fix: inc.at.shared ? `Remove "${n.term}" until its owner fixes the record.` : `End the record at ${inc.at.domain} with "-all", or remove "${n.term}".`,
      ref: 'RFC 7208 §5.1, §5.2',
    });
  }

  const ptrs: string[] = [];
  for (const n of nodes(root)) for (const t of n.terms) if (t.name === 'ptr' && t.status !== 'ignored') ptrs.push(`"${t.term}" in ${n.domain}`);
  if (ptrs.length) {
    add('spf.ptr-mechanism', 'warn', `${d}'s SPF uses the ptr mechanism: ${ptrs.join(', ')}`, {
      detail: 'ptr is slow (a PTR lookup plus an address lookup per name), unreliable, and some receivers skip it; RFC 7208 says it SHOULD NOT be used.',
      fix: 'Replace each ptr term with ip4:/ip6: terms (or an a: term) for the hosts it was meant to cover.',
      ref: 'RFC 7208 §5.5',
    });
  }

  for (const n of nodes(root)) {
    if (!n.txt.length) continue;
    const size = recordSize(n);
    const problems = sizeProblems(size);
    if (n.tcp) problems.push('the answer only arrived over TCP (truncated over UDP)');
    if (!problems.length) continue;
    add('spf.record-too-long', n.shared ? 'info' : 'warn', `The TXT answer for ${n === root ? d : where(tree, n)} is too large: ${problems.join('; ')}`, {
      detail: 'Receivers whose resolvers cannot use EDNS0 or TCP (firewalls) may silently get no record and treat your mail as having no SPF, or temperror.',
      evidence: [txtEvidence(n)],
      fix: n.shared
        ? `${n.domain} belongs to a provider; nothing to change on your side unless SPF results are erratic.`
        : `Shorten the TXT records at ${n.domain}: merge ip4 ranges into wider CIDR blocks, drop unused terms, move other TXT records (site verifications) to other names, or split the policy with an include: of a subdomain.`,
      ref: 'RFC 7208 §3.4',
    });
  }

  if (!tree.failures.length && !out.some((x) => x.severity === 'error')) {
    const ending = def.qualifier === 'none' ? 'no ending' : `"${def.qualifier}all"${def.at === root ? '' : ` (via ${def.at.domain})`}`;
    const [v4, v6] = [unmatched[4].voidLookups, unmatched[6].voidLookups];
    const voids = v4 === v6 ? `${v4}/${VOID_LIMIT} void` : `${v4}/${VOID_LIMIT} void for IPv4 senders, ${v6}/${VOID_LIMIT} for IPv6`;
    add('spf.ok', 'pass', `${d}: one valid SPF record, ${tree.lookups}/${LOOKUP_LIMIT} DNS lookups, ${voids}, ends in ${def.explicit ? ending : 'neutral (no all)'}`, {
      evidence: [{ query: d, type: 'TXT', answers: [JSON.stringify(root.record)] }],
    });
  }
  return out;
}

function ptrName(ip: string): string {
  const a = ipaddr.parse(ip);
  if (a.kind() === 'ipv4') return `${a.toString().split('.').reverse().join('.')}.in-addr.arpa`;
  const nibbles = a.toByteArray().flatMap((b) => [b >> 4, b & 15]).map((n) => n.toString(16));
  return `${nibbles.reverse().join('.')}.ip6.arpa`;
}

/**
 * check_host() for one IP (mailauth, strict: RFC 7208 exactly), reading the DNS
 * cache the walk filled. Without a local part, "postmaster" is assumed (§4.3).
 */
async function evaluate(ctx: CheckContext, domain: string, address: string | undefined, ip: string): Promise<SpfEvaluation> {
  const sender = address ?? `postmaster@${domain}`;
  const r = await checkHost({ ip, sender, resolver: ctx.dns.mailauthResolver });
  return {
    ip, domain, sender, ...(address ? {} : { assumedLocalPart: 'postmaster' as const }), result: r.result,
    ...(r.comment ? { comment: r.comment } : {}),
    ...(r.lookups !== undefined ? { lookups: r.lookups } : {}),
    ...(r.voidLookups !== undefined ? { voidLookups: r.voidLookups } : {}),
  };
}

/** Terms of the tree that explicitly give the IP something other than pass ("-ip4:…", "~a"): the likely cause. */
function denyingTerms(tree: SpfTree, ip: string): string[] {
  const addr = ipaddr.parse(ip);
  const out: string[] = [];
  for (const n of nodes(tree.root)) {
    for (const t of n.terms) {
      if (t.status === 'ignored' || !t.qualifier || t.qualifier === '+') continue;
      const ips = t.ip ? [t.ip] : [...(t.addresses ?? []), ...(t.mx ?? []).flatMap((h) => h.addresses)];
      const hit = ips.some((x) => {
        const c = toCidr(x, x.includes(':') ? t.cidr6 : t.cidr4);
        if (!c) return false;
        const [net, len] = ipaddr.parseCIDR(c.range);
        return net.kind() === addr.kind() && addr.match(net, len);
      });
      if (hit) out.push(`"${t.term}" in ${n.domain}'s record`);
    }
  }
  return out;
}

function evaluationFinding(e: SpfEvaluation, tree: SpfTree | undefined): Finding | null {
  const sev: Partial<Record<SpfEvaluation['result'], Severity>> = { fail: 'error', permerror: 'error', softfail: 'warn', neutral: 'warn' };
  const assumed = e.assumedLocalPart ? ` Evaluated as MAIL FROM ${e.sender}: no local part was given, so "${e.assumedLocalPart}" is assumed (RFC 7208 §4.3); pass --mail-from the full address if the record uses %{l} or %{s}.` : '';
  if (e.result === 'pass') {
    return f('spf.ip-authorized', 'pass', `${e.ip} passes SPF for ${e.domain}`, { subject: e.domain, ...(assumed ? { detail: assumed.trim() } : {}), evidence: [{ note: e.comment }] });
  }
  const s = sev[e.result];
  if (!s) return null;
  const what = e.result === 'permerror'
    ? `SPF evaluation for ${e.ip} at ${e.domain} ends in permerror: receivers treat it as a failure`
    : `${e.ip} is not authorized by ${e.domain}'s SPF (result: ${e.result})`;
  const denied = e.result === 'permerror' || !tree ? [] : denyingTerms(tree, e.ip);
  return f('spf.ip-not-authorized', s, what, {
    detail: [e.comment ? `${e.comment}.` : '', denied.length ? `Explicitly matched by ${denied.join(', ')}.` : '', assumed.trim()].filter(Boolean).join(' '),
    fix: e.result === 'permerror'
      ? `Fix the record errors reported above for ${e.domain}.`
      : denied.length
        ? `If ${e.ip} sends your mail, remove or change ${denied.join(', ')}.`
        : `Add "${e.ip.includes(':') ? 'ip6' : 'ip4'}:${e.ip}" or the include: of the service that sends from ${e.ip} to ${e.domain}'s record — or stop sending from it.`,
    ref: 'RFC 7208 §2.6, §4.6',
    subject: e.domain,
  });
}

async function run(ctx: CheckContext): Promise<CheckOutput> {
  const from = ctx.target;
  const envelope = ctx.opts.mailFrom ?? from;
  // --mail-from with a local part: %{s} and %{l} expand in the walk and the evaluation
  const address = typeof ctx.opts.mailFromAddress === 'string' ? ctx.opts.mailFromAddress : undefined;
  const domains = [...new Set([from, envelope])];
  // with --ip, a ptr term or %{p} will need the PTR names: ask now, alongside the walk
  for (const ip of ctx.opts.ips) void ctx.dns.query(ptrName(ip), 'PTR');
  const trees = await Promise.all(domains.map((d) => {
    const sender = d === envelope ? address : undefined;
    return ctx.memo(`spf.tree:${d}${sender ? ` ${sender}` : ''}`, () => walkSpf(ctx.dns, d, sender ? { sender } : {}));
  }));
  // mailauth evaluates one lookup at a time: only now, with the cache filled by the walk
  const evaluations = await Promise.all(ctx.opts.ips.map((ip) => evaluate(ctx, envelope, address, ip)));

  const findings: Finding[] = [];
  const byDomain: Record<string, SpfDomainData> = {};
  trees.forEach((tree, i) => {
    const d = domains[i]!;
    findings.push(...treeFindings(tree, d === envelope, envelope));
    byDomain[d] = {
      roles: [...(d === from ? ['from' as const] : []), ...(d === envelope ? ['envelope' as const] : [])],
      record: tree.root.record, tree: tree.root, lookups: tree.lookups, voidLookups: tree.voidLookups,
      truncated: tree.truncated, authorizedRanges: authorizedRanges(tree),
      unmatched: { ipv4: unmatchedResult(tree, 4), ipv6: unmatchedResult(tree, 6) },
    };
  });
  for (const e of evaluations) {
    const x = evaluationFinding(e, trees[domains.indexOf(e.domain)]);
    if (x) findings.push(x);
  }

  const main = byDomain[from]!;
  const data: Record<string, unknown> = {
    domain: from, record: main.record, tree: main.tree, lookups: main.lookups, voidLookups: main.voidLookups,
    truncated: main.truncated, authorizedRanges: main.authorizedRanges, unmatched: main.unmatched, evaluatedDomain: envelope,
    ...(address ? { sender: address } : {}), domains: byDomain,
    ...(evaluations.length ? { evaluations } : {}),
  };

  const failures = trees.flatMap((t) => t.failures.map((x) => `${x.query} (in ${t.domain}'s tree, record of ${x.node}): ${x.rcode}`));
  const temp = evaluations.filter((e) => e.result === 'temperror').map((e) => `SPF evaluation of ${e.ip} at ${e.domain}: temperror${e.comment ? ` (${e.comment})` : ''}`);
  if (failures.length || temp.length) {
    return { status: 'unknown', reason: `DNS lookup failed: ${[...failures, ...temp].join('; ')}`, findings, data };
  }
  return { findings, data };
}

const check: Check = {
  findings: SPF_FINDINGS,
  docs: 'docs/checks/spf.md',
  id: 'spf',
  title: 'SPF',
  needs: ['dns'],
  run,
  details: (r) => {
    const data = r.data as { domains?: Record<string, SpfDomainData>; evaluations?: SpfEvaluation[] } | undefined;
    if (!data?.domains) return [];
    const out: Detail[] = [];
    const entries = Object.entries(data.domains);
    for (const [d, x] of entries) {
      const title = entries.length > 1 ? [muted(`${x.roles.includes('envelope') ? 'envelope (MAIL FROM) domain' : 'From domain'} ${d}:`)] : undefined;
      out.push(spfTreeDetail({ root: x.tree, lookups: x.lookups, voidLookups: x.voidLookups, truncated: x.truncated }, title, x.unmatched));
    }
    const evals = data.evaluations ?? [];
    if (evals.length) {
      out.push({
        kind: 'list',
        items: evals.map((e) => [
          span(`${e.ip} → `),
          span(e.result, e.result === 'pass' ? 'good' : e.result === 'fail' || e.result === 'permerror' ? 'bad' : 'warn'),
          span(' '),
          muted(`(SPF of ${e.domain}, MAIL FROM ${e.sender ?? `postmaster@${e.domain}`}${e.assumedLocalPart ? ': local part assumed, RFC 7208 §4.3' : ''})`),
        ]),
      });
    }
    return out;
  },
  headline: (r) => {
    const d = r.data as { lookups?: number; record?: string } | undefined;
    return `${d?.lookups !== undefined ? `${d.lookups}/10 lookups` : ''}${d?.record ? `  ${d.record}` : ''}`.trim() || undefined;
  },

};
export default check;
