// DMARC: does the From domain publish a policy receivers will apply, and does it
// protect the domain? Discovery by the RFC 9989 DNS Tree Walk (as mailauth 7 does),
// compared with the RFC 7489 Public Suffix List method; report destinations
// checked for their RFC 9990 §4 authorization.
import type { Check, CheckContext, CheckOutput, Evidence, Finding, Rich } from '../src/types.ts';
import { finder } from '../src/findings.ts';
import { evidenceOf } from '../src/dns/resolver.ts';
import { nameExists, sharedDiscovery } from '../src/dmarc/discover.ts';
import { rfc7489Policy, rfc9989Policy } from '../src/dmarc/effective.ts';
import { DMARC_LOOKALIKE_RE, parseDmarc, RANK, type ParsedDmarc, type PolicyValue } from '../src/dmarc/record.ts';
import { checkDestinations, type ReportDestination } from '../src/dmarc/report-auth.ts';
import { DMARC_FINDINGS } from '../src/catalog/dmarc.ts';
import { muted, span } from '../src/report/details.ts';

const f = finder('dmarc');
const REF = 'RFC 9989 §4.7';
const REF_WALK = 'RFC 9989 §4.10';

export type DmarcData = {
  record: string | null;
  recordDomain: string | null;
  organizationalDomain: string | null;
  pslOrganizationalDomain: string | null;
  rfc7489RecordDomain: string | null;
  inherited: boolean;
  /** RFC 9989: the policy receivers apply to mail from the target domain (np= for a name that does not exist, sp= for an inherited record, then t=y one step lower) */
  effectivePolicy: PolicyValue | null;
  /** the tag effectivePolicy comes from (before t=y) */
  effectivePolicyTag: 'p' | 'sp' | 'np' | null;
  /** what an RFC 7489 receiver applies: the record at rfc7489RecordDomain, sp= when inherited; no np=, no t= */
  rfc7489EffectivePolicy: PolicyValue | null;
  /** does the target name exist (RFC 8020: only NXDOMAIN says no)? Asked for an inherited record only; null otherwise or when the lookup failed */
  nameExists: boolean | null;
  policy: ParsedDmarc['policy'] | null;
  reportDestinations: { kind: 'rua' | 'ruf'; uri: string; domain: string; external: boolean; authorized: boolean | null; query?: string }[];
  walk: { domain: string; rcode: string; records: string[] }[];
};

