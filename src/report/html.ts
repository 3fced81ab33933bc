// A report someone can open in a browser (--html-report FILE): one self-contained
// HTML file, with nothing to fetch (inline CSS, inline SVG charts, and a
// Content-Security-Policy that forbids any load): the verdict, the findings with
// their fixes, placement per provider as stacked bars, the per-seed table, and
// the before/after comparison when there is one. Pure: a report in, a string out.
import type { CheckResult, Finding, Status } from '../types.ts';
import type { Report } from './json.ts';
import type { ReportDiff, TargetDiff } from '../history/diff.ts';
import { NO_REPORTS_LINE, receiversHeadline, type ReceiversReported } from '../reports/receivers.ts';
import { BUCKETS, BUCKET_COLOUR, BUCKET_LABEL, fmtArrival, placementView, share, type PlacementView, type ProviderBar } from './placement-view.ts';

/** Text and attribute values: markup escaped, and what HTML cannot carry (C0 controls, lone surrogates) replaced. */
function h(s: unknown): string {
  return String(s ?? '')
    .replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;')
    .replace(/[^\u0009\u000a\u000d\u0020-\u007e\u00a0-\ud7ff\ue000-\ufffd\u{10000}-\u{10ffff}]/gu, '\ufffd');
}

const VERDICT: Record<Status, string> = { pass: 'PASS', warn: 'WARN', fail: 'FAIL', unknown: 'UNKNOWN' };
const SEV_ORDER = { error: 0, warn: 1, info: 2, pass: 3 } as const;

/** Chart geometry (SVG user units, 1:1 with CSS pixels): exported so a test can check bar widths. */
export const CHART = { labelWidth: 120, barWidth: 440, rowHeight: 30, barHeight: 20, top: 8 } as const;

const CSS = `
:root { color-scheme: light dark; --fg: #1f2328; --muted: #59636e; --bg: #ffffff; --card: #f6f8fa; --line: #d1d9e0;
  --pass: #1a7f37; --warn: #9a6700; --fail: #d1242f; --unknown: #6e7781; }
@media (prefers-color-scheme: dark) { :root { --fg: #f0f6fc; --muted: #9198a1; --bg: #0d1117; --card: #151b23; --line: #3d444d;
  --pass: #3fb950; --warn: #d29922; --fail: #f85149; --unknown: #9198a1; } }
* { box-sizing: border-box; }
body { margin: 0 auto; max-width: 980px; padding: 24px; font: 15px/1.5 system-ui, -apple-system, "Segoe UI", sans-serif; color: var(--fg); background: var(--bg); }
h1 { font-size: 22px; margin: 0 0 4px; } h2 { font-size: 19px; margin: 32px 0 8px; border-bottom: 1px solid var(--line); padding-bottom: 4px; }
h3 { font-size: 16px; margin: 20px 0 8px; }
.meta, .muted { color: var(--muted); font-size: 13px; }
.badge { display: inline-block; padding: 1px 10px; border-radius: 999px; font-weight: 700; font-size: 13px; color: #fff; vertical-align: middle; }
.pass { background: var(--pass); } .warn { background: var(--warn); } .fail { background: var(--fail); } .unknown { background: var(--unknown); }
.verdict { display: flex; gap: 16px; align-items: center; padding: 16px; border-radius: 8px; background: var(--card); border: 1px solid var(--line); margin: 16px 0; }
.verdict .badge { font-size: 20px; padding: 4px 18px; }
table { border-collapse: collapse; width: 100%; margin: 8px 0; font-size: 14px; }
th, td { text-align: left; padding: 5px 8px; border-bottom: 1px solid var(--line); vertical-align: top; }
th { font-weight: 600; } td.n, th.n { text-align: right; font-variant-numeric: tabular-nums; }
.finding { border-left: 4px solid var(--line); background: var(--card); padding: 8px 12px; margin: 8px 0; border-radius: 0 6px 6px 0; }
.finding.sev-error { border-left-color: var(--fail); } .finding.sev-warn { border-left-color: var(--warn); }
.finding .summary { font-weight: 600; } code, .mono { font: 13px ui-monospace, SFMono-Regular, Menlo, monospace; overflow-wrap: anywhere; }
.seed { white-space: nowrap; overflow-wrap: normal; }
.fix { margin-top: 4px; } .fix b { color: var(--pass); }
.evidence { margin: 4px 0 0; padding-left: 18px; color: var(--muted); }
.chart text { fill: var(--fg); font-size: 13px; } .chart .muted { fill: var(--muted); }
.legend { display: flex; flex-wrap: wrap; gap: 14px; font-size: 13px; margin: 4px 0 8px; }
.legend i { display: inline-block; width: 12px; height: 12px; border-radius: 2px; margin-right: 5px; vertical-align: -1px; }
.up { color: var(--pass); } .down { color: var(--fail); }
ul.changes { padding-left: 20px; } ul.changes li { margin: 2px 0; }
`;

