// A secret that reaches a report (a server echoing a password into an error) is
// masked in every report file, whatever escaping the renderer applies: XML and
// HTML entities (&amp; &lt; &quot;) and a Markdown table cell's \| made the escaped
// secret a different string, which masking the rendered text did not catch.
import { afterAll, describe, expect, it } from 'vitest';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { openPublisher } from '../../src/cli/publish.ts';
import { buildReport } from '../../src/report/json.ts';
import { registerSecret } from '../../src/util/redact.ts';

const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

describe('report files never carry a registered secret, escaped or not', () => {
  it('JUnit, Markdown and HTML', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'inboxlens-redact-'));
    dirs.push(dir);
    const secret = `p<a&s|s'w"d-${process.pid}`;
    registerSecret(secret);
    const files = { junit: path.join(dir, 'r.xml'), markdown: path.join(dir, 'r.md'), 'html-report': path.join(dir, 'r.html') };
    const pub = await openPublisher({ save: false, ...files }, 'placement collect');
    const report = buildReport({
      command: 'placement collect', durationMs: 5, exitCode: 1,
      targets: [{ target: 'seeds', status: 'fail', ms: 5, checks: [{ check: 'placement', title: 'Seed-inbox placement', target: 'seeds', status: 'fail', ms: 5,
        findings: [{ check: 'placement', code: 'placement.seed-error', severity: 'error', summary: `login refused: NO rejected: LOGIN seed ${secret}`, fix: `not ${secret}` }],
        data: { rows: [{ seed: 'seed@hostile.test', provider: 'generic', protocol: 'imap', placement: 'error', error: `login refused: ${secret}` }] } }] }],
    });
    await pub.record(report);
    pub.close();
    for (const [flag, f] of Object.entries(files)) {
      const text = await readFile(f, 'utf8');
      expect(text, flag).toContain('[redacted]');
      // the secret's tail, in whatever escaping the file uses for its first characters
      expect(text, flag).not.toContain(`d-${process.pid}`);
    }
  });
});
