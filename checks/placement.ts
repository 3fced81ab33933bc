// Seed-inbox placement: send a test message to seed mailboxes and/or find the
// copies there over IMAP and POP3, and report where each one landed (inbox, tab,
// spam, other folder, bounced, missing) with what the receiver said about it.
// Opt-in: it talks to real mail servers, so it runs only with --only placement
// (or through `inboxlens placement send|collect|run`).
import type { Check, CheckContext, CheckOutput, CheckResult, Detail, Finding, Rich, Tone } from '../src/types.ts';
import { muted, span } from '../src/report/details.ts';
import { finder } from '../src/findings.ts';
import { buildPlan, type PlacementPlan } from '../src/placement/plan.ts';
import { sendCopies } from '../src/placement/send.ts';
import { answeredRow, placementFindings, smtpReply, summarize } from '../src/placement/summary.ts';
import { fmtArrival } from '../src/report/placement-view.ts';
import type { PlacementRow, PlacementSummary, SendResult } from '../src/placement/types.ts';
import { whyLine } from '../src/placement/why.ts';
import { PLACEMENT_FINDINGS } from '../src/catalog/placement.ts';

const f = finder('placement');

/** The plan the placement command (or `check --only placement`) prepared, under this key of RunOptions. */
export const PLAN_KEY = 'placementPlan';

function matcherData(p: PlacementPlan) {
  const m = p.matcher;
  return {
    ...(m.token ? { token: m.token } : {}),
    ...(m.subject ? { subject: m.subject } : {}),
    ...(m.header ? { header: `${m.header.name}=${m.header.value}` } : {}),
    ...(m.from ? { from: m.from } : {}),
    ...(m.since ? { since: m.since.toISOString() } : {}),
  };
}

function sendFindings(sent: SendResult[], withRows: boolean) {
  const out = [];
  const rejected = sent.filter((s) => s.status === 'rejected');
  const deferred = sent.filter((s) => s.status === 'deferred');
  const failed = sent.filter((s) => s.status === 'error');
  // after a collect the rows carry refused copies as `bounced`, per provider
  if (rejected.length && !withRows) {
    out.push(f('placement.bounced', 'error', `The SMTP server refused ${rejected.length} of ${sent.length} copies`, {
      evidence: rejected.map((s) => ({ note: `${s.seed}: ${smtpReply(s.code, s.response)}` })),
      fix: 'Read the SMTP reply: 5.7.x is policy or authentication (fix SPF/DKIM/DMARC or the relay\'s sender rules), 5.1.1 a wrong seed address.',
      ref: 'RFC 5321 §4.2, RFC 3463',
    }));
  }
  if (deferred.length) {
    out.push(f('placement.deferred', 'warn', `The SMTP server deferred ${deferred.length} of ${sent.length} copies at submission: they were not queued, so nothing will retry them`, {
      evidence: deferred.map((s) => ({ note: `${s.seed}: ${smtpReply(s.code, s.response)}` })),
      detail: 'A 4xx reply to RCPT or after DATA means the submission server did not take the copy: it is not in its queue, and inboxlens does not retry. Waiting longer would not bring it; these seeds are reported as deferred, not missing.',
      fix: 'Read the reply: 452 is a recipient or rate limit on the submission server, 451 a local problem there (its log says which); send again once it is fixed.',
      ref: 'RFC 5321 §4.2.1, §4.5.4.1',
    }));
  }
  if (failed.length && !withRows) {
    out.push(f('placement.seed-error', 'warn', `${failed.length} of ${sent.length} copies could not be handed to the SMTP server`, {
      evidence: failed.map((s) => ({ note: `${s.seed}: ${s.error ?? 'failed'}` })),
      fix: 'Check --smtp (host, port, smtp:// vs smtps://), INBOXLENS_SMTP_PASS, and --smtp-ca for a private certificate.',
      ref: 'RFC 5321',
    }));
  }
  return out;
}

