// A Markdown summary for CI job summaries (GitHub's $GITHUB_STEP_SUMMARY, GitLab, …).
// --markdown appends it, as every step writing a job summary does (`>>`).
import type { Report } from './json.ts';
import type { ReportDiff } from '../history/diff.ts';
import { receiversHeadline } from '../reports/receivers.ts';
import { BUCKETS, BUCKET_COLOUR, BUCKET_LABEL, fmtArrival, placementView, share, type PlacementView, type ProviderBar } from './placement-view.ts';

const ICON: Record<string, string> = { pass: '✅', warn: '⚠️', fail: '❌', unknown: '❔' };

/**
 * Inline text made safe for CommonMark/GFM: `<` and `>` would start raw HTML (a fix
 * text's `<your sending IPs>` vanished from a rendered job summary), so they become
 * entities; `&` too, so a literal `&lt;` in a record stays as written.
 */
function text(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** Text for a table cell: also no pipes or line breaks. */
function cell(s: string): string {
  return text(s).replace(/\|/g, '\\|').replace(/\r?\n/g, ' ');
}

/** A job summary is capped (GitHub: 1 MiB per step): past this many seeds the table says how many more. */
export const MAX_SEED_ROWS = 200;

const SWATCH: Record<(typeof BUCKETS)[number], string> = { inbox: '🟩', tab: '🟦', spam: '🟥', other: '🟪', missing: '🟨' };

function providerRow(b: ProviderBar, name: string): string {
  const n = (k: (typeof BUCKETS)[number]) => (b.counts[k] ? `${b.counts[k]} (${share(b.counts[k], b.answered)})` : '0');
  return `| ${name} | ${b.seeds} | ${BUCKETS.map(n).join(' | ')} | ${b.notChecked} | ${fmtArrival(b.medianMs) || '—'} |`;
}

/**
 * Per-provider placement as a Mermaid xychart (GitHub renders ```mermaid blocks).
 * xychart has no stacked bars: each bucket is a bar series of its cumulative share,
 * tallest first, so every later (shorter) bar is drawn over the one before and the
 * column reads as a stack, inbox at the bottom. The legend is the line under it.
 */
function mermaidChart(v: PlacementView): string[] {
  const label = (p: string) => JSON.stringify(p.replace(/["\\\n\r]/g, ''));
  const series = BUCKETS.map((_, i) => v.providers.map((b) => (b.answered ? Math.round((BUCKETS.slice(0, i + 1).reduce((n, k) => n + b.counts[k], 0) / b.answered) * 100) : 0))).reverse();
  const palette = [...BUCKETS].reverse().map((k) => BUCKET_COLOUR[k]).join(', ');
  return [
    '```mermaid',
    `%%{init: {"themeVariables": {"xyChart": {"plotColorPalette": "${palette}"}}}}%%`,
    'xychart-beta',
    '    title "Where the copies landed, per provider (% of seeds checked)"',
    `    x-axis [${v.providers.map((b) => label(b.provider)).join(', ')}]`,
    '    y-axis "% of seeds" 0 --> 100',
    ...series.map((s) => `    bar [${s.join(', ')}]`),
    '```',
    '',
    BUCKETS.map((k) => `${SWATCH[k]} ${BUCKET_LABEL[k]}`).join(' · '),
  ];
}

function placementSection(v: PlacementView): string[] {
  const out: string[] = ['', '#### Placement per provider', ''];
  out.push(`| provider | seeds | ${BUCKETS.map((k) => BUCKET_LABEL[k]).join(' | ')} | not checked | median time to inbox |`);
  out.push(`|---|---:|${BUCKETS.map(() => '---:').join('|')}|---:|---:|`);
  for (const b of v.providers) out.push(providerRow(b, cell(b.provider)));
  if (v.providers.length > 1) out.push(providerRow(v.overall, '**all**'));
  // no chart of nothing: when no seed could be checked the table says so
  if (v.overall.answered) out.push('', 'Shares are of the seeds that could be checked.', '', ...mermaidChart(v));
  out.push('', '#### Placement per seed', '', '| seed | provider | via | placement | folder | arrival | why: receiver verdicts, ours / reason |', '|---|---|---|---|---|---:|---|');
  for (const s of v.seeds.slice(0, MAX_SEED_ROWS)) {
    out.push(`| ${cell(s.seed)} | ${cell(s.provider)} | ${cell(s.protocol)} | ${cell(s.placement)} | ${cell(s.folder ?? '')} | ${fmtArrival(s.timeToArrivalMs)} | ${cell(s.why ?? s.note ?? '')} |`);
  }
  if (v.seeds.length > MAX_SEED_ROWS) out.push('', `… and ${v.seeds.length - MAX_SEED_ROWS} more seeds (every row is in --json).`);
  return out;
}

export function renderMarkdown(report: Report, diff?: ReportDiff): string {
  const out: string[] = [];
  const f = report.summary.findings;
  out.push(`## inboxlens ${text(report.command)}: ${ICON[report.summary.status]} ${report.summary.status}`);
  out.push('');
  out.push(`${f.error} error(s), ${f.warn} warning(s), ${f.info} info · exit ${report.summary.exitCode} · ${report.generatedAt}`);
  for (const t of report.targets) {
    out.push('', `### ${text(t.target)} ${ICON[t.status]}`, '', '| check | status | findings |', '|---|---|---|');
    for (const c of t.checks) {
      const counts = (['error', 'warn', 'info'] as const).map((s) => [s, c.findings.filter((x) => x.severity === s).length] as const).filter(([, n]) => n).map(([s, n]) => `${n} ${s}`).join(', ');
      out.push(`| ${cell(c.title)} | ${ICON[c.status]} ${c.status}${c.reason ? ` — ${cell(c.reason)}` : ''} | ${counts || '—'} |`);
    }
    const problems = t.checks.flatMap((c) => c.findings).filter((x) => x.severity === 'error' || x.severity === 'warn');
    if (problems.length) {
      out.push('', '| | finding | fix |', '|---|---|---|');
      for (const p of problems) out.push(`| ${p.severity === 'error' ? '❌' : '⚠️'} | **${cell(p.summary)}** \`${p.code}\` | ${cell(p.fix ?? '')} |`);
    }
    const placement = placementView(t.checks.find((c) => c.check === 'placement'));
    if (placement) out.push(...placementSection(placement));
  }
  if (diff) {
    out.push('', `### Compared with ${text(diff.before.id ?? 'the baseline')}${diff.before.label ? ` (${text(diff.before.label)})` : ''}`, '');
    if (!diff.regressions.length) out.push('No regressions.');
    for (const r of diff.regressions) out.push(`- ❌ ${text(r)}`);
    for (const r of diff.improvements) out.push(`- ✅ ${text(r)}`);
    for (const t of diff.targets) {
      if (!t.receivers) continue;
      const r = t.receivers;
      out.push('', `**Receivers reported** for ${text(t.target)}: ${text(receiversHeadline(r))}`);
      if (!r.reports) continue;
      for (const x of r.notOurs.slice(0, 10)) out.push(`- ❌ not yours: \`${x.ip}\`${x.ptr ? ` (${text(x.ptr)})` : ''}, ${x.messages} message(s), reported by ${text(x.reporters.join(', '))}`);
      out.push('', '| reporter | reports | messages | DMARC pass |', '|---|---:|---:|---:|');
      for (const x of r.reporters) out.push(`| ${cell(x.org)} | ${x.reports} | ${x.messages} | ${x.dmarcPass === null ? '—' : `${Math.round(x.dmarcPass * 100)}%`} |`);
    }
  }
  return `\n${out.join('\n')}\n`;
}
