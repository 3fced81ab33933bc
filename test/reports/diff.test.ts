// `inboxlens diff` beside what receivers reported: DMARC aggregate reports imported
// through the real `reports import` into a real history database (node:sqlite),
// two saved runs around them, and the diff's "receivers reported" section in text,
// --json (schema/diff.schema.json), Markdown and HTML; a window without reports
// says so in one line; a report outside the window is not counted.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, rm, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { runCli } from '../helpers/cli.ts';
import { dnsArgs, startDns } from '../helpers/dns.ts';
import { HistoryStore } from '../../src/history/store.ts';
import { diffReports } from '../../src/history/diff.ts';
import { addReceivers, NO_REPORTS_LINE } from '../../src/reports/receivers.ts';
import { renderDiff } from '../../src/report/diff-text.ts';
import { renderMarkdown } from '../../src/report/markdown.ts';
import { renderHtml } from '../../src/report/html.ts';
import { makeStyle } from '../../src/report/style.ts';
import { validateDocument, validateReport } from '../../src/report/validate.ts';

const DOMAIN = 'shop.diff-test.example';
const T0 = 1_760_000_000; // the campaign's day
let tmp: string;
let db: string;

/** An RFC 7489 aggregate report: rows of [source IP, count, DKIM aligned pass, SPF aligned pass]. */
function xml(org: string, id: string, begin: number, rows: [string, number, boolean, boolean][], domain = DOMAIN): string {
  const rec = rows
    .map(([ip, n, dkim, spf]) => `<record><row><source_ip>${ip}</source_ip><count>${n}</count><policy_evaluated><disposition>none</disposition><dkim>${dkim ? 'pass' : 'fail'}</dkim><spf>${spf ? 'pass' : 'fail'}</spf></policy_evaluated></row>
<identifiers><header_from>${domain}</header_from></identifiers>
<auth_results><dkim><domain>${dkim ? domain : 'other.example'}</domain><result>${dkim ? 'pass' : 'fail'}</result></dkim><spf><domain>${spf ? domain : 'other.example'}</domain><result>${spf ? 'pass' : 'fail'}</result></spf></auth_results></record>`)
    .join('\n');
  return `<?xml version="1.0" encoding="UTF-8"?>
<feedback><version>1.0</version>
<report_metadata><org_name>${org}</org_name><email>noreply@${org.toLowerCase().replace(/\W+/g, '')}.example</email><report_id>${id}</report_id><date_range><begin>${begin}</begin><end>${begin + 86399}</end></date_range></report_metadata>
<policy_published><domain>${domain}</domain><adkim>r</adkim><aspf>r</aspf><p>none</p><pct>100</pct></policy_published>
${rec}
</feedback>
`;
}

const run = (target: string, at: number) =>
  ({ schemaVersion: '1.0', tool: { name: 'inboxlens', version: 't' }, command: 'check', generatedAt: new Date(at * 1000).toISOString(), durationMs: 1, targets: [{ target, status: 'pass', checks: [] }], summary: { status: 'pass', exitCode: 0, findings: { error: 0, warn: 0, info: 0 }, checks: 0 } }) as any;

let before: string;
let after: string;
let quietBefore: string;
let quietAfter: string;