async function run(ctx: CheckContext<PlacementPlan | undefined>): Promise<CheckOutput> {
  const plan = ctx.settings;
  if (!plan) return { status: 'unknown', reason: 'no seeds: give --seeds FILE (and --token, or --match-subject/--match-header/--match-from)', findings: [] };
  const data: Record<string, unknown> = {
    phase: plan.phase,
    ...(plan.token ? { token: plan.token } : {}),
    matcher: matcherData(plan),
    seeds: plan.seeds.length,
    timeoutMs: plan.timeoutMs,
    idle: plan.idle,
  };
  const findings = [];
  const total = plan.seeds.length;

  if (plan.phase !== 'collect' && plan.send && !plan.sent) {
    let n = 0;
    ctx.progress(`sending ${total} copies…`, 0, total);
    plan.sent = await sendCopies(plan.send.spec, plan.seeds, plan.token!, plan.send.smtp, {
      dns: ctx.dns,
      onSent: (r) => ctx.progress(`sent ${++n}/${total} (${r.seed}: ${r.status})`, n, total),
    });
  }
  if (plan.sent) {
    data.send = plan.sent;
    findings.push(...sendFindings(plan.sent, plan.phase !== 'send'));
  }
  if (plan.phase === 'send') {
    const ok = plan.sent!.filter((s) => s.status === 'accepted').length;
    if (!ok) findings.push(noneSent(plan.sent!));
    else findings.push(f('placement.sent', ok === total ? 'pass' : 'info', `${ok} of ${total} copies accepted by the SMTP server; collect them with --token ${plan.token}`));
    for (const w of plan.seedsFile.warnings) findings.push(f('placement.insecure-access', 'warn', w, { fix: 'Use secure: true or STARTTLS with a verified certificate.', ref: 'RFC 8314' }));
    return { findings, data: { ...data, rows: [] } };
  }

  const counts: Record<string, number> = {};
  const live: PlacementRow[] = [];
  // the dashboard's table (every row so far) at most four times a second: one copy per row would be O(n²) for n seeds
  let lastPartial = 0;
  let flush: NodeJS.Timeout | undefined;
  const emitPartial = () => {
    clearTimeout(flush);
    flush = undefined;
    lastPartial = Date.now();
    ctx.partial({ rows: [...live] });
  };
  // the IMAP/POP3 machinery (imapflow and friends) loads only when a collect runs: every CLI start loads the check registry
  const { collectPlacement, cleanupCopies } = await import('../src/placement/collect.ts');
  ctx.progress(`waiting for ${total} cop${total === 1 ? 'y' : 'ies'}…`, 0, total);
  const res = await collectPlacement({
    seeds: plan.seeds,
    matcher: plan.matcher,
    timeoutMs: plan.timeoutMs,
    pollMs: plan.pollMs,
    idleRecheckMs: plan.idleRecheckMs,
    idle: plan.idle,
    maxConnectionsPerHost: plan.maxConnections,
    ...(plan.sent ? { sent: new Map(plan.sent.map((s) => [s.seed, s])) } : {}),
    ...(plan.bounces ? { bounces: plan.bounces } : {}),
    dns: ctx.dns,
    signal: ctx.signal,
    onRow: (row, done, all) => {
      // the dashboard fills its placement table from these as copies arrive
      live.push(row);
      if (done === all) emitPartial();
      else flush ??= setTimeout(emitPartial, Math.max(0, lastPartial + 250 - Date.now()));
      const k = row.placement.startsWith('tab:') ? 'tab' : row.placement.startsWith('other:') ? 'other' : row.placement;
      counts[k] = (counts[k] ?? 0) + 1;
      ctx.progress(`${done}/${all} seeds answered (${Object.entries(counts).map(([p, c]) => `${p} ${c}`).join(', ')})`, done, all);
    },
    log: (m) => ctx.log(m),
  });
  clearTimeout(flush);
  const summary = summarize(res.rows);
  findings.push(...placementFindings(res.rows, { plaintextWarnings: plan.seedsFile.warnings, timeoutMs: plan.timeoutMs }));
  Object.assign(data, { rows: res.rows, summary, durationMs: res.durationMs });
  if (res.bounces) data.bounces = res.bounces;
  if (res.bounces?.error) {
    findings.push(f('placement.seed-error', 'warn', `The bounces mailbox could not be read: ${res.bounces.error}`, { fix: 'Check the --bounces mailbox access (host, port, password).', ref: 'RFC 3464' }));
  }
  if (plan.cleanup && plan.token) {
    const c = await cleanupCopies(plan.seeds, res, plan.token, plan.maxConnections, ctx.dns);
    data.cleanup = c;
    findings.push(f('placement.cleanup', c.skipped.length ? 'warn' : 'info', `--cleanup deleted ${c.deleted} cop${c.deleted === 1 ? 'y' : 'ies'} carrying ${plan.token}${c.skipped.length ? `; ${c.skipped.length} left in place` : ''}`, {
      evidence: [
        ...c.removed.map((r) => ({ note: `deleted from ${r.seed}, folder ${r.folder}: ${r.messageId ?? `UID ${r.uid} (no Message-ID)`}` })),
        ...c.skipped.map((s) => ({ note: `${s.seed}: ${s.reason}` })),
      ],
    }));
  }
  const errors = res.rows.filter((r) => r.placement === 'error');
  const deferredRows = res.rows.filter((r) => r.placement === 'deferred');
  const answered = res.rows.filter(answeredRow).length;
  // placement run with nothing accepted: nothing went out, so this is the user's failure to fix, as for send alone
  if (plan.sent && !plan.sent.some((x) => x.status === 'accepted')) {
    findings.push(noneSent(plan.sent));
    return { findings, data };
  }
  const worst = findings.some((x) => x.severity === 'error');
  if (!answered && !errors.length) return { status: 'unknown', reason: `no copy was queued: the SMTP server deferred all ${deferredRows.length} at submission (placement.deferred)`, findings, data };
  if (!answered) return { status: 'unknown', reason: `no seed could be checked: ${errors[0]?.error ?? 'every seed failed'}`, findings, data };
  // a seed that would not log in is unknown, not a pass: say so unless something already fails
  if (errors.length && !worst) return { status: 'unknown', reason: `${errors.length} of ${res.rows.length} seed(s) could not be checked (placement.seed-error)`, findings, data };
  return { findings, data };
}