function badge(status: Status): string {
  return `<span class="badge ${status}">${VERDICT[status]}</span>`;
}

function findingHtml(f: Finding): string {
  const evidence = (f.evidence ?? [])
    .map((e) => (e.query ? `${e.type ?? ''} ${e.query} → ${e.rcode && e.rcode !== 'NOERROR' ? e.rcode : e.answers?.length ? e.answers.join(' | ') : 'no records'}` : e.record ?? e.note ?? ''))
    .filter(Boolean);
  return [
    `<div class="finding sev-${h(f.severity)}" data-code="${h(f.code)}">`,
    `<div><span class="summary">${h(f.summary)}</span> <code class="muted">${h(f.code)}</code> <span class="muted">${h(f.severity)}</span></div>`,
    f.detail ? `<div>${h(f.detail).replace(/\n/g, '<br>')}</div>` : '',
    evidence.length ? `<ul class="evidence mono">${evidence.map((e) => `<li>${h(e)}</li>`).join('')}</ul>` : '',
    f.fix ? `<div class="fix"><b>Fix:</b> ${h(f.fix)}</div>` : '',
    f.ref ? `<div class="muted">Reference: ${h(f.ref)}</div>` : '',
    '</div>',
  ].join('');
}

/** One stacked bar per provider (inbox at the left), each segment an SVG rect whose width is its share of the seeds checked. */
export function placementChart(v: PlacementView): string {
  const bars: ProviderBar[] = v.providers.length > 1 ? [...v.providers, v.overall] : v.providers;
  const { labelWidth, barWidth, rowHeight, barHeight, top } = CHART;
  const width = labelWidth + barWidth + 260;
  const height = top * 2 + bars.length * rowHeight;
  const rows = bars.map((b, i) => {
    const y = top + i * rowHeight;
    const parts: string[] = [`<text x="${labelWidth - 10}" y="${y + barHeight - 5}" text-anchor="end">${h(b.provider)}</text>`];
    if (!b.answered) {
      parts.push(`<rect class="seg" data-provider="${h(b.provider)}" data-bucket="not-checked" x="${labelWidth}" y="${y}" width="${barWidth}" height="${barHeight}" fill="none" stroke="#6e7781" stroke-dasharray="4 3"><title>${h(b.provider)}: no seed could be checked</title></rect>`);
    }
    let x = labelWidth;
    for (const k of BUCKETS) {
      const n = b.counts[k];
      if (!n || !b.answered) continue;
      const w = Math.round((n / b.answered) * barWidth * 10) / 10;
      parts.push(`<rect class="seg" data-provider="${h(b.provider)}" data-bucket="${k}" data-count="${n}" x="${Math.round(x * 10) / 10}" y="${y}" width="${w}" height="${barHeight}" fill="${BUCKET_COLOUR[k]}"><title>${h(b.provider)}: ${n} ${h(BUCKET_LABEL[k])} (${share(n, b.answered)})</title></rect>`);
      x += w;
    }
    const inboxish = b.counts.inbox + b.counts.tab;
    parts.push(`<text class="muted" x="${labelWidth + barWidth + 10}" y="${y + barHeight - 5}">${b.answered ? `${share(inboxish, b.answered)} inbox/tab` : 'not checked'} · ${b.seeds} seed${b.seeds === 1 ? '' : 's'}${b.notChecked && b.answered ? ` (${b.notChecked} not checked)` : ''}</text>`);
    return parts.join('');
  });
  const legend = BUCKETS.map((k) => `<span><i style="background:${BUCKET_COLOUR[k]}"></i>${h(BUCKET_LABEL[k])}</span>`).join('');
  return [
    `<svg class="chart" role="img" aria-label="placement per provider" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}">${rows.join('')}</svg>`,
    `<div class="legend">${legend}</div>`,
  ].join('\n');
}

