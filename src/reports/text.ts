// The human views of `reports import` and `reports show` (strings only: the CLI prints them).
import Table from 'cli-table3';
import type { ViewStyle } from '../report/style.ts';
import type { ShowResult, Rates } from './show.ts';
import type { ImportSummary } from './import.ts';
import { problemCounts } from './types.ts';

/** 100% and 0% only when exact: 4171 of 4172 is 99.9%, not a rounded 100.0%. */
function pct(r: number | null): string {
  if (r === null) return '–';
  if (r === 1 || r === 0) return `${r * 100}%`;
  const t = (r * 100).toFixed(1);
  return t === '100.0' ? '99.9%' : t === '0.0' ? '0.1%' : `${t}%`;
}
const table = (head: string[]) => new Table({ head, style: { head: [], border: [] }, chars: { mid: '', 'left-mid': '', 'mid-mid': '', 'right-mid': '' } });
const disp = (d: Record<string, number>) =>
  Object.entries(d)
    .sort((a, b) => b[1] - a[1])
    .map(([k, v]) => `${k} ${v}`)
    .join(', ');
const rateCells = (r: Rates) => [pct(r.spfPass), pct(r.spfAligned), pct(r.dkimPass), pct(r.dkimAligned), pct(r.dmarcPass)];

export function renderImport(s: ImportSummary, st: ViewStyle): string {
  const lines: string[] = [];
  const o = s.outcomes;
  const found = s.reports.aggregate + s.reports.failure + s.reports.tls;
  lines.push(`${st.bold('Reports import')}: ${s.files} file(s)${s.messages ? `, ${s.messages} e-mail(s)` : ''}; ${found} report(s) found (${s.reports.aggregate} aggregate, ${s.reports.failure} failure, ${s.reports.tls} TLS)`);
  lines.push(`  ${o.imported} new, ${o.duplicate} already stored${o['auth-upgraded'] ? `, ${o['auth-upgraded']} now authenticated` : ''}${o.replaced ? `, ${o.replaced} replaced by an authenticated copy` : ''}${o.conflict ? `, ${st.yellow(`${o.conflict} conflict(s)`)}` : ''}`);
  if (s.unauthenticated) lines.push(`  ${s.unauthenticated} report(s) arrived unauthenticated (a file, or an e-mail without a passing DKIM signature aligned with its From): marked so`);
  for (const n of s.notes) lines.push(`  ${st.yellow('!')} ${n}`);
  if (s.problems.length) {
    const c = problemCounts(s.problems);
    lines.push(`${st.red(`${s.problems.length} input(s) could not be imported`)} (${Object.entries(c).map(([k, v]) => `${v} ${k}`).join(', ')}):`);
    for (const p of s.problems) lines.push(`  ${st.red('✗')} ${p.where}: ${p.message}`);
  }
  return lines.join('\n');
}

