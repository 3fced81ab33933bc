// `inboxlens history`: the saved runs, newest first.
import type { Argv } from 'yargs';
import Table from 'cli-table3';
import type { Command } from '../command.ts';
import { HistoryStore, defaultDbPath } from '../../history/store.ts';
import { out } from '../common.ts';
import { parseDomain, parsePositiveInt } from '../validate.ts';

interface HistoryArgs {
  target?: string;
  label?: string;
  limit: string | number;
  db?: string;
  json: boolean;
}

export const command: Command<HistoryArgs> = {
  order: 60,
  module: () => ({
    command: 'history',
    describe: 'List saved runs (newest first)',
    builder: (y: Argv) =>
      y
        .option('target', { type: 'string', describe: 'only runs of this domain' })
        .option('label', { type: 'string', describe: 'only runs with this label' })
        .option('limit', { type: 'string', default: '20', describe: 'how many runs to list (newest first)' })
        .option('db', { type: 'string', describe: 'history database' })
        .option('json', { type: 'boolean', default: false }) as unknown as Argv<HistoryArgs>,
    handler: () => {},
  }),
  async run(argv) {
    const file = argv.db ?? defaultDbPath();
    // the arguments first: a bad one is an error whether or not there is a database
    const target = argv.target ? parseDomain(argv.target, '--target') : undefined;
    const limit = parsePositiveInt(argv.limit, '--limit', 100_000);
    if (!HistoryStore.exists(file)) {
      // listing must not create the database
      if (argv.json) await out(JSON.stringify({ schemaVersion: '1.0', db: file, runs: [] }, null, 2));
      else await out(`No saved runs: there is no history database at ${file} yet (check, blacklist, placement and the other commands save their runs there unless --no-save).`);
      return 0;
    }
    const store = HistoryStore.openReadOnly(file);
    try {
      const runs = store.list({ target, label: argv.label, limit });
      if (argv.json) {
        await out(JSON.stringify({ schemaVersion: '1.0', db: store.file, runs }, null, 2));
        return 0;
      }
      if (!runs.length) {
        await out(`No saved runs in ${store.file}${argv.target ? ` for ${argv.target}` : ''}.`);
        return 0;
      }
      const table = new Table({ head: ['run', 'label', 'command', 'target', 'when', 'status', 'errors', 'warnings'], style: { head: [], border: [] } });
      for (const r of runs) table.push([r.id, r.label ?? '', r.command, r.target, r.createdAt.replace('T', ' ').replace(/\..*$/, ''), r.status, r.errors, r.warnings]);
      await out(table.toString());
      return 0;
    } finally {
      store.close();
    }
  },
};
