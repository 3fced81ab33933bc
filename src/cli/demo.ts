// `inboxlens demo`: the whole job on the embedded lab, with no account and no
// internet. It starts the lab (lab DNS with a well-configured and a broken sender
// domain and the blacklists under their real zone names, Dovecot seeds across
// simulated providers over IMAP and POP3, the lab MX), runs the full pre-flight
// and a seed-placement campaign for the good domain, saves the runs, then checks
// the broken domain before and after a simulated blacklisting and shows the diff.
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadChecks } from '../../checks/index.ts';
import { PLAN_KEY } from '../../checks/placement.ts';
import { buildReport, type Report } from '../report/json.ts';
import { renderReport } from '../report/text.ts';
import { renderDiff } from '../report/diff-text.ts';
import { makeStyle, wantColor } from '../report/style.ts';
import { ResultStream, exitCodeFor, type TargetResult } from '../engine.ts';
import { diffReports, type ReportDiff } from '../history/diff.ts';
import { buildPlan, type PlacementPlan } from '../placement/plan.ts';
import { composeCopy } from '../placement/send.ts';
import { startSpamd } from '../lab/spamd.ts';
import { startLab, LabStartError, LAB_SENDER_IP, type Lab } from '../lab/index.ts';
import { loadZoneFile } from '../dns/fixture-server.ts';
import { buildRunOptions, checkDomain, orderChecks, prepareChecks, type CheckArgs } from './commands/check.ts';
import { dnsSetup, makeDns, out, progressLine, type DnsSetup } from './common.ts';
import { placementProgress } from './commands/placement.ts';
import { checkExportDir, checkOutputPaths, masked, openPublisher, type Publisher } from './publish.ts';
import { renderHtml } from '../report/html.ts';
import { redact } from '../util/redact.ts';
import { UsageError } from './errors.ts';
import { canUseDashboard } from '../tui/dashboard.ts';
import { HistoryStore, defaultDbPath } from '../history/store.ts';
import { ReportStore } from '../reports/store.ts';
import { importFiles } from '../reports/import.ts';
import { resolveSources } from '../reports/resolve.ts';
import type { DnsClient } from '../dns/resolver.ts';
import { showReports, type ShowResult } from '../reports/show.ts';
import { renderShow } from '../reports/text.ts';
import { addReceivers, sourcesDetails } from '../reports/receivers.ts';
import { runWithDashboard } from './dashboard-run.ts';
import type { Check, RunOptions } from '../types.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
/** The IP the broken sender's own SPF authorizes (an old server), blacklisted "after" its campaign. */
export const BROKEN_IP = '203.0.113.7';

export interface DemoArgs {
  json: boolean;
  dashboard: boolean;
  save: boolean;
  db?: string;
  verbose: boolean;
  timeout: string;
  'export-dir'?: string;
  'html-report'?: string;
  /** false (--no-spamd): no SpamAssassin score, for a machine without spamd */
  spamd?: boolean;
}

function say(args: DemoArgs, line: string): void {
  if (!args.json || process.stderr.isTTY) process.stderr.write(`${line}\n`);
}

/** The campaign each sender sends to the seeds: one-click unsubscribe, DKIM-signed where the sender has a key. */
async function campaignOptions(lab: Lab, sender: 'good' | 'broken', timeout: string): Promise<Record<string, unknown>> {
  const s = lab.senders[sender];
  const plan = await buildPlan(
    {
      seeds: lab.seedsFile,
      from: `Lab News <${s.from}>`,
      'envelope-from': s.envelopeFrom,
      smtp: lab.smtpUrl,
      'smtp-ca': lab.caFile,
      ...(s.dkim ? { 'dkim-key': s.dkim.keyFile, 'dkim-selector': s.dkim.selector } : {}),
      subject: 'Your November update',
      text: 'Hello,\n\nHere is what is new this month.\n\nUnsubscribe: https://' + s.domain + '/unsubscribe\n',
      html: `<p>Hello,</p><p>Here is what is new this month.</p><p><a href="https://${s.domain}/unsubscribe">Unsubscribe</a></p>`,
      'list-unsubscribe': [`https://${s.domain}/unsubscribe?u=demo`, `mailto:unsubscribe@${s.domain}`],
      deadline: timeout,
      'poll-interval': '1s',
      idle: true,
    },
    'run',
  );
  return { [PLAN_KEY]: plan };
}

/**
 * The loop's last step: the lab MX's aggregate reports (one per provider and author
 * domain) written as files, imported like any others (DKIM of a report e-mail does not
 * apply: these are files), and the good domain's view of them.
 */
