// `inboxlens content FILE.eml`: judge one message — structure, links,
// unsubscribe headers and their DKIM coverage, alignment, test strings, and a
// real spam filter's score. It runs the `content` check (checks/content.ts)
// through the engine, so the command and `inboxlens check --message` share one
// implementation, one JSON schema and one view.
import type { Argv } from 'yargs';
import contentCheck from '../../../checks/content.ts';
import { checkSettings, runTarget, ResultStream } from '../../engine.ts';
import { buildReport } from '../../report/json.ts';
import { renderReport } from '../../report/text.ts';
import { makeStyle, wantColor } from '../../report/style.ts';
import type { Check, RunOptions } from '../../types.ts';
import { UsageError } from '../errors.ts';
import type { Command } from '../command.ts';
import { parseIp } from '../validate.ts';
import { openPublisher, withPublishOptions, type PublishArgs } from '../publish.ts';
import { guardResolver, withCommonOptions, dnsSetup, makeDns, probeResolvers, exitCode, progressLine, type CommonArgs } from '../common.ts';

export interface ContentArgs extends CommonArgs, Omit<PublishArgs, 'json' | 'fail-on'> {
  file?: string;
  spamd?: string;
  rspamd?: string;
  'check-links'?: boolean;
  'ca-file'?: string;
  'https-timeout'?: string;
  ip?: string;
}

export const command: Command<ContentArgs> = {
  order: 30,
  module: () => ({
    command: 'content <file>',
    describe: 'Judge a message (.eml): headers, HTML/text, size, links, one-click unsubscribe, DKIM alignment, spam score from spamd/rspamd',
    builder: (y: Argv) => {
      const opts = contentCheck.cliOptions!;
      return withPublishOptions(withCommonOptions(y))
        .positional('file', { type: 'string', describe: 'the message, as an .eml file (headers, blank line, body)' })
        .option('spamd', opts.spamd!)
        .option('rspamd', opts.rspamd!)
        .option('check-links', opts['check-links']!)
        .option('ca-file', opts['ca-file']!)
        .option('https-timeout', opts['https-timeout']!)
        .option('ip', { type: 'string', describe: 'the IP the message will be sent from (rspamd judges it as coming from there)' })
        .example('inboxlens content campaign.eml --spamd 127.0.0.1:783', 'structure checks and SpamAssassin\'s score with the rules hit')
        .example('inboxlens content campaign.eml --check-links --json', 'also request every link (unsubscribe links excepted)') as unknown as Argv<ContentArgs>;
    },
    handler: async () => {},
  }),
  run: runContentCommand,
};

export async function runContentCommand(argv: ContentArgs): Promise<number> {
  const file = String(argv.file ?? '');
  if (!file) throw new UsageError('content: give the message file (inboxlens content message.eml)');
  const opts: RunOptions = {
    ips: argv.ip ? [parseIp(argv.ip)] : [],
    selectors: [],
    message: file,
    // errors about the file name the command's argument, not check's --message
    messageFlag: 'content',
    ...(argv.spamd !== undefined ? { spamd: argv.spamd } : {}),
    ...(argv.rspamd !== undefined ? { rspamd: argv.rspamd } : {}),
    ...(argv['check-links'] ? { checkLinks: true } : {}),
    ...(argv['ca-file'] !== undefined ? { caFile: argv['ca-file'] } : {}),
    ...(argv['https-timeout'] !== undefined ? { httpsTimeout: argv['https-timeout'] } : {}),
  };
  await checkSettings(contentCheck, opts);
  const setup = await dnsSetup(argv);
  const publisher = await openPublisher(argv, 'content', [file]);
  const dns = makeDns(setup);
  const probe = probeResolvers(setup);
  const registry = new Map<string, Check>([[contentCheck.id, contentCheck]]);

  const t0 = performance.now();
  const stream = new ResultStream();
  const progress = progressLine();
  stream.on('progress', (ev: { message: string }) => progress.update(ev.message));
  const result = await guardResolver(runTarget({ target: file, checks: [contentCheck], registry, opts, dns, stream }), probe, (t) => t.checks);
  progress.done();
  const code = exitCode(result.checks, argv['fail-on']);
  const report = buildReport({
    command: 'content',
    targets: [result],
    durationMs: Math.round(performance.now() - t0),
    exitCode: code,
    trace: argv.trace ? dns.trace : undefined,
  });
  return publisher.finish(report, (r) => renderReport(r, makeStyle(wantColor()), registry, argv.verbose));
}
