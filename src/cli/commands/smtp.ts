// `inboxlens smtp [domain…]`: SMTP diagnostics. Each domain's MX hosts as a sending
// server sees them, recipient verification (--rcpt, at the recipient's own domain),
// and the user's submission server (--smtp URL). It runs the `smtp` check
// (checks/smtp.ts) through the engine, so `check --only smtp` gives the same results.
import type { Argv, Options } from 'yargs';
import smtpCheck, { domainOf, parseMailbox } from '../../../checks/smtp.ts';
import { loadChecks } from '../../../checks/index.ts';
import { ResultStream } from '../../engine.ts';
import { buildReport } from '../../report/json.ts';
import { renderReport } from '../../report/text.ts';
import { makeStyle, wantColor } from '../../report/style.ts';
import type { CheckResult, RunOptions } from '../../types.ts';
import type { TranscriptLine } from '../../smtp/probe.ts';
import { UsageError } from '../errors.ts';
import type { Command } from '../command.ts';
import { parseDomain } from '../validate.ts';
import { guardResolver, withCommonOptions, dnsSetup, probeResolvers, exitCode, progressLine, type CommonArgs } from '../common.ts';
import { checkDomain, prepareChecks } from './check.ts';
import { mapLimit } from '../../util/semaphore.ts';
import { parseSubmissionUrl } from '../../smtp/submit.ts';
import { openPublisher, withPublishOptions, type PublishArgs } from '../publish.ts';

export interface SmtpArgs extends CommonArgs, Omit<PublishArgs, 'json' | 'fail-on'> {
  domain?: string[];
  transcript: boolean;
  [k: string]: unknown;
}

function camel(s: string): string {
  return s.replace(/-([a-z])/g, (_m, c: string) => c.toUpperCase());
}

export const command: Command<SmtpArgs> = {
  order: 25,
  module: async () => {
    // the options of the checks smtp reads (mta-sts: --ca-file, --https-timeout) are accepted too
    const deps = await depOptions();
    return {
      command: 'smtp [domain..]',
      describe: 'SMTP diagnostics: MX banner, EHLO, STARTTLS, TLS and certificate per address; recipient verification; your submission server',
      builder: (y: Argv) => {
        let b = withPublishOptions(withCommonOptions(y)).positional('domain', { type: 'string', array: true, describe: 'a domain whose MX hosts to probe' });
        for (const [name, spec] of Object.entries(smtpCheck.cliOptions!)) {
          // probing is what this command does: --smtp-probe is implied
          if (name !== 'smtp-probe') b = b.option(name, { group: 'SMTP:', ...spec });
        }
        for (const [name, spec] of deps) b = b.option(name, spec);
        return b
          .option('transcript', { type: 'boolean', default: false, describe: 'print every SMTP line sent and received (credentials masked)', group: 'Output:' })
          .example('inboxlens smtp example.com', 'every MX address: banner, EHLO, STARTTLS, certificate, timings')
          .example('inboxlens smtp --rcpt alice@example.com --rcpt bob@example.org', 'verify two recipients at their MX (RSET and QUIT, never DATA)')
          .example('INBOXLENS_SMTP_PASS=… inboxlens smtp --smtp smtp://me@smtp.example.com:587', 'your submission server: STARTTLS, certificate, AUTH, login') as unknown as Argv<SmtpArgs>;
      },
      handler: async () => {},
    };
  },
  run: runSmtp,
};

/** cliOptions of the checks the smtp check depends on. */
async function depOptions(): Promise<[string, Options][]> {
  const registry = await loadChecks();
  return (smtpCheck.dependsOn ?? []).flatMap((id) => Object.entries(registry.get(id)?.cliOptions ?? {}));
}

interface Target {
  name: string;
  opts: RunOptions;
}

