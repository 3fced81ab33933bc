// The bulk-sender profile: the Gmail and Yahoo requirements for senders of 5,000+
// messages a day (enforced from February 2024) and Microsoft's for Outlook.com
// (more than 5,000 a day, from May 2025), each requirement one line that says
// pass, fail, unknown or "not checkable here", with the providers that ask for it.
// It judges nothing itself: it reads the spf, dkim, dmarc, alignment and ptr results.
import type { Check, CheckContext, CheckOutput, CheckResult, Finding } from '../src/types.ts';
import { finder } from '../src/findings.ts';
import { BULKSENDER_FINDINGS } from '../src/catalog/bulk-sender.ts';
import { muted, span } from '../src/report/details.ts';

const f = finder('bulk-sender');

export type Provider = 'gmail' | 'yahoo' | 'microsoft';
export type LineStatus = 'pass' | 'fail' | 'unknown' | 'not-checkable';

export const PROVIDER_DOCS: Record<Provider, { name: string; url: string }> = {
  gmail: { name: 'Gmail (5,000+ messages/day, Feb 2024)', url: 'https://support.google.com/a/answer/81126' },
  yahoo: { name: 'Yahoo (bulk senders, Feb 2024)', url: 'https://senders.yahooinc.com/best-practices/' },
  microsoft: {
    name: 'Microsoft Outlook.com (more than 5,000 messages/day, May 2025)',
    url: 'https://techcommunity.microsoft.com/blog/microsoftdefenderforoffice365blog/strengthening-email-ecosystem-outlook%E2%80%99s-new-requirements-for-high%E2%80%90volume-senders/4399730',
  },
};

export interface Requirement {
  id: string;
  requirement: string;
  providers: Provider[];
  /** how strongly each provider asks: required, or recommended */
  level: Partial<Record<Provider, 'required' | 'recommended'>>;
  status: LineStatus;
  /** the providers' documents for this requirement */
  refs?: string[];
  detail: string;
  /** the check this line is read from, or what can check it */
  source: string;
  fix?: string;
}

type Def = Omit<Requirement, 'status' | 'detail' | 'source' | 'fix'>;
const REQ: Record<string, Def> = {
  spf: { id: 'spf', requirement: 'SPF record published for the envelope (MAIL FROM) domain', providers: ['gmail', 'yahoo', 'microsoft'], level: { gmail: 'required', yahoo: 'required', microsoft: 'required' } },
  'spf-pass': { id: 'spf-pass', requirement: 'SPF passes for the sending IPs', providers: ['gmail', 'yahoo', 'microsoft'], level: { gmail: 'required', yahoo: 'required', microsoft: 'required' } },
  dkim: { id: 'dkim', requirement: 'DKIM key published for the signing domain', providers: ['gmail', 'yahoo', 'microsoft'], level: { gmail: 'required', yahoo: 'required', microsoft: 'required' } },
  dmarc: { id: 'dmarc', requirement: 'DMARC policy published for the From domain (p=none or stronger)', providers: ['gmail', 'yahoo', 'microsoft'], level: { gmail: 'required', yahoo: 'required', microsoft: 'required' } },
  alignment: { id: 'alignment', requirement: 'From domain aligned with the SPF or the DKIM domain', providers: ['gmail', 'yahoo', 'microsoft'], level: { gmail: 'required', yahoo: 'required', microsoft: 'required' } },
  ptr: { id: 'ptr', requirement: 'Sending IPs have forward-confirmed reverse DNS (PTR)', providers: ['gmail', 'yahoo'], level: { gmail: 'required', yahoo: 'required' } },
  unsubscribe: { id: 'unsubscribe', requirement: 'One-click unsubscribe (List-Unsubscribe + List-Unsubscribe-Post, RFC 8058) in marketing mail', providers: ['gmail', 'yahoo', 'microsoft'], level: { gmail: 'required', yahoo: 'required', microsoft: 'recommended' } },
  tls: { id: 'tls', requirement: 'TLS on the SMTP connection that delivers the mail', providers: ['gmail'], level: { gmail: 'required' } },
  format: { id: 'format', requirement: 'Messages formatted per RFC 5322 (one From, Date, Message-ID)', providers: ['gmail'], level: { gmail: 'required' } },
  'spam-rate': { id: 'spam-rate', requirement: 'User-reported spam rate below 0.3% (aim for under 0.1%)', providers: ['gmail', 'yahoo'], level: { gmail: 'required', yahoo: 'required' } },
};

