// `inboxlens check <domain…>`: the pre-flight of one or many sending domains.
import path from 'node:path';
import type { Argv, CommandModule } from 'yargs';
import { checkMetadata, loadChecksById, type CheckMeta } from '../../check-registry.ts';
import { ResultStream, combineExit, type TargetResult } from '../../engine.ts';
import { baseRunOptions, checkDomain, prepareChecks, selectChecks as selectFrom } from '../../engine/run.ts';
import { buildReport } from '../../report/json.ts';
import { renderReport } from '../../report/text.ts';
import { makeStyle, wantColor } from '../../report/style.ts';
import type { Check, OptionSpec, RunOptions } from '../../types.ts';
import { UsageError } from '../errors.ts';
import type { Command } from '../command.ts';
import { parseDomain, parseIp, parsePositiveInt } from '../validate.ts';
import { guardResolver, withCommonOptions, dnsSetup, makeDns, probeResolvers, exitCode, out, progressLine, type CommonArgs, type DnsSetup } from '../common.ts';
import { mapLimit } from '../../util/semaphore.ts';
import { INPUT_LIMITS, readInputLines } from '../../util/read-input.ts';
import { openPublisher, withPublishOptions, type PublishArgs } from '../publish.ts';
import type { HistoryStore } from '../../history/store.ts';
import { canUseDashboard } from '../../tui/dashboard.ts';

export { CHECK_ORDER, orderChecks } from '../../engine/run.ts';

export interface CheckArgs extends CommonArgs, Omit<PublishArgs, 'json' | 'fail-on'> {
  domain?: string[];
  ip?: string[];
  selector?: string[];
  'mail-from'?: string;
  'dkim-domain'?: string;
  only?: string[];
  'domains-file'?: string;
  jobs: number;
  dashboard?: boolean;
  [k: string]: unknown;
}

function camel(s: string): string {
  return s.replace(/-([a-z])/g, (_m, c: string) => c.toUpperCase());
}

/** Which checks run: --only (validated), else every check that is not opt-in (or is opted in by one of its `optInWith` options in argv). */
export function selectChecks<C extends Pick<Check, 'id' | 'optIn' | 'optInWith'> = Check>(registry: Map<string, C>, only: string[] | undefined, argv: Record<string, unknown> = {}): C[] {
  return selectFrom(registry, only, argv, '--only');
}

export async function buildRunOptions(argv: CheckArgs, registry: Map<string, Pick<Check, 'cliOptions'>>): Promise<RunOptions> {
  const opts: RunOptions = {
    ...baseRunOptions(
      { ips: argv.ip ?? [], selectors: argv.selector ?? [], ...(argv['mail-from'] ? { mailFrom: argv['mail-from'] } : {}), ...(argv['dkim-domain'] ? { dkimDomain: argv['dkim-domain'] } : {}) },
      { ip: '--ip', selector: '--selector', mailFrom: '--mail-from', dkimDomain: '--dkim-domain' },
    ),
    // checks that are costly per domain (blacklists) run in a --domains-file batch only when asked: they need to know
    ...(argv['domains-file'] ? { batch: true } : {}),
    ...(argv.only?.length ? { only: (argv.only ?? []).flatMap((o) => String(o).split(',')).map((o) => o.trim()).filter(Boolean) } : {}),
  };
  for (const c of registry.values()) {
    for (const name of Object.keys(c.cliOptions ?? {})) {
      if (argv[name] !== undefined) opts[camel(name)] = argv[name];
    }
  }
  return opts;
}

export { prepareChecks, checkDomain } from '../../engine/run.ts';