async function run(ctx: CheckContext): Promise<CheckOutput> {
  const domain = ctx.target;
  const d = await sharedDiscovery(ctx, domain);
  const findings: Finding[] = [];
  const walkEv = (names: string[]): Evidence[] => d.walk.filter((w) => names.includes(w.domain)).map((w) => evidenceOf(w.resp));
  const data: DmarcData = {
    record: d.record, recordDomain: d.recordDomain, organizationalDomain: d.orgDomain, pslOrganizationalDomain: d.pslOrgDomain,
    rfc7489RecordDomain: d.rfc7489RecordDomain, inherited: Boolean(d.recordDomain && d.recordDomain !== domain),
    effectivePolicy: null, effectivePolicyTag: null, rfc7489EffectivePolicy: null, nameExists: null, policy: null, reportDestinations: [],
    walk: d.walk.map((w) => ({ domain: w.domain, rcode: w.resp.rcode, records: w.records })),
  };
  if (d.rfc7489RecordDomain) {
    const rec = d.walk.find((w) => w.domain === d.rfc7489RecordDomain)?.dmarc[0];
    data.rfc7489EffectivePolicy = rfc7489Policy(rec ? parseDmarc(rec) : null, d.rfc7489RecordDomain === domain);
  }
  if (d.error && !d.record) return { status: 'unknown', reason: `DMARC policy discovery failed: ${d.error}`, findings, data: { ...data } };

  // names the domain owner controls: the author domain up to its registrable domain
  const owned = d.walk.filter((w) => w.domain === domain || (d.pslOrgDomain && (w.domain === d.pslOrgDomain || w.domain.endsWith(`.${d.pslOrgDomain}`))));
  let discarded = false;
  for (const w of owned) {
    if (w.dmarc.length > 1) {
      discarded = true;
      findings.push(f('dmarc.multiple-records', 'error', `_dmarc.${w.domain} has ${w.dmarc.length} DMARC records, so receivers ignore all of them`, {
        evidence: [evidenceOf(w.resp)], subject: `_dmarc.${w.domain}`,
        detail: 'RFC 9989 §4.10: a set of several DMARC records at one name is discarded, as if there were none.',
        fix: `Merge them into one TXT record at _dmarc.${w.domain} and delete the others.`, ref: REF_WALK,
      }));
    }
    const lookalikes = w.records.filter((r) => DMARC_LOOKALIKE_RE.test(r) && !w.dmarc.includes(r.trim()));
    if (lookalikes.length && (w.domain === domain || w.domain === d.orgDomain || w.domain === d.pslOrgDomain)) {
      discarded = true;
      findings.push(f('dmarc.syntax', 'error', `_dmarc.${w.domain} has a record that receivers do not read as DMARC: it must start with exactly "v=DMARC1"`, {
        evidence: [evidenceOf(w.resp)], subject: `_dmarc.${w.domain}`,
        fix: `Rewrite it as "v=DMARC1; p=none; rua=mailto:dmarc-reports@${d.pslOrgDomain ?? domain}" (v=DMARC1 first, in upper case).`, ref: REF,
      }));
    }
  }

  if (d.pslOrgDomain && d.orgDomain && d.pslOrgDomain !== d.orgDomain) {
    findings.push(f('dmarc.org-domain-differs', 'info', `The RFC 9989 Tree Walk finds the organizational domain ${d.orgDomain}; the older RFC 7489 Public Suffix List method finds ${d.pslOrgDomain}`, {
      evidence: walkEv(d.walk.map((w) => w.domain)),
      detail: `Receivers on RFC 7489 use the PSL: ${d.rfc7489RecordDomain ? `they apply the record at _dmarc.${d.rfc7489RecordDomain}` : 'they find no record'}${d.rfc7489RecordDomain !== d.recordDomain ? `, while RFC 9989 receivers ${d.recordDomain ? `apply _dmarc.${d.recordDomain}` : 'find none'}` : ', the same record'}. Relaxed alignment is judged against the organizational domain, so the two kinds of receivers may disagree about it.`,
      fix: d.rfc7489RecordDomain !== d.recordDomain ? `Publish the intended policy at _dmarc.${domain} itself so both methods find the same record.` : 'Nothing to fix; keep it in mind when aligning subdomains.',
      ref: `${REF_WALK}; RFC 7489 §3.2`,
    }));
  }

  if (!d.record) {
    if (!discarded) {
      findings.push(f('dmarc.missing', 'error', `No DMARC policy applies to ${domain}`, {
        evidence: walkEv(d.walk.map((w) => w.domain)),
        detail: `Looked up _dmarc.${domain} and every parent up to the top-level domain (the RFC 9989 Tree Walk). Gmail, Yahoo and Microsoft require a DMARC record of at least p=none for bulk senders, and without one anyone can send as ${domain}.`,
        fix: `Publish TXT at _dmarc.${d.pslOrgDomain ?? domain}: "v=DMARC1; p=none; rua=mailto:dmarc-reports@${d.pslOrgDomain ?? domain}", read the reports, then move to p=quarantine and p=reject.`,
        ref: REF_WALK,
      }));
    }
    return { findings, data };
  }

  const recordDomain = d.recordDomain!;
  const parsed = parseDmarc(d.record);
  const recEv = walkEv([recordDomain]);
  const subject = `_dmarc.${recordDomain}`;
  const p = parsed.policy;
  data.policy = p;
  const applied = parsed.applied;
  // an inherited record: np= for a name that does not exist (RFC 8020), so ask whether it does
  const existence = data.inherited && applied ? await ctx.memo(`dmarc:exists:${domain}`, () => nameExists(ctx.dns, domain)) : null;
  data.nameExists = existence?.exists ?? null;
  const eff = rfc9989Policy(applied, p.t, !data.inherited, existence?.exists ?? null, existence?.reason);
  const effective = eff.policy;
  data.effectivePolicy = effective;
  data.effectivePolicyTag = eff.tag;

  const errs = parsed.problems.filter((x) => x.severity === 'error');
  const warns = parsed.problems.filter((x) => x.severity === 'warn');
  if (parsed.problems.length) {
    findings.push(f('dmarc.syntax', errs.length ? 'error' : 'warn', `${subject}: ${errs.length ? (applied ? 'the policy record has errors' : 'receivers apply no policy from this record') : 'the policy record has problems strict receivers notice'}`, {
      evidence: recEv, subject,
      detail: [...errs, ...warns].map((x) => `${x.severity === 'error' ? 'error' : 'warning'}: ${x.message}`).join('\n'),
      fix: `Rewrite the record as "v=DMARC1; p=${p.p ?? 'none'}; rua=mailto:dmarc-reports@${d.pslOrgDomain ?? domain}" plus only the tags you need (sp, np, adkim, aspf, t, fo, ruf).`,
      ref: REF,
    }));
  }
  if (parsed.deprecated.length) {
    const pctBelow = p.pct !== null && p.pct < 100;
    findings.push(f('dmarc.deprecated-tag', pctBelow ? 'warn' : 'info', `${subject} uses ${parsed.deprecated.map((t) => `${t}=`).join(', ')}, which RFC 9989 made historic`, {
      evidence: recEv, subject,
      detail: (pctBelow ? `pct=${p.pct}: RFC 7489 receivers apply the policy to ${p.pct}% of failing mail, RFC 9989 receivers ignore pct and apply it to all of it (or to none, with t=y). ` : '') +
        'RFC 9989 receivers ignore pct, rf and ri; the t= tag replaces pct for a gradual roll-out.',
      fix: pctBelow ? `Replace pct=${p.pct} with t=y while testing, then remove t=y.` : `Remove ${parsed.deprecated.map((t) => `${t}=`).join(', ')} from the record.`,
      ref: 'RFC 9989 §4.7, Appendix C',
    }));
  }
  if (effective === 'none') {
    const how = [
      ...(eff.tag && eff.tag !== 'p' ? [`through ${eff.tag}=${applied![eff.tag]}${eff.tag === 'np' ? ` (${domain} does not exist)` : ''}`] : []),
      ...(eff.lowered ? [`${eff.tag}=${applied![eff.tag!]} lowered by t=y`] : []),
    ];
    const via = data.inherited || how.length ? ` (${[...(data.inherited ? [`inherited from _dmarc.${recordDomain}`] : []), ...how].join(', ')})` : '';
    findings.push(f('dmarc.policy-none', 'warn', `The DMARC policy for ${domain} is none${via}: receivers only report, spoofed mail is still delivered`, {
      evidence: recEv, subject,
      detail: 'p=none satisfies the Gmail/Yahoo/Microsoft bulk-sender minimum but protects nothing. Use the aggregate reports to find every legitimate source, then enforce.',
      fix: `Once every legitimate source passes DMARC in your reports, set p=quarantine, then p=reject, at ${subject}.`,
      ref: 'RFC 9989 §4.7 (p=)',
    }));
  }
  if (p.t === 'y') {
    findings.push(f('dmarc.testing-mode', 'warn', `${subject} has t=y: receivers apply the policy one step weaker (reject → quarantine, quarantine → none)`, {
      evidence: recEv, subject,
      fix: 'Remove t=y (or set t=n) when the reports show your mail passes.',
      ref: 'RFC 9989 §4.7 (t=)',
    }));
  }
  if (!p.rua.length) {
    findings.push(f('dmarc.no-rua', 'warn', `${subject} asks for no aggregate reports (no valid rua=)`, {
      evidence: recEv, subject,
      detail: 'Without aggregate reports you cannot see who sends as your domain or whether your own mail passes, which is what it takes to move safely to enforcement.',
      fix: `Add rua=mailto:dmarc-reports@${d.pslOrgDomain ?? domain} (or your DMARC report processor's address).`,
      ref: 'RFC 9990',
    }));
  }
  const weaker: string[] = [];
  if (applied && p.p) {
    if (p.sp && RANK[p.sp] < RANK[p.p]) weaker.push(`sp=${p.sp}`);
    if (p.np && RANK[p.np] < RANK[p.p]) weaker.push(`np=${p.np}`);
  }
  if (weaker.length) {
    findings.push(f('dmarc.subdomain-policy-weaker', 'warn', `${subject}: ${weaker.join(' and ')} ${weaker.length > 1 ? 'are' : 'is'} weaker than p=${p.p}, so ${weaker.some((w) => w.startsWith('np')) ? 'non-existent ' : ''}subdomains of ${recordDomain} are easier to spoof`, {
      evidence: recEv, subject,
      detail: 'sp= is the policy for subdomains without their own record, np= for subdomains that do not exist at all; attackers use exactly those names.',
      fix: `Raise ${weaker.map((w) => w.split('=')[0]).join(' and ')} to ${p.p} (or remove ${weaker.length > 1 ? 'them' : 'it'} to inherit p=${p.p}).`,
      ref: 'RFC 9989 §4.7 (sp=, np=)',
    }));
  }

  // reporting destinations outside the domain need their consent, all asked at once
  const dests: ReportDestination[] = await checkDestinations(ctx.dns, recordDomain, d.orgDomain, [
    ...p.rua.map((uri) => ({ kind: 'rua' as const, uri })),
    ...p.ruf.map((uri) => ({ kind: 'ruf' as const, uri })),
  ]);
  data.reportDestinations = dests.map(({ resp: _r, reason: _x, ...rest }) => rest);
  const unknowns: string[] = [];
  for (const x of dests) {
    if (x.authorized === false) {
      findings.push(f('dmarc.rua-unauthorized', 'warn', `${x.kind}=${x.uri}: ${x.domain} has not authorized reports for ${recordDomain}, so receivers drop them`, {
        evidence: x.resp ? [evidenceOf(x.resp)] : [], subject: x.query,
        detail: `Reports go to a domain outside ${recordDomain} only when ${x.query} publishes TXT "v=DMARC1" (${x.reason}).`,
        fix: `Ask the operator of ${x.domain} to publish TXT "v=DMARC1" at ${x.query} (report services usually do this when you add your domain), or send reports to a mailbox at ${recordDomain}.`,
        ref: 'RFC 9990 §4',
      }));
    } else if (x.authorized === null) unknowns.push(`the report authorization ${x.query} could not be looked up (${x.reason})`);
  }

  if (d.error) {
    findings.push(f('dmarc.org-domain-unknown', 'info', `The organizational domain of ${domain} could not be determined: ${d.error}`, {
      detail: 'The record at the domain itself applies regardless; relaxed alignment, which compares organizational domains, cannot be judged.',
      fix: 'Re-run later, or try another --resolver.', ref: REF_WALK,
    }));
  }
  if (applied && !findings.some((x) => x.severity === 'error' || x.severity === 'warn')) {
    findings.push(f('dmarc.ok', 'pass', `DMARC ${eff.tag}=${effective}${data.inherited ? ` for ${domain}, inherited from _dmarc.${recordDomain}` : ` at ${subject}`}, reports to ${p.rua.join(', ')}`, { evidence: recEv, subject }));
  }
  const hasError = findings.some((x) => x.severity === 'error');
  if (eff.unknown) unknowns.push(`the effective policy is not known: ${eff.unknown}`);
  if ((unknowns.length || d.error) && !hasError) {
    return { status: 'unknown', reason: [...unknowns, ...(d.error ? [`organizational domain unknown: ${d.error}`] : [])].join('; '), findings, data };
  }
  return { findings, data };
}

