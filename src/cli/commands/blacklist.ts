// `inboxlens blacklist <ip|domain|cidr…>`: look targets up on DNS blacklists.
// It runs the `blacklist` check (checks/blacklist.ts) through the engine, so the
// command and `inboxlens check` share one implementation, one JSON schema and one grid.
import type { Argv } from 'yargs';
import blacklistCheck from '../../../checks/blacklist.ts';
import { checkSettings, runTarget, ResultStream } from '../../engine.ts';
import { buildReport } from '../../report/json.ts';
import { renderReport } from '../../report/text.ts';
import { makeStyle, wantColor } from '../../report/style.ts';
import type { Check, RunOptions } from '../../types.ts';
import { UsageError } from '../errors.ts';
import type { Command } from '../command.ts';
import { openPublisher, withPublishOptions, type PublishArgs } from '../publish.ts';
import { guardResolver, withCommonOptions, dnsSetup, makeDns, probeResolvers, exitCode, progressLine, type CommonArgs } from '../common.ts';

export interface BlacklistArgs extends CommonArgs, Omit<PublishArgs, 'json' | 'fail-on'> {
  target?: string[];
  zone?: string[];
  'zones-file'?: string;
  'max-queries'?: number;
  message?: string;
}

export const command: Command<BlacklistArgs> = {
  order: 20,
  module: () => ({
    command: 'blacklist [target..]',
    describe: 'Look IPs, IPv4 ranges (up to a /24) and domains up on DNS blacklists (DNSBL/URIBL), with self-tests',
    builder: (y: Argv) => {
      const opts = blacklistCheck.cliOptions!;
      return withPublishOptions(withCommonOptions(y))
        .positional('target', { type: 'string', array: true, describe: 'an IPv4/IPv6 address, an IPv4 CIDR range up to /24, a domain, or a link or email address (its host or domain is checked)' })
        .option('zone', opts.zone!)
        .option('zones-file', opts['zones-file']!)
        .option('max-queries', opts['max-queries']!)
        .option('message', { ...opts.message!, describe: 'an .eml message: also look up the domains and IPs it links to' })
        .example('inboxlens blacklist 192.0.2.10 198.51.100.0/29 example.com', 'two IPs, a range and a domain against the default lists')
        .example('INBOXLENS_SPAMHAUS_DQS_KEY=… inboxlens blacklist 192.0.2.10', 'Spamhaus through a Data Query Service key') as unknown as Argv<BlacklistArgs>;
    },
    handler: async () => {},
  }),
  run: runBlacklistCommand,
};

export async function runBlacklistCommand(argv: BlacklistArgs): Promise<number> {
  const targets = (argv.target ?? []).flatMap((t) => String(t).split(',')).map((t) => t.trim()).filter(Boolean);
  if (!targets.length && !argv.message) throw new UsageError('blacklist: give an IP, a CIDR range or a domain (inboxlens blacklist 192.0.2.10 example.com), or --message FILE.eml');
  const opts: RunOptions = {
    ips: [],
    selectors: [],
    blacklistTargets: targets,
    ...(argv.zone ? { zone: argv.zone } : {}),
    ...(argv['zones-file'] ? { zonesFile: argv['zones-file'] } : {}),
    ...(argv['max-queries'] !== undefined ? { maxQueries: argv['max-queries'] } : {}),
    ...(argv.message ? { message: argv.message } : {}),
  };
  await checkSettings(blacklistCheck, opts);
  const setup = await dnsSetup(argv);
  const dns = makeDns(setup);
  const label = targets.length ? targets.join(' ') : `links of ${argv.message}`;
  const publisher = await openPublisher(argv, 'blacklist', [label]);
  const probe = probeResolvers(setup);
  const registry = new Map<string, Check>([[blacklistCheck.id, blacklistCheck]]);

  const t0 = performance.now();
  const stream = new ResultStream();
  const progress = progressLine();
  stream.on('progress', (ev: { message: string }) => progress.update(ev.message));
  const run = runTarget({ target: label, checks: [blacklistCheck], registry, opts, dns, stream });
  const result = await guardResolver(run, probe, (t) => t.checks);
  progress.done();
  const code = exitCode(result.checks, argv['fail-on']);
  const report = buildReport({
    command: 'blacklist',
    targets: [result],
    durationMs: Math.round(performance.now() - t0),
    exitCode: code,
    trace: argv.trace ? dns.trace : undefined,
  });
  return publisher.finish(report, (r) => renderReport(r, makeStyle(wantColor()), registry, argv.verbose));
}