export async function runSmtp(argv: SmtpArgs): Promise<number> {
  const registry = await loadChecks();
  const base: RunOptions = { ips: [], selectors: [] };
  const depNames = (await depOptions()).map(([name]) => name);
  for (const name of [...Object.keys(smtpCheck.cliOptions!), ...depNames]) {
    if (name !== 'smtp-probe' && name !== 'smtp' && argv[name] !== undefined) base[camel(name)] = argv[name];
  }
  const domains = (argv.domain ?? []).flatMap((d) => String(d).split(',')).filter(Boolean).map((d) => parseDomain(d, 'domain'));
  const rcpts = (base.rcpt as string[] | undefined ?? []).flatMap((r) => String(r).split(',')).map((r) => r.trim()).filter(Boolean).map((r) => parseMailbox(r, '--rcpt'));
  const smtpUrl = argv.smtp === undefined ? undefined : String(argv.smtp);
  if (!domains.length && !rcpts.length && !smtpUrl) {
    throw new UsageError('smtp: give a domain (inboxlens smtp example.com), --rcpt ADDRESS, or --smtp smtp://USER@HOST:587');
  }
  // one target per domain (its MX hosts and the recipients at it), one for the submission server
  const targets: Target[] = [];
  for (const d of [...new Set([...domains, ...rcpts.map(domainOf)])]) {
    targets.push({ name: d, opts: { ...base, smtpProbe: true, rcpt: rcpts.filter((r) => domainOf(r) === d) } });
  }
  if (smtpUrl) {
    const sub = parseSubmissionUrl(smtpUrl);
    targets.push({ name: `${sub.host}:${sub.port}`, opts: { ...base, rcpt: [], smtp: smtpUrl } });
  }
  const check = registry.get('smtp') ?? smtpCheck;
  for (const t of targets) await prepareChecks([check], registry, t.opts);
  const setup = await dnsSetup(argv);
  const publisher = await openPublisher(argv, 'smtp', targets.map((t) => t.name));
  const probe = probeResolvers(setup);

  const t0 = performance.now();
  const stream = new ResultStream();
  const progress = progressLine();
  stream.on('progress', (ev: { target: string; message: string }) => progress.update(`${ev.target}: ${ev.message}`));
  const runs = mapLimit(targets, 8, (t) => checkDomain(t.name, [check], registry, t.opts, setup, stream));
  const all = await guardResolver(runs, probe, (rs) => rs.flatMap((r) => r.result.checks));
  progress.done();
  const allChecks = all.flatMap((r) => r.result.checks);
  const code = exitCode(allChecks, argv['fail-on']);
  const report = buildReport({
    command: 'smtp',
    targets: all.map((r) => r.result),
    durationMs: Math.round(performance.now() - t0),
    exitCode: code,
    trace: argv.trace ? all.flatMap((r) => r.dns.trace) : undefined,
  });
  return publisher.finish(report, (r) => {
    const text = renderReport(r, makeStyle(wantColor()), registry, argv.verbose);
    return argv.transcript ? `${text}\n${transcripts(allChecks).join('\n')}` : text;
  });
}

/** Every session's transcript, for --transcript. */
export function transcripts(results: CheckResult[]): string[] {
  const out: string[] = [];
  const show = (title: string, t: TranscriptLine[] | undefined) => {
    if (!t?.length) return;
    out.push('', `--- ${title} ---`);
    for (const l of t) out.push(`${String(l.t).padStart(6)} ms  ${l.dir === '*' ? '  ' : `${l.dir}:`} ${l.line}`);
  };
  for (const r of results) {
    const recv = r.data?.receive as { probes?: { host: string; ip: string; port: number; transcript: TranscriptLine[] }[]; rcpt?: { host: string; ip: string; port: number; transcript: TranscriptLine[] } } | undefined;
    for (const p of recv?.probes ?? []) show(`${p.host} [${p.ip}]:${p.port}`, p.transcript);
    if (recv?.rcpt) show(`recipients at ${recv.rcpt.host} [${recv.rcpt.ip}]:${recv.rcpt.port}`, recv.rcpt.transcript);
    const sub = r.data?.submission as { url: string; transcript: TranscriptLine[] } | undefined;
    if (sub) show(`submission ${sub.url}`, sub.transcript);
  }
  return out;
}