const check: Check = {
  findings: DMARC_FINDINGS,
  docs: 'docs/checks/dmarc.md',
  id: 'dmarc',
  title: 'DMARC',
  needs: ['dns'],
  run,
  details: (r) => {
    const d = r.data as DmarcData | undefined;
    if (!d) return [];
    const items: Rich[] = [];
    if (d.record) items.push([muted(`_dmarc.${d.recordDomain}`), span(` ${d.record}`)]);
    if (d.effectivePolicy) {
      const from = d.effectivePolicyTag && d.effectivePolicyTag !== 'p' ? `${d.effectivePolicyTag}=` : '';
      const notes = [...(d.inherited ? ['inherited'] : []), ...(from ? [`from ${from}`] : []), ...(d.policy?.t === 'y' ? ['t=y'] : [])];
      items.push([
        span(`policy for ${r.target}: `),
        d.effectivePolicy === 'none' ? span('none', 'warn') : span(d.effectivePolicy, 'good'),
        ...(notes.length ? [muted(` (${notes.join(', ')})`)] : []),
        ...(d.rfc7489EffectivePolicy !== d.effectivePolicy ? [span(` (RFC 7489 receivers: ${d.rfc7489EffectivePolicy ?? 'no policy'})`, 'warn')] : []),
      ]);
    }
    if (d.organizationalDomain) {
      items.push([span(`organizational domain: ${d.organizationalDomain}`), ...(d.pslOrganizationalDomain !== d.organizationalDomain ? [span(` (PSL: ${d.pslOrganizationalDomain ?? 'none'})`, 'warn')] : [])]);
    }
    for (const x of d.reportDestinations ?? []) {
      if (x.external) items.push([span(`${x.kind} ${x.uri} `), x.authorized ? span('authorized', 'good') : x.authorized === false ? span('not authorized', 'bad') : muted('unknown')]);
    }
    return [{ kind: 'list', items }];
  },
  headline: (r) => {
    const p = (r.data as DmarcData | undefined)?.policy;
    return p ? `p=${p.p}${p.sp ? ` sp=${p.sp}` : ''}${p.rua?.length ? ' rua' : ''}` : undefined;
  },
};
export default check;
