// `inboxlens reports import|show`: DMARC aggregate, DMARC failure and SMTP TLS
// reports into the history database (from files, folders or an IMAP report
// mailbox), and what they say about one domain. The work is in src/reports/.
import type { Argv } from 'yargs';
import type { Command } from '../command.ts';
import { UsageError } from '../errors.ts';
// reports show reads the database only: what import needs (the DNS client, the parsers, the DKIM
// verifier, the SPF walker) is loaded by runImport, and the text view's table only for text
import { out, outParts, progressLine, withCommonOptions, type CommonArgs } from '../options.ts';
import { parseDomain, parsePositiveInt } from '../validate.ts';
import { HistoryStore, defaultDbPath } from '../../history/store.ts';
import { ReportStore } from '../../reports/store.ts';
import type { ImportSummary } from '../../reports/import.ts';
import type { ResolveSummary, SpfSummary } from '../../reports/resolve.ts';
import { showReports, type ShowResult } from '../../reports/show.ts';
import { windowFromFlags } from '../../reports/window.ts';
import { makeStyle, wantColor } from '../../report/style.ts';
import { redact } from '../../util/redact.ts';
import { prettyJsonParts } from '../../util/json.ts';

const ACTIONS = ['import', 'show'] as const;

export interface ReportsArgs extends CommonArgs {
  action: (typeof ACTIONS)[number];
  files?: string[];
  db?: string;
  ndjson: boolean;
  domain?: string;
  since?: string;
  until?: string;
  around?: string;
  imap?: string;
  'imap-plaintext': boolean;
  'imap-ca'?: string;
  'imap-insecure': boolean;
  move?: string;
  resolve: boolean;
  'resolve-limit': number;
  'max-sources': number;
  dashboard: boolean;
}

const G_IMPORT = 'Import:';
const G_SHOW = 'Show:';

function builder(y: Argv): Argv<ReportsArgs> {
  return withCommonOptions(y)
    // the DNS options serve the DKIM check of report e-mails and the PTR/SPF look-ups after an import;
    // the shared output options that judge findings mean nothing here
    .option('json', { type: 'boolean', default: false, describe: 'print one JSON document (schema/reports.schema.json)', group: 'Output:' })
    .hide('trace')
    .hide('verbose')
    .hide('fail-on')
    .positional('action', { choices: ACTIONS, describe: 'import: read reports into the history database; show: what they say about --domain' })
    .positional('files', { type: 'string', array: true, describe: 'import: report files or folders (.xml, .xml.gz, .zip, .json, .json.gz, .eml, mbox)' })
    .option('db', { type: 'string', describe: `history database (default: $INBOXLENS_DB or ${defaultDbPath().replace(process.env.HOME ?? '\u0000', '~')})` })
    .option('ndjson', { type: 'boolean', default: false, describe: 'one JSON object a line: import outcomes / show rows (source, reporter, tls, failure, total)', group: 'Output:' })
    .option('imap', { type: 'string', describe: 'import from a report mailbox: imaps://user@host[:port]/Folder (imap:// = STARTTLS); password from INBOXLENS_IMAP_PASS', group: G_IMPORT })
    .option('imap-plaintext', { type: 'boolean', default: false, describe: 'allow an imap:// login without STARTTLS (only to a server on loopback: a lab)', group: G_IMPORT })
    .option('imap-ca', { type: 'string', describe: 'PEM CA file to trust for the IMAP server (a private or lab CA)', group: G_IMPORT })
    .option('imap-insecure', { type: 'boolean', default: false, describe: 'do not verify the IMAP server\'s certificate', group: G_IMPORT })
    .option('move', { type: 'string', describe: 'after import, move the imported report messages (only those) to this folder; needs a server with MOVE or UIDPLUS', group: G_IMPORT })
    .option('resolve', { type: 'boolean', default: true, describe: 'after the import, look up the PTR name and sending service of new source IPs (--no-resolve: later)', group: G_IMPORT })
    .option('resolve-limit', { type: 'number', default: 5000, describe: 'at most this many new source IPs looked up per import', group: G_IMPORT })
    .option('domain', { type: 'string', describe: 'show: the domain the reports are about (the policy domain)', group: G_SHOW })
    .option('since', { type: 'string', describe: 'show: from this time (ISO date/time, Unix seconds, or 7d / 12h ago)', group: G_SHOW })
    .option('until', { type: 'string', describe: 'show: up to this time', group: G_SHOW })
    .option('around', { type: 'string', describe: 'show: the window of a saved before/after pair: a run id, last, last:after, or BEFORE..AFTER', group: G_SHOW })
    .option('max-sources', { type: 'number', default: 25, describe: 'show: source IPs listed in the text view (JSON has all)', group: G_SHOW })
    .option('dashboard', { type: 'boolean', default: false, describe: 'show: a full-screen view: source IPs as bars of volume and DMARC pass rate, reporters (plain text when not a TTY)', group: G_SHOW })
    .example('inboxlens reports import ~/dmarc/', 'every report file in the folder, gzip and zip included')
    .example('INBOXLENS_IMAP_PASS=… inboxlens reports import --imap imaps://dmarc@mail.example.com/INBOX', 'read a report mailbox read-only')
    .example('inboxlens reports show --domain example.com --around last:after', 'what receivers reported between the before and after runs') as unknown as Argv<ReportsArgs>;
}