/** placement.none-sent: the SMTP server accepted no copy (send or run), with each seed's reply as evidence. */
function noneSent(sent: NonNullable<PlacementPlan['sent']>): Finding {
  // nothing went out, so nothing can be collected: a failure, never exit 0
  const why = sent.map((s) => s.error ?? s.response).find(Boolean);
  return f('placement.none-sent', 'error', `None of the ${sent.length} copies was accepted by the SMTP server${why ? `: ${why}` : ''}`, {
    evidence: sent.map((s) => ({ note: `${s.seed}: ${s.status}${s.response ? ` ${smtpReply(s.code, s.response)}` : `${s.code ? ` ${s.code}` : ''}${s.error ? ` ${s.error}` : ''}`}` })),
    fix: 'Check --smtp (host, port, smtp:// vs smtps://), INBOXLENS_SMTP_PASS, and --smtp-ca for a private certificate; then send again.',
    ref: 'RFC 5321 §4.2',
  });
}

/** Arrival times come from INTERNALDATE and Received: whole seconds, so they are shown as such. */
const fmtMs = fmtArrival;

function authCell(r: PlacementRow): string {
  const a = r.receiverAuth;
  if (!a) return '';
  const parts = [a.spf ? `spf=${a.spf.result}` : '', a.dkim.length ? `dkim=${a.dkim.map((d) => d.result).join('/')}` : '', a.dmarc ? `dmarc=${a.dmarc.result}` : ''];
  return parts.filter(Boolean).join(' ');
}

