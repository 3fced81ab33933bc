// Benchmark (issue 13): `reports import` of 10,000 DMARC aggregate reports
// (~60 MB of XML, a third each plain .xml, .xml.gz and .zip) into a fresh
// history database, target ≤ 10 s and < 200 MB peak RSS; and `reports show`
// over 1,000,000 rows of one domain, target ≤ 1 s (--json and text, and a 30-day window),
// read from the per-source totals (no window) or the covering index (a window);
// the grouping is also timed with a plain (domain, begin_ts) index for comparison. Both commands run as
// whole processes under /usr/bin/time -v (wall time, peak RSS); the query alone
// is also timed in-process. Bounded: temp files only, no network (--no-resolve).
// Run: node_modules/.bin/node bench/reports.ts [--reports 10000] [--rows 1000000]
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile, mkdir } from 'node:fs/promises';
import { DatabaseSync } from 'node:sqlite';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { makeZip } from '../test/helpers/zip.ts';
import { HistoryStore } from '../src/history/store.ts';
import { ReportStore } from '../src/reports/store.ts';
import { showReports } from '../src/reports/show.ts';
import { beginSourceTotals, flushSourceTotals } from '../src/reports/schema-sql.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const { values } = parseArgs({ options: { reports: { type: 'string', default: '10000' }, rows: { type: 'string', default: '1000000' }, 'import-only': { type: 'boolean', default: false } } });
const N = Number(values.reports);
const ROWS = Number(values.rows);
// ~6 KB of XML a report: 10,000 of them make the ~60 MB of the issue
const RECORDS = 10;

// a deterministic generator: the same files every run
let seed = 42;
// mulberry32: small, deterministic, and its low bits are as random as its high ones
const rnd = () => {
  seed = (seed + 0x6d2b79f5) | 0;
  let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
};
const ip = () => `${10 + Math.floor(rnd() * 200)}.${Math.floor(rnd() * 256)}.${Math.floor(rnd() * 256)}.${1 + Math.floor(rnd() * 254)}`;
const ORGS = ['google.com', 'Outlook.com', 'Yahoo', 'AMAZON-SES', 'Mail.Ru', 'comcast.net', 'web.de', 'gmx.net', 'orange.fr', 'fastmail.com'];

function report(i: number): string {
  const begin = 1700000000 + (i % 365) * 86400;
  const records: string[] = [];
  for (let r = 0; r < RECORDS; r++) {
    const pass = rnd() < 0.9;
    records.push(`  <record>
    <row>
      <source_ip>${ip()}</source_ip>
      <count>${1 + Math.floor(rnd() * 500)}</count>
      <policy_evaluated>
        <disposition>${pass ? 'none' : 'quarantine'}</disposition>
        <dkim>${pass ? 'pass' : 'fail'}</dkim>
        <spf>${rnd() < 0.8 ? 'pass' : 'fail'}</spf>
      </policy_evaluated>
    </row>
    <identifiers>
      <header_from>bench${i % 20}.example</header_from>
    </identifiers>
    <auth_results>
      <dkim>
        <domain>bench${i % 20}.example</domain>
        <selector>s1</selector>
        <result>${pass ? 'pass' : 'fail'}</result>
      </dkim>
      <spf>
        <domain>bounce.bench${i % 20}.example</domain>
        <result>pass</result>
      </spf>
    </auth_results>
  </record>`);
  }
  return `<?xml version="1.0" encoding="UTF-8" ?>
<feedback>
  <version>1.0</version>
  <report_metadata>
    <org_name>${ORGS[i % ORGS.length]}</org_name>
    <email>noreply-dmarc@${ORGS[i % ORGS.length]!.toLowerCase()}</email>
    <report_id>bench-${i}-${Math.floor(rnd() * 1e9)}</report_id>
    <date_range>
      <begin>${begin}</begin>
      <end>${begin + 86399}</end>
    </date_range>
  </report_metadata>
  <policy_published>
    <domain>bench${i % 20}.example</domain>
    <adkim>r</adkim>
    <aspf>r</aspf>
    <p>quarantine</p>
    <sp>quarantine</sp>
    <pct>100</pct>
  </policy_published>
${records.join('\n')}
</feedback>
`;
}

function timed(args: string[], env: NodeJS.ProcessEnv): Promise<{ wallMs: number; cpuS: number; rssMb: number; code: number | null; stdout: string; stderr: string }> {
  const t0 = performance.now();
  const flags = (process.env.BENCH_NODE_FLAGS ?? '').split(' ').filter(Boolean);
  const child = spawn('/usr/bin/time', ['-v', process.execPath, ...flags, path.join(ROOT, 'bin/inboxlens.js'), ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env, NO_COLOR: '1' } });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => { stdout += d; });
  child.stderr.on('data', (d: Buffer) => { stderr += d; });
  const kill = setTimeout(() => child.kill('SIGKILL'), 600_000);
  return new Promise((resolve) => child.on('close', (code) => {
    clearTimeout(kill);
    const cpuS = Number(/User time \(seconds\): ([\d.]+)/.exec(stderr)?.[1] ?? 0) + Number(/System time \(seconds\): ([\d.]+)/.exec(stderr)?.[1] ?? 0);
    resolve({ wallMs: performance.now() - t0, cpuS, rssMb: Number(/Maximum resident set size \(kbytes\): (\d+)/.exec(stderr)?.[1] ?? 0) / 1024, code, stdout, stderr });
  }));
}

