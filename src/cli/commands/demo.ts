// `inboxlens demo`: the main job on the embedded lab (see src/demo.ts).
import type { Argv } from 'yargs';
import type { Command } from '../command.ts';
import { runDemo, type DemoArgs } from '../demo.ts';

export const command: Command<DemoArgs> = {
  order: 5,
  module: () => ({
    command: 'demo',
    describe: 'Run the whole job on the embedded lab: pre-flight, blacklists, seed placement, history and a before/after diff (no account, no internet)',
    builder: (y: Argv) =>
      y
        .option('json', { type: 'boolean', default: false, describe: 'print one JSON document (non-interactive)' })
        .option('dashboard', { type: 'boolean', default: true, describe: 'show the dashboard on a terminal (--no-dashboard: plain text)' })
        .option('save', { type: 'boolean', default: true, describe: 'save the runs to history (--no-save to skip)' })
        .option('db', { type: 'string', describe: 'history database' })
        .option('spamd', { type: 'boolean', default: true, describe: 'score the campaign with a lab SpamAssassin spamd (--no-spamd: without a spam score, where spamd is not installed)' })
        .option('verbose', { alias: 'v', type: 'boolean', default: false })
        .option('html-report', { type: 'string', describe: 'also write a self-contained HTML report to FILE (verdict, fixes, placement chart, the before/after diff)' })
        .option('placement-timeout', { alias: 'timeout', type: 'string', default: '6s', describe: 'how long to wait for seed copies (the lab MX has delivered a copy before it answers, so IMAP seeds find theirs at once; POP3 seeds cannot see spam, so they wait this long for copies filed there); --timeout is the old spelling' })
        .option('export-dir', { type: 'string', describe: 'dashboard: `e` writes the JSON report into DIR without asking (otherwise it asks for a path)' }) as unknown as Argv<DemoArgs>,
    handler: () => {},
  }),
  run: (argv) => runDemo(argv),
};
