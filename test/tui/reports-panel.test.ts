// The receivers' reports as a dashboard panel: aggregate reports imported through
// the real import path into a real history database, shown by showReports, turned
// into generic detail blocks (bars per source IP: volume, DMARC pass and fail) and
// drawn by the dashboard model with no report-specific code; then for real, under
// tmux at 80×24: `inboxlens reports show --domain D --dashboard`.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, rm, writeFile, mkdir } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { BIN, ROOT, runCli } from '../helpers/cli.ts';
import { Tmux } from '../helpers/tmux.ts';
import { HistoryStore } from '../../src/history/store.ts';
import { ReportStore } from '../../src/reports/store.ts';
import { importFiles } from '../../src/reports/import.ts';
import { showReports } from '../../src/reports/show.ts';
import { sourcesDetails, reportersDetails, recentReportsDetails } from '../../src/reports/receivers.ts';
import { startDns } from '../helpers/dns.ts';
import { extraLines, newModel } from '../../src/tui/model.ts';

const DOMAIN = 'panel.reports-test.example';
const RECENT = 'recent.reports-test.example';
let tmp: string;
let db: string;

function xml(org: string, id: string, rows: [string, number, boolean][], domain = DOMAIN, begin = 1760000000): string {
  const rec = rows
    .map(([ip, n, pass]) => `<record><row><source_ip>${ip}</source_ip><count>${n}</count><policy_evaluated><disposition>none</disposition><dkim>${pass ? 'pass' : 'fail'}</dkim><spf>fail</spf></policy_evaluated></row>
<identifiers><header_from>${domain}</header_from></identifiers><auth_results><dkim><domain>${pass ? domain : 'x.example'}</domain><result>${pass ? 'pass' : 'fail'}</result></dkim><spf><domain>x.example</domain><result>fail</result></spf></auth_results></record>`)
    .join('\n');
  return `<?xml version="1.0"?><feedback><report_metadata><org_name>${org}</org_name><email>r@${org}.example</email><report_id>${id}</report_id><date_range><begin>${begin}</begin><end>${begin + 86399}</end></date_range></report_metadata>
<policy_published><domain>${domain}</domain><p>none</p></policy_published>${rec}</feedback>`;
}

