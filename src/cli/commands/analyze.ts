// `inboxlens analyze FILE.eml` (or - for standard input): a received copy judged
// from the receiver's side. The analysis is the library's (src/analyze/index.ts:
// the received, ptr, blacklist and content checks on the copy); this file only
// reads the file, maps flags to options and prints the report.
import type { Argv } from 'yargs';
import { ResultStream, runTarget } from '../../engine.ts';
import { buildReport } from '../../report/json.ts';
import { renderReport } from '../../report/text.ts';
import { makeStyle, wantColor } from '../../report/style.ts';
import { prepareAnalysis } from '../../analyze/index.ts';
import { readMessageFile } from '../../content/parse.ts';
import { PROVIDERS } from '../../placement/types.ts';
import { canUseDashboard } from '../../tui/dashboard.ts';
import { UsageError } from '../errors.ts';
import type { Command } from '../command.ts';
import { openPublisher, withPublishOptions, type PublishArgs } from '../publish.ts';
import { guardResolver, withCommonOptions, dnsSetup, makeDns, probeResolvers, exitCode, progressLine, type CommonArgs } from '../common.ts';

export interface AnalyzeArgs extends CommonArgs, Omit<PublishArgs, 'json' | 'fail-on'> {
  file?: string;
  'authserv-id'?: string[];
  provider?: string;
  spamd?: string;
  rspamd?: string;
  offline?: boolean;
  dashboard?: boolean;
}

export const command: Command<AnalyzeArgs> = {
  order: 32,
  module: () => ({
    command: 'analyze <file>',
    describe: 'Judge a received copy (.eml, or - for standard input): the receiver\'s hop and verdicts, inboxlens\'s own SPF/DKIM/DMARC/ARC, where they disagree, the sending IP\'s PTR and listings, the content',
    builder: (y: Argv) =>
      withPublishOptions(withCommonOptions(y))
        .positional('file', { type: 'string', describe: 'the copy as the mailbox stores it (all headers), or - for standard input' })
        .option('authserv-id', { type: 'string', array: true, describe: 'an authserv-id the receiver writes in Authentication-Results (repeatable; *.example.org for any subdomain), when it is not under its Received hosts\' domain' })
        .option('provider', { type: 'string', choices: [...PROVIDERS], describe: 'the mailbox provider, when the Received headers name none inboxlens knows' })
        .option('spamd', { type: 'string', describe: 'also score the message with SpamAssassin\'s spamd at HOST[:PORT]' })
        .option('rspamd', { type: 'string', describe: 'also score the message with rspamd\'s HTTP API at URL' })
        .option('offline', { type: 'boolean', describe: 'no blacklist and reverse-DNS queries (SPF, DKIM and DMARC still use DNS)' })
        .option('dashboard', { type: 'boolean', default: false, describe: 'show the result in the terminal dashboard (on a TTY; plain text otherwise)' })
        .example('inboxlens analyze copy.eml', 'what the receiver said, what inboxlens finds, and where they differ')
        .example('pbpaste | inboxlens analyze - --json', 'a copy from the clipboard, as JSON') as unknown as Argv<AnalyzeArgs>,
    handler: async () => {},
  }),
  run: runAnalyzeCommand,
};

export async function runAnalyzeCommand(argv: AnalyzeArgs): Promise<number> {
  // yargs turns a lone "-" positional of type string into '' (yargs-parser reads it as an option
  // without a name): take it back from the command line
  const file = argv.file === '' && process.argv.slice(2).includes('-') ? '-' : String(argv.file ?? '');
  if (!file) throw new UsageError('analyze: give the received copy (inboxlens analyze copy.eml, or - for standard input)');
  for (const flag of ['spamd', 'rspamd', 'provider'] as const) {
    if (Array.isArray(argv[flag])) throw new UsageError(`--${flag}: give it once`);
  }
  const raw = await readMessageFile(file, 'analyze');
  const label = file === '-' ? 'standard input' : file;
  const p = await prepareAnalysis(raw, {
    label,
    ...(argv['authserv-id'] ? { authservIds: argv['authserv-id'].map(String) } : {}),
    ...(argv.provider ? { provider: argv.provider } : {}),
    ...(argv.spamd !== undefined ? { spamd: argv.spamd } : {}),
    ...(argv.rspamd !== undefined ? { rspamd: argv.rspamd } : {}),
    ...(argv.offline ? { offline: true } : {}),
  }).catch((e: Error) => {
    // the library names its options without dashes; the command line has flags
    if (e instanceof UsageError || e.name === 'UsageError') throw new UsageError(e.message.replace(/^authserv-id:/, '--authserv-id:').replace(/^provider:/, '--provider:'));
    throw e;
  });
  const setup = await dnsSetup(argv);
  const publisher = await openPublisher(argv, 'analyze', [label]);
  const probe = probeResolvers(setup);
  if (argv.dashboard && !argv.json && canUseDashboard()) {
    const { runWithDashboard } = await import('../dashboard-run.ts');
    return runWithDashboard({ domain: label, checks: p.checks, registry: p.registry, opts: p.opts, setup, publisher, failOn: argv['fail-on'], verbose: argv.verbose });
  }
  const dns = makeDns(setup);
  const t0 = performance.now();
  const stream = new ResultStream();
  const progress = progressLine(Boolean(process.stderr.isTTY) && !argv.json);
  stream.on('progress', (ev: { message: string }) => progress.update(ev.message));
  const result = await guardResolver(runTarget({ target: label, checks: p.checks, registry: p.registry, opts: p.opts, dns, stream }), probe, (t) => t.checks);
  progress.done();
  const report = buildReport({
    command: 'analyze',
    targets: [result],
    skipped: p.skipped,
    durationMs: Math.round(performance.now() - t0),
    exitCode: exitCode(result.checks, argv['fail-on']),
    trace: argv.trace ? dns.trace : undefined,
  });
  return publisher.finish(report, (r) => renderReport(r, makeStyle(wantColor()), p.registry, argv.verbose));
}
