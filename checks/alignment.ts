// DMARC alignment: can the domains SPF and DKIM authenticate (the envelope
// MAIL FROM domain and the DKIM d= domain) ever match the From domain, under the
// policy's aspf/adkim modes? Strict = identical domains; relaxed = the same
// organizational domain, found by the RFC 9989 Tree Walk (the RFC 7489 Public
// Suffix List answer is computed too and any disagreement reported).
import type { Check, CheckContext, CheckOutput, CheckResult, Finding, Rich } from '../src/types.ts';
import { finder } from '../src/findings.ts';
import { registrableDomain, relaxedAligned } from '../src/dns/orgdomain.ts';
import { sharedDiscovery, sharedOrgDomain } from '../src/dmarc/discover.ts';
import { ALIGNMENT_FINDINGS } from '../src/catalog/alignment.ts';
import { muted, span } from '../src/report/details.ts';

const f = finder('alignment');
const REF = 'RFC 9989 §4.4';

type Mode = 'r' | 's';

export interface IdentifierAlignment {
  /** the authenticated domain: envelope MAIL FROM (spf) or DKIM d= (dkim) */
  domain: string;
  /** its RFC 9989 organizational domain; null when the Tree Walk failed */
  orgDomain: string | null;
  strict: boolean;
  /** relaxed under RFC 9989 (Tree Walk); null when it could not be determined */
  relaxed: boolean | null;
  /** relaxed under RFC 7489 (Public Suffix List) */
  relaxedPsl: boolean;
  /** the mode the policy asks for; null when no policy could be read */
  mode: Mode | null;
  /** aligned under that mode (relaxed when there is no policy); null when unknown */
  aligned: boolean | null;
  assumed: boolean;
}

function shareParent(a: string, b: string): boolean {
  // two names under different top-level domains can never share an organizational domain
  return a.split('.').pop() === b.split('.').pop();
}

async function judge(ctx: CheckContext, id: string, from: string, fromOrg: string | null, mode: Mode | null, assumed: boolean, fromOrgError: string | undefined, noPolicy: boolean) {
  const strict = id === from;
  let relaxed: boolean | null;
  let orgDomain: string | null = null;
  let error: string | undefined;
  if (noPolicy && !strict) {
    // with no DMARC record anywhere, every name is its own organizational domain and
    // nothing aligns relaxed; judge by where the record will be published: the
    // registrable domain (the PSL), which is what receivers then find
    relaxed = relaxedAligned(id, from);
    orgDomain = registrableDomain(id);
  } else if (strict) {
    relaxed = true;
    orgDomain = fromOrg;
  } else if (!fromOrg) {
    relaxed = shareParent(id, from) ? null : false;
    error = fromOrgError;
  } else if (id !== fromOrg && !id.endsWith(`.${fromOrg}`)) {
    // an organizational domain is the name itself or one of its parents
    relaxed = false;
    try { orgDomain = await sharedOrgDomain(ctx, id); } catch { orgDomain = null; }
  } else {
    try {
      orgDomain = await sharedOrgDomain(ctx, id);
      relaxed = orgDomain === fromOrg;
    } catch (e) {
      relaxed = null;
      error = (e as Error).message;
    }
  }
  // without a readable policy the mode is unknown: only an answer true in both modes counts
  const aligned = mode === 's' ? strict : mode === 'r' ? relaxed : strict ? true : relaxed === false ? false : null;
  const r: IdentifierAlignment = { domain: id, orgDomain, strict, relaxed, relaxedPsl: relaxedAligned(id, from), mode, aligned, assumed };
  return { r, error };
}

function describeOne(kind: 'SPF' | 'DKIM', a: IdentifierAlignment, from: string, fromOrg: string | null): string {
  const what = kind === 'SPF' ? `the envelope domain ${a.domain}` : `the DKIM domain d=${a.domain}`;
  if (a.strict) return `${what} is the From domain itself (strict and relaxed alignment)`;
  if (a.relaxed) return `${what} shares the organizational domain ${fromOrg} with ${from} (relaxed alignment only)`;
  return `${what} is in organizational domain ${a.orgDomain ?? '?'}, ${from} in ${fromOrg ?? '?'}`;
}