type Got = { result: CheckResult } | { missing: string };

async function read(ctx: CheckContext, id: string): Promise<Got> {
  try {
    return { result: await ctx.result(id) };
  } catch (e) {
    return { missing: `the ${id} check is not available (${(e as Error).message})` };
  }
}

/** A line for an input that could not be read or did not run. */
function unavailable(g: Got, def: Def, source: string): Requirement | null {
  if ('missing' in g) return { ...def, status: 'unknown', detail: g.missing, source };
  const r = g.result;
  if (r.status === 'unknown' && r.reason?.startsWith('not run:')) return { ...def, status: 'unknown', detail: `the ${source} check did not run (${r.reason.slice(9)})`, source };
  return null;
}

function spfLines(g: Got, ctx: CheckContext): Requirement[] {
  const pre = unavailable(g, REQ.spf!, 'spf');
  if (pre) return [pre, { ...REQ['spf-pass']!, status: ctx.opts.ips.length ? 'unknown' : 'not-checkable', detail: ctx.opts.ips.length ? pre.detail : 'give the sending IPs with --ip', source: 'spf' }];
  const r = (g as { result: CheckResult }).result;
  const data = r.data as { evaluatedDomain?: string; domains?: Record<string, { record: string | null }>; evaluations?: { ip: string; result: string }[] } | undefined;
  const envelope = data?.evaluatedDomain ?? ctx.opts.mailFrom ?? ctx.target;
  const rec = data?.domains?.[envelope];
  // the record's own lookup failed (SERVFAIL, timeout): nothing is known about it, so neither is the requirement
  const lookupFailed = (rec as { tree?: { errors?: { kind: string; message: string }[] } } | undefined)?.tree?.errors?.find((e) => e.kind === 'dns');
  const errors = r.findings.filter((x) => x.severity === 'error' && (x.subject === envelope || x.subject === undefined) && x.code !== 'spf.ip-not-authorized');
  let published: Requirement;
  if (rec?.record && !errors.length) {
    published = { ...REQ.spf!, status: r.status === 'unknown' ? 'unknown' : 'pass', detail: r.status === 'unknown' ? `${envelope} has an SPF record, but ${r.reason}` : `${envelope}: ${rec.record}`, source: 'spf' };
  } else if (rec && rec.record === null && lookupFailed) {
    published = { ...REQ.spf!, status: 'unknown', detail: `the SPF lookup for ${envelope} failed: ${lookupFailed.message}`, source: 'spf' };
  } else if (rec && (rec.record === null || errors.length)) {
    published = {
      ...REQ.spf!, status: 'fail', source: 'spf',
      detail: rec.record === null ? `${envelope} has no SPF record` : `${envelope}'s SPF record has errors: ${[...new Set(errors.map((x) => x.code))].join(', ')}`,
      fix: 'See the spf check findings.',
    };
  } else {
    published = { ...REQ.spf!, status: 'unknown', detail: r.reason ?? `the spf result has no data for ${envelope}`, source: 'spf' };
  }
  let pass: Requirement;
  const evals = data?.evaluations ?? [];
  if (!ctx.opts.ips.length) pass = { ...REQ['spf-pass']!, status: 'not-checkable', detail: 'give the sending IPs with --ip to evaluate SPF for them', source: 'spf' };
  else if (!evals.length) pass = { ...REQ['spf-pass']!, status: 'unknown', detail: r.reason ?? 'no SPF evaluation in the spf result', source: 'spf' };
  else {
    const bad = evals.filter((e) => e.result !== 'pass' && e.result !== 'temperror');
    const temp = evals.filter((e) => e.result === 'temperror');
    pass = bad.length
      ? { ...REQ['spf-pass']!, status: 'fail', detail: bad.map((e) => `${e.ip}: ${e.result}`).join(', '), source: 'spf', fix: `Authorize ${bad.map((e) => e.ip).join(', ')} in ${envelope}'s SPF record (see the spf check).` }
      : temp.length
        ? { ...REQ['spf-pass']!, status: 'unknown', detail: temp.map((e) => `${e.ip}: temperror`).join(', '), source: 'spf' }
        : { ...REQ['spf-pass']!, status: 'pass', detail: `${evals.map((e) => e.ip).join(', ')} pass at ${envelope}`, source: 'spf' };
  }
  return [published, pass];
}

