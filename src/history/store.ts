// Run history in an embedded SQLite database (node:sqlite: no native addon, no
// server). Every run is saved with its label and full JSON so a run after a send
// can be diffed against the one before it. WAL + busy timeout let concurrent
// runs write the same file without corruption or lost runs.
import type { DatabaseSync } from 'node:sqlite';
// loaded when a database is opened: importing this module (every command that can
// save a run does) neither costs the SQLite start-up nor prints Node 22's warning
const sqlite = () => process.getBuiltinModule('node:sqlite') as typeof import('node:sqlite');
import { mkdirSync, existsSync, openSync, readSync, closeSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { randomBytes } from 'node:crypto';
import { UsageError } from '../util/errors.ts';
import type { Report } from '../report/json.ts';
import { redact } from '../util/redact.ts';
import { migrate } from '../reports/schema-sql.ts';

/** PRAGMA application_id: "ILNS", so a foreign SQLite file is told apart from ours. */
const APP_ID = 0x494c4e53;

export interface RunSummary {
  id: string;
  label: string | null;
  command: string;
  target: string;
  createdAt: string;
  status: string;
  exitCode: number;
  errors: number;
  warnings: number;
}
export interface RunRecord extends RunSummary {
  report: Report;
}

/** The user's data directory: $INBOXLENS_DB, else XDG_DATA_HOME, ~/Library/Application Support, %APPDATA%. */
export function defaultDbPath(env = process.env): string {
  if (env.INBOXLENS_DB) return env.INBOXLENS_DB;
  const home = os.homedir();
  let base: string;
  if (process.platform === 'darwin') base = path.join(home, 'Library', 'Application Support');
  else if (process.platform === 'win32') base = env.APPDATA ?? path.join(home, 'AppData', 'Roaming');
  else base = env.XDG_DATA_HOME || path.join(home, '.local', 'share');
  return path.join(base, 'inboxlens', 'history.db');
}

function newRunId(): string {
  // sortable by time, unique across concurrent processes
  const t = new Date().toISOString().replace(/[-:]/g, '').replace(/\..*$/, '').replace('T', '-');
  return `${t}-${randomBytes(3).toString('hex')}`;
}

function looksLikeSqlite(file: string): boolean {
  const fd = openSync(file, 'r');
  try {
    const buf = Buffer.alloc(16);
    const n = readSync(fd, buf, 0, 16, 0);
    return n === 16 && buf.toString('latin1') === 'SQLite format 3\u0000';
  } finally {
    closeSync(fd);
  }
}

export class HistoryStore {
  readonly file: string;
  private db: DatabaseSync;

  private constructor(file: string, db: DatabaseSync) {
    this.file = file;
    this.db = db;
  }

  /** Is there a history file at all? Read-only commands must not create one. */
  static exists(file: string = defaultDbPath()): boolean {
    return existsSync(file);
  }

  /**
   * f over the history to read: `open` when the caller holds it, else the file opened read
   * only (and closed again) if it exists, else undefined — looking never creates a database.
   */
  static readIfExists<T>(file: string, open: HistoryStore | undefined, f: (h: HistoryStore | undefined) => T): T {
    const h = open ?? (HistoryStore.exists(file) ? HistoryStore.openReadOnly(file) : undefined);
    try {
      return f(h);
    } finally {
      if (h && h !== open) h.close();
    }
  }

  /**
   * Open for reading only (history, diff): no schema set-up, no write lock, so a
   * run that is saving at the moment does not make this wait, and a file that
   * cannot be written (read-only, chattr +i) can still be read. A database that
   * turns out damaged is the user's to fix (UsageError), not an internal error.
   */
  static openReadOnly(file: string = defaultDbPath()): HistoryStore {
    const where = `history database '${file}'`;
    checkDbFile(file, where);
    const DatabaseSync = sqlite().DatabaseSync;
    const tryOpen = (target: string | URL) => {
      const db = new DatabaseSync(target, { readOnly: true, timeout: 5_000 });
      try {
        const appId = (db.prepare('PRAGMA application_id').get() as { application_id: number }).application_id;
        const tables = (db.prepare("SELECT count(*) AS n FROM sqlite_master WHERE type = 'table'").get() as { n: number }).n;
        if (appId !== APP_ID && tables > 0) throw new UsageError(`--db: ${where} is an SQLite database of another program, not inboxlens history; pass another --db PATH`);
      } catch (e) {
        db.close();
        throw e;
      }
      return db;
    };
    let db: DatabaseSync;
    try {
      db = tryOpen(file);
    } catch (e) {
      if (e instanceof UsageError) throw e;
      // a WAL database whose -shm cannot be created next to it (an immutable file or folder):
      // SQLite can still read it when told that nothing will change it
      try {
        const u = pathToFileURL(path.resolve(file));
        u.searchParams.set('immutable', '1');
        db = tryOpen(u);
      } catch (e2) {
        if (e2 instanceof UsageError) throw e2;
        throw damaged(where, e);
      }
    }
    return new HistoryStore(file, db);
  }

  static open(file: string = defaultDbPath()): HistoryStore {
    const where = `history database '${file}'`;
    if (existsSync(file)) {
      checkDbFile(file, where);
    } else {
      try {
        mkdirSync(path.dirname(file), { recursive: true });
      } catch (e) {
        throw new UsageError(`--db: cannot create the folder for ${where}: ${(e as Error).message}`);
      }
    }
    let db: DatabaseSync;
    try {
      db = new (sqlite().DatabaseSync)(file, { timeout: 10_000 });
      db.exec('PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;');
      const appId = (db.prepare('PRAGMA application_id').get() as { application_id: number }).application_id;
      const tables = (db.prepare("SELECT count(*) AS n FROM sqlite_master WHERE type = 'table'").get() as { n: number }).n;
      if (appId !== APP_ID && tables > 0) {
        db.close();
        throw new UsageError(`--db: ${where} is an SQLite database of another program, not inboxlens history; pass another --db PATH`);
      }
      db.exec(`
        BEGIN IMMEDIATE;
        CREATE TABLE IF NOT EXISTS runs (
          id TEXT PRIMARY KEY,
          label TEXT,
          command TEXT NOT NULL,
          target TEXT NOT NULL,
          created_at TEXT NOT NULL,
          status TEXT NOT NULL,
          exit_code INTEGER NOT NULL,
          errors INTEGER NOT NULL,
          warnings INTEGER NOT NULL,
          report TEXT NOT NULL
        );
        CREATE INDEX IF NOT EXISTS runs_target ON runs (target, created_at);
        PRAGMA application_id = ${APP_ID};
      `);
      // the reports' tables, and whatever later versions add (PRAGMA user_version counts them)
      migrate(db);
      db.exec('COMMIT');
    } catch (e) {
      if (e instanceof UsageError) throw e;
      throw new UsageError(`--db: cannot use ${where}: ${(e as Error).message}`);
    }
    return new HistoryStore(file, db);
  }

  close(): void {
    this.db.close();
  }

  /** The open database, for the reports store (src/reports/store.ts), which keeps its own tables in it. */
  get sqlite(): DatabaseSync {
    return this.db;
  }

  /** Save one run; returns its id. The report is redacted before it is stored. */
  save(report: Report, label?: string): string {
    const id = newRunId();
    const target = report.targets.map((t) => t.target).join(',') || '(none)';
    this.db
      .prepare('INSERT INTO runs (id, label, command, target, created_at, status, exit_code, errors, warnings, report) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)')
      .run(id, label ?? null, report.command, target, report.generatedAt, report.summary.status, report.summary.exitCode, report.summary.findings.error, report.summary.findings.warn, redact(JSON.stringify(report)));
    return id;
  }

  /** A read of a damaged database is bad input (exit 2 with the reason), not an internal error. */
  private read<T>(f: () => T): T {
    try {
      return f();
    } catch (e) {
      if (e instanceof UsageError) throw e;
      throw damaged(`history database '${this.file}'`, e);
    }
  }

  list(opts: { target?: string; label?: string; command?: string; limit?: number } = {}): RunSummary[] {
    return this.read(() => (this.hasRunsTable() ? this.listRows(opts) : []));
  }

  private listRows(opts: { target?: string; label?: string; command?: string; limit?: number }): RunSummary[] {
    const where: string[] = [];
    const args: (string | number)[] = [];
    if (opts.target) {
      where.push("(target = ? OR ',' || target || ',' LIKE ?)");
      args.push(opts.target, `%,${opts.target},%`);
    }
    if (opts.label) {
      where.push('label = ?');
      args.push(opts.label);
    }
    if (opts.command) {
      // `dashboard` is `check` with the live view: one kind of run
      const kinds = opts.command === 'check' || opts.command === 'dashboard' ? ['check', 'dashboard'] : [opts.command];
      where.push(`command IN (${kinds.map(() => '?').join(', ')})`);
      args.push(...kinds);
    }
    const sql = `SELECT id, label, command, target, created_at, status, exit_code, errors, warnings FROM runs ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY created_at DESC, rowid DESC LIMIT ?`;
    args.push(opts.limit ?? 50);
    return (this.db.prepare(sql).all(...args) as any[]).map(rowToSummary);
  }

  /**
   * A run by id, id prefix, `last`, `last:LABEL` or `last~N` (the Nth before the
   * last); `target` narrows `last` to runs of that target, `command` to runs of that
   * command (`check --against last` compares with the last check, not a blacklist run).
   */
  get(ref: string, target?: string, excludeId?: string, command?: string): RunRecord {
    return this.read(() => {
      if (!this.hasRunsTable()) throw new UsageError(`no saved run matches '${ref}' in ${this.file}: it holds no runs yet`);
      return this.getRow(ref, target, excludeId, command);
    });
  }

  /** false for an empty file opened read-only (a database never written to) */
  private hasRunsTable(): boolean {
    return Boolean(this.db.prepare("SELECT 1 AS x FROM sqlite_master WHERE type = 'table' AND name = 'runs'").get());
  }

  private getRow(ref: string, target?: string, excludeId?: string, command?: string): RunRecord {
    let row: any;
    const m = /^last(?::([^~]+))?(?:~(\d+))?$/.exec(ref);
    if (m) {
      const list = this.list({ target, label: m[1], command, limit: Number(m[2] ?? 0) + 2 }).filter((r) => r.id !== excludeId);
      const pick = list[Number(m[2] ?? 0)];
      const of = [command ? `${command} runs` : '', target ? `for ${target}` : ''].filter(Boolean).join(' ');
      if (!pick) throw new UsageError(`no saved run matches '${ref}'${of ? ` among ${of}` : ''} in ${this.file}; list runs with: inboxlens history`);
      row = this.db.prepare('SELECT * FROM runs WHERE id = ?').get(pick.id);
    } else {
      const rows = this.db.prepare('SELECT * FROM runs WHERE id LIKE ? ORDER BY created_at DESC LIMIT 2').all(`${ref.replace(/[%_]/g, '')}%`) as any[];
      if (!rows.length) throw new UsageError(`no saved run with id '${ref}' in ${this.file}; list runs with: inboxlens history`);
      if (rows.length > 1 && rows[0].id !== ref) throw new UsageError(`run id '${ref}' is ambiguous: give more characters`);
      row = rows[0];
    }
    let report: Report;
    try {
      report = JSON.parse(row.report);
    } catch {
      throw new UsageError(`run ${row.id} in ${this.file} has an unreadable report (the database may be damaged)`);
    }
    return { ...rowToSummary(row), report };
  }
}

function checkDbFile(file: string, where: string): void {
  let st;
  try {
    st = statSync(file);
  } catch (e) {
    throw new UsageError(`--db: cannot read ${where} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  if (st.isDirectory()) throw new UsageError(`--db: ${where} is a directory; give a file path`);
  if (!st.isFile()) throw new UsageError(`--db: ${where} is not a regular file; give the path of the history database`);
  let sqliteHeader: boolean;
  try {
    sqliteHeader = st.size === 0 || looksLikeSqlite(file);
  } catch (e) {
    throw new UsageError(`--db: cannot read ${where} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  if (!sqliteHeader) {
    throw new UsageError(`--db: ${where} is not an SQLite database (it may be corrupt or another kind of file); move it aside or pass another --db PATH`);
  }
}

function damaged(where: string, e: unknown): UsageError {
  const msg = ((e as Error).message ?? String(e)).split('\n')[0];
  return new UsageError(`--db: cannot read ${where}: ${msg} (the file may be damaged or truncated); move it aside or pass another --db PATH`);
}

function rowToSummary(r: any): RunSummary {
  return {
    id: r.id,
    label: r.label,
    command: r.command,
    target: r.target,
    createdAt: r.created_at,
    status: r.status,
    exitCode: Number(r.exit_code),
    errors: Number(r.errors),
    warnings: Number(r.warnings),
  };
}