async function run(ctx: CheckContext): Promise<CheckOutput> {
  const from = ctx.target;
  const mailFrom = ctx.opts.mailFrom ?? from;
  const dkimDomain = ctx.opts.dkimDomain ?? from;
  const findings: Finding[] = [];
  // the identifiers' own Tree Walks do not depend on the policy: start them now,
  // alongside the dmarc check, instead of after it
  for (const id of new Set([mailFrom, dkimDomain])) if (id !== from) sharedOrgDomain(ctx, id).catch(() => undefined);
  let dmarc: CheckResult | undefined;
  try {
    dmarc = await ctx.result('dmarc');
  } catch {
    dmarc = undefined;
  }
  const dd = dmarc?.data as { record?: string | null; policy?: { aspf: Mode; adkim: Mode } | null; organizationalDomain?: string | null } | undefined;
  const disc = await sharedDiscovery(ctx, from);
  const fromOrg = dd?.organizationalDomain ?? disc.orgDomain;
  const havePolicy = Boolean(dd?.record && dd.policy);
  // no record at all (a definite answer) means DMARC's defaults: relaxed
  const policyKnown = havePolicy || (dmarc !== undefined && dmarc.status !== 'unknown') || (!disc.error && !disc.record);
  const aspf: Mode | null = havePolicy ? dd!.policy!.aspf : policyKnown ? 'r' : null;
  const adkim: Mode | null = havePolicy ? dd!.policy!.adkim : policyKnown ? 'r' : null;
  const noPolicy = !havePolicy && policyKnown;
  const pslOrg = registrableDomain(from);

  const [spf, dkim] = await Promise.all([
    judge(ctx, mailFrom, from, fromOrg, aspf, !ctx.opts.mailFrom, disc.error, noPolicy),
    judge(ctx, dkimDomain, from, fromOrg, adkim, !ctx.opts.dkimDomain, disc.error, noPolicy),
  ]);
  const data = { from, fromOrgDomain: noPolicy ? (pslOrg ?? from) : fromOrg, policyFound: havePolicy, spf: spf.r, dkim: dkim.r };

  if (!ctx.opts.mailFrom || !ctx.opts.dkimDomain) {
    const which = [!ctx.opts.mailFrom ? 'envelope (MAIL FROM)' : '', !ctx.opts.dkimDomain ? 'DKIM d=' : ''].filter(Boolean).join(' and ');
    findings.push(f('alignment.assumed', 'info', `Assumed the ${which} domain${which.includes(' and ') ? 's are' : ' is'} ${from} (not given)`, {
      detail: 'ESPs often use their own bounce domain and signing domain, which then do not align. Give the real ones to check what receivers will see.',
      fix: 'Run again with --mail-from <Return-Path domain> and --dkim-domain <d= of the DKIM-Signature>, both read from the headers of a message you sent.',
    }));
  }
  if (noPolicy) {
    findings.push(f('alignment.no-policy', 'info', `${from} has no DMARC policy, so alignment decides nothing yet; computed with DMARC's default relaxed modes, for a record at _dmarc.${pslOrg ?? from}`, {
      fix: `Publish a DMARC record (see the dmarc check).`, ref: 'RFC 9989 §4.7 (adkim=, aspf=)',
    }));
  }

  const unknowns: string[] = [];
  const report = (kind: 'SPF' | 'DKIM', j: { r: IdentifierAlignment; error?: string }, otherAligned: boolean | null) => {
    const a = j.r;
    const tag = kind === 'SPF' ? 'aspf' : 'adkim';
    if (a.aligned === null) {
      unknowns.push(`${kind} alignment of ${a.domain} could not be determined${j.error ? `: ${j.error}` : a.mode === null ? ' (the DMARC policy could not be read)' : ''}`);
      return;
    }
    if (a.relaxed !== null && a.relaxed !== a.relaxedPsl && !a.strict) {
      findings.push(f('alignment.psl-differs', 'info', `${kind}: ${a.domain} ${a.relaxed ? 'aligns' : 'does not align'} with ${from} by the RFC 9989 Tree Walk but ${a.relaxedPsl ? 'aligns' : 'does not'} by the RFC 7489 Public Suffix List`, {
        detail: 'Receivers still on RFC 7489 judge relaxed alignment by the PSL, so they will disagree with RFC 9989 receivers about this identifier.',
        fix: `Use ${from} itself (strict alignment holds under both methods).`, ref: `${REF}; RFC 7489 §3.1`,
      }));
    }
    if (a.aligned) return;
    const code = kind === 'SPF' ? 'alignment.spf-unaligned' : 'alignment.dkim-unaligned';
    const onlyRelaxed = a.relaxed && !a.strict && a.mode === 's';
    findings.push(f(code, 'warn', `${kind} cannot align: ${onlyRelaxed ? `${a.domain} shares ${from}'s organizational domain, but ${tag}=s requires the identical domain` : describeOne(kind, a, from, data.fromOrgDomain)}`, {
      detail: `${otherAligned ? `DMARC can still pass through ${kind === 'SPF' ? 'DKIM' : 'SPF'}, but ${kind === 'SPF' ? 'an SPF pass' : 'a valid DKIM signature'}` : kind === 'SPF' ? 'An SPF pass' : 'A valid DKIM signature'} for ${a.domain} does not count for DMARC on mail From ${from}.`,
      fix: onlyRelaxed
        ? `Set ${tag}=r in the DMARC record, or use ${from} itself as the ${kind === 'SPF' ? 'envelope' : 'signing'} domain.`
        : kind === 'SPF'
          ? `Use a bounce (Return-Path) domain under ${data.fromOrgDomain ?? from}, e.g. bounces.${from}, set up as a custom return path at your ESP.`
          : `Sign with d=${from} (or a subdomain of ${data.fromOrgDomain ?? from}): set up DKIM for your own domain at your ESP.`,
      ref: REF, subject: a.domain,
    }));
  };
  report('SPF', spf, dkim.r.aligned);
  report('DKIM', dkim, spf.r.aligned);

  if (spf.r.aligned === false && dkim.r.aligned === false) {
    findings.push(f('alignment.none', 'error', `Neither SPF (${mailFrom}) nor DKIM (${dkimDomain}) can align with ${from}: DMARC fails for every message`, {
      detail: 'DMARC passes only when SPF or DKIM passes for a domain aligned with the From domain. Gmail, Yahoo and Microsoft require that for bulk mail.',
      fix: `Sign with DKIM for ${from} (d=${from}) at your ESP; that alone makes DMARC pass and survives forwarding.`, ref: REF,
    }));
  }
  const hasError = findings.some((x) => x.severity === 'error');
  if (unknowns.length && !hasError) return { status: 'unknown', reason: unknowns.join('; '), findings, data };
  const ok = [spf.r.aligned ? `SPF (${mailFrom}, ${spf.r.strict ? 'strict' : 'relaxed'})` : '', dkim.r.aligned ? `DKIM (${dkimDomain}, ${dkim.r.strict ? 'strict' : 'relaxed'})` : ''].filter(Boolean);
  if (ok.length) findings.push(f('alignment.ok', 'pass', `${ok.join(' and ')} align${ok.length === 1 ? 's' : ''} with ${from}`));
  return { findings, data };
}

const check: Check = {
  findings: ALIGNMENT_FINDINGS,
  docs: 'docs/checks/alignment.md',
  id: 'alignment',
  title: 'DMARC alignment',
  needs: ['dns'],
  dependsOn: ['dmarc'],
  run,
  details: (r) => {
    const d = r.data as { spf?: IdentifierAlignment; dkim?: IdentifierAlignment } | undefined;
    if (!d?.spf || !d.dkim) return [];
    const yes = (v: boolean | null) => (v === null ? muted('?') : v ? span('yes', 'good') : muted('no'));
    const line = (k: string, a: IdentifierAlignment): Rich => [
      span(`${k.padEnd(5)}${a.domain}`), ...(a.assumed ? [muted(' (assumed)')] : []),
      span('  strict '), yes(a.strict), span('  relaxed '), yes(a.relaxed),
      span(`  mode ${a.mode ?? '?'} → `), a.aligned === null ? muted('unknown') : a.aligned ? span('aligned', 'good') : span('not aligned', 'bad'),
    ];
    return [{ kind: 'list', items: [line('SPF', d.spf), line('DKIM', d.dkim)] }];
  },
};
export default check;