/** How a placement reads: inbox good, a tab informative, spam and bounces bad, the unknowns in between. */
export function placementTone(p: string): Tone | undefined {
  if (p === 'inbox' || p === 'not-spam') return 'good';
  if (p.startsWith('tab:')) return 'info';
  if (p === 'spam' || p === 'bounced') return 'bad';
  if (p === 'missing' || p === 'not-in-inbox' || p === 'error' || p === 'deferred') return 'warn';
  return undefined;
}

type PlacementData = { phase?: string; token?: string; rows?: PlacementRow[]; send?: SendResult[]; summary?: PlacementSummary; cleanup?: { deleted: number } };

/** The per-seed table and the summary line; live rows (partial data) draw the same way. */
function details(r: Pick<CheckResult, 'data'>): Detail[] {
  const d = r.data as PlacementData | undefined;
  if (!d) return [];
  const out: Detail[] = [];
  if (d.token) out.push({ kind: 'list', items: [[muted(`run token ${d.token}`)]] });
  if (d.phase === 'send' && d.send) {
    out.push({
      kind: 'table',
      columns: ['seed', 'smtp'],
      rows: d.send.map((x) => [x.seed, [span(x.status, x.status === 'accepted' ? 'good' : 'bad'), span(' '), muted(`${x.code ?? ''} ${x.response ?? x.error ?? ''}`.trim().slice(0, 80))]]),
    });
    return out;
  }
  const rows = d.rows ?? [];
  if (!rows.length) return out;
  out.push({
    kind: 'table',
    columns: ['seed', 'provider', 'placement', 'arrival', 'receiver'],
    align: ['left', 'left', 'left', 'right', 'left'],
    rows: rows.map((x) => [
      x.seed,
      x.provider,
      [span(x.placement, placementTone(x.placement))],
      fmtMs(x.timeToArrivalMs),
      x.placement === 'error' ? [muted(x.error ?? '')] : x.placement === 'bounced' ? [muted(`${x.bounce?.status ?? ''} ${x.bounce?.diagnostic ?? ''}`.trim().slice(0, 90))] : authCell(x),
    ]),
  });
  // why each copy landed where it did: the receiver's verdicts beside ours on the same copy
  const whys = rows.map((x) => [x, whyLine(x)] as const).filter((w): w is readonly [PlacementRow, string] => w[1] !== undefined);
  if (whys.length) out.push({ kind: 'list', title: [span('why each copy landed where it did (the receiver\'s verdicts, then ours on the same copy)', 'strong')], items: whys.map(([x, w]) => [span(`${x.seed}: `), span(w, placementTone(x.placement))]) });
  const sm = d.summary;
  if (sm) {
    const pct = (x: number) => `${Math.round(x * 100)}%`;
    const items: Rich[] = [`inbox ${pct(sm.rates.inbox)}, tabs ${pct(sm.rates.tab)}, spam ${pct(sm.rates.spam)}, missing/not delivered ${pct(sm.rates.missing)}${sm.timeToInbox ? `; time to inbox median ${fmtMs(sm.timeToInbox.medianMs)}, max ${fmtMs(sm.timeToInbox.maxMs)}` : ''}`];
    const provs = Object.entries(sm.providers);
    const parts = (v: PlacementSummary['providers'][string]) => (['inbox', 'tab', 'spam', 'missing'] as const).filter((k, i) => i === 0 || v.rates[k] > 0).map((k) => `${k} ${pct(v.rates[k])}`).join(' ');
    if (provs.length > 1) items.push([muted(provs.map(([p, v]) => `${p}: ${parts(v)}`).join(' · '))]);
    out.push({ kind: 'list', items });
    // the same per provider as a picture: inbox / tab / spam / missing, stacked
    const answered = (v: PlacementSummary['providers'][string]) => Math.round((v.rates.inbox + v.rates.tab + v.rates.spam + v.rates.missing) * 1000);
    const bars = provs.filter(([, v]) => answered(v) > 0).map(([p, v]) => ({
      label: p,
      parts: [
        { name: 'inbox', value: v.rates.inbox, tone: 'good' as const },
        { name: 'tab', value: v.rates.tab, tone: 'info' as const },
        { name: 'spam', value: v.rates.spam, tone: 'bad' as const },
        { name: 'missing', value: v.rates.missing, tone: 'warn' as const },
      ],
    }));
    if (bars.length) out.push({ kind: 'bars', title: [span('placement per provider', 'strong')], rows: bars });
  }
  const times = rows.map((x) => x.timeToArrivalMs).filter((t): t is number => typeof t === 'number');
  if (times.length >= 2) {
    const buckets: [string, number][] = [['< 10 s', 10_000], ['10–30 s', 30_000], ['30 s–1 min', 60_000], ['1–5 min', 300_000], ['> 5 min', Infinity]];
    let lo = 0;
    const counts = buckets.map(([label, hi]) => {
      const n = times.filter((t) => t >= lo && t < hi).length;
      lo = hi;
      return { label, n };
    });
    const max = Math.max(...counts.map((c) => c.n));
    out.push({
      kind: 'bars',
      title: [span('time to arrival', 'strong')],
      legend: false,
      rows: counts.map((c) => ({ label: c.label, of: max, parts: [{ name: 'copies', value: c.n, tone: 'info' as const }], text: `${c.n} cop${c.n === 1 ? 'y' : 'ies'}` })),
    });
  }
  return out;
}

