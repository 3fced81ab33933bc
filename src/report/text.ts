// Human output: grouped by target and check, each finding with its evidence and fix.
import type { Check, CheckResult, Finding, Severity } from '../types.ts';
import { drawDetails } from './details.ts';
import type { ViewStyle } from './style.ts';
import type { Report } from './json.ts';

const SEV_LABEL: Record<Severity, string> = { error: 'ERROR', warn: 'WARN', info: 'info', pass: 'ok' };

function sev(f: Finding, s: ViewStyle): string {
  const l = SEV_LABEL[f.severity].padEnd(5);
  return f.severity === 'error' ? s.red(l) : f.severity === 'warn' ? s.yellow(l) : f.severity === 'pass' ? s.green(l) : s.dim(l);
}

export function renderFinding(f: Finding, s: ViewStyle, indent = '    '): string[] {
  const out = [`${indent}${sev(f, s)} ${f.summary} ${s.dim(`[${f.code}]`)}`];
  const pad = `${indent}      `;
  if (f.detail) out.push(...f.detail.split('\n').map((l) => `${pad}${l}`));
  for (const e of f.evidence ?? []) {
    if (e.query) out.push(`${pad}${s.dim(`${e.type ?? ''} ${e.query} → ${e.rcode && e.rcode !== 'NOERROR' ? e.rcode : (e.answers?.length ? e.answers.join(' | ') : 'no records')}`)}`);
    else if (e.record) out.push(`${pad}${s.dim(e.record)}`);
    if (e.note) out.push(`${pad}${s.dim(e.note)}`);
  }
  if (f.fix) out.push(`${pad}${s.cyan('fix:')} ${f.fix}`);
  if (f.ref) out.push(`${pad}${s.dim(`ref: ${f.ref}`)}`);
  return out;
}

export function renderCheck(r: CheckResult, s: ViewStyle, check?: Pick<Check, 'details'>, verbose = false): string[] {
  const out = [`  ${s.status(r.status)} ${s.bold(r.title)}${r.reason ? s.dim(` — ${r.reason}`) : ''} ${s.dim(`(${r.ms} ms)`)}`];
  if (check?.details) {
    try {
      out.push(...drawDetails(check.details(r), s).map((l) => `    ${l}`));
    } catch (e) {
      out.push(`    ${s.dim(`(could not draw this check's details: ${(e as Error).message})`)}`);
    }
  }
  for (const f of r.findings) {
    if (f.severity === 'pass' && !verbose) continue;
    out.push(...renderFinding(f, s));
  }
  return out;
}

export function renderReport(report: Report, s: ViewStyle, registry: Map<string, Pick<Check, 'details'>>, verbose = false): string {
  const lines: string[] = [];
  for (const t of report.targets) {
    // the status word is padded for the check rows' column; a heading takes it as it is (no doubled or trailing spaces)
    lines.push(`${s.bold(t.target)} ${s.status(t.status, false)}${(t as any).error ? ` ${s.red((t as any).error)}` : ''}`);
    if (t.headline) lines.push(`  ${s.red(s.bold(t.headline))}`);
    for (const c of t.checks) lines.push(...renderCheck(c, s, registry.get(c.check), verbose));
    lines.push('');
  }
  for (const sk of report.skipped ?? []) lines.push(s.dim(`  skipped ${sk.check}: ${sk.reason}`));
  const f = report.summary.findings;
  lines.push(
    `${s.bold('Summary')}: ${s.status(report.summary.status, false)} — ${f.error} error(s), ${f.warn} warning(s), ${f.info} info; ` +
      `checks ${report.summary.checks.pass} pass, ${report.summary.checks.warn} warn, ${report.summary.checks.fail} fail, ${report.summary.checks.unknown} unknown ` +
      s.dim(`(${report.durationMs} ms, exit ${report.summary.exitCode})`),
  );
  return lines.join('\n');
}
