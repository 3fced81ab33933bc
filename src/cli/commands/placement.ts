// `inboxlens placement send|collect|watch|run`: send a test message to seed
// mailboxes, find where each copy landed over IMAP/POP3, or both in one go.
// `watch` is `collect` for the user's own campaign (match by header, subject or sender).
import path from 'node:path';
import type { Argv } from 'yargs';
import placementCheck, { PLAN_KEY } from '../../../checks/placement.ts';
import { checkSettings, runTarget, ResultStream } from '../../engine.ts';
import { buildReport } from '../../report/json.ts';
import { renderReport } from '../../report/text.ts';
import { makeStyle, wantColor } from '../../report/style.ts';
import type { Check, RunOptions } from '../../types.ts';
import { UsageError } from '../errors.ts';
import type { Command } from '../command.ts';
import { withCommonOptions, dnsSetup, makeDns, exitCode, progressLine, type CommonArgs } from '../common.ts';
import { buildPlan, checkActionArgs, phaseOf, placementTarget, PLACEMENT_ACTIONS, type PlanArgs } from '../../placement/plan.ts';
import { composeCopy } from '../../placement/send.ts';
import { redact } from '../../util/redact.ts';
import { openPublisher, withPublishOptions, type PublishArgs } from '../publish.ts';
import { canUseDashboard } from '../../tui/dashboard.ts';
import { runWithDashboard } from '../dashboard-run.ts';

const ACTIONS = PLACEMENT_ACTIONS;

export interface PlacementArgs extends CommonArgs, Omit<PlanArgs, 'deadline'>, Omit<PublishArgs, 'json' | 'fail-on'> {
  dashboard?: boolean;
  content?: boolean;
  spamd?: string;
  rspamd?: string;
  action: (typeof ACTIONS)[number];
  timeout: string;
  'dns-timeout': string;
}

const G_SEEDS = 'Seeds:';
const G_SEND = 'Send (send, run):';
const G_COLLECT = 'Collect (collect, watch, run):';

/** What each action does, for its own --help. */
const ACTION_HELP: Record<(typeof ACTIONS)[number], string> = {
  send: 'Send one test copy to each seed (it prints the run token to collect them with); nothing is read from the mailboxes.',
  collect: 'Find the copies of an earlier `placement send` by its run token (--token), read-only, and report where each landed.',
  watch: "Find the copies of your own campaign (--match-header / --match-subject / --match-from, --since), read-only; nothing is ever deleted.",
  run: 'Send one test copy to each seed, then find where each landed (send + collect in one go).',
};
/** The options groups that matter for an action; the others are hidden from its --help. */
const ACTION_GROUPS: Record<(typeof ACTIONS)[number], string[]> = {
  send: [G_SEND],
  collect: [G_COLLECT],
  watch: [G_COLLECT],
  run: [G_SEND, G_COLLECT],
};
const NOT_FOR: Record<(typeof ACTIONS)[number], string[]> = {
  send: ['token', 'match-subject', 'match-header', 'match-from', 'since', 'cleanup', 'dashboard'],
  collect: ['match-subject', 'match-header', 'match-from', 'since', 'dashboard'],
  watch: ['token', 'cleanup', 'dashboard'],
  run: ['token', 'match-subject', 'match-header', 'match-from', 'since'],
};

function builder(y: Argv): Argv<PlacementArgs> {
  const built = baseBuilder(y);
  // `placement collect --help` describes collect: its own text, and only its options
  const args = process.argv.slice(2);
  const action = ACTIONS.find((a) => args[0] === 'placement' && args[1] === a);
  if (!action || !args.some((a) => a === '--help' || a === '-h')) return built;
  const hide: string[] = [...NOT_FOR[action]];
  for (const [name, group] of Object.entries(OPTION_GROUPS)) if (!ACTION_GROUPS[action].includes(group)) hide.push(name);
  let b = built.usage(`inboxlens placement ${action} [options]\n\n${ACTION_HELP[action]}`);
  for (const h of new Set(hide)) b = b.hide(h);
  return b;
}

/** Each send or collect option's group, so an action's --help can leave out the others. */
const OPTION_GROUPS: Record<string, string> = {};

