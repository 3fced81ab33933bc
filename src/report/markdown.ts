// A Markdown summary for CI job summaries (GitHub's $GITHUB_STEP_SUMMARY, GitLab, …).
import type { Report } from './json.ts';
import type { ReportDiff } from '../history/diff.ts';

const ICON: Record<string, string> = { pass: '✅', warn: '⚠️', fail: '❌', unknown: '❔' };

function cell(s: string): string {
  return s.replace(/\|/g, '\\|').replace(/\n/g, ' ');
}

export function renderMarkdown(report: Report, diff?: ReportDiff): string {
  const out: string[] = [];
  const f = report.summary.findings;
  out.push(`## inboxlens ${report.command}: ${ICON[report.summary.status]} ${report.summary.status}`);
  out.push('');
  out.push(`${f.error} error(s), ${f.warn} warning(s), ${f.info} info · exit ${report.summary.exitCode} · ${report.generatedAt}`);
  for (const t of report.targets) {
    out.push('', `### ${t.target} ${ICON[t.status]}`, '', '| check | status | findings |', '|---|---|---|');
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
    out.push('', `### Compared with ${diff.before.id ?? 'the baseline'}${diff.before.label ? ` (${diff.before.label})` : ''}`, '');
    if (!diff.regressions.length) out.push('No regressions.');
    for (const r of diff.regressions) out.push(`- ❌ ${r}`);
    for (const r of diff.improvements) out.push(`- ✅ ${r}`);
  }
  return `${out.join('\n')}\n`;
}