function dkimLine(g: Got, ctx: CheckContext): Requirement {
  const pre = unavailable(g, REQ.dkim!, 'dkim');
  if (pre) return pre;
  const r = (g as { result: CheckResult }).result;
  const data = r.data as { signingDomain?: string; keys?: { selector: string; domain: string; usable: boolean; source: string }[] } | undefined;
  const signing = data?.signingDomain ?? ctx.opts.dkimDomain ?? ctx.target;
  const usable = (data?.keys ?? []).filter((k) => k.domain === signing && k.usable);
  if (usable.length) return { ...REQ.dkim!, status: 'pass', detail: `usable key(s) at ${usable.map((k) => `${k.selector}._domainkey.${signing}`).join(', ')}`, source: 'dkim' };
  const named = (ctx.opts.selectors ?? []).length;
  if (named && r.status !== 'unknown') {
    return { ...REQ.dkim!, status: 'fail', detail: `no usable key at the selector(s) you named on ${signing}: ${ctx.opts.selectors.join(', ')}`, source: 'dkim', fix: 'Publish the public key for the selector you sign with (see the dkim check).' };
  }
  return { ...REQ.dkim!, status: 'unknown', detail: r.reason ?? `no usable key found at ${signing}`, source: 'dkim', fix: 'Name your selector with --selector to check it.' };
}

function dmarcLine(g: Got, ctx: CheckContext): Requirement {
  const pre = unavailable(g, REQ.dmarc!, 'dmarc');
  if (pre) return pre;
  const r = (g as { result: CheckResult }).result;
  const data = r.data as { record?: string | null; recordDomain?: string | null; effectivePolicy?: string | null } | undefined;
  if (data?.record && data.effectivePolicy) {
    return { ...REQ.dmarc!, status: 'pass', detail: `p=${data.effectivePolicy} for ${ctx.target} (from _dmarc.${data.recordDomain})`, source: 'dmarc' };
  }
  if (r.status === 'unknown') return { ...REQ.dmarc!, status: 'unknown', detail: r.reason ?? 'DMARC could not be determined', source: 'dmarc' };
  const codes = [...new Set(r.findings.filter((x) => x.severity === 'error').map((x) => x.code))];
  return {
    ...REQ.dmarc!, status: 'fail', source: 'dmarc',
    detail: data?.record ? `the record at _dmarc.${data.recordDomain} applies no policy (${codes.join(', ')})` : `no DMARC policy applies to ${ctx.target}${codes.length ? ` (${codes.join(', ')})` : ''}`,
    fix: `Publish "v=DMARC1; p=none; rua=mailto:…" at _dmarc.${ctx.target} (see the dmarc check).`,
  };
}