function baseBuilder(y: Argv): Argv<PlacementArgs> {
  const grouped = <T>(b: Argv<T>): Argv<T> => {
    const orig = b.option.bind(b);
    (b as any).option = (name: string, o: { group?: string }) => {
      if (o?.group === G_SEND || o?.group === G_COLLECT) OPTION_GROUPS[name] = o.group;
      return orig(name, o as never);
    };
    return b;
  };
  return grouped(withPublishOptions(withCommonOptions(y, { timeoutIsDns: false })))
    .option('dashboard', { type: 'boolean', default: false, describe: 'run: show the live terminal dashboard (on a TTY; plain text otherwise)' })
    .option('content', { type: 'boolean', default: false, describe: 'send, run: also judge the message as it will be sent (structure, unsubscribe, DKIM h=, spam score with --spamd/--rspamd)', group: G_SEND })
    .option('spamd', { type: 'string', describe: 'with --content: score with SpamAssassin\'s spamd at HOST[:PORT]', group: G_SEND })
    .option('rspamd', { type: 'string', describe: 'with --content: score with rspamd\'s HTTP API at URL', group: G_SEND })
    .positional('action', { choices: ACTIONS, describe: 'send: send the copies; collect: find them (--token); watch: find your own campaign\'s copies (--match-*); run: send then collect' })
    .option('seeds', { type: 'string', describe: 'YAML file of seed mailboxes (address, provider, imap:/pop3:, auth:)', group: G_SEEDS })
    .option('from', { type: 'string', describe: 'From address of the test message', group: G_SEND })
    .option('envelope-from', { type: 'string', describe: 'envelope sender (MAIL FROM, where bounces go); default: --from', group: G_SEND })
    .option('smtp', { type: 'string', describe: 'sending server: smtp://user@host:587 (STARTTLS) or smtps://user@host:465; password from INBOXLENS_SMTP_PASS', group: G_SEND })
    .option('smtp-ca', { type: 'string', describe: 'PEM CA file to trust for the SMTP server (a private or lab CA)', group: G_SEND })
    .option('smtp-insecure', { type: 'boolean', describe: 'do not verify the SMTP server\'s certificate', group: G_SEND })
    .option('smtp-plaintext', { type: 'boolean', describe: 'allow SMTP AUTH without TLS (a lab on loopback)', group: G_SEND })
    .option('dkim-key', { type: 'string', describe: 'PEM private key to DKIM-sign with (h= covers List-Unsubscribe and List-Unsubscribe-Post)', group: G_SEND })
    .option('dkim-selector', { type: 'string', describe: 'DKIM selector of --dkim-key', group: G_SEND })
    .option('dkim-domain', { type: 'string', describe: 'DKIM d= domain (default: the From domain)', group: G_SEND })
    .option('message', { type: 'string', describe: 'send this .eml (its subject, text, HTML, attachments)', group: G_SEND })
    .option('subject', { type: 'string', describe: 'subject of the test message', group: G_SEND })
    .option('text', { type: 'string', describe: 'text body', group: G_SEND })
    .option('html', { type: 'string', describe: 'HTML body (or @FILE)', group: G_SEND })
    .option('list-unsubscribe', { type: 'string', array: true, describe: 'List-Unsubscribe URI (repeatable; an https one adds List-Unsubscribe-Post one-click, RFC 8058)', group: G_SEND })
    .option('token-subject', { type: 'boolean', default: true, describe: 'put the run token in the Subject too (--no-token-subject: header and body only)', group: G_SEND })
    .option('token', { type: 'string', describe: 'find the copies of this run token (printed by send)', group: G_COLLECT })
    .option('match-subject', { type: 'string', describe: 'watch: find copies whose Subject contains this (with --since)', group: G_COLLECT })
    .option('match-header', { type: 'string', describe: 'watch: find copies with header NAME=VALUE', group: G_COLLECT })
    .option('match-from', { type: 'string', describe: 'watch: find copies from this sender (with --since)', group: G_COLLECT })
    .option('since', { type: 'string', describe: 'watch: only mail since this ISO time or duration ago (2h)', group: G_COLLECT })
    .option('placement-timeout', { alias: 'timeout', type: 'string', default: '5m', describe: 'how long to wait for copies that have not arrived (e.g. 90s, 10m, 1h); --timeout is the old spelling', group: G_COLLECT })
    .option('poll-interval', { type: 'string', describe: 'how often folders without IDLE, and POP3 seeds, are checked [default: 2s]; folders watched with IDLE are searched at this interval too [default: 10s], whatever the server\'s IDLE announces', group: G_COLLECT })
    .option('idle', { type: 'boolean', default: true, describe: 'use IMAP IDLE on INBOX and spam (--no-idle: poll everything)', group: G_COLLECT })
    .option('max-connections', { type: 'string', default: '16', describe: 'connections open at once to one IMAP/POP3 server (host:port); the other seeds wait in line, and one still waiting at the deadline is reported as not checked', group: G_COLLECT })
    .option('bounces', { type: 'string', describe: 'YAML of the IMAP mailbox that receives bounces (DSNs), seed format', group: G_COLLECT })
    .option('cleanup', { type: 'boolean', default: false, describe: 'afterwards, delete the copies carrying this run\'s token (only those), and say how many', group: G_COLLECT }) as unknown as Argv<PlacementArgs>;
}