async function labReports(lab: Lab, args: DemoArgs, say: (a: DemoArgs, line: string) => void, dns: DnsClient, diff?: ReportDiff): Promise<{ show: ShowResult; summary: { files: number; imported: number; messages: number } }> {
  const dir = path.join(lab.dir, 'dmarc-reports');
  await mkdir(dir, { recursive: true });
  const made = lab.mx.aggregateReports();
  const files: string[] = [];
  for (const r of made) {
    const f = path.join(dir, `${r.reporter.email.split('@').pop()}!${r.domain}!${r.reportId}.xml`);
    await writeFile(f, r.xml);
    files.push(f);
  }
  // with --no-save the reports go into a database of the lab's own, thrown away with it
  const history = HistoryStore.open(args.save ? args.db ?? defaultDbPath() : path.join(lab.dir, 'reports.db'));
  try {
    const store = new ReportStore(history);
    const sum = await importFiles(files, { store, workers: 0 });
    say(args, `▶ receivers' DMARC aggregate reports: ${made.length} (one per lab provider and author domain), ${sum.outcomes.imported} imported${sum.problems.length ? `, ${sum.problems.length} refused: ${sum.problems[0]!.message}` : ''}`);
    // the sources' PTR names and sending services, resolved after the import as `reports import` does
    await resolveSources(store, dns);
    const show = showReports(store, lab.senders.good.domain);
    // the before/after diff of the broken domain, with what its receivers reported between the two runs
    if (diff) addReceivers(diff, history);
    return { show, summary: { files: files.length, imported: sum.outcomes.imported, messages: made.reduce((a, r) => a + r.messages, 0) } };
  } finally {
    history.close();
  }
}

interface Step {
  label: string;
  domain: string;
  report: Report;
  runId?: string;
}