async function* domainsFromFile(file: string): AsyncGenerator<{ line: number; domain: string }> {
  // bounded like every file read: devices refused, a cap on the whole and on each line, a silent pipe given up on
  for await (const [line, raw] of readInputLines(file, { what: '--domains-file', maxBytes: INPUT_LIMITS.lines, maxLineBytes: INPUT_LIMITS.line, hint: 'one domain per line expected' })) {
    const s = raw.replace(/#.*/, '').trim();
    if (s) yield { line, domain: s };
  }
}

/**
 * The lines of --domains-file with the first one read already: a missing file, a device,
 * an endless line or a silent pipe is refused before the resolvers are probed or any
 * domain is checked.
 */
async function openDomainsFile(file: string): Promise<AsyncIterator<{ line: number; domain: string }>> {
  const lines = domainsFromFile(file)[Symbol.asyncIterator]();
  let first: Promise<IteratorResult<{ line: number; domain: string }>> | undefined = Promise.resolve(await lines.next());
  return {
    next: () => {
      const f = first;
      first = undefined;
      return f ?? lines.next();
    },
  };
}

async function runBatch(argv: CheckArgs, checks: Check[], registry: Map<string, Check>, opts: RunOptions, setup: DnsSetup, iter: AsyncIterator<{ line: number; domain: string }>, store?: HistoryStore): Promise<number> {
  const jobs = parsePositiveInt(argv.jobs, '--jobs', 10_000);
  const failOn = argv['fail-on'];
  let worst = 0;
  const progress = progressLine();
  let done = 0;
  // a bounded pool pulls lines as it goes: memory stays flat however long the file is
  const worker = async () => {
    for (;;) {
      const next = await iter.next();
      if (next.done) return;
      const { line, domain: raw } = next.value;
      const t0 = performance.now();
      let doc;
      try {
        const domain = parseDomain(raw, `--domains-file line ${line}`);
        const { result, skipped, dns } = await checkDomain(domain, checks, registry, opts, setup);
        const code = exitCode(result.checks, failOn);
        doc = buildReport({ command: 'check', targets: [result], skipped, durationMs: Math.round(performance.now() - t0), exitCode: code, trace: setup.trace ? dns.trace : undefined });
      } catch (e) {
        if (!(e instanceof UsageError)) throw e;
        // one bad line does not stop the batch: it is reported in its place
        const t: TargetResult = { target: raw, status: 'unknown', checks: [], ms: 0 };
        (t as any).error = e.message;
        doc = buildReport({ command: 'check', targets: [t], durationMs: 0, exitCode: 2 });
      }
      worst = combineExit([worst, doc.summary.exitCode]);
      if (store && argv.save && doc.targets[0]?.checks.length) {
        const id = store.save(doc, argv.label);
        (doc as any).runId = id;
      }
      await out(JSON.stringify(doc));
      progress.update(`checked ${++done} domains…`);
    }
  };
  await Promise.all(Array.from({ length: jobs }, worker));
  progress.done();
  return worst;
}

export const checkCommand: CommandModule<object, CheckArgs> = {
  command: 'check [domain..]',
  describe: 'Pre-flight a sending domain: SPF, DKIM, DMARC, MX, PTR, MTA-STS, TLS-RPT, BIMI, bulk-sender rules',
  builder: (y: Argv) => {
    let b = withPublishOptions(withCommonOptions(y))
      .positional('domain', { type: 'string', array: true, describe: 'the From domain(s) to check' })
      .option('ip', { type: 'string', array: true, describe: 'a sending IP (repeatable): PTR/FCrDNS, SPF evaluation, blacklists' })
      .option('selector', { type: 'string', array: true, describe: 'a DKIM selector you use (repeatable); common ones are also tried' })
      .option('mail-from', { type: 'string', describe: 'the envelope (Return-Path) domain, where SPF is evaluated, or the full address (bounces@example.com) for %{l}/%{s} macros' })
      .option('dkim-domain', { type: 'string', describe: 'the DKIM signing domain (d=)' })
      .option('only', { type: 'string', array: true, describe: 'run only these checks (repeatable)' })
      .option('domains-file', { type: 'string', describe: 'check every domain in FILE (one per line); prints NDJSON' })
      .option('jobs', { type: 'number', default: 16, describe: 'with --domains-file: how many domains are checked at once' })
      .option('dashboard', { type: 'boolean', default: false, describe: 'show the live terminal dashboard (on a TTY; plain text otherwise)' });
    return b as unknown as Argv<CheckArgs>;
  },
  handler: async () => {},
};

export const command: Command<CheckArgs> = {
  order: 10,
  // the options the checks declare for themselves join `check`'s own
  module: async () => {
    // from the checks' static metadata: no check module is loaded to parse or to print help
    const registry = await checkMetadata();
    return {
      ...checkCommand,
      builder: (y: Argv) => {
        let b = (checkCommand.builder as (y: Argv) => Argv)(y);
        // an option two checks share (--message: content and blacklist) is listed once
        const byName = new Map<string, { spec: OptionSpec; titles: string[] }>();
        for (const c of registry.values()) {
          for (const [name, spec] of Object.entries(c.cliOptions ?? {})) {
            const seen = byName.get(name);
            if (seen) seen.titles.push(c.title);
            else byName.set(name, { spec, titles: [c.title] });
          }
        }
        for (const [name, { spec, titles }] of byName) {
          b = b.option(name, titles.length > 1 ? { ...spec, group: 'Used by several checks:', describe: `${spec.describe} (${titles.join(', ')})` } : { group: `${titles[0]}:`, ...spec });
        }
        return b as Argv<CheckArgs>;
      },
    };
  },
  run: (argv) => runCheck(argv),
};

export async function runCheck(argv: CheckArgs): Promise<number> {
  const meta = await checkMetadata();
  const selected = selectChecks<CheckMeta | Check>(meta, argv.only, argv);
  const opts = await buildRunOptions(argv, meta);
  const domains = (argv.domain ?? []).map((d) => parseDomain(String(d), 'domain'));
  if (!domains.length && !argv['domains-file']) throw new UsageError('check: give a domain (inboxlens check example.com) or --domains-file FILE');
  // only the selected checks' modules (and those they depend on) are loaded
  const registry = await loadChecksById(selected.map((c) => c.id));
  const checks = selected.map((c) => registry.get(c.id)!);
  await prepareChecks(checks, registry, opts);
  const setup = await dnsSetup(argv);

  const probe = probeResolvers(setup);
  if (argv['domains-file']) {
    for (const flag of ['junit', 'markdown', 'html-report', 'baseline', 'against'] as const) {
      if (argv[flag]) throw new UsageError(`--${flag} does not combine with --domains-file (which prints one JSON document per domain); check the domains one by one, or drop --${flag}`);
    }
    if (domains.length) throw new UsageError('give domains either as arguments or with --domains-file, not both');
    const lines = await openDomainsFile(argv['domains-file']);
    const publisher = await openPublisher({ ...argv, against: undefined, baseline: undefined }, 'check');
    const bad = await probe;
    if (bad) throw new UsageError(bad);
    try {
      return await runBatch(argv, checks, registry, opts, setup, lines, publisher.store);
    } finally {
      publisher.store?.close();
    }
  }
  const publisher = await openPublisher(argv, 'check', domains);
  if (argv.dashboard && !argv.json && canUseDashboard()) {
    if (domains.length !== 1) throw new UsageError('--dashboard shows one domain at a time: give exactly one domain');
    const bad = await Promise.race([probe, new Promise<undefined>((r) => setTimeout(() => r(undefined), 1500).unref())]);
    if (bad) throw new UsageError(bad);
    const { runWithDashboard } = await import('../dashboard-run.ts');
    const domain = domains[0]!;
    const { reportsPanel } = await import('../reports-panel.ts');
    const panel = reportsPanel(argv.db, publisher.store, domain);
    return runWithDashboard({
      domain, checks, registry, opts, setup, publisher, failOn: argv['fail-on'], title: argv.dashboardTitle as string | undefined, verbose: argv.verbose,
      ...(argv['export-dir'] ? { exportDir: path.resolve(argv['export-dir']) } : {}),
      ...(panel ? { panel } : {}),
    });
  }

  const t0 = performance.now();
  const stream = new ResultStream();
  const progress = progressLine();
  let finished = 0;
  stream.on('check-done', () => progress.update(`${++finished} check(s) done…`));
  const runs = mapLimit(domains, parsePositiveInt(argv.jobs, '--jobs', 10_000), (d) => checkDomain(d, checks, registry, opts, setup, stream));
  const all = await guardResolver(runs, probe, (rs) => rs.flatMap((r) => r.result.checks));
  progress.done();
  const allChecks = all.flatMap((r) => r.result.checks);
  const code = exitCode(allChecks, argv['fail-on']);
  const report = buildReport({
    command: 'check',
    targets: all.map((r) => r.result),
    skipped: all[0]?.skipped,
    durationMs: Math.round(performance.now() - t0),
    exitCode: code,
    trace: argv.trace ? all.flatMap((r) => r.dns.trace) : undefined,
  });
  return publisher.finish(report, (r) => renderReport(r, makeStyle(wantColor()), registry, argv.verbose));
}