const check: Check<PlacementPlan | undefined> = {
  findings: PLACEMENT_FINDINGS,
  docs: 'docs/checks/placement.md',
  id: 'placement',
  title: 'Seed-inbox placement',
  needs: ['seeds', 'smtp', 'dns'],
  optIn: true,
  run,
  details,
  cliOptions: {
    seeds: { type: 'string', describe: 'placement: the seeds file (YAML) of mailboxes to read' },
    token: { type: 'string', describe: 'placement: find the copies carrying this run token' },
    'match-subject': { type: 'string', describe: 'placement: find copies by subject (with --since)' },
    'match-header': { type: 'string', describe: 'placement: find copies by header NAME=VALUE' },
    'match-from': { type: 'string', describe: 'placement: find copies by sender address (with --since)' },
    since: { type: 'string', describe: 'placement: only mail since this time (ISO) or duration ago (2h)' },
    'placement-timeout': { type: 'string', describe: 'placement: how long to wait for the copies (default 5m)' },
    'poll-interval': { type: 'string', describe: 'placement: how often folders without IDLE (and POP3) are checked (default 2s); folders watched with IDLE are searched at this interval too (default 10s)' },
    bounces: { type: 'string', describe: 'placement: YAML of the IMAP mailbox receiving bounces (DSNs)' },
  },
  applies: (opts) => (opts.seeds || opts[PLAN_KEY] ? true : 'no --seeds file'),
  async parse(opts) {
    // a command (placement, demo) hands over the plan it built for its own phase
    if (opts[PLAN_KEY]) return opts[PLAN_KEY] as PlacementPlan;
    if (!opts.seeds) return undefined;
    return buildPlan({
      seeds: String(opts.seeds),
      ...(opts.token ? { token: String(opts.token) } : {}),
      ...(opts.matchSubject ? { 'match-subject': String(opts.matchSubject) } : {}),
      ...(opts.matchHeader ? { 'match-header': String(opts.matchHeader) } : {}),
      ...(opts.matchFrom ? { 'match-from': String(opts.matchFrom) } : {}),
      ...(opts.since ? { since: String(opts.since) } : {}),
      ...(opts.placementTimeout ? { deadline: String(opts.placementTimeout) } : {}),
      ...(opts.pollInterval ? { 'poll-interval': String(opts.pollInterval) } : {}),
      ...(opts.bounces ? { bounces: String(opts.bounces) } : {}),
    }, 'collect');
  },
};
export default check;
