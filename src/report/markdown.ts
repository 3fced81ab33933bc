// A Markdown summary for CI job summaries (GitHub's $GITHUB_STEP_SUMMARY, GitLab, …).
// --markdown appends it, as every step writing a job summary does (`>>`).
import type { Report } from './json.ts';
import type { ReportDiff } from '../history/diff.ts';

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
  }
  if (diff) {
    out.push('', `### Compared with ${text(diff.before.id ?? 'the baseline')}${diff.before.label ? ` (${text(diff.before.label)})` : ''}`, '');
    if (!diff.regressions.length) out.push('No regressions.');
    for (const r of diff.regressions) out.push(`- ❌ ${text(r)}`);
    for (const r of diff.improvements) out.push(`- ✅ ${text(r)}`);
  }
  return `\n${out.join('\n')}\n`;
}