function placementHtml(v: PlacementView): string {
  const seeds = v.seeds
    .map((s) => `<tr><td class="mono seed">${h(s.seed)}</td><td>${h(s.provider)}</td><td>${h(s.protocol)}</td><td><b>${h(s.placement)}</b></td><td>${h(s.folder ?? '')}</td><td class="n">${h(fmtArrival(s.timeToArrivalMs))}</td><td class="mono">${h(s.why ?? s.note ?? '')}</td></tr>`)
    .join('\n');
  const providers = (v.providers.length > 1 ? [...v.providers, v.overall] : v.providers)
    .map((b) => `<tr><td>${h(b.provider)}</td><td class="n">${b.seeds}</td>${BUCKETS.map((k) => `<td class="n">${b.counts[k]}${b.counts[k] ? ` <span class="muted">(${share(b.counts[k], b.answered)})</span>` : ''}</td>`).join('')}<td class="n">${b.notChecked}</td><td class="n">${h(fmtArrival(b.medianMs) || '—')}</td></tr>`)
    .join('\n');
  return [
    '<h3>Placement per provider</h3>',
    placementChart(v),
    '<p class="muted">Shares are of the seeds that could be checked.</p>',
    `<table class="providers"><tr><th>provider</th><th class="n">seeds</th>${BUCKETS.map((k) => `<th class="n">${h(BUCKET_LABEL[k])}</th>`).join('')}<th class="n">not checked</th><th class="n">median time to inbox</th></tr>\n${providers}</table>`,
    '<h3>Placement per seed</h3>',
    `<table class="seeds"><tr><th>seed</th><th>provider</th><th>via</th><th>placement</th><th>folder</th><th class="n">arrival</th><th>why: receiver verdicts, ours / reason</th></tr>\n${seeds}</table>`,
  ].join('\n');
}

function checkRow(c: CheckResult): string {
  const counts = (['error', 'warn', 'info'] as const).map((s) => [s, c.findings.filter((x) => x.severity === s).length] as const).filter(([, n]) => n).map(([s, n]) => `${n} ${s}`).join(', ');
  return `<tr><td>${h(c.title)}</td><td>${badge(c.status)}${c.reason ? ` <span class="muted">${h(c.reason)}</span>` : ''}</td><td>${h(counts || '—')}</td></tr>`;
}

function pct(n: number | null): string {
  return n === null ? '—' : `${Math.round(n * 100)}%`;
}

function diffTarget(t: TargetDiff): string {
  const out: string[] = [`<h3>${h(t.target)}: ${t.statusBefore === 'absent' ? 'absent' : badge(t.statusBefore)} → ${t.statusAfter === 'absent' ? 'absent' : badge(t.statusAfter)}</h3>`];
  const changed = t.checks.filter((c) => c.before !== c.after);
  if (changed.length) out.push(`<table class="diff-checks"><tr><th>check</th><th>before</th><th>after</th></tr>${changed.map((c) => `<tr><td>${h(c.check)}</td><td>${h(c.before)}</td><td>${h(c.after)}</td></tr>`).join('')}</table>`);
  const items = [
    ...t.added.map((f) => `<li class="down" data-change="added">+ ${h(f.severity)} ${h(f.summary)} <code>${h(f.code)}</code>${f.fix ? `<div class="fix"><b>Fix:</b> ${h(f.fix)}</div>` : ''}</li>`),
    ...t.resolved.map((f) => `<li class="up" data-change="resolved">− resolved: ${h(f.summary)} <code>${h(f.code)}</code></li>`),
  ];
  if (items.length) out.push(`<ul class="changes">${items.join('')}</ul>`);
  if (t.placement) {
    out.push(`<table class="diff-placement"><tr><th>inbox rate</th><th class="n">before</th><th class="n">after</th><th class="n">change</th></tr>`);
    const row = (name: string, b: number | null, a: number | null) => {
      const d = a !== null && b !== null ? a - b : null;
      const cls = d === null || d === 0 ? '' : d > 0 ? 'up' : 'down';
      return `<tr><td>${h(name)}</td><td class="n">${pct(b)}</td><td class="n">${pct(a)}</td><td class="n ${cls}">${d === null ? '—' : `${d > 0 ? '▲ +' : d < 0 ? '▼ ' : ''}${Math.round(d * 100)} pts`}</td></tr>`;
    };
    for (const p of t.placement.providers) out.push(row(p.provider, p.before, p.after));
    out.push(row('all', t.placement.overallBefore, t.placement.overallAfter), '</table>');
  }
  if (!items.length && !changed.length && !t.placement) out.push('<p class="muted">No change.</p>');
  if (t.receivers) out.push(receiversHtml(t.receivers));
  return out.join('\n');
}

