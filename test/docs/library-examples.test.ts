// docs/library.md's placement example, run as written against the lab (issue 14 QA:
// it lacked `smtpCa`, so against a server whose CA is private — the lab's — nothing
// was sent). Only the names are swapped for the lab's files and addresses; the code
// is the block from the page. Without its `smtpCa` line the same run sends nothing.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { placement, validateReport } from '../../src/index.ts';
import { startLab, type Lab } from '../../src/lab/index.ts';
import { ROOT } from '../helpers/cli.ts';

let lab: Lab;
beforeAll(async () => {
  lab = await startLab({ providers: ['gmail', 'outlook'], imapSeeds: 2, pop3Seeds: 0 });
}, 120_000);
afterAll(async () => {
  await lab?.stop();
});

/** The js block under "## `placement(action, options)`" in docs/library.md. */
function placementExample(): string {
  const page = readFileSync(path.join(ROOT, 'docs/library.md'), 'utf8');
  const section = page.slice(page.indexOf('## `placement(action, options)`'));
  const m = /```js\n([\s\S]*?)```/.exec(section);
  if (!m) throw new Error('docs/library.md: no js block in the placement section');
  return m[1]!;
}

/** The example with the lab's names in place of the page's, as a function of placement() and a console. */
function asLabRun(code: string, drop?: RegExp): (p: typeof placement, c: { log: (...a: unknown[]) => void }) => Promise<any> {
  const s = lab.senders.good;
  const names: [string, string][] = [
    ["'seeds.yaml'", JSON.stringify(lab.seedsFile)],
    ["'news@example.com'", JSON.stringify(s.from)],
    // the lab MX takes mail without AUTH: no user in the URL, so no password is asked for
    ["'smtp://news@smtp.example.com:587'", JSON.stringify(lab.smtpUrl)],
    ["'ca.pem'", JSON.stringify(lab.caFile)],
    ["'dkim.pem'", JSON.stringify(s.dkim!.keyFile)],
    ["dkimSelector: 's1'", `dkimSelector: ${JSON.stringify(s.dkim!.selector)}`],
  ];
  let body = code;
  for (const [from, to] of names) {
    expect(body, `the example names ${from}`).toContain(from);
    body = body.replace(from, to);
  }
  if (drop) body = body.split('\n').filter((l) => !drop.test(l)).join('\n');
  const AsyncFunction = Object.getPrototypeOf(async () => {}).constructor;
  return new AsyncFunction('placement', 'console', `${body}\nreturn report;`);
}

describe('docs/library.md placement example', () => {
  it('runs as written against the lab (its own CA): every copy sent and found', async () => {
    const code = placementExample();
    expect(code).toMatch(/smtpCa: 'ca\.pem'/);
    const lines: unknown[][] = [];
    const report = await asLabRun(code)(placement, { log: (...a) => lines.push(a) });
    expect(validateReport(report)).toEqual([]);
    expect(report.summary.exitCode, JSON.stringify(report.targets[0].checks[0].findings.map((f: any) => f.code))).toBe(0);
    // its loop printed one line per seed: seed, placement, time
    expect(lines).toHaveLength(lab.seeds.length);
    for (const [seed, where] of lines) {
      expect(lab.seeds.map((x) => x.address)).toContain(seed);
      expect(String(where)).toMatch(/^(inbox|tab:promotions)$/);
    }
  }, 120_000);

  it('without its smtpCa line, nothing is sent to the lab: the option is what makes it true', async () => {
    const report = await asLabRun(placementExample(), /smtpCa:/)(placement, { log: () => {} });
    const c = report.targets[0].checks[0];
    // the certificate the lab's CA signed is not trusted: no copy goes out, which is a failure to fix (as for send alone), never a pass
    expect(c.data.rows.length).toBeGreaterThan(0);
    for (const row of c.data.rows) {
      expect(row.placement).toBe('error');
      expect(row.error).toMatch(/not sent: .*unable to verify the first certificate/);
    }
    expect(c.findings.map((f: any) => f.code)).toContain('placement.none-sent');
    expect(c.status).toBe('fail');
    expect(report.summary.exitCode).toBe(1);
  }, 120_000);
});
