// Content: the message itself as receivers and their spam filters see it —
// RFC 5322 structure, MIME, size, images, links, one-click unsubscribe
// (RFC 8058) and its DKIM coverage, From/DKIM alignment, test strings, and a
// real filter's score (spamd, rspamd). Runs only with --message FILE.
import type { Check, CheckContext, CheckOutput, RunOptions } from '../src/types.ts';
import { UsageError } from '../src/util/errors.ts';
import { messageFor, readMessageFile } from '../src/content/parse.ts';
import { analyzeContent, type SpamVerdict } from '../src/content/analyze.ts';
import { parseSpamdAddress, type SpamdAddress } from '../src/content/spamd.ts';
import { parseRspamdUrl } from '../src/content/rspamd.ts';
import type { DkimSignatureFacts } from '../src/content/dkim.ts';
import type { StructureData } from '../src/content/structure.ts';
import { httpsCliOptions, httpsSettings } from '../src/net/https.ts';
import { CONTENT_FINDINGS } from '../src/catalog/content.ts';

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

async function prepare(opts: RunOptions): Promise<void> {
  for (const flag of ['spamd', 'rspamd'] as const) {
    if (Array.isArray(opts[flag])) throw new UsageError(`--${flag}: give it once (got ${(opts[flag] as unknown[]).length} values)`);
  }
  spamdOf(opts);
  rspamdOf(opts);
  const wants = [opts.spamd ? '--spamd' : '', opts.rspamd ? '--rspamd' : '', opts.checkLinks ? '--check-links' : ''].filter(Boolean);
  if (wants.length && !hasMessage(opts)) throw new UsageError(`${wants.join(', ')} judge a message: give it with --message FILE.eml`);
  if (typeof opts.message === 'string' && opts.message) await readMessageFile(opts.message);
  if (opts.checkLinks) httpsSettings(opts);
}

async function run(ctx: CheckContext): Promise<CheckOutput> {
  const o = ctx.opts;
  const msg = await messageFor(ctx);
  return analyzeContent(msg, {
    dns: ctx.dns,
    ...(o.checkLinks ? { https: httpsSettings(o), checkLinks: true } : {}),
    spamd: spamdOf(o),
    rspamd: rspamdOf(o),
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

const check: Check = {
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
  prepare,
  run,
  view: (r, s) => {
    const d = r.data as (Partial<StructureData> & { dkim?: DkimSignatureFacts[]; spam?: SpamVerdict[] }) | undefined;
    if (!d || d.sizeBytes === undefined) return [];
    const lines: string[] = [];
    if (d.from || d.subject) lines.push(`${s.dim('From')} ${d.from ?? '(none)'}  ${s.dim('Subject')} ${d.subject ?? '(none)'}`);
    const domains = d.linkDomains?.length ?? 0;
    lines.push(s.dim(`${kb(d.sizeBytes)} (HTML ${kb(d.htmlBytes ?? 0)}, text ${kb(d.textBytes ?? 0)}) · ${d.images ?? 0} image(s) · ${d.textChars ?? 0} characters of text · ${d.links?.length ?? 0} link(s) to ${domains} domain(s)`));
    for (const sig of d.dkim ?? []) {
      const res = sig.result === 'pass' ? s.green('pass') : s.red(sig.result);
      lines.push(`${s.dim('DKIM')} d=${sig.domain} s=${sig.selector} ${res}${sig.aligned ? '' : s.dim(' (not aligned with From)')} ${s.dim(`h=${sig.headers.join(':')}`)}`);
    }
    for (const v of d.spam ?? []) {
      const name = v.filter === 'spamassassin' ? 'SpamAssassin' : 'rspamd';
      if ('error' in v) {
        lines.push(`${s.dim(name)} ${s.yellow(`not scored: ${v.error}`)}`);
        continue;
      }
      const verdict = v.isSpam ? s.red('spam') : s.green('not spam');
      const extra = 'action' in v ? ` action "${v.action}"` : '';
      const top = v.rules.filter((x) => x.score > 0).sort((a, b) => b.score - a.score).slice(0, 5).map((x) => `${x.name} ${num(x.score)}`);
      lines.push(`${s.dim(name)} ${num(v.score)} / ${num(v.threshold)} ${verdict}${extra}${v.rating !== undefined ? ` · rating ${s.bold(`${v.rating}/10`)}` : ''}${top.length ? s.dim(` · ${top.join(', ')}`) : ''}`);
    }
    return lines;
  },
};
export default check;
