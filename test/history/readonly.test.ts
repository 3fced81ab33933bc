// history and diff only read the database: opened read-only, they neither wait
// for a run that holds the write lock nor need to write the file, and a damaged
// database is bad input (exit 2 with the reason), not an internal error (70).
import { afterAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, openSync, rmSync, writeSync, closeSync, mkdirSync } from 'node:fs';
import { DatabaseSync } from 'node:sqlite';
import os from 'node:os';
import path from 'node:path';
import { HistoryStore } from '../../src/history/store.ts';
import { runCli } from '../helpers/cli.ts';

const dir = mkdtempSync(path.join(os.tmpdir(), 'inboxlens-hist-ro-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function makeDb(file: string, n = 40): void {
  const s = HistoryStore.open(file);
  const rep: any = { schemaVersion: '1.0', command: 'check', generatedAt: new Date().toISOString(), targets: [{ target: 'ro.example', checks: [] }], summary: { status: 'pass', exitCode: 0, findings: { error: 0, warn: 0, info: 0 } } };
  for (let i = 0; i < n; i++) s.save(rep, `run${i}`);
  s.close();
}

describe('history and diff open the database read-only', () => {
  it('a damaged database: exit 2 naming the file and the reason', async () => {
    const good = path.join(dir, 'good.db');
    makeDb(good);
    const bad = path.join(dir, 'damaged.db');
    copyFileSync(good, bad);
    // the header stays an SQLite header; the pages after it are garbage
    const fd = openSync(bad, 'r+');
    writeSync(fd, Buffer.alloc(16_000, 0xde), 0, 16_000, 4096);
    closeSync(fd);
    for (const args of [['history', '--db', bad], ['history', '--db', bad, '--json'], ['diff', 'last~1', 'last', '--db', bad]]) {
      const r = await runCli(args, { timeoutMs: 20_000 });
      expect(r.stderr).toMatch(/--db: cannot read history database '.*damaged\.db': database disk image is malformed \(the file may be damaged/);
      expect(r.code).toBe(2);
    }
  }, 40_000);

  it('a run holding the write lock does not make history or diff wait', async () => {
    const file = path.join(dir, 'locked.db');
    makeDb(file);
    const holder = new DatabaseSync(file);
    holder.exec("BEGIN IMMEDIATE; INSERT INTO runs (id, label, command, target, created_at, status, exit_code, errors, warnings, report) VALUES ('in-flight', NULL, 'check', 't', 'z', 'pass', 0, 0, 0, '{}')");
    try {
      const t0 = Date.now();
      const h = await runCli(['history', '--db', file, '--json', '--limit', '5'], { timeoutMs: 20_000 });
      expect(h.stderr).toBe('');
      expect(h.code).toBe(0);
      expect(h.json().runs.map((r: any) => r.label)).toEqual(['run39', 'run38', 'run37', 'run36', 'run35']);
      const d = await runCli(['diff', 'last~1', 'last', '--db', file, '--json'], { timeoutMs: 20_000 });
      expect(d.code).toBe(0);
      expect(Date.now() - t0).toBeLessThan(8_000);
    } finally {
      holder.exec('ROLLBACK');
      holder.close();
    }
  }, 40_000);

  it('an immutable database (chattr +i, in an immutable folder) can still be read', async (ctx) => {
    const sub = path.join(dir, 'frozen');
    mkdirSync(sub);
    const file = path.join(sub, 'frozen.db');
    makeDb(file, 3);
    expect(existsSync(`${file}-wal`)).toBe(false);
    try {
      execFileSync('chattr', ['+i', file]);
      execFileSync('chattr', ['+i', sub]);
    } catch {
      ctx.skip(); // not root, or a file system without immutable files
    }
    try {
      const h = await runCli(['history', '--db', file, '--json'], { timeoutMs: 20_000 });
      expect(h.stderr).toBe('');
      expect(h.code).toBe(0);
      expect(h.json().runs).toHaveLength(3);
      const d = await runCli(['diff', 'last~1', 'last', '--db', file], { timeoutMs: 20_000 });
      expect(d.code).toBe(0);
    } finally {
      execFileSync('chattr', ['-i', sub]);
      execFileSync('chattr', ['-i', file]);
    }
  }, 40_000);
});
