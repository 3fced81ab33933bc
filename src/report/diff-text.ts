// Human rendering of a ReportDiff (`inboxlens diff`, `--against`, `--baseline`).
import type { ViewStyle } from './style.ts';
import type { ReportDiff, TargetDiff } from '../history/diff.ts';
import type { Detail } from '../types.ts';
import { drawDetails } from './details.ts';
import { receiversDetails } from '../reports/receivers.ts';

/** Inbox rate per provider before and after, as bars on one scale (100%). */
export function placementDeltaBars(p: NonNullable<TargetDiff['placement']>): Detail {
  const row = (label: string, rate: number | null) => ({
    label,
    of: 1,
    parts: [{ name: 'inbox', value: rate ?? 0, tone: 'good' as const }],
    text: rate === null ? '—' : `${Math.round(rate * 100)}%`,
  });
  return {
    kind: 'bars',
    legend: false,
    rows: p.providers.flatMap((x) => [row(`${x.provider} before`, x.before), row(`${x.provider} after`, x.after)]),
  };
}

function pct(n: number | null): string {
  return n === null ? '—' : `${Math.round(n * 100)}%`;
}

export function renderDiff(d: ReportDiff, s: ViewStyle): string {
  const lines: string[] = [];
  const name = (r: ReportDiff['before']) => `${r.id ?? 'file'}${r.label ? ` (${r.label})` : ''} ${s.dim(r.generatedAt)}`;
  lines.push(`${s.bold('Before')}: ${name(d.before)}`);
  lines.push(`${s.bold('After')}:  ${name(d.after)}`);
  for (const t of d.targets) {
    lines.push('');
    lines.push(`${s.bold(t.target)}  ${t.statusBefore} → ${t.statusAfter}`);
    for (const c of t.checks) if (c.before !== c.after) lines.push(`  ${c.check}: ${c.before} → ${c.after}`);
    for (const f of t.listed) lines.push(`  ${s.red('+ LISTED')}   ${f.summary}`);
    for (const f of t.delisted) lines.push(`  ${s.green('- delisted')} ${f.summary}`);
    for (const f of t.added) if (f.code !== 'dnsbl.listed') lines.push(`  ${s.red('+')} ${f.severity.padEnd(5)} ${f.summary} ${s.dim(`[${f.code}]`)}`);
    for (const f of t.resolved) if (f.code !== 'dnsbl.listed') lines.push(`  ${s.green('-')} ${f.severity.padEnd(5)} ${f.summary} ${s.dim(`[${f.code}] resolved`)}`);
    if (t.placement) {
      lines.push(`  placement (inbox rate): overall ${pct(t.placement.overallBefore)} → ${pct(t.placement.overallAfter)}`);
      for (const p of t.placement.providers) {
        const arrow = p.delta === null || p.delta === 0 ? ' ' : p.delta > 0 ? s.green('▲') : s.red('▼');
        lines.push(`    ${arrow} ${p.provider.padEnd(10)} ${pct(p.before)} → ${pct(p.after)}`);
      }
      // the same as a picture: the inbox share before and after, one scale for all rows
      lines.push(...drawDetails([placementDeltaBars(t.placement)], s).map((l) => `    ${l}`));
      if (t.placement.medianMsBefore !== null || t.placement.medianMsAfter !== null) {
        const sec = (n: number | null) => (n === null ? '—' : `${(n / 1000).toFixed(1)} s`);
        lines.push(`    time-to-inbox median ${sec(t.placement.medianMsBefore)} → ${sec(t.placement.medianMsAfter)}`);
      }
    }
    if (!t.added.length && !t.resolved.length && t.statusBefore === t.statusAfter && !t.placement) lines.push(s.dim('  no change'));
    if (t.receivers) {
      // what the receivers' DMARC aggregate reports said between the two runs, beside the seeds and the listings
      const r = t.receivers;
      if (!r.reports) lines.push(`  receivers reported: ${s.dim(drawDetails(receiversDetails(r), s).join(' '))}`);
      else {
        lines.push(`  ${s.bold('receivers reported')} (DMARC aggregate reports for ${r.domain} between the two runs):`);
        lines.push(...drawDetails(receiversDetails(r), s).map((l) => `    ${l}`));
      }
    }
  }
  lines.push('');
  lines.push(d.regressions.length ? s.red(`${d.regressions.length} regression(s):`) : s.green('No regressions.'));
  for (const r of d.regressions) lines.push(`  - ${r}`);
  if (d.improvements.length) lines.push(s.green(`${d.improvements.length} improvement(s):`));
  for (const r of d.improvements) lines.push(`  - ${r}`);
  return lines.join('\n');
}