async function runImport(a: ReportsArgs): Promise<number> {
  if (a.domain || a.since || a.until || a.around || a.dashboard) throw new UsageError('--domain, --since, --until, --around and --dashboard are for reports show');
  const files = a.files ?? [];
  if (!files.length && !a.imap) throw new UsageError('reports import: give report files or folders, or --imap imaps://user@host/Folder');
  if (a.move && !a.imap) throw new UsageError('--move moves imported messages in the --imap mailbox: use it with --imap');
  const limit = parsePositiveInt(a['resolve-limit'], '--resolve-limit', 1_000_000);
  // the DKIM verifier loads mailauth on the first report e-mail, the resolver only with --resolve
  const [{ dnsSetup, makeDns }, { emptySummary, expandInputs, importFiles, mergeSummary, problemCounts }, { dkimVerifier }, { renderImport }] = await Promise.all([
    import('../common.ts'),
    import('../../reports/import.ts'),
    import('../../reports/verify.ts'),
    import('../../reports/text.ts'),
  ]);
  const inputs = expandInputs(files);
  const imapPlan = a.imap ? (await import('../../reports/imap.ts')).parseImapUrl(a.imap, { plaintext: a['imap-plaintext'], ca: a['imap-ca'], insecure: a['imap-insecure'], move: a.move }) : undefined;
  const setup = await dnsSetup(a);
  const dns = makeDns(setup);
  const history = HistoryStore.open(a.db ?? defaultDbPath());
  const store = new ReportStore(history);
  const progress = progressLine(Boolean(process.stderr.isTTY) && !a.json && !a.ndjson);
  let sum: ImportSummary;
  let moved: { moved: number; folder: string } | undefined;
  try {
    const verify = dkimVerifier(dns);
    // the mailbox first: a login that fails, or --move on a server that cannot move safely, stops the run before any work
    sum = emptySummary();
    if (imapPlan) {
      const { importImap } = await import('../../reports/imap.ts');
      const r = await importImap(imapPlan, { store, verify, summary: sum, progress: (m) => progress.update(m) });
      moved = r.moved;
    }
    const fromFiles = await importFiles(inputs, { store, verify, progress: (i, n, f) => progress.update(`reports import: ${i + 1}/${n} ${f}`) });
    mergeSummary(sum, fromFiles);
    progress.done();
    let resolved: ResolveSummary | undefined;
    let spf: SpfSummary | undefined;
    if (a.resolve) {
      const { checkSpfSources, resolveSources } = await import('../../reports/resolve.ts');
      progress.update('reports import: looking up the PTR names of new source IPs');
      resolved = await resolveSources(store, dns, limit);
      // a resolver that answered no PTR query at all would not answer the SPF walk either
      const dead = resolved.failed > 0 && resolved.resolved + resolved.noPtr === 0;
      if (!dead) {
        progress.update('reports import: which source IPs the domains\' SPF records authorize');
        spf = await checkSpfSources(store, dns, sum.domains.slice(0, 50));
      }
      progress.done();
    }
    const failed = sum.problems.length > 0;
    if (a.ndjson) {
      for (const p of sum.problems) await out(JSON.stringify({ type: 'problem', ...p }));
      await out(JSON.stringify({ type: 'summary', ...summaryJson(sum, problemCounts, resolved, moved, spf) }));
    } else if (a.json) {
      await out(JSON.stringify({ schemaVersion: '1.0', kind: 'reports-import', db: history.file, ...summaryJson(sum, problemCounts, resolved, moved, spf), problems: sum.problems, notes: sum.notes }, null, 2));
    } else {
      await out(renderImport(sum, makeStyle(wantColor())));
      if (moved) await out(`  moved ${moved.moved} imported report message(s) to ${moved.folder}`);
      if (spf?.domains) await out(`  SPF records walked for ${spf.domains} domain(s): ${spf.authorized} source IP(s) authorized by them${spf.unknown.length ? ` (incomplete for ${spf.unknown.join(', ')}: kept as before)` : ''}`);
      if (resolved && (resolved.resolved || resolved.noPtr || resolved.failed)) await out(`  source IPs looked up: ${resolved.resolved} with a PTR name, ${resolved.noPtr} without${resolved.failed ? `, ${resolved.failed} failed (tried again next import)` : ''}${resolved.left ? `, ${resolved.left} left for the next import` : ''}`);
      if (failed) process.stderr.write(redact(`inboxlens: ${sum.problems.length} input(s) could not be imported (${Object.entries(problemCounts(sum.problems)).map(([k, v]) => `${v} ${k}`).join(', ')}); the others were imported\n`));
    }
    return failed ? 1 : 0;
  } finally {
    progress.done();
    history.close();
  }
}