beforeAll(async () => {
  tmp = await mkdtemp(path.join(tmpdir(), 'inboxlens-diff-receivers-'));
  db = path.join(tmp, 'h.db');
  const dir = path.join(tmp, 'xml');
  await mkdir(dir);
  // two reporters on the campaign's day: 198.51.100.7 is the user's (DKIM aligned), 203.0.113.66 fails everything
  await writeFile(path.join(dir, 'a.xml'), xml('Mail A', 'a-1', T0, [['198.51.100.7', 5, true, false], ['203.0.113.66', 3, false, false]]));
  await writeFile(path.join(dir, 'b.xml'), xml('Mail B', 'b-1', T0, [['198.51.100.7', 2, true, true]]));
  // a month earlier: outside the pair's window
  await writeFile(path.join(dir, 'old.xml'), xml('Mail A', 'a-old', T0 - 30 * 86400, [['198.51.100.7', 1000, true, true]]));
  const imp = await runCli(['reports', 'import', dir, '--no-resolve', '--db', db, '--json'], { timeoutMs: 120_000 });
  expect(imp.stderr).toBe('');
  expect(imp.json().outcomes.imported).toBe(3);
  const h = HistoryStore.open(db);
  before = h.save(run(DOMAIN, T0 + 3600), 'before');
  after = h.save(run(DOMAIN, T0 + 7200), 'after');
  // a domain no report is about
  quietBefore = h.save(run('quiet.diff-test.example', T0 + 3600), 'before');
  quietAfter = h.save(run('quiet.diff-test.example', T0 + 7200), 'after');
  h.close();
});
afterAll(async () => {
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

describe('diff: what receivers reported between the two runs', () => {
  it('--json carries the receivers view of the pair’s window, valid against the schema', async () => {
    const r = await runCli(['diff', before, after, '--db', db, '--json']);
    expect(r.code).toBe(0);
    const d = r.json();
    expect(validateDocument('diff', d)).toEqual([]);
    const rec = d.targets[0].receivers;
    expect(rec.domain).toBe(DOMAIN);
    expect(rec.window.around.before.id).toBe(before);
    expect(rec.window.around.after.id).toBe(after);
    // the two reports of the campaign's day, not the month-old one
    expect(rec.reports).toBe(2);
    expect(rec.messages).toBe(10);
    expect(rec.sources).toBe(2);
    expect(rec.rates.dmarcPass).toBeCloseTo(7 / 10);
    expect(rec.rates.dkimAligned).toBeCloseTo(7 / 10);
    expect(rec.rates.spfAligned).toBeCloseTo(2 / 10);
    expect(rec.notOurs).toEqual([{ ip: '203.0.113.66', messages: 3, ptr: null, reporters: ['Mail A'] }]);
    expect(rec.reporters).toEqual([
      { org: 'Mail A', reports: 1, messages: 8, dmarcPass: 5 / 8 },
      { org: 'Mail B', reports: 1, messages: 2, dmarcPass: 1 },
    ]);
  });

  it('the text diff shows the section: totals, the failing source not yours, per reporter', async () => {
    const r = await runCli(['diff', 'last:before', 'last:after', '--target', DOMAIN, '--db', db]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/receivers reported \(DMARC aggregate reports for shop\.diff-test\.example between the two runs\)/);
    expect(r.stdout).toMatch(/10 message\(s\) from 2 source IP\(s\) in 2 report\(s\) from 2 reporter\(s\): DMARC pass 70\.0% · SPF aligned 20\.0% · DKIM aligned 70\.0%/);
    expect(r.stdout).toMatch(/failing sources that are not yours[^\n]*\n\s+203\.0\.113\.66: 3 message\(s\), reported by Mail A/);
    expect(r.stdout).toMatch(/Mail A\s+1\s+8\s+62\.5%/);
    expect(r.stdout).toMatch(/Mail B\s+1\s+2\s+100%/);
    expect(r.stdout).not.toContain(NO_REPORTS_LINE);
  });

  it('a window without reports says so in one line, in text and JSON', async () => {
    const r = await runCli(['diff', quietBefore, quietAfter, '--db', db]);
    expect(r.code).toBe(0);
    const lines = r.stdout.split('\n').filter((l) => l.includes('receivers reported'));
    expect(lines).toEqual([`  receivers reported: ${NO_REPORTS_LINE}`]);
    const j = (await runCli(['diff', quietBefore, quietAfter, '--db', db, '--json'])).json();
    expect(validateDocument('diff', j)).toEqual([]);
    expect(j.targets[0].receivers).toMatchObject({ domain: 'quiet.diff-test.example', reports: 0, messages: 0, notOurs: [], reporters: [] });
  });

  it('two JSON report files: the window is the span between their generatedAt; without a database, the one line', async () => {
    const a = path.join(tmp, 'before.json');
    const b = path.join(tmp, 'after.json');
    await writeFile(a, JSON.stringify(run(DOMAIN, T0 + 100)));
    await writeFile(b, JSON.stringify(run(DOMAIN, T0 + 200)));
    const j = (await runCli(['diff', a, b, '--db', db, '--json'])).json();
    expect(j.targets[0].receivers.window).toEqual({ since: new Date((T0 + 100) * 1000).toISOString(), until: new Date((T0 + 200) * 1000).toISOString() });
    expect(j.targets[0].receivers.messages).toBe(10);
    const none = await runCli(['diff', a, b, '--db', path.join(tmp, 'none.db')]);
    expect(none.code).toBe(0);
    expect(none.stdout).toContain(`receivers reported: ${NO_REPORTS_LINE}`);
    // comparing did not create a database
    expect(HistoryStore.exists(path.join(tmp, 'none.db'))).toBe(false);
  });

  it('in-process: addReceivers over the read-only database feeds the text, Markdown and HTML renderers', () => {
    const h = HistoryStore.openReadOnly(db);
    try {
      const b = h.get(before);
      const a = h.get(after);
      const d = addReceivers(diffReports(b.report, a.report, { before: { id: b.id, label: b.label }, after: { id: a.id, label: a.label } }), h);
      expect(validateDocument('diff', d)).toEqual([]);
      expect(d.targets[0]!.receivers!.messages).toBe(10);
      const text = renderDiff(d, makeStyle(false));
      expect(text).toContain('203.0.113.66: 3 message(s), reported by Mail A');
      const md = renderMarkdown(b.report, d);
      expect(md).toMatch(/\*\*Receivers reported\*\* for shop\.diff-test\.example: 10 message\(s\)/);
      expect(md).toContain('| Mail A | 1 | 8 | 63% |');
      expect(md).toMatch(/not yours: `203\.0\.113\.66`, 3 message\(s\)/);
      const html = renderHtml(a.report, d);
      expect(html).toContain('<h4>Receivers reported</h4>');
      expect(html).toMatch(/<li class="mono">203\.0\.113\.66: 3 message\(s\), reported by Mail A<\/li>/);
      expect(html).toContain('<td>Mail B</td><td class="n">1</td><td class="n">2</td><td class="n">100%</td>');
    } finally {
      h.close();
    }
  });
});

describe('check --against / --baseline: the same receivers view beside the comparison', () => {
  const LIVE = 'live.diff-test.example';
  let dns: Awaited<ReturnType<typeof startDns>>;
  let liveDb: string;
  beforeAll(async () => {
    dns = await startDns({ [LIVE]: { MX: [`10 mx.${LIVE}`] }, [`mx.${LIVE}`]: { A: ['192.0.2.25'] } });
    liveDb = path.join(tmp, 'live.db');
  });
  afterAll(async () => {
    await dns?.stop();
  });
  const check = (extra: string[]) => runCli(['check', LIVE, '--only', 'mx', ...dnsArgs(dns), '--db', liveDb, ...extra], { timeoutMs: 60_000 });

  it('a run compared with the last one shows what receivers reported since then, in JSON and text; --baseline FILE too', async () => {
    const first = await check(['--json']);
    expect(first.code, first.stderr).toBe(0);
    await writeFile(path.join(tmp, 'first.json'), first.stdout);
    // a report whose day spans the time between the two runs, and one from a month before (not counted)
    const now = Math.floor(Date.now() / 1000);
    const dir = path.join(tmp, 'live-xml');
    await mkdir(dir);
    await writeFile(path.join(dir, 'l.xml'), xml('Mail L', 'l-1', now - 43_200, [['198.51.100.7', 11, true, true], ['203.0.113.66', 4, false, false]], LIVE));
    await writeFile(path.join(dir, 'o.xml'), xml('Mail L', 'l-0', now - 30 * 86_400, [['198.51.100.7', 500, true, true]], LIVE));
    expect((await runCli(['reports', 'import', dir, '--no-resolve', '--db', liveDb])).code).toBe(0);

    const j = await check(['--against', 'last', '--json']);
    expect(j.code, j.stderr).toBe(0);
    const doc = j.json();
    expect(validateReport(doc)).toEqual([]);
    const r = doc.comparison.targets.find((t: any) => t.target === LIVE).receivers;
    expect(r).toMatchObject({ domain: LIVE, reports: 1, messages: 15, sources: 2 });
    expect(r.notOurs.map((x: any) => x.ip)).toEqual(['203.0.113.66']);

    const text = await check(['--against', 'last']);
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toMatch(/receivers reported.*\n.*15 message\(s\) from 2 source IP\(s\) in 1 report\(s\) from 1 reporter\(s\): DMARC pass 73\.3%/);

    // a JSON baseline and --no-save: the database is read for the receivers, not written
    const base = await check(['--baseline', path.join(tmp, 'first.json'), '--no-save', '--json']);
    expect(base.code, base.stderr).toBe(0);
    expect(base.json().comparison.targets[0].receivers).toMatchObject({ reports: 1, messages: 15 });
  });
});
