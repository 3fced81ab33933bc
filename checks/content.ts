// Content: the message itself as receivers and their spam filters see it —
// RFC 5322 structure, MIME, size, images, links, one-click unsubscribe
// (RFC 8058) and its DKIM coverage, From/DKIM alignment, test strings, and a
// real filter's score (spamd, rspamd). Runs only with --message FILE.
import type { Check, CheckContext, CheckOutput, Rich, RunOptions } from '../src/types.ts';
import { UsageError } from '../src/util/errors.ts';
import { messageFor, messageFlag, readMessageFile } from '../src/content/parse.ts';
import { analyzeContent, type SpamVerdict } from '../src/content/analyze.ts';
import { parseSpamdAddress, type SpamdAddress } from '../src/content/spamd.ts';
import { parseRspamdUrl } from '../src/content/rspamd.ts';
import type { DkimSignatureFacts } from '../src/content/dkim.ts';
import type { StructureData } from '../src/content/structure.ts';
import { httpsCliOptions, httpsSettings, type HttpsSettings } from '../src/net/https.ts';
import { CONTENT_FINDINGS } from '../src/catalog/content.ts';
import { muted, span } from '../src/report/details.ts';

function hasMessage(opts: RunOptions): boolean {
  return Buffer.isBuffer(opts.messageRaw) || (typeof opts.message === 'string' && opts.message.length > 0);
}

function spamdOf(opts: RunOptions): SpamdAddress | undefined {
  if (opts.spamd === undefined || opts.spamd === '') return undefined;
  try {
    return parseSpamdAddress(String(opts.spamd));
  } catch (e) {
    throw new UsageError(`--spamd: ${(e as Error).message}`);
  }
}

function rspamdOf(opts: RunOptions): URL | undefined {
  if (opts.rspamd === undefined || opts.rspamd === '') return undefined;
  try {
    return parseRspamdUrl(String(opts.rspamd));
  } catch (e) {
    throw new UsageError(`--rspamd: ${(e as Error).message}`);
  }
}

/** What the content check makes of its options, once per run. */
export interface ContentSettings {
  spamd?: SpamdAddress;
  rspamd?: URL;
  /** --check-links: how links are fetched */
  https?: HttpsSettings;
}

async function parse(opts: RunOptions): Promise<ContentSettings> {
  for (const flag of ['spamd', 'rspamd'] as const) {
    if (Array.isArray(opts[flag])) throw new UsageError(`--${flag}: give it once (got ${(opts[flag] as unknown[]).length} values)`);
  }
  const wants = [opts.spamd ? '--spamd' : '', opts.rspamd ? '--rspamd' : '', opts.checkLinks ? '--check-links' : ''].filter(Boolean);
  if (wants.length && !hasMessage(opts)) throw new UsageError(`${wants.join(', ')} judge a message: give it with --message FILE.eml`);
  if (typeof opts.message === 'string' && opts.message) await readMessageFile(opts.message, messageFlag(opts));
  const spamd = spamdOf(opts);
  const rspamd = rspamdOf(opts);
  // a --ca-file given without --check-links is still read at once: a device or a pipe that never ends is refused before any work
  if (opts.caFile && !opts.checkLinks) httpsSettings(opts);
  return { ...(spamd ? { spamd } : {}), ...(rspamd ? { rspamd } : {}), ...(opts.checkLinks ? { https: httpsSettings(opts) } : {}) };
}

async function run(ctx: CheckContext<ContentSettings>): Promise<CheckOutput> {
  const o = ctx.opts;
  const st = ctx.settings;
  const msg = await messageFor(ctx);
  return analyzeContent(msg, {
    dns: ctx.dns,
    ...(st.https ? { https: st.https, checkLinks: true } : {}),
    spamd: st.spamd,
    rspamd: st.rspamd,
    ip: o.ips[0],
    signal: ctx.signal,
    progress: (m) => ctx.progress(m),
  });
}

function num(n: number): string {
  return Number.isInteger(n) ? n.toFixed(1) : String(Math.round(n * 100) / 100);
}

function kb(n: number): string {
  return n < 1024 ? `${n} B` : `${(n / 1024).toFixed(1)} KB`;
}

const check: Check<ContentSettings> = {
  findings: CONTENT_FINDINGS,
  docs: 'docs/checks/content.md',
  id: 'content',
  title: 'Content',
  needs: ['message'],
  applies: (opts) => (hasMessage(opts) ? true : 'needs --message FILE.eml (the message to judge)'),
  cliOptions: {
    message: { type: 'string', describe: 'an .eml message: judge its content (and look up the domains it links to on blacklists)' },
    spamd: { type: 'string', describe: 'score the message with SpamAssassin\'s spamd at HOST[:PORT] (spamc protocol; default port 783)' },
    rspamd: { type: 'string', describe: 'score the message with rspamd\'s HTTP API at URL (its normal worker, e.g. http://127.0.0.1:11333)' },
    'check-links': { type: 'boolean', describe: 'request every link of the message (never unsubscribe links): broken and non-HTTPS links' },
    ...httpsCliOptions,
  },
  parse,
  run,
  details: (r) => {
    const d = r.data as (Partial<StructureData> & { dkim?: DkimSignatureFacts[]; spam?: SpamVerdict[] }) | undefined;
    if (!d || d.sizeBytes === undefined) return [];
    const items: Rich[] = [];
    if (d.from || d.subject) items.push([muted('From'), span(` ${d.from ?? '(none)'}  `), muted('Subject'), span(` ${d.subject ?? '(none)'}`)]);
    const domains = d.linkDomains?.length ?? 0;
    items.push([muted(`${kb(d.sizeBytes)} (HTML ${kb(d.htmlBytes ?? 0)}, text ${kb(d.textBytes ?? 0)}) · ${d.images ?? 0} image(s) · ${d.textChars ?? 0} characters of text · ${d.links?.length ?? 0} link(s) to ${domains} domain(s)`)]);
    for (const sig of d.dkim ?? []) {
      items.push([muted('DKIM'), span(` d=${sig.domain} s=${sig.selector} `), sig.result === 'pass' ? span('pass', 'good') : span(sig.result, 'bad'), ...(sig.aligned ? [] : [muted(' (not aligned with From)')]), span(' '), muted(`h=${sig.headers.join(':')}`)]);
    }
    for (const v of d.spam ?? []) {
      const name = v.filter === 'spamassassin' ? 'SpamAssassin' : 'rspamd';
      if ('error' in v) {
        items.push([muted(name), span(' '), span(`not scored: ${v.error}`, 'warn')]);
        continue;
      }
      const top = v.rules.filter((x) => x.score > 0).sort((a, b) => b.score - a.score).slice(0, 5).map((x) => `${x.name} ${num(x.score)}`);
      items.push([
        muted(name), span(` ${num(v.score)} / ${num(v.threshold)} `), v.isSpam ? span('spam', 'bad') : span('not spam', 'good'),
        ...('action' in v ? [span(` action "${v.action}"`)] : []),
        ...(v.rating !== undefined ? [span(' · rating '), span(`${v.rating}/10`, 'strong')] : []),
        ...(top.length ? [muted(` · ${top.join(', ')}`)] : []),
      ]);
    }
    return [{ kind: 'list', items }];
  },
};
export default check;