const dir = await mkdtemp(path.join(os.tmpdir(), 'ilr-'));
try {
  // 1. import
  const files = path.join(dir, 'reports');
  await mkdir(files);
  let xmlBytes = 0;
  let onDisk = 0;
  for (let i = 0; i < N; i++) {
    const xml = Buffer.from(report(i));
    xmlBytes += xml.length;
    const name = `r${i}`;
    const kind = i % 3;
    const data = kind === 0 ? xml : kind === 1 ? zlib.gzipSync(xml) : makeZip([[`${name}.xml`, xml]]);
    onDisk += data.length;
    await writeFile(path.join(files, `${name}${kind === 0 ? '.xml' : kind === 1 ? '.xml.gz' : '.zip'}`), data);
  }
  console.log(`load average before: ${os.loadavg().map((x) => x.toFixed(1)).join(' ')}`);
  console.log(`reports import: ${N} aggregate reports, ${(xmlBytes / 1048576).toFixed(1)} MB of XML (${(onDisk / 1048576).toFixed(1)} MB on disk: ⅓ .xml, ⅓ .xml.gz, ⅓ .zip), ${RECORDS} records each; Node ${process.version}, ${os.cpus().length} cores`);
  const env = { INBOXLENS_DB: path.join(dir, 'import.db') };
  const imp = await timed(['reports', 'import', files, '--no-resolve', '--json'], env);
  const j = imp.code === 0 ? JSON.parse(imp.stdout) : undefined;
  console.log(`  wall ${(imp.wallMs / 1000).toFixed(2)} s (CPU ${imp.cpuS.toFixed(2)} s) · peak RSS ${imp.rssMb.toFixed(0)} MB · exit ${imp.code} · ${j ? `${j.outcomes.imported} imported, ${j.failed} failed` : imp.stderr.slice(-500)}`);
  const again = await timed(['reports', 'import', files, '--no-resolve', '--json'], env);
  console.log(`  again (all duplicates): wall ${(again.wallMs / 1000).toFixed(2)} s (CPU ${again.cpuS.toFixed(2)} s) · peak RSS ${again.rssMb.toFixed(0)} MB · ${again.code === 0 ? `${JSON.parse(again.stdout).outcomes.duplicate} duplicates` : again.stderr.slice(-300)}`);

  // 2. show over ROWS rows of one domain: written straight into the table (the import path is measured above)
  if (!values['import-only']) await showBench(dir);
} finally {
  await rm(dir, { recursive: true, force: true });
}