beforeAll(async () => {
  tmp = await mkdtemp(path.join(tmpdir(), 'inboxlens-reports-panel-'));
  db = path.join(tmp, 'h.db');
  const dir = path.join(tmp, 'xml');
  await mkdir(dir);
  await writeFile(path.join(dir, 'a.xml'), xml('mailA', 'a1', [['198.51.100.7', 40, true], ['198.51.100.8', 20, true], ['198.51.100.8', 20, false], ['203.0.113.66', 10, false]]));
  await writeFile(path.join(dir, 'b.xml'), xml('mailB', 'b1', [['198.51.100.7', 40, true]]));
  // a domain whose reports are recent: yesterday's, and one from two months ago the dashboard leaves out
  const day = Math.floor(Date.now() / 86_400_000) * 86_400;
  await writeFile(path.join(dir, 'c.xml'), xml('mailC', 'c1', [['192.0.2.25', 120, true], ['203.0.113.99', 30, false]], RECENT, day - 86_400));
  await writeFile(path.join(dir, 'd.xml'), xml('mailC', 'c0', [['192.0.2.26', 999, true]], RECENT, day - 60 * 86_400));
  const h = HistoryStore.open(db);
  try {
    const sum = await importFiles(['a', 'b', 'c', 'd'].map((x) => path.join(dir, `${x}.xml`)), { store: new ReportStore(h), workers: 0 });
    expect(sum.outcomes.imported).toBe(4);
  } finally {
    h.close();
  }
});
afterAll(async () => {
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

describe('the reports panel', () => {
  it('the model draws a bar per source IP on one scale, toned by DMARC pass and fail', () => {
    const h = HistoryStore.openReadOnly(db);
    let lines;
    try {
      const r = showReports(new ReportStore(h), DOMAIN);
      const m = newModel(DOMAIN);
      expect(extraLines(m, 'waiting')).toEqual([{ text: 'waiting', color: 'gray' }]);
      m.extra = sourcesDetails(r);
      lines = extraLines(m);
    } finally {
      h.close();
    }
    const text = lines.map((l) => l.text);
    expect(text[0]).toBe('2 report(s), 2 reporter(s) · 130 msg from 3 IP(s) · DMARC pass 76.9% · 1 failing not yours');
    expect(lines[0]!.color).toBe('red');
    // the biggest sender fills the bar (30 columns); 198.51.100.8 half of it, half passing
    const row = (ip: string) => lines.find((l) => l.text.includes(ip))!;
    expect(row('198.51.100.7').text).toMatch(/^ 198\.51\.100\.7 {2}█{30} {2}80 msg · DMARC 100%$/);
    expect(row('198.51.100.7').color).toBe('green');
    expect(row('198.51.100.8').text).toMatch(/^ 198\.51\.100\.8 {2}█{8}▓{7} {15} {2}40 msg · DMARC 50\.0%$/);
    expect(row('198.51.100.8').color).toBe('red');
    // the failing source that is not the user's is marked
    expect(row('203.0.113.66').text).toMatch(/^!203\.0\.113\.66 {2}▓{4} {26} {2}10 msg · DMARC 0%$/);
    expect(text.at(-1)).toBe('█ DMARC pass  ▓ fail');
  });

  it('reporters and the sources not yours, as blocks too; no reports: one line saying so', () => {
    const h = HistoryStore.openReadOnly(db);
    try {
      const store = new ReportStore(h);
      const r = showReports(store, DOMAIN);
      const m = newModel(DOMAIN);
      m.extra = reportersDetails(r);
      const text = extraLines(m).map((l) => l.text);
      expect(text[0]).toMatch(/^reporter\s+reports\s+messages\s+DMARC pass$/);
      expect(text).toContainEqual(expect.stringMatching(/^mailA\s+1\s+90\s+66\.7%$/));
      expect(text).toContainEqual('  203.0.113.66: 10 message(s), reported by mailA');
      m.extra = sourcesDetails(showReports(store, 'other.reports-test.example'));
      expect(extraLines(m).map((l) => l.text)).toEqual(['no DMARC aggregate reports for other.reports-test.example in this window — import them with `inboxlens reports import`']);
    } finally {
      h.close();
    }
  });

  it('the model file has no report-specific code', () => {
    const src = readFileSync(new URL('../../src/tui/model.ts', import.meta.url), 'utf8') + readFileSync(new URL('../../src/tui/dashboard.ts', import.meta.url), 'utf8');
    expect(src).not.toMatch(/src\/reports|reports\/|ShowResult|sourcesDetails|aggregate/i);
  });

  it('without a terminal --dashboard prints the plain view; with --json or on import it is refused before any work', async () => {
    const plain = await runCli(['reports', 'show', '--domain', DOMAIN, '--db', db, '--dashboard']);
    expect(plain.code).toBe(0);
    expect(plain.stdout).toMatch(/DMARC aggregate: 2 report\(s\) from 2 reporter\(s\), 130 message\(s\)/);
    const json = await runCli(['reports', 'show', '--domain', DOMAIN, '--db', db, '--dashboard', '--json']);
    expect(json.code).toBe(2);
    expect(json.stderr).toMatch(/--dashboard is a full-screen view: leave out --json\/--ndjson/);
    const imp = await runCli(['reports', 'import', tmp, '--db', db, '--dashboard']);
    expect(imp.code).toBe(2);
    expect(imp.stderr).toMatch(/--dashboard are for reports show/);
  });

  it('reports show --dashboard at 80×24: the source IPs as bars, then the plain view on q', async () => {
    const term = new Tmux();
    try {
      await term.start(`cd ${ROOT} && ${process.execPath} ${BIN} reports show --domain ${DOMAIN} --db ${db} --dashboard; echo "EXIT=$?"; sleep 30`, 80, 24);
      const screen = await term.waitFor(/Source IPs/);
      if (process.env.SHOW_SCREEN) console.log(screen);
      expect(screen.split('\n').every((l) => l.length <= 80)).toBe(true);
      expect(screen).toMatch(/inboxlens reports show panel\.reports-test\.example · all stored reports/);
      expect(screen).toMatch(/198\.51\.100\.7 {2}█{30} {2}80 msg · DMARC 100%/);
      expect(screen).toMatch(/!203\.0\.113\.66 {2}▓{4}/);
      expect(screen).toMatch(/Reporters/);
      expect(screen).toMatch(/mailB\s+1\s+40\s+100%/);
      await term.keys('q');
      const after = await term.waitFor(/EXIT=0/);
      expect(after).not.toMatch(/Source IPs \(volume/);
      expect(after).toMatch(/mailA: 1 report\(s\), 90 message\(s\), DMARC pass 66\.7%/);
    } finally {
      await term.kill();
    }
  }, 60_000);
  it('the dashboard\'s panel: the last 30 days of one domain\'s reports; none, or no database, says so and how to import', () => {
    const h = HistoryStore.openReadOnly(db);
    try {
      const m = newModel(RECENT);
      m.extra = recentReportsDetails(h, RECENT);
      const text = extraLines(m).map((l) => l.text);
      expect(text[0]).toMatch(/^the last 30 days \(since \d{4}-\d{2}-\d{2}\) · all: inboxlens reports show --domain recent\.reports-test\.example$/);
      // the report from two months ago is not counted: 150 messages, not 1,149
      expect(text[1]).toBe('1 report(s), 1 reporter(s) · 150 msg from 2 IP(s) · DMARC pass 80.0% · 1 failing not yours');
      expect(text).toContainEqual(expect.stringMatching(/^ 192\.0\.2\.25 +█{30} {2}120 msg · DMARC 100%$/));
      expect(text.join('\n')).not.toMatch(/192\.0\.2\.26/);
      expect(text).toContainEqual(expect.stringMatching(/^mailC\s+1\s+150\s+80\.0%$/));
      // the older domain's reports are all older than 30 days
      m.extra = recentReportsDetails(h, DOMAIN);
      expect(extraLines(m).map((l) => l.text)).toEqual(['no DMARC aggregate reports about panel.reports-test.example from the last 30 days in the history database — import them with `inboxlens reports import FILES` (or --imap URL)']);
      // ... but they are, seen from the day after they were sent
      m.extra = recentReportsDetails(h, DOMAIN, 1760086399_000 + 86_400_000);
      expect(extraLines(m).map((l) => l.text)[1]).toBe('2 report(s), 2 reporter(s) · 130 msg from 3 IP(s) · DMARC pass 76.9% · 1 failing not yours');
    } finally {
      h.close();
    }
    const none = newModel(RECENT);
    none.extra = recentReportsDetails(undefined, RECENT);
    expect(extraLines(none).map((l) => l.text)[0]).toMatch(/^no DMARC aggregate reports about recent\.reports-test\.example from the last 30 days/);
  });

  it('inboxlens dashboard D shows what receivers reported about D beside the checks, read from --db', async () => {
    const dns = await startDns({ [RECENT]: { MX: ['10 mx.recent.reports-test.example'] }, [`mx.${RECENT}`]: { A: ['192.0.2.25'] } });
    const term = new Tmux();
    try {
      await term.start(`cd ${ROOT} && ${process.execPath} ${BIN} dashboard ${RECENT} --only mx --resolver ${dns.address} --timeout 2s --db ${db}; echo "EXIT=$?"; sleep 30`, 120, 40);
      const screen = await term.waitFor(/192\.0\.2\.25 +█+/);
      if (process.env.SHOW_SCREEN) console.log(screen);
      expect(screen).toMatch(/Receivers' DMARC reports for recent\.reports-test\.example/);
      expect(screen).toMatch(/1 report\(s\), 1 reporter\(s\) · 150 msg from 2 IP\(s\)/);
      expect(screen).toMatch(/!203\.0\.113\.99/);
      expect(screen).toMatch(/verdict: /);
      await term.keys('q');
      await term.waitFor(/EXIT=\d/);
    } finally {
      await term.kill();
      await dns.stop();
    }
  }, 60_000);
});
