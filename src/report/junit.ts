// JUnit XML for CI systems, in the dialect Jenkins and GitLab read (the Jenkins
// xUnit plugin's junit-10.xsd, fixtures/junit/: test/report/junit-xsd.test.ts
// validates against it): one testsuite per target and check, one testcase per
// finding, each with a time. Errors are failures (so every CI shows them),
// warnings and info pass with their text in system-out, an unknown check is an
// <error> (not a pass), a check that did not apply is <skipped> with the reason.
import type { Report } from './json.ts';

/**
 * Attribute and text content: markup escaped, and what XML 1.0 cannot carry at all
 * (C0 controls but tab and line breaks, lone surrogates, U+FFFE/U+FFFF) replaced
 * by U+FFFD: a DNS record with such a byte made the whole file unreadable to Jenkins.
 */
function esc(s: string): string {
  return s
    .replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;')
    .replace(/[^\u0009\u000a\u000d\u0020-\ud7ff\ue000-\ufffd\u{10000}-\u{10ffff}]/gu, '\ufffd');
}

export function renderJunit(report: Report): string {
  const suites: string[] = [];
  let tests = 0;
  let failures = 0;
  let errors = 0;
  for (const t of report.targets) {
    for (const c of t.checks) {
      const cases: string[] = [];
      let sf = 0;
      let se = 0;
      const classname = esc(`inboxlens.${t.target}.${c.check}`);
      if (c.status === 'unknown') {
        se++;
        cases.push(`    <testcase classname="${classname}" name="${esc(`${c.check}: could not be determined`)}" time="${(c.ms / 1000).toFixed(3)}">\n      <error message="${esc(c.reason ?? 'unknown')}" type="unknown"/>\n    </testcase>`);
      }
      // every testcase carries time (Jenkins and GitLab read it): the check's time goes to its
      // first testcase, so the cases of a suite add up to the suite's time
      const time = () => (cases.length ? '0.000' : (c.ms / 1000).toFixed(3));
      for (const f of c.findings) {
        const body = [f.detail, ...(f.evidence ?? []).map((e) => (e.query ? `${e.type ?? ''} ${e.query} → ${e.rcode ?? ''} ${(e.answers ?? []).join(' | ')}` : e.record ?? e.note ?? '')), f.fix ? `fix: ${f.fix}` : '', f.ref ? `ref: ${f.ref}` : '']
          .filter(Boolean)
          .join('\n');
        let inner = '';
        if (f.severity === 'error') {
          sf++;
          inner = `\n      <failure message="${esc(f.summary)}" type="${esc(f.code)}">${esc(body)}</failure>\n    `;
        } else if (body || f.severity === 'warn') {
          inner = `\n      <system-out>${esc(`${f.severity.toUpperCase()}: ${f.summary}${body ? `\n${body}` : ''}`)}</system-out>\n    `;
        }
        cases.push(`    <testcase classname="${classname}" name="${esc(`${f.code}${f.subject ? ` (${f.subject})` : ''}`)}" time="${time()}">${inner}</testcase>`);
      }
      if (!cases.length) cases.push(`    <testcase classname="${classname}" name="${esc(`${c.check}: ${c.status}`)}" time="${(c.ms / 1000).toFixed(3)}"/>`);
      tests += cases.length;
      failures += sf;
      errors += se;
      suites.push(`  <testsuite name="${esc(`${t.target} ${c.title}`)}" tests="${cases.length}" failures="${sf}" errors="${se}" skipped="0" time="${(c.ms / 1000).toFixed(3)}" timestamp="${esc(report.generatedAt)}">\n${cases.join('\n')}\n  </testsuite>`);
    }
  }
  const skipped = report.skipped ?? [];
  if (skipped.length) {
    const cases = skipped.map((sk) => `    <testcase classname="${esc(`inboxlens.${sk.check}`)}" name="${esc(`${sk.check}: skipped`)}" time="0.000">\n      <skipped message="${esc(sk.reason)}"/>\n    </testcase>`);
    tests += cases.length;
    suites.push(`  <testsuite name="skipped checks" tests="${cases.length}" failures="0" errors="0" skipped="${cases.length}" time="0.000" timestamp="${esc(report.generatedAt)}">\n${cases.join('\n')}\n  </testsuite>`);
  }
  return `<?xml version="1.0" encoding="UTF-8"?>\n<testsuites name="inboxlens ${esc(report.command)}" tests="${tests}" failures="${failures}" errors="${errors}" time="${(report.durationMs / 1000).toFixed(3)}">\n${suites.join('\n')}\n</testsuites>\n`;
}