/**
 * The progress line of a placement: what is happening, and while copies are awaited
 * a countdown to the deadline, redrawn every second so it moves while no seed answers.
 * The wait (--timeout) starts once sending is over (placement run sends first).
 */
export function placementProgress(progress: ReturnType<typeof progressLine>, timeoutMs: number, prefix = 'placement: '): (ev: { check?: string; message: string }) => void {
  let deadline: number | undefined;
  return (ev) => {
    if (ev.check && ev.check !== 'placement') return progress.update(`${ev.check}: ${ev.message}`);
    if (/^(sending|sent) /.test(ev.message)) return progress.update(`${prefix}${ev.message}`);
    const end = (deadline ??= Date.now() + timeoutMs);
    progress.update(() => `${prefix}${ev.message} · ${Math.max(0, Math.ceil((end - Date.now()) / 1000))}s left at most`);
  };
}

export async function runPlacement(argv: PlacementArgs): Promise<number> {
  const phase = phaseOf(argv.action);
  checkActionArgs(argv.action, argv);
  const plan = await buildPlan({ ...argv, deadline: argv.timeout }, phase);
  for (const w of plan.seedsFile.warnings) process.stderr.write(redact(`inboxlens: warning: ${w}\n`));
  const setup = await dnsSetup(argv);
  // only this check: loading the whole registry would cost every placement run ~80 MB for nothing
  const check = placementCheck;
  const registry = new Map<string, Check>([[check.id, check]]);
  const opts: RunOptions = { ips: [], selectors: [], [PLAN_KEY]: plan };
  const checks: Check[] = [check];
  if (argv.content) {
    if (!plan.send) throw new UsageError('--content judges the message being sent: use it with placement send or placement run');
    // the exact bytes the first seed will receive (DKIM-signed, unsubscribe headers), judged before it goes out
    const { default: contentCheck } = await import('../../../checks/content.ts');
    opts.messageRaw = await composeCopy(plan.send.spec, plan.seeds[0]!, plan.token!);
    if (argv.spamd !== undefined) opts.spamd = argv.spamd;
    if (argv.rspamd !== undefined) opts.rspamd = argv.rspamd;
    await checkSettings(contentCheck, opts);
    registry.set(contentCheck.id, contentCheck);
    checks.unshift(contentCheck);
  }
  const target = placementTarget(plan);

  const publisher = await openPublisher(argv, `placement ${argv.action}`, [target]);
  if (argv.dashboard && !argv.json && canUseDashboard()) {
    let first: RunOptions | undefined = opts;
    return runWithDashboard({
      domain: target, checks, registry, opts, setup, publisher, failOn: argv['fail-on'], title: `placement ${argv.action}`, verbose: argv.verbose, ...(argv['export-dir'] ? { exportDir: path.resolve(argv['export-dir']) } : {}),
      // `r` sends a fresh copy set (a new token) rather than collecting the old one again
      freshOpts: async () => {
        const o = first ?? { ips: [], selectors: [], [PLAN_KEY]: await buildPlan({ ...argv, deadline: argv.timeout }, phase) };
        first = undefined;
        return o;
      },
    });
  }

  const t0 = performance.now();
  const stream = new ResultStream();
  // on a terminal, with --json too (the document goes to stdout, progress to stderr)
  const progress = progressLine();
  stream.on('progress', placementProgress(progress, plan.timeoutMs));
  if (argv.verbose) stream.on('log', (ev: { message: string }) => { progress.clear(); process.stderr.write(redact(`  ${ev.message}\n`)); });
  const dns = makeDns(setup);
  const result = await runTarget({ target, checks, registry, opts, dns, stream });
  progress.done();
  const code = exitCode(result.checks, argv['fail-on']);
  const report = buildReport({
    command: `placement ${argv.action}`,
    targets: [result],
    durationMs: Math.round(performance.now() - t0),
    exitCode: code,
    trace: argv.trace ? dns.trace : undefined,
  });
  return publisher.finish(report, (r) => renderReport(r, makeStyle(wantColor()), registry, argv.verbose));
}

export const command: Command<PlacementArgs> = {
  order: 30,
  module: () => ({
    command: 'placement <action>',
    describe: 'Seed-inbox placement: send a test to seed mailboxes, find each copy over IMAP/POP3 (inbox, tab, spam, missing)',
    builder,
    handler: async () => {},
  }),
  run: (argv) => runPlacement(argv),
};
