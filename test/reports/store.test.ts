// The reports' tables in the history database: a database made before reports
// (runs only, user_version 1) keeps its runs and gains the tables when opened
// for writing; opened read-only it shows no reports and no error; and the
// show query reads the covering index, not the table.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { HistoryStore } from '../../src/history/store.ts';
import { ReportStore } from '../../src/reports/store.ts';
import { showReports } from '../../src/reports/show.ts';
import { SCHEMA_VERSION } from '../../src/reports/schema-sql.ts';
import type { AggregateReport } from '../../src/reports/types.ts';
import { runCli } from '../helpers/cli.ts';

let tmp: string;
beforeAll(async () => {
  tmp = await mkdtemp(path.join(tmpdir(), 'inboxlens-reports-store-'));
});
afterAll(async () => {
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

/** A history database exactly as inboxlens wrote it before reports existed. */
function oldDb(file: string): void {
  const db = new DatabaseSync(file);
  db.exec(`
    PRAGMA journal_mode = WAL;
    CREATE TABLE runs (id TEXT PRIMARY KEY, label TEXT, command TEXT NOT NULL, target TEXT NOT NULL, created_at TEXT NOT NULL, status TEXT NOT NULL, exit_code INTEGER NOT NULL, errors INTEGER NOT NULL, warnings INTEGER NOT NULL, report TEXT NOT NULL);
    CREATE INDEX runs_target ON runs (target, created_at);
    PRAGMA application_id = ${0x494c4e53};
    PRAGMA user_version = 1;
  `);
  db.prepare('INSERT INTO runs VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)').run('20240101-000000-abcdef', 'before', 'check', 'old.example', '2024-01-01T00:00:00.000Z', 'pass', 0, 0, 0, '{"schemaVersion":"1.0","targets":[]}');
  db.close();
}

describe('migrations', () => {
  it('an old database read-only: its runs list, reports show is empty, nothing is created', async () => {
    const file = path.join(tmp, 'old-ro.db');
    oldDb(file);
    const h = await runCli(['history', '--json'], { env: { INBOXLENS_DB: file } });
    expect(h.json().runs.map((r: any) => r.id)).toEqual(['20240101-000000-abcdef']);
    const s = await runCli(['reports', 'show', '--domain', 'old.example', '--json'], { env: { INBOXLENS_DB: file } });
    expect(s.code, s.stderr).toBe(0);
    expect(s.json().aggregate.reports).toBe(0);
    const db = new DatabaseSync(file, { readOnly: true });
    expect(db.prepare("SELECT count(*) AS n FROM sqlite_master WHERE name = 'dmarc_records'").get()).toEqual({ n: 0 });
    db.close();
  });

  it('opened for writing, an old database gains the reports tables and keeps its runs; a second open changes nothing', () => {
    const file = path.join(tmp, 'old-rw.db');
    oldDb(file);
    const h = HistoryStore.open(file);
    expect(h.list().map((r) => r.id)).toEqual(['20240101-000000-abcdef']);
    expect(h.get('last').label).toBe('before');
    expect(new ReportStore(h).hasTables).toBe(true);
    expect((h.sqlite.prepare('PRAGMA user_version').get() as any).user_version).toBe(SCHEMA_VERSION);
    h.close();
    const again = HistoryStore.open(file);
    expect((again.sqlite.prepare('PRAGMA user_version').get() as any).user_version).toBe(SCHEMA_VERSION);
    again.close();
  });

  it('a database whose user_version an older inboxlens reset to 1 after the migration still opens (the migration is idempotent)', () => {
    const file = path.join(tmp, 'reset.db');
    HistoryStore.open(file).close();
    const db = new DatabaseSync(file);
    db.exec('PRAGMA user_version = 1');
    db.close();
    const h = HistoryStore.open(file);
    expect(new ReportStore(h).hasTables).toBe(true);
    h.close();
  });
});

describe('the show query', () => {
  it('reads only the covering index (no table lookups)', () => {
    const h = HistoryStore.open(path.join(tmp, 'plan.db'));
    try {
      const plan = h.sqlite
        .prepare(
          `EXPLAIN QUERY PLAN SELECT source_ip, sum(count), sum(spf_pass), sum(spf_aligned), sum(dkim_pass), sum(dkim_aligned), sum(dmarc_pass), sum(d_none), sum(d_quarantine), sum(d_reject), sum(d_pass), group_concat(DISTINCT reporter)
           FROM dmarc_records INDEXED BY dmarc_records_show WHERE domain = ? AND begin_ts <= ? AND end_ts >= ? GROUP BY source_ip`,
        )
        .all('example.com', 1, 0) as { detail: string }[];
      const text = plan.map((p) => p.detail).join('\n');
      expect(text).toMatch(/USING COVERING INDEX dmarc_records_show/);
      // grouped in the index's order: no temporary B-tree for GROUP BY (DISTINCT reporter keeps one, small, per source)
      expect(text).not.toMatch(/TEMP B-TREE FOR GROUP BY/);
      // and showReports runs that query on an empty store
      expect(showReports(new ReportStore(h), 'example.com').aggregate.reports).toBe(0);
    } finally {
      h.close();
    }
  });
});

describe('one report id, several copies: TLS and failure reports too', () => {
  const auth = (authenticated: boolean, source: string) => ({ dkim: authenticated ? 'pass' : 'none', ...(authenticated ? { domain: 'mail.example' } : {}), authenticated, source });
  const tls = (failed: number) => ({
    kind: 'tls' as const, org: 'Mail Co', reportId: 'T-1', begin: 1700000000, end: 1700086399, warnings: [],
    policies: [{ policyType: 'sts', policyDomain: 'tls.example', successful: 10, failed, failureDetails: [{ resultType: 'certificate-expired', failedSessionCount: failed }] }],
  });
  it('TLS: an unauthenticated copy with other numbers never shadows the authenticated one', () => {
    const h = HistoryStore.open(path.join(tmp, 'tls.db'));
    try {
      const s = new ReportStore(h);
      s.begin();
      expect(s.save({ report: tls(1), where: 'a', auth: auth(true, 'a.eml') }).outcome).toBe('imported');
      expect(s.save({ report: tls(500), where: 'b', auth: auth(false, 'b.json') }).outcome).toBe('conflict');
      expect(s.save({ report: { ...tls(1), org: 'MAIL CO' }, where: 'c', auth: auth(false, 'c.json') }).outcome).toBe('duplicate');
      s.commit();
      const r = showReports(s, 'tls.example');
      expect(r.tls).toMatchObject({ reports: 1, total: { successful: 10, failed: 1 } });
      expect(r.conflicts).toEqual([expect.objectContaining({ kind: 'tls', outcome: 'kept', offeredAuthenticated: false, source: 'b.json' })]);
    } finally {
      h.close();
    }
  });

  it('failure reports: the dedupe key stores one; an authenticated copy marks it authenticated', () => {
    const h = HistoryStore.open(path.join(tmp, 'ruf.db'));
    try {
      const s = new ReportStore(h);
      const f = { kind: 'failure' as const, format: 'arf' as const, dedupeKey: 'k1', domain: 'ruf.example', reporter: 'rep.example', sourceIp: '192.0.2.1', arrival: '2024-01-01T00:00:00.000Z', warnings: [] };
      s.begin();
      expect(s.save({ report: f, where: 'a', auth: auth(false, 'a.eml') }).outcome).toBe('imported');
      expect(s.save({ report: f, where: 'b', auth: auth(false, 'b.eml') }).outcome).toBe('duplicate');
      expect(s.save({ report: f, where: 'c', auth: auth(true, 'c.eml') }).outcome).toBe('auth-upgraded');
      s.commit();
      const r = showReports(s, 'ruf.example', { since: 1704000000, until: 1704153600 });
      expect(r.failure).toMatchObject({ reports: 1, items: [expect.objectContaining({ sourceIp: '192.0.2.1', authenticated: true })] });
      expect(showReports(s, 'ruf.example', { since: 1800000000 }).failure.reports).toBe(0);
    } finally {
      h.close();
    }
  });
});

describe('per-source totals (migration 3): reports show without a window', () => {
  const auth = (authenticated: boolean, source: string) => ({ dkim: authenticated ? 'pass' : 'none', ...(authenticated ? { domain: 'sum.example' } : {}), authenticated, source });
  type Rec = [ip: string, count: number, pass: boolean, disposition: string];
  const agg = (org: string, id: string, begin: number, records: Rec[]): AggregateReport => ({
    kind: 'aggregate', schema: 'rfc7489', org, reportId: id, begin, end: begin + 86399, errors: [], warnings: [], policy: { domain: 'sum.example' },
    records: records.map(([sourceIp, count, pass, disposition]) => ({ sourceIp, count, disposition, dkimAligned: pass, spfAligned: false, dkimPass: pass, spfPass: true, reasons: [], headerFrom: 'sum.example', dkim: [], spf: [] })),
  });
  const SUMS = 'count(*) AS rows, sum(count) AS count, sum(spf_pass) AS spf_pass, sum(spf_aligned) AS spf_aligned, sum(dkim_pass) AS dkim_pass, sum(dkim_aligned) AS dkim_aligned, sum(dmarc_pass) AS dmarc_pass, sum(d_none) AS d_none, sum(d_quarantine) AS d_quarantine, sum(d_reject) AS d_reject, sum(d_pass) AS d_pass';
  /** The totals table, and the same totals added up from the records: they must agree. */
  const totals = (db: DatabaseSync) => ({
    table: db.prepare('SELECT domain, source_ip, reporter, rows, count, spf_pass, spf_aligned, dkim_pass, dkim_aligned, dmarc_pass, d_none, d_quarantine, d_reject, d_pass FROM dmarc_sources ORDER BY 1, 2, 3').all(),
    records: db.prepare(`SELECT domain, source_ip, reporter, ${SUMS} FROM dmarc_records GROUP BY domain, source_ip, reporter ORDER BY 1, 2, 3`).all(),
  });
  const store = (s: ReportStore, reports: [AggregateReport, boolean][]) => {
    s.begin();
    const out = reports.map(([r, a], i) => s.save({ report: r, where: `r${i}`, auth: auth(a, `r${i}.xml`) }).outcome);
    s.commit();
    return out;
  };
  const some = (): [AggregateReport, boolean][] => [
    [agg('Mail, Inc.', 'a1', 1700000000, [['192.0.2.1', 10, true, 'none'], ['192.0.2.1', 3, false, 'quarantine'], ['192.0.2.9', 5, false, 'reject']]), false],
    [agg('google.com', 'g1', 1700000000, [['192.0.2.1', 7, true, 'none'], ['198.51.100.4', 2, false, 'none']]), false],
    [agg('google.com', 'g2', 1700086400, [['192.0.2.9', 1, false, 'pass'], ['2001:db8::1', 4, true, 'none']]), false],
    // the same id with other numbers, authenticated: it replaces the first copy (its records deleted)
    [agg('Mail, Inc.', 'a1', 1700000000, [['192.0.2.1', 11, true, 'none'], ['203.0.113.5', 1, false, 'quarantine']]), true],
    // and an unauthenticated copy after it is refused
    [agg('Mail, Inc.', 'a1', 1700000000, [['192.0.2.66', 999, false, 'reject']]), false],
  ];

  // in one transaction the replaced copy's records never reach the totals; in two, they are taken off
  it.each([['one import transaction', 5], ['two, the replacement in the second', 3]])('are what the records add up to, through imports, replacements and raw writes (%s); show reads the same from either', (name, split) => {
    const h = HistoryStore.open(path.join(tmp, `totals-${split}.db`));
    try {
      const s = new ReportStore(h);
      expect([...store(s, some().slice(0, split)), ...store(s, some().slice(split))]).toEqual(['imported', 'imported', 'imported', 'replaced', 'conflict']);
      let t = totals(h.sqlite);
      expect(t.table.length).toBeGreaterThan(0);
      expect(t.table).toEqual(t.records);
      const all = showReports(s, 'sum.example');
      // a window that holds every report goes through the records
      const windowed = showReports(s, 'sum.example', { since: 0, until: 2 ** 40 });
      expect(all.aggregate).toEqual(windowed.aggregate);
      expect(all.aggregate.sources.map((x) => [x.ip, x.messages, x.reporters])).toEqual([
        ['192.0.2.1', 18, ['Mail, Inc.', 'google.com']],
        ['2001:db8::1', 4, ['google.com']],
        ['198.51.100.4', 2, ['google.com']],
        ['192.0.2.9', 1, ['google.com']],
        ['203.0.113.5', 1, ['Mail, Inc.']],
      ]);
      expect(all.aggregate.sources.find((x) => x.ip === '192.0.2.1')!.dispositions).toEqual({ none: 18 });
      // what an older inboxlens does to the records directly: the triggers keep the totals right
      h.sqlite.exec("UPDATE dmarc_records SET count = count + 5, d_none = d_none + 5 WHERE source_ip = '198.51.100.4'");
      h.sqlite.exec("UPDATE dmarc_records SET source_ip = '192.0.2.200' WHERE source_ip = '192.0.2.9'");
      h.sqlite.exec("DELETE FROM dmarc_records WHERE source_ip = '2001:db8::1'");
      t = totals(h.sqlite);
      expect(t.table).toEqual(t.records);
      expect(showReports(s, 'sum.example').aggregate.sources).toEqual(showReports(s, 'sum.example', { since: 0, until: 2 ** 40 }).aggregate.sources);
      // the last record of a source gone: so is its row
      h.sqlite.exec('DELETE FROM dmarc_records');
      expect(totals(h.sqlite).table).toEqual([]);
    } finally {
      h.close();
    }
  });

  it('a database as the previous inboxlens left it (user_version 2): read-only it shows from the records; opened for writing it gains the totals and shows the same', () => {
    const file = path.join(tmp, 'v2.db');
    const h = HistoryStore.open(file);
    const s = new ReportStore(h);
    store(s, some());
    const expected = showReports(s, 'sum.example');
    h.close();
    // back to version 2: its schema is migration 2's, its rows are what this inboxlens writes
    const raw = new DatabaseSync(file);
    raw.exec('DROP TRIGGER dmarc_sources_insert; DROP TRIGGER dmarc_sources_update; DROP TRIGGER dmarc_sources_delete; DROP TABLE dmarc_sources; PRAGMA user_version = 2');
    raw.close();

    const ro = HistoryStore.openReadOnly(file);
    try {
      expect(showReports(new ReportStore(ro), 'sum.example')).toEqual(expected);
      expect(ro.sqlite.prepare("SELECT count(*) AS n FROM sqlite_master WHERE name = 'dmarc_sources'").get()).toEqual({ n: 0 });
    } finally {
      ro.close();
    }
    const rw = HistoryStore.open(file);
    try {
      expect((rw.sqlite.prepare('PRAGMA user_version').get() as any).user_version).toBe(SCHEMA_VERSION);
      const t = totals(rw.sqlite);
      expect(t.table.length).toBeGreaterThan(0);
      expect(t.table).toEqual(t.records);
      expect(showReports(new ReportStore(rw), 'sum.example')).toEqual(expected);
    } finally {
      rw.close();
    }
    // the migration again (a user_version reset by an older inboxlens): rebuilt, not doubled
    const reset = new DatabaseSync(file);
    reset.exec('PRAGMA user_version = 2');
    reset.close();
    const again = HistoryStore.open(file);
    try {
      const t = totals(again.sqlite);
      expect(t.table).toEqual(t.records);
      expect(showReports(new ReportStore(again), 'sum.example')).toEqual(expected);
    } finally {
      again.close();
    }
  });
});