/** What receivers reported between the two runs: totals, failing sources not the user's, per reporter. */
function receiversHtml(r: ReceiversReported): string {
  if (!r.reports) return `<p class="muted receivers">Receivers reported: ${h(NO_REPORTS_LINE)}</p>`;
  const out = [`<h4>Receivers reported</h4>`, `<p class="receivers">${h(receiversHeadline(r))}</p>`];
  if (r.notOurs.length) out.push(`<p class="down"><b>Failing sources that are not yours</b> (spoofing, or a forwarder):</p><ul class="not-ours">${r.notOurs.map((x) => `<li class="mono">${h(x.ip)}${x.ptr ? ` (${h(x.ptr)})` : ''}: ${x.messages} message(s), reported by ${h(x.reporters.join(', '))}</li>`).join('')}</ul>`);
  out.push(`<table class="reporters"><tr><th>reporter</th><th class="n">reports</th><th class="n">messages</th><th class="n">DMARC pass</th></tr>${r.reporters.map((x) => `<tr><td>${h(x.org)}</td><td class="n">${x.reports}</td><td class="n">${x.messages}</td><td class="n">${pct(x.dmarcPass)}</td></tr>`).join('')}</table>`);
  return out.join('\n');
}

function diffHtml(d: ReportDiff): string {
  const name = (r: ReportDiff['before']) => `${h(r.id ?? 'a report file')}${r.label ? ` (${h(r.label)})` : ''} <span class="muted">${h(r.generatedAt)}</span>`;
  return [
    '<section class="diff">',
    '<h2>Before and after</h2>',
    `<p>Before: ${name(d.before)}<br>After: ${name(d.after)}</p>`,
    d.regressions.length ? `<p><b class="down">${d.regressions.length} regression(s)</b></p><ul class="changes regressions">${d.regressions.map((r) => `<li class="down">${h(r)}</li>`).join('')}</ul>` : '<p class="up"><b>No regressions.</b></p>',
    d.improvements.length ? `<p><b class="up">${d.improvements.length} improvement(s)</b></p><ul class="changes improvements">${d.improvements.map((r) => `<li class="up">${h(r)}</li>`).join('')}</ul>` : '',
    ...d.targets.map(diffTarget),
    '</section>',
  ].join('\n');
}

export function renderHtml(report: Report, diff?: ReportDiff): string {
  const f = report.summary.findings;
  const body: string[] = [
    `<h1>inboxlens ${h(report.command)}</h1>`,
    `<div class="meta">${h(report.targets.map((t) => t.target).join(', '))} · ${h(report.generatedAt)} · ${h(report.tool.name)} ${h(report.tool.version)}</div>`,
    `<div class="verdict" data-status="${report.summary.status}">${badge(report.summary.status)}<div><b>${f.error} error(s), ${f.warn} warning(s), ${f.info} info</b><br><span class="muted">exit code ${report.summary.exitCode} · ${(report.durationMs / 1000).toFixed(1)} s</span></div></div>`,
  ];
  for (const t of report.targets) {
    body.push(`<section class="target"><h2>${h(t.target)} ${badge(t.status)}</h2>`);
    if ((t as { error?: string }).error) body.push(`<p class="down">${h((t as { error?: string }).error)}</p>`);
    body.push(`<table class="checks"><tr><th>check</th><th>status</th><th>findings</th></tr>${t.checks.map(checkRow).join('')}</table>`);
    const v = placementView(t.checks.find((c) => c.check === 'placement'));
    if (v) body.push(placementHtml(v));
    const findings = t.checks.flatMap((c) => c.findings).filter((x) => x.severity !== 'pass').sort((a, b) => SEV_ORDER[a.severity] - SEV_ORDER[b.severity]);
    body.push('<h3>Findings</h3>', findings.length ? findings.map(findingHtml).join('\n') : '<p class="muted">Nothing to fix.</p>', '</section>');
  }
  if (report.skipped?.length) body.push(`<p class="muted">Skipped: ${report.skipped.map((s) => `${h(s.check)} (${h(s.reason)})`).join('; ')}</p>`);
  if (diff) body.push(diffHtml(diff));
  return [
    '<!DOCTYPE html>',
    '<html lang="en">',
    '<head>',
    '<meta charset="utf-8">',
    // nothing may be loaded from anywhere: the file is the whole report
    `<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">`,
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    `<title>inboxlens ${h(report.command)}: ${VERDICT[report.summary.status]}</title>`,
    `<style>${CSS}</style>`,
    '</head>',
    '<body>',
    ...body,
    '</body>',
    '</html>',
    '',
  ].join('\n');
}
