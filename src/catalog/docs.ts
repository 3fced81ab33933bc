// The finding reference, generated from the checks' catalogues: one Markdown page
// a check (docs/checks/<id>.md). `npm run docs` writes them; a test fails when
// a page is out of date, so the reference can never drift from the code.
import type { Check } from '../types.ts';

function cell(s: string): string {
  return s.replace(/\|/g, '\\|').replace(/\r?\n/g, ' ');
}

export function checkDoc(c: Check): string {
  const out = [`# ${c.title} (\`${c.id}\`)`, ''];
  out.push(`Run it alone with \`inboxlens check DOMAIN --only ${c.id}\`${c.optIn ? ' (opt-in: a plain `check` leaves it out' + (c.optInWith?.length ? `; ${c.optInWith.map((o) => `--${o}`).join(', ')} opts it in` : '') + ')' : ''}.`);
  if (c.dependsOn?.length) out.push('', `Reads the results of: ${c.dependsOn.map((d) => `[${d}](${d}.md)`).join(', ')}.`);
  const opts = Object.entries(c.cliOptions ?? {});
  if (opts.length) {
    out.push('', '## Options', '', '| option | meaning |', '|---|---|');
    for (const [name, o] of opts) out.push(`| \`--${name}\`${o.type === 'boolean' ? '' : ` ${o.type.toUpperCase()}${o.array ? '…' : ''}`} | ${cell(o.describe)} |`);
  }
  out.push('', '## Finding codes', '', 'Codes are stable: scripts and CI may match on them.', '', '| code | severity | meaning | fix |', '|---|---|---|---|');
  for (const [code, f] of Object.entries(c.findings ?? {})) {
    out.push(`| \`${code}\` | ${cell(f.severityNote ?? f.severity.join(' / '))} | ${cell(f.meaning)} | ${cell(f.fix)} |`);
  }
  return `${out.join('\n')}\n`;
}