async function showBench(dir: string): Promise<void> {
  const dbFile = process.env.BENCH_SHOW_DB ?? path.join(dir, 'show.db');
  HistoryStore.open(dbFile).close();
  const db = new DatabaseSync(dbFile);
  const tb = performance.now();
  db.exec('BEGIN');
  // as an import writes them: the per-source totals added up once, before the commit
  beginSourceTotals(db);
  const rep = db.prepare("INSERT INTO dmarc_reports (org_key, org, report_id, domain, begin_ts, end_ts, schema, policy, records_detail, records, messages, spf_pass, spf_aligned, dkim_pass, dkim_aligned, dmarc_pass, dispositions, sha256, dkim, authenticated, source, imported_at) VALUES (?, ?, ?, 'big.example', ?, ?, 'rfc7489', '{}', '[]', 100, ?, ?, ?, ?, ?, ?, ?, 'x', 'none', 0, 'bench', '2026-01-01T00:00:00Z')");
  const row = db.prepare("INSERT INTO dmarc_records (report, domain, begin_ts, end_ts, reporter, source_ip, count, disposition, spf_pass, spf_aligned, dkim_pass, dkim_aligned, dmarc_pass, d_none, d_quarantine, d_reject, d_pass, header_from) VALUES (?, 'big.example', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, 0, 'big.example')");
  const ips = Array.from({ length: 20_000 }, ip);
  const perReport = 100;
  for (let r = 0; r < ROWS / perReport; r++) {
    const begin = 1700000000 + (r % 90) * 86400;
    const org = ORGS[r % ORGS.length]!;
    const rows = Array.from({ length: perReport }, () => {
      const pass = rnd() < 0.9 ? 1 : 0;
      return { ip: ips[Math.floor(rnd() * ips.length)]!, count: 1 + Math.floor(rnd() * 100), pass, spf: rnd() < 0.8 ? 1 : 0 };
    });
    const n = rows.reduce((a, x) => a + x.count, 0);
    const dk = rows.reduce((a, x) => a + x.count * x.pass, 0);
    const sa = rows.reduce((a, x) => a + x.count * x.spf, 0);
    const dm = rows.reduce((a, x) => a + x.count * (x.pass | x.spf), 0);
    const id = Number(rep.run(org.toLowerCase(), org, `big-${r}`, begin, begin + 86399, n, n, sa, dk, dk, dm, JSON.stringify({ none: dk, quarantine: n - dk })).lastInsertRowid);
    for (const x of rows) row.run(id, begin, begin + 86399, org, x.ip, x.count, x.pass ? 'none' : 'quarantine', x.count, x.count * x.spf, x.count * x.pass, x.count * x.pass, x.count * (x.pass | x.spf), x.count * x.pass, x.count * (1 - x.pass));
  }
  // another domain's rows around them, so the index has to pick
  const other = db.prepare("INSERT INTO dmarc_records (report, domain, begin_ts, end_ts, reporter, source_ip, count, disposition, spf_pass, spf_aligned, dkim_pass, dkim_aligned, dmarc_pass, d_none, d_quarantine, d_reject, d_pass, header_from) VALUES (0, 'other.example', 1700000000, 1700086399, 'other', ?, 1, 'none', 1, 1, 1, 1, 1, 1, 0, 0, 0, 'other.example')");
  for (let r = 0; r < 100_000; r++) other.run(ips[r % ips.length]!);
  flushSourceTotals(db);
  db.exec('COMMIT');
  db.exec('ANALYZE');
  db.close();
  console.log(`reports show: ${ROWS.toLocaleString('en')} rows of big.example (+100,000 of another domain), 20,000 source IPs, 10 reporters, 90 days (written in ${((performance.now() - tb) / 1000).toFixed(1)} s)`);
  const show = await timed(['reports', 'show', '--domain', 'big.example', '--json'], { INBOXLENS_DB: dbFile });
  const sj = show.code === 0 ? JSON.parse(show.stdout) : undefined;
  console.log(`  whole process, --json: wall ${(show.wallMs / 1000).toFixed(2)} s (CPU ${show.cpuS.toFixed(2)} s) · peak RSS ${show.rssMb.toFixed(0)} MB · ${sj ? `${sj.aggregate.total.messages} messages, ${sj.aggregate.sources.length} sources` : show.stderr.slice(-300)}`);
  const text = await timed(['reports', 'show', '--domain', 'big.example'], { INBOXLENS_DB: dbFile });
  console.log(`  whole process, text: wall ${(text.wallMs / 1000).toFixed(2)} s (CPU ${text.cpuS.toFixed(2)} s) · peak RSS ${text.rssMb.toFixed(0)} MB · exit ${text.code}`);
  const windowed = await timed(['reports', 'show', '--domain', 'big.example', '--json', '--since', String(1700000000 + 30 * 86400), '--until', String(1700000000 + 60 * 86400)], { INBOXLENS_DB: dbFile });
  console.log(`  whole process, --json, a 30-day window (read from the records): wall ${(windowed.wallMs / 1000).toFixed(2)} s (CPU ${windowed.cpuS.toFixed(2)} s) · peak RSS ${windowed.rssMb.toFixed(0)} MB · exit ${windowed.code}`);
  const h = HistoryStore.openReadOnly(dbFile);
  const store = new ReportStore(h);
  const best = (f: () => void) => {
    let min = Infinity;
    for (let i = 0; i < 3; i++) {
      const t = performance.now();
      f();
      min = Math.min(min, performance.now() - t);
    }
    return min;
  };
  const full = best(() => showReports(store, 'big.example'));
  const month = best(() => showReports(store, 'big.example', { since: 1700000000 + 30 * 86400, until: 1700000000 + 60 * 86400 }));
  h.close();
  console.log(`  showReports() in-process, best of 3: all 90 days (the per-source totals) ${full.toFixed(0)} ms; a 30-day window (the records) ${month.toFixed(0)} ms`);
  // the same grouping with only a plain (domain, begin_ts) index
  const plain = new DatabaseSync(dbFile);
  plain.exec('DROP INDEX dmarc_records_show; CREATE INDEX plain_idx ON dmarc_records (domain, begin_ts); ANALYZE;');
  const q = plain.prepare("SELECT source_ip, sum(count), sum(spf_pass), sum(spf_aligned), sum(dkim_pass), sum(dkim_aligned), sum(dmarc_pass), sum(d_none), sum(d_quarantine), sum(d_reject), sum(d_pass), group_concat(DISTINCT replace(reporter, ',', char(31))) FROM dmarc_records WHERE domain = ? AND begin_ts <= ? AND end_ts >= ? GROUP BY source_ip");
  const plainMs = best(() => q.all('big.example', 2 ** 48, 0));
  plain.close();
  console.log(`  the grouping query with a plain (domain, begin_ts) index instead: ${plainMs.toFixed(0)} ms`);
}
