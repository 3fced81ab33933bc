// The Markdown summary's placement section on its edges (the renderer is pure: a
// report in, Markdown out): a run with more seeds than a job summary should hold,
// a run in which no seed could be checked, and text that would break a table.
import { describe, expect, it } from 'vitest';
import { renderMarkdown, MAX_SEED_ROWS } from '../../src/report/markdown.ts';
import { buildReport } from '../../src/report/json.ts';
import { summarize } from '../../src/placement/summary.ts';
import type { PlacementRow } from '../../src/placement/types.ts';
import { validateReport } from '../../src/report/validate.ts';

function reportOf(rows: PlacementRow[]) {
  const doc = buildReport({
    command: 'placement collect',
    durationMs: 10,
    exitCode: 1,
    targets: [{ target: 'il-mkq3x1a0-3f9c2e71d4', status: 'fail', ms: 10, checks: [{ check: 'placement', title: 'Seed-inbox placement', target: 'il-mkq3x1a0-3f9c2e71d4', status: 'fail', ms: 10, findings: [], data: { phase: 'collect', matcher: { token: 'il-mkq3x1a0-3f9c2e71d4' }, seeds: rows.length, timeoutMs: 1000, idle: true, rows, summary: summarize(rows) } }] }],
  });
  expect(validateReport(doc)).toEqual([]);
  return doc;
}

describe('Markdown placement', () => {
  it('caps the per-seed table and says how many more; the per-provider numbers still count every seed', () => {
    const rows: PlacementRow[] = Array.from({ length: MAX_SEED_ROWS + 50 }, (_, i) => ({ seed: `s${i}@mail.example`, provider: i % 2 ? 'gmail' : 'outlook', protocol: 'imap', placement: i % 5 ? 'inbox' : 'spam', folder: i % 5 ? 'INBOX' : 'Junk' }));
    const md = renderMarkdown(reportOf(rows));
    expect(md.match(/^\| s\d+@mail\.example \|/gm)).toHaveLength(MAX_SEED_ROWS);
    expect(md).toContain('… and 50 more seeds (every row is in --json).');
    expect(md).toMatch(/^\| \*\*all\*\* \| 250 \| 200 \(80%\) \| 0 \| 50 \(20%\) \|/m);
  });

  it('no seed could be checked: the tables say so, and there is no chart of nothing', () => {
    const md = renderMarkdown(reportOf([{ seed: 'a@mail.example', provider: 'generic', protocol: 'pop3', placement: 'error', error: 'login refused | bad <password>' }]));
    expect(md).toMatch(/^\| generic \| 1 \| 0 \| 0 \| 0 \| 0 \| 0 \| 1 \| — \|$/m);
    expect(md).not.toContain('```mermaid');
    // the reason stays one cell, and shows as written
    expect(md).toContain('| login refused \\| bad &lt;password&gt; |');
  });
});