function alignmentLine(g: Got): Requirement {
  const pre = unavailable(g, REQ.alignment!, 'alignment');
  if (pre) return pre;
  const r = (g as { result: CheckResult }).result;
  const data = r.data as { spf?: { domain: string; aligned: boolean | null; assumed: boolean }; dkim?: { domain: string; aligned: boolean | null; assumed: boolean } } | undefined;
  const spf = data?.spf;
  const dkim = data?.dkim;
  if (!spf || !dkim) return { ...REQ.alignment!, status: 'unknown', detail: r.reason ?? 'no alignment data', source: 'alignment' };
  const assumed = spf.assumed || dkim.assumed ? ' (domains not given were assumed to be the From domain)' : '';
  if (spf.aligned || dkim.aligned) {
    return { ...REQ.alignment!, status: 'pass', detail: `${[spf.aligned ? `SPF ${spf.domain}` : '', dkim.aligned ? `DKIM ${dkim.domain}` : ''].filter(Boolean).join(' and ')} align${assumed}`, source: 'alignment' };
  }
  if (spf.aligned === false && dkim.aligned === false) {
    return { ...REQ.alignment!, status: 'fail', detail: `neither SPF (${spf.domain}) nor DKIM (${dkim.domain}) aligns${assumed}`, source: 'alignment', fix: 'Sign with d= your From domain, or use a bounce domain under it (see the alignment check).' };
  }
  return { ...REQ.alignment!, status: 'unknown', detail: r.reason ?? 'alignment could not be determined', source: 'alignment' };
}

function ptrLine(g: Got, ctx: CheckContext): Requirement {
  if (!ctx.opts.ips.length) return { ...REQ.ptr!, status: 'not-checkable', detail: 'give the sending IPs with --ip to check their reverse DNS', source: 'ptr' };
  const pre = unavailable(g, REQ.ptr!, 'ptr');
  if (pre) return pre;
  const r = (g as { result: CheckResult }).result;
  const ips = (r.data as { ips?: { ip: string; names: string[]; forwardConfirmed: boolean | null }[] } | undefined)?.ips ?? [];
  if (!ips.length) return { ...REQ.ptr!, status: 'unknown', detail: r.reason ?? 'no reverse DNS data', source: 'ptr' };
  // forwardConfirmed null means the lookups failed: that IP is unknown, never "no PTR record"
  const bad = ips.filter((x) => x.forwardConfirmed === false);
  const unk = ips.filter((x) => x.forwardConfirmed === null);
  if (bad.length) {
    return {
      ...REQ.ptr!, status: 'fail', source: 'ptr',
      detail: bad.map((x) => `${x.ip}: ${x.names.length ? `${x.names.join(', ')} does not resolve back to it` : 'no PTR record'}`).join('; '),
      fix: 'Ask the owner of the IPs (your hosting provider or ESP) for a PTR name that resolves back to the IP (see the ptr check).',
    };
  }
  if (unk.length) return { ...REQ.ptr!, status: 'unknown', detail: r.reason ?? 'reverse DNS could not be determined', source: 'ptr' };
  return { ...REQ.ptr!, status: 'pass', detail: ips.map((x) => `${x.ip} ↔ ${x.names[0]}`).join(', '), source: 'ptr' };
}

function outside(def: Def, detail: string, source: string): Requirement {
  return { ...def, status: 'not-checkable', detail, source };
}

function providersText(r: Requirement): string {
  return r.providers.map((p) => `${p === 'gmail' ? 'Gmail' : p === 'yahoo' ? 'Yahoo' : 'Microsoft'}${r.level[p] === 'recommended' ? ' (recommended)' : ''}`).join(', ');
}