export function renderShow(r: ShowResult, st: ViewStyle, opts: { maxSources?: number } = {}): string {
  const lines: string[] = [];
  const w = r.window;
  const when = w.around
    ? `between run ${w.around.before.id}${w.around.before.label ? ` (${w.around.before.label})` : ''} and run ${w.around.after.id}${w.around.after.label ? ` (${w.around.after.label})` : ''}: ${w.since} – ${w.until}`
    : w.since || w.until
      ? `${w.since ?? 'the beginning'} – ${w.until ?? 'now'}`
      : 'all stored reports';
  lines.push(`${st.bold(`Reports for ${r.domain}`)} (${when})`);
  const a = r.aggregate;
  if (!a.reports) lines.push(`\nDMARC aggregate: no reports for ${r.domain} in this window (import them with: inboxlens reports import FILE|DIR or --imap URL)`);
  else {
    const t = a.total;
    lines.push(`\n${st.bold('DMARC aggregate')}: ${a.reports} report(s) from ${a.reporters.length} reporter(s), ${t.messages} message(s) from ${t.sources} source IP(s)${a.unauthenticated ? st.dim(` · ${a.unauthenticated} report(s) unauthenticated`) : ''}`);
    lines.push(`  total: DMARC pass ${pct(t.rates.dmarcPass)} · SPF pass ${pct(t.rates.spfPass)} (aligned ${pct(t.rates.spfAligned)}) · DKIM pass ${pct(t.rates.dkimPass)} (aligned ${pct(t.rates.dkimAligned)}) · ${disp(t.dispositions)}`);
    const max = opts.maxSources ?? 25;
    const tb = table(['source IP', 'PTR / service', 'messages', 'SPF', 'SPF al.', 'DKIM', 'DKIM al.', 'DMARC', 'disposition', 'reporters']);
    for (const s of a.sources.slice(0, max)) {
      const who = [s.ptr ?? (s.ptrStatus === 'none' ? '(no PTR)' : s.ptrStatus === 'error' ? '(lookup failed)' : s.ptrStatus === null ? '(not looked up)' : ''), s.service ? `[${s.service}]` : ''].filter(Boolean).join(' ');
      tb.push([s.spoofing ? st.red(s.ip) : s.ip, who, s.messages, ...rateCells(s.rates), disp(s.dispositions), s.reporters.join(', ')]);
    }
    lines.push(tb.toString());
    if (a.sources.length > max) lines.push(st.dim(`  … ${a.sources.length - max} more source(s) (--json or --ndjson lists them all)`));
    lines.push(`\n  per reporter:`);
    for (const rep of a.reporters) lines.push(`    ${rep.org}: ${rep.reports} report(s), ${rep.messages} message(s), DMARC pass ${pct(rep.rates.dmarcPass)}`);
    if (a.spoofing.length) {
      lines.push(`\n${st.red(st.bold('Failing sources that are not yours'))} (no message passed DMARC, no known sending service: spoofing, or a forwarder):`);
      for (const s of a.spoofing.slice(0, max)) lines.push(`  ${s.ip}${s.ptr ? ` (${s.ptr})` : ''}: ${s.messages} message(s), reported by ${s.reporters.join(', ')}`);
      if (a.spoofing.length > max) lines.push(st.dim(`  … ${a.spoofing.length - max} more`));
    }
  }
  if (r.conflicts.length) {
    lines.push(`\n${st.yellow('Conflicting copies')} (a second report with a stored id but different content):`);
    for (const c of r.conflicts) lines.push(`  ${c.org} ${c.reportId}: ${c.outcome === 'replaced' ? 'an authenticated copy replaced the unauthenticated one' : 'refused, the stored copy kept'} (from ${c.source}, ${c.seenAt})`);
  }
  if (r.failure.reports) {
    lines.push(`\n${st.bold('DMARC failure reports')}: ${r.failure.reports}`);
    for (const f of r.failure.items) lines.push(`  ${f.arrival ?? '(no date)'} ${f.sourceIp ?? '?'} reported by ${f.reporter}${f.authFailure ? `, ${f.authFailure} failure` : ''}${f.deliveryResult ? `, ${f.deliveryResult}` : ''}${f.subject ? ` — "${f.subject}"` : ''}${f.authenticated ? '' : st.dim(' (unauthenticated)')}`);
  }
  lines.push(`\n${st.bold('SMTP TLS reports')} (mail delivered to ${r.domain}'s MX hosts): ${r.tls.reports ? `${r.tls.reports} report(s), ${r.tls.total.successful} session(s) succeeded, ${r.tls.total.failed} failed` : 'none in this window'}`);
  for (const p of r.tls.policies) lines.push(`  ${p.org} (${p.policyType}): ${p.successful} ok, ${p.failed} failed`);
  for (const f of r.tls.failures) lines.push(`    ${st.red(f.resultType)}: ${f.failed} session(s)${f.receivingMx ? ` to ${f.receivingMx}` : ''}, reported by ${f.org} (${f.policyType})`);
  return lines.join('\n');
}