export async function runDemo(args: DemoArgs): Promise<number> {
  // before the lab starts: an unwritable report path is exit 2 at once
  checkOutputPaths({ '--html-report': args['html-report'] });
  const registry = await loadChecks();
  // everything a plain check runs, plus seed placement
  const checks: Check[] = orderChecks([...registry.values()].filter((c) => !c.optIn || c.id === 'placement'));
  say(args, '▶ starting the lab: lab DNS, Dovecot seed mailboxes (IMAP + POP3), the lab MX …');
  const t0 = performance.now();
  // the lab DNS also plays the blacklists under their real names (RFC 5782 test points included)
  const dnsbl = await loadZoneFile(path.join(ROOT, 'fixtures/zones/dnsbl.yaml'));
  // SpamAssassin scores the campaign (--no-spamd: the demo goes on without a spam score).
  // Both start at once; when either fails, the other is stopped (spamd at once, the lab
  // once it is up) and the failure is exit 2 naming the package to install
  const abort = new AbortController();
  const [labR, spamdR] = await Promise.allSettled([
    startLab({ imapSeeds: 6, pop3Seeds: 2 }).catch((e: unknown) => {
      abort.abort(e);
      throw e;
    }),
    args.spamd === false ? Promise.resolve(undefined) : startSpamd({ timeoutMs: 60_000, signal: abort.signal }),
  ]);
  if (labR.status === 'rejected' || spamdR.status === 'rejected') {
    await Promise.all([labR.status === 'fulfilled' ? labR.value.stop() : undefined, spamdR.status === 'fulfilled' ? spamdR.value?.stop() : undefined]);
    const e = labR.status === 'rejected' ? labR.reason : (spamdR as PromiseRejectedResult).reason;
    if (e instanceof LabStartError && labR.status === 'fulfilled') throw new UsageError(`${e.message} (or run the demo without a spam score: inboxlens demo --no-spamd)`);
    throw e;
  }
  const lab = labR.value;
  const spamd = spamdR.value;
  lab.dns.load(dnsbl);
  // Ctrl-C, a closed terminal or a kill: stop the lab's daemons before going
  let stopping: Promise<unknown> | undefined;
  const shutdown = (sig: NodeJS.Signals) => {
    stopping ??= Promise.all([lab.stop(), spamd?.stop()]).finally(() => process.kill(process.pid, sig));
  };
  const signals: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];
  for (const sig of signals) process.once(sig, shutdown);
  try {
    say(args, `  lab DNS ${lab.dns.address} · Dovecot ${lab.dovecot.version} IMAP ${lab.dovecot.imapPort} POP3 ${lab.dovecot.pop3Port} · MX ${lab.smtpUrl} · ${lab.seeds.length} seeds${spamd ? ` · spamd ${spamd.address}` : ''} (${((performance.now() - t0) / 1000).toFixed(1)} s)`);
    const setup: DnsSetup = await dnsSetup({ resolver: [lab.dns.address], concurrency: 64, 'dns-timeout': '1500ms', retries: 1, json: args.json, trace: false, 'fail-on': 'error', verbose: args.verbose });
    const publisherFor = (label: string, target: string): Promise<Publisher> =>
      openPublisher({ save: args.save, db: args.db, label, json: true, 'fail-on': 'error' }, 'demo', [target]);

    const optionsFor = async (domain: string, sender: 'good' | 'broken'): Promise<RunOptions> => {
      const argv = {
        // both send through the lab MX from the lab IP; only the good domain's SPF authorizes it
        ip: [LAB_SENDER_IP],
        selector: sender === 'good' ? [lab.senders.good.dkim!.selector] : [],
        ...(spamd ? { spamd: spamd.address } : {}),
      } as unknown as CheckArgs;
      const opts = await buildRunOptions(argv, registry);
      Object.assign(opts, await campaignOptions(lab, sender, args.timeout));
      // the content check judges the exact message the campaign sends (signed, with its unsubscribe headers)
      const plan = opts[PLAN_KEY] as PlacementPlan;
      opts.messageRaw = await composeCopy(plan.send!.spec, plan.seeds[0]!, plan.token!);
      await prepareChecks(checks, registry, opts);
      return opts;
    };

    const runStep = async (label: string, domain: string, sender: 'good' | 'broken'): Promise<Step> => {
      const opts = await optionsFor(domain, sender);
      const t = performance.now();
      // the wait for the seeds' copies is the long part: a moving countdown on a terminal (with --json too: it is stderr)
      const stream = new ResultStream();
      const progress = progressLine();
      stream.on('progress', placementProgress(progress, (opts[PLAN_KEY] as PlacementPlan).timeoutMs, `${domain} placement: `));
      const { result, skipped } = await checkDomain(domain, checks, registry, opts, setup, stream).finally(() => progress.done());
      const report = buildReport({ command: 'demo', targets: [result], skipped, durationMs: Math.round(performance.now() - t), exitCode: exitCodeFor(result.checks, 'error') });
      const pub = await publisherFor(label, domain);
      const rec = await pub.record(report);
      pub.close();
      return { label, domain, report: rec.doc, runId: rec.runId };
    };

    const steps: Step[] = [];
    /** the good domain's report, for --html-report (the dashboard records it through its publisher) */
    let goodReport: Report | undefined;
    const good = lab.senders.good.domain;
    const broken = lab.senders.broken.domain;

    // the broken domain before and after a blacklisting: run first, so that the dashboard's `d` can show the pair
    const brokenPair = async () => {
      say(args, `▶ ${broken} (no DKIM; its SPF names an old server, not the IP it now sends from): the run before …`);
      const before = await runStep('before', broken, 'broken');
      say(args, `▶ simulating a listing: ${BROKEN_IP} is added to zen.spamhaus.org (SBL) and bl.spamcop.net in the lab DNS`);
      const rev = BROKEN_IP.split('.').reverse().join('.');
      lab.dns.set(`${rev}.zen.spamhaus.org`, 'A', ['127.0.0.2']);
      lab.dns.set(`${rev}.zen.spamhaus.org`, 'TXT', ['https://check.spamhaus.org/sbl/query/SBL-LAB-1 (lab listing after the campaign)']);
      lab.dns.set(`${rev}.bl.spamcop.net`, 'A', ['127.0.0.2']);
      lab.dns.set(`${rev}.bl.spamcop.net`, 'TXT', ['Blocked - see https://www.spamcop.net/bl.shtml?' + BROKEN_IP]);
      say(args, `▶ ${broken}: the run after …`);
      const after = await runStep('after', broken, 'broken');
      const diff: ReportDiff = diffReports(before.report, after.report, { before: { id: before.runId, label: 'before' }, after: { id: after.runId, label: 'after' } });
      return { before, after, diff };
    };
    let pair: Awaited<ReturnType<typeof brokenPair>>;
    // imported once (a second import would be new reports of the same mail), in the dashboard or after the runs
    let reportsOnce: ReturnType<typeof labReports> | undefined;
    // (while the dashboard owns the terminal its progress lines wait, then print)
    const held: string[] = [];
    let hold = false;
    const receiverReports = () => (reportsOnce ??= labReports(lab, args, (a, l) => (hold ? held.push(l) : say(a, l)), makeDns(setup), pair.diff));

    // 1. the well-configured domain: pre-flight + campaign, live in the dashboard on a terminal
    if (args.dashboard && !args.json && canUseDashboard()) {
      if (args['export-dir'] !== undefined) checkExportDir('--export-dir', args['export-dir']);
      pair = await brokenPair();
      const pub = await publisherFor('demo-good', good);
      const record = pub.record.bind(pub);
      pub.record = async (r) => {
        const rec = await record(r);
        goodReport = rec.doc;
        return rec;
      };
      const first = await optionsFor(good, 'good');
      let reuse: RunOptions | undefined = first;
      hold = true;
      const code = await runWithDashboard({
        domain: good, checks, registry, setup, publisher: pub, failOn: 'error', title: 'demo', verbose: args.verbose,
        opts: first,
        // `r` sends a fresh campaign (a new run token) rather than re-reading the old one
        freshOpts: async () => {
          const o = reuse ?? (await optionsFor(good, 'good'));
          reuse = undefined;
          return o;
        },
        // d: what changed for the broken domain after the campaign; q leaves the plain report behind
        // the loop's last step, in the dashboard: once the campaign is read, the lab MX's aggregate reports are imported and drawn
        panel: {
          label: `Receivers' DMARC reports for ${good}`,
          placeholder: 'waiting for the campaign: the lab receivers then mail back their aggregate reports',
          load: async () => sourcesDetails((await receiverReports()).show),
        },
        diffText: `What changed for ${broken} after the campaign (inboxlens diff ${pair.before.runId ?? 'before'} ${pair.after.runId ?? 'after'}):\n\n${renderDiff(pair.diff, makeStyle(false))}`,
        ...(args['export-dir'] ? { exportDir: path.resolve(args['export-dir']) } : {}),
      });
      hold = false;
      for (const l of held.splice(0)) say(args, l);
      if (code === 3) return 3;
      steps.push(pair.before, pair.after);
    } else {
      say(args, `▶ pre-flight and seed campaign for ${good} (well configured) …`);
      const s = await runStep('demo-good', good, 'good');
      steps.push(s);
      goodReport = s.report;
      if (!args.json) await out(renderReport(s.report, makeStyle(wantColor()), registry, args.verbose));
      // 2. the broken domain, before and after a blacklisting
      pair = await brokenPair();
      steps.push(pair.before, pair.after);
    }
    const { after, diff } = pair;

    // 3. what the receivers reported: each lab provider mails back a DMARC aggregate report
    // for what it received; they are imported into the history database and shown, as
    // `inboxlens reports import` and `reports show --domain` would for a real campaign
    const reports = await receiverReports();
    const before = pair.before;

    if (args['html-report']) {
      // what a colleague opens: the good domain's run with its campaign, the broken domain now, and what changed for it
      const shown = [...(goodReport ? [goodReport] : []), after.report];
      const targets = shown.flatMap((r) => r.targets);
      const doc = buildReport({ command: 'demo', targets, durationMs: Math.round(performance.now() - t0), exitCode: exitCodeFor(targets.flatMap((t) => t.checks), 'error') });
      const safe = masked({ doc, diff });
      try {
        await writeFile(args['html-report'], redact(renderHtml(safe.doc, safe.diff)));
      } catch (e) {
        throw new UsageError(`--html-report: cannot write '${args['html-report']}': ${(e as Error).message}`);
      }
      say(args, `HTML report written to ${args['html-report']}`);
    }

    const s = makeStyle(wantColor());
    if (args.json) {
      const targets: TargetResult[] = steps.flatMap((st) => st.report.targets.map((t) => ({ ...t, target: t.target })));
      const doc = buildReport({
        command: 'demo',
        targets,
        durationMs: Math.round(performance.now() - t0),
        exitCode: 0,
        extra: {
          demo: {
            lab: { dns: lab.dns.address, dovecot: lab.dovecot.version, seeds: lab.seeds.map((x) => ({ address: x.address, provider: x.provider, protocol: x.protocol })) },
            runs: steps.map((st) => ({ label: st.label, target: st.domain, runId: st.runId ?? null, status: st.report.summary.status })),
            diff,
            reports: reports.summary,
          },
        },
      });
      await out(JSON.stringify(doc, null, 2));
    } else {
      await out(renderReport(after.report, s, registry, args.verbose));
      await out(`\n${s.bold(`What changed for ${broken} after the campaign`)} (inboxlens diff ${before.runId ?? 'before'} ${after.runId ?? 'after'}):\n`);
      await out(renderDiff(diff, s));
      await out(`\n${s.bold(`What the receivers reported for ${good}`)} (inboxlens reports show --domain ${good}):\n`);
      await out(renderShow(reports.show, s));
      if (args.save) say(args, `\nruns saved; list them with: inboxlens history${args.db ? ` --db ${args.db}` : ''}`);
    }
    return 0;
  } finally {
    for (const sig of signals) process.removeListener(sig, shutdown);
    await Promise.all([lab.stop(), spamd?.stop()]);
  }
}