async function run(ctx: CheckContext): Promise<CheckOutput> {
  const [spf, dkim, dmarc, alignment, ptr] = await Promise.all(['spf', 'dkim', 'dmarc', 'alignment', 'ptr'].map((id) => read(ctx, id)));
  const lines: Requirement[] = [
    ...spfLines(spf!, ctx),
    dkimLine(dkim!, ctx),
    dmarcLine(dmarc!, ctx),
    alignmentLine(alignment!),
    ptrLine(ptr!, ctx),
    outside(REQ.unsubscribe!, 'a header of each message: checked by the content check (inboxlens content FILE.eml) and set by placement send', 'content'),
    outside(REQ.tls!, "a property of your sending server's connection: the smtp check (--smtp) tests your submission server's TLS", 'smtp'),
    outside(REQ.format!, 'a property of each message: checked by the content check (inboxlens content FILE.eml)', 'content'),
    outside(REQ['spam-rate']!, "measured by the providers only: watch Google Postmaster Tools and Yahoo Sender Hub", 'Postmaster Tools'),
  ];
  for (const l of lines) l.refs = l.providers.map((p) => PROVIDER_DOCS[p].url);
  const findings: Finding[] = [];
  const refOf = (ls: Requirement[]) => [...new Set(ls.flatMap((l) => l.providers))].map((p) => PROVIDER_DOCS[p].url).join(' ; ');
  for (const l of lines) {
    const who = providersText(l);
    if (l.status === 'pass') findings.push(f('bulk-sender.ok', 'pass', `${l.requirement}: met (${who})`, { detail: l.detail, ref: refOf([l]), subject: l.id }));
    else if (l.status === 'fail') findings.push(f(`bulk-sender.${l.id}`, 'error', `${l.requirement}: not met (${who})`, { detail: l.detail, fix: l.fix, ref: refOf([l]), subject: l.id }));
    else if (l.status === 'unknown') findings.push(f('bulk-sender.unknown', 'info', `${l.requirement}: could not be determined (${who})`, { detail: l.detail, fix: l.fix, ref: refOf([l]), subject: l.id }));
  }
  // what DNS cannot show, in one finding: the lines themselves are in data and the view
  const outsideLines = lines.filter((l) => l.status === 'not-checkable');
  if (outsideLines.length) {
    findings.push(f('bulk-sender.not-checkable', 'info', `${outsideLines.length} requirement(s) not checkable from DNS here: ${outsideLines.map((l) => l.id).join(', ')}`, {
      detail: outsideLines.map((l) => `${l.requirement} [${providersText(l)}]: ${l.detail}`).join('\n'),
      ref: refOf(outsideLines),
    }));
  }
  const count = (s: LineStatus) => lines.filter((l) => l.status === s).length;
  const data = {
    requirements: lines,
    providers: PROVIDER_DOCS,
    summary: { pass: count('pass'), fail: count('fail'), unknown: count('unknown'), notCheckable: count('not-checkable') },
  };
  const unknown = lines.filter((l) => l.status === 'unknown');
  if (!count('fail') && unknown.length) {
    return { status: 'unknown', reason: `${unknown.length} requirement(s) could not be determined: ${unknown.map((l) => l.id).join(', ')}`, findings, data };
  }
  return { findings, data };
}

const MARK: Record<LineStatus, string> = { pass: 'pass', fail: 'FAIL', unknown: '????', 'not-checkable': ' n/a' };

const check: Check = {
  findings: BULKSENDER_FINDINGS,
  docs: 'docs/checks/bulk-sender.md',
  id: 'bulk-sender',
  title: 'Bulk-sender requirements (Gmail, Yahoo, Microsoft)',
  needs: ['dns'],
  dependsOn: ['spf', 'dkim', 'dmarc', 'alignment', 'ptr'],
  run,
  details: (r) => [{
    kind: 'list',
    items: ((r.data?.requirements as Requirement[] | undefined) ?? []).map((l) => [
      l.status === 'pass' ? span(MARK.pass, 'good') : l.status === 'fail' ? span(MARK.fail, 'bad') : muted(MARK[l.status]),
      span(`  ${l.requirement} `),
      muted(`[${providersText(l)}]`),
      ...(l.status === 'pass' ? [] : [muted(` — ${l.status === 'not-checkable' ? `see: ${l.source}` : l.detail}`)]),
    ]),
  }],
};
export default check;