function summaryJson(s: ImportSummary, problemCounts: (p: ImportSummary['problems']) => Record<string, number>, resolved?: ResolveSummary, moved?: { moved: number; folder: string }, spf?: SpfSummary) {
  return {
    files: s.files,
    messages: s.messages,
    reports: s.reports,
    outcomes: s.outcomes,
    unauthenticated: s.unauthenticated,
    failed: s.problems.length,
    problemKinds: problemCounts(s.problems),
    skipped: s.skipped.length,
    domains: s.domains,
    ...(resolved ? { resolved } : {}),
    ...(spf ? { spf } : {}),
    ...(moved ? { moved } : {}),
  };
}

async function runShow(a: ReportsArgs): Promise<number> {
  if (a.files?.length) throw new UsageError(`reports show takes no files (got ${a.files[0]}); import them first: inboxlens reports import ${a.files[0]}`);
  if (a.imap || a.move) throw new UsageError('--imap and --move are for reports import');
  if (a.dashboard && (a.json || a.ndjson)) throw new UsageError('--dashboard is a full-screen view: leave out --json/--ndjson');
  if (!a.domain) throw new UsageError('reports show: --domain D is required (the domain the reports are about)');
  const domain = parseDomain(a.domain, '--domain');
  const maxSources = parsePositiveInt(a['max-sources'], '--max-sources', 1_000_000);
  const file = a.db ?? defaultDbPath();
  // showing must not create the database
  const history = HistoryStore.exists(file) ? HistoryStore.openReadOnly(file) : undefined;
  try {
    const window = windowFromFlags(a, () => history);
    const r: ShowResult = showReports(history && new ReportStore(history), domain, window);
    if (a.ndjson) {
      for (const s of r.aggregate.sources) await out(JSON.stringify({ type: 'source', domain, ...s }));
      for (const rep of r.aggregate.reporters) await out(JSON.stringify({ type: 'reporter', domain, ...rep }));
      for (const f of r.failure.items) await out(JSON.stringify({ type: 'failure', domain, ...f }));
      for (const p of r.tls.policies) await out(JSON.stringify({ type: 'tls-policy', domain, ...p }));
      for (const f of r.tls.failures) await out(JSON.stringify({ type: 'tls-failure', domain, ...f }));
      await out(JSON.stringify({ type: 'total', domain, window: r.window, reports: r.aggregate.reports, unauthenticated: r.aggregate.unauthenticated, ...r.aggregate.total, failureReports: r.failure.reports, tlsReports: r.tls.reports, tls: r.tls.total, spoofing: r.aggregate.spoofing.length, conflicts: r.conflicts.length }));
    } else if (a.json) await outParts(prettyJsonParts(r));
    else if (a.dashboard && (await import('../../tui/dashboard.ts')).canUseDashboard()) {
      const [{ openDetailsView }, { reportersDetails, sourcesDetails }, { renderShow }] = await Promise.all([import('../../tui/dashboard.ts'), import('../../reports/receivers.ts'), import('../../reports/text.ts')]);
      const view = openDetailsView({
        title: `reports show ${domain} · ${r.window.around ? `between runs ${r.window.around.before.id} and ${r.window.around.after.id}` : r.window.since || r.window.until ? `${r.window.since ?? 'the beginning'} – ${r.window.until ?? 'now'}` : 'all stored reports'}`,
        panels: [
          { label: `Source IPs (volume, DMARC pass)`, details: sourcesDetails(r, maxSources), weight: 3 },
          { label: 'Reporters', details: reportersDetails(r), weight: 2 },
        ],
      });
      await view.closed;
      await out(renderShow(r, makeStyle(wantColor()), { maxSources }));
      return 0;
    } else await out((await import('../../reports/text.ts')).renderShow(r, makeStyle(wantColor()), { maxSources }));
    return 0;
  } finally {
    history?.close();
  }
}

export const command: Command<ReportsArgs> = {
  order: 62,
  module: () => ({
    command: 'reports <action> [files..]',
    describe: 'Import DMARC aggregate, DMARC failure and SMTP TLS reports (files, folders, an IMAP mailbox) and show what receivers reported per source IP',
    builder,
    handler: () => {},
  }),
  async run(argv) {
    if (argv.json && argv.ndjson) throw new UsageError('--json and --ndjson: choose one');
    return argv.action === 'import' ? runImport(argv) : runShow(argv);
  },
};
