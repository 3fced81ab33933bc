// `inboxlens diff <runA> <runB>`: what changed between two saved runs (or JSON files).
import { existsSync } from 'node:fs';
import { readInputFile, INPUT_LIMITS } from '../../util/read-input.ts';
import type { Argv } from 'yargs';
import type { Command } from '../command.ts';
import { HistoryStore, defaultDbPath } from '../../history/store.ts';
import { diffReports } from '../../history/diff.ts';
import { renderDiff } from '../../report/diff-text.ts';
import { addReceivers } from '../../reports/receivers.ts';
import { makeStyle, wantColor } from '../../report/style.ts';
import type { Report } from '../../report/json.ts';
import { out } from '../common.ts';
import { UsageError } from '../errors.ts';

interface DiffArgs {
  before: string;
  after: string;
  db?: string;
  json: boolean;
  target?: string;
  'fail-on-regression': boolean;
  'fail-on': 'error' | 'warn';
}

type Loaded = { report: Report; id?: string; label?: string | null };

/** "last", "last:LABEL", "last~N": a run found by position, narrowed by the other side's command and target */
const isLast = (ref: string) => /^last(?::[^~]+)?(?:~\d+)?$/.test(ref);
/** what a side was a run of: its command and its target(s), as the history stores them */
const kindOf = (r: Loaded) => ({ command: r.report.command, target: r.report.targets.map((t) => t.target).join(',') || undefined });

async function load(ref: string, store: () => HistoryStore, target?: string, exclude?: string, command?: string): Promise<Loaded> {
  // a JSON report by its name, or any path that exists (a run id has no '/'): /dev/zero is refused as a device, not looked up as a run
  if (/\.json$/i.test(ref) || (ref.includes('/') && existsSync(ref))) {
    const text = readInputFile(ref, { what: 'diff', maxBytes: INPUT_LIMITS.report, encoding: 'utf8' });
    try {
      const report = JSON.parse(text) as Report;
      if (report?.schemaVersion !== '1.0') throw new Error('no schemaVersion');
      return { report };
    } catch (e) {
      throw new UsageError(`diff: '${ref}' is not a readable inboxlens JSON report (${(e as Error).message})`);
    }
  }
  const r = store().get(ref, target, exclude, command);
  return { report: r.report, id: r.id, label: r.label };
}

export const command: Command<DiffArgs> = {
  order: 61,
  module: () => ({
    command: 'diff <before> <after>',
    describe: 'What changed between two runs: listings, findings, placement per provider, time-to-inbox',
    builder: (y: Argv) =>
      y
        .positional('before', { type: 'string', describe: 'run id, "last", "last:LABEL", "last~1", or a JSON report file' })
        .positional('after', { type: 'string', describe: 'run id, "last", "last:LABEL", or a JSON report file' })
        .option('target', { type: 'string', describe: 'with "last": only runs of this domain' })
        .option('db', { type: 'string', describe: 'history database' })
        .option('json', { type: 'boolean', default: false })
        .option('fail-on-regression', { type: 'boolean', default: false, describe: 'exit 1 when the second run regressed' })
        .option('fail-on', { choices: ['error', 'warn'] as const, default: 'error' as const, describe: 'new findings at or above this severity count as regressions' }) as unknown as Argv<DiffArgs>,
    handler: () => {},
  }),
  async run(argv) {
    let store: HistoryStore | undefined;
    const getStore = () => {
      const file = argv.db ?? defaultDbPath();
      // comparing must not create the database
      if (!store && !HistoryStore.exists(file)) throw new UsageError(`diff: there is no history database at ${file} yet, so no saved run to compare (runs are saved unless --no-save); or compare two JSON report files: inboxlens diff before.json after.json`);
      return (store ??= HistoryStore.openReadOnly(file));
    };
    try {
      const before = String(argv.before);
      const after = String(argv.after);
      // a "last…" side is the last run of the same command and target as the other side: `diff last~1 last`
      // compares the latest run with the one before it of the same kind, not with whatever ran in between
      let a: Loaded;
      let b: Loaded;
      if (isLast(before)) {
        b = await load(after, getStore, argv.target);
        const k = kindOf(b);
        a = await load(before, getStore, argv.target ?? k.target, isLast(after) ? undefined : b.id, k.command);
      } else {
        a = await load(before, getStore, argv.target);
        const k = kindOf(a);
        b = await load(after, getStore, isLast(after) ? argv.target ?? k.target : argv.target, undefined, isLast(after) ? k.command : undefined);
      }
      if (a.id && a.id === b.id) throw new UsageError(`diff: '${argv.before}' and '${argv.after}' are the same run (${a.id})`);
      const d = diffReports(a.report, b.report, { before: { id: a.id, label: a.label }, after: { id: b.id, label: b.label } }, argv['fail-on']);
      // beside the seeds and the listings: what receivers reported between the two runs (read only; no database: none yet)
      const file = argv.db ?? defaultDbPath();
      addReceivers(d, store ?? (HistoryStore.exists(file) ? (store = HistoryStore.openReadOnly(file)) : undefined));
      if (argv.json) await out(JSON.stringify(d, null, 2));
      else await out(renderDiff(d, makeStyle(wantColor())));
      return argv['fail-on-regression'] && d.regressions.length ? 1 : 0;
    } finally {
      store?.close();
    }
  },
};
