// Bounces: a relay accepts everything and the real refusal (5.7.26, 5.7.515 …)
// comes back later as a delivery status notification (RFC 3464) to the envelope
// sender. Given the mailbox that receives them, we find the DSNs about this run's
// copies (they quote the original headers, token included) and turn those seeds'
// `missing` into `bounced` with the status code and the remote server's words.
import type { DnsClient } from '../dns/resolver.ts';
import { resolveAccess } from './hosts.ts';
import type { ImapFlow } from 'imapflow';
import { connectImap, discoverFolders, examine, classifyImapError } from '../mailbox/imap.ts';
import { headerMatches } from '../mailbox/imap.ts';
import { resolveAuth, sleep } from './watch-imap.ts';
import type { BounceInfo, Matcher, Seed } from './types.ts';

export interface DsnRecipient {
  finalRecipient?: string;
  originalRecipient?: string;
  action?: string;
  status?: string;
  diagnostic?: string;
  remoteMta?: string;
}

export interface ParsedDsn {
  reportingMta?: string;
  recipients: DsnRecipient[];
  /** the returned message's header block (text/rfc822-headers or message/rfc822) */
  originalHeaders?: string;
}

interface Part {
  headers: Map<string, string>;
  body: Buffer;
}

function splitHeaderBody(buf: Buffer): Part {
  const text = buf.toString('latin1');
  const m = /\r?\n\r?\n/.exec(text);
  const headText = m ? text.slice(0, m.index) : text;
  const bodyStart = m ? m.index + m[0].length : text.length;
  const headers = new Map<string, string>();
  for (const f of parseFieldBlock(headText)) if (!headers.has(f.name)) headers.set(f.name, f.value);
  return { headers, body: buf.subarray(Buffer.byteLength(text.slice(0, bodyStart), 'latin1')) };
}

/** "Name: value" lines with folded continuations (RFC 5322 §2.2.3, and RFC 3464's fields). */
export function parseFieldBlock(text: string): { name: string; value: string }[] {
  const out: { name: string; value: string }[] = [];
  for (const line of text.split(/\r?\n/)) {
    if (/^[ \t]/.test(line) && out.length) {
      out[out.length - 1]!.value += ` ${line.trim()}`;
      continue;
    }
    const i = line.indexOf(':');
    if (i > 0) out.push({ name: line.slice(0, i).trim().toLowerCase(), value: line.slice(i + 1).trim() });
  }
  return out;
}

function param(value: string, name: string): string | undefined {
  const m = new RegExp(`(?:^|;)\\s*${name}\\s*=\\s*(?:"((?:[^"\\\\]|\\\\.)*)"|([^;\\s]+))`, 'i').exec(value);
  return m ? (m[1] ?? m[2])!.replace(/\\(.)/g, '$1') : undefined;
}

function decode(part: Part): Buffer {
  const cte = (part.headers.get('content-transfer-encoding') ?? '').toLowerCase();
  if (cte === 'base64') return Buffer.from(part.body.toString('latin1').replace(/\s+/g, ''), 'base64');
  if (cte === 'quoted-printable') {
    return Buffer.from(part.body.toString('latin1').replace(/=\r?\n/g, '').replace(/=([0-9A-F]{2})/gi, (_m, h: string) => String.fromCharCode(parseInt(h, 16))), 'latin1');
  }
  return part.body;
}

function multipartChildren(part: Part): Part[] {
  const boundary = param(part.headers.get('content-type') ?? '', 'boundary');
  if (!boundary) return [];
  const text = part.body.toString('latin1');
  const delim = `--${boundary}`;
  const pieces: Part[] = [];
  const lines = text.split(/\r?\n/);
  let current: string[] | undefined;
  for (const line of lines) {
    if (line === delim || line.startsWith(`${delim} `) || line === `${delim}--`) {
      if (current) pieces.push(splitHeaderBody(Buffer.from(current.join('\r\n'), 'latin1')));
      current = line === `${delim}--` ? undefined : [];
      if (line === `${delim}--`) break;
      continue;
    }
    current?.push(line);
  }
  return pieces;
}

/** A DSN (multipart/report; report-type=delivery-status) read into its fields, or undefined if it is not one. */
export function parseDsn(raw: Buffer | string): ParsedDsn | undefined {
  const top = splitHeaderBody(typeof raw === 'string' ? Buffer.from(raw, 'latin1') : raw);
  const queue: Part[] = [top];
  let status: Part | undefined;
  let original: string | undefined;
  while (queue.length) {
    const p = queue.shift()!;
    const ct = (p.headers.get('content-type') ?? 'text/plain').toLowerCase();
    if (ct.startsWith('multipart/')) queue.push(...multipartChildren(p));
    else if (ct.startsWith('message/delivery-status') || ct.startsWith('message/global-delivery-status')) status ??= p;
    else if (ct.startsWith('text/rfc822-headers') || ct.startsWith('message/rfc822') || ct.startsWith('message/global-headers') || ct.startsWith('message/global')) {
      original ??= decode(p).toString('utf8').split(/\r?\n\r?\n/)[0];
    }
  }
  if (!status) return undefined;
  const groups = decode(status).toString('utf8').split(/\r?\n[ \t]*\r?\n/).map(parseFieldBlock).filter((g) => g.length);
  const dsn: ParsedDsn = { recipients: [] };
  const strip = (v?: string) => v?.replace(/^[a-z0-9-]+\s*;\s*/i, '').replace(/^<|>$/g, '').trim();
  for (const [i, g] of groups.entries()) {
    const get = (n: string) => g.find((f) => f.name === n)?.value;
    if (i === 0 && get('reporting-mta') !== undefined) dsn.reportingMta = strip(get('reporting-mta'));
    if (get('final-recipient') || get('action')) {
      dsn.recipients.push({
        ...(get('final-recipient') ? { finalRecipient: strip(get('final-recipient'))!.toLowerCase() } : {}),
        ...(get('original-recipient') ? { originalRecipient: strip(get('original-recipient'))!.toLowerCase() } : {}),
        ...(get('action') ? { action: get('action')!.toLowerCase() } : {}),
        ...(get('status') ? { status: get('status')!.split(/\s/)[0] } : {}),
        ...(get('diagnostic-code') ? { diagnostic: strip(get('diagnostic-code')) } : {}),
        ...(get('remote-mta') ? { remoteMta: strip(get('remote-mta')) } : {}),
      });
    }
  }
  if (original) dsn.originalHeaders = original;
  return dsn;
}

/** The failed recipients of a DSN about one of this run's copies, as bounce rows keyed by address. */
export function bouncesFromDsn(dsn: ParsedDsn, matcher: Matcher, seeds: Seed[]): Map<string, BounceInfo> {
  const out = new Map<string, BounceInfo>();
  if (!dsn.originalHeaders || !headerMatches(dsn.originalHeaders, matcher)) return out;
  const addrs = new Map(seeds.map((s) => [s.address.toLowerCase(), s.address]));
  for (const r of dsn.recipients) {
    if (r.action !== 'failed') continue;
    const who = addrs.get(r.finalRecipient ?? '') ?? addrs.get(r.originalRecipient ?? '');
    if (!who) continue;
    out.set(who, {
      source: 'dsn',
      ...(r.status ? { status: r.status } : {}),
      action: r.action,
      ...(r.diagnostic ? { diagnostic: r.diagnostic } : {}),
      ...(r.remoteMta ? { remoteMta: r.remoteMta } : {}),
      ...(dsn.reportingMta ? { reportingMta: dsn.reportingMta } : {}),
    });
  }
  return out;
}

export interface BounceWatch {
  /** stop watching and close the connection */
  stop(): Promise<void>;
  /** a problem reaching the bounces mailbox (the run carries on without bounces) */
  error?: string;
  /** DSNs read so far */
  dsnCount: number;
}

/**
 * Poll the bounces mailbox (INBOX and its spam folder, read-only) for DSNs about
 * this run; `onBounce` is called once per bounced seed.
 */
export function watchBounces(mailbox: Seed, matcher: Matcher, seeds: Seed[], pollMs: number, onBounce: (seed: string, info: BounceInfo) => void, log?: (m: string) => void, dns?: DnsClient): BounceWatch {
  const stopper = new AbortController();
  const reported = new Set<string>();
  const seenUids = new Set<string>();
  let client: ImapFlow | undefined;
  const w: BounceWatch = { dsnCount: 0, stop: async () => {} };
  const loop = (async () => {
    let failures = 0;
    while (!stopper.signal.aborted) {
      try {
        client = await connectImap(await resolveAccess(mailbox.access, dns), await resolveAuth(mailbox));
        const folders = await discoverFolders(client, mailbox.provider, mailbox.folders);
        const targets = [folders.inbox, folders.junk].filter(Boolean) as { path: string }[];
        while (!stopper.signal.aborted) {
          const t0 = Date.now();
          for (const f of targets) {
            await examine(client, f.path);
            if (!client.mailbox || !client.mailbox.exists) continue;
            const q = matcher.token ? { text: matcher.token } : { since: new Date((matcher.since?.getTime() ?? Date.now()) - 24 * 3600_000) };
            const uids = (await client.search(q, { uid: true })) || [];
            const fresh = uids.filter((u) => !seenUids.has(`${f.path}/${u}`));
            if (!fresh.length) continue;
            for await (const m of client.fetch(fresh.join(','), { uid: true, source: true }, { uid: true })) {
              seenUids.add(`${f.path}/${m.uid}`);
              const dsn = m.source ? parseDsn(m.source) : undefined;
              if (!dsn) continue;
              w.dsnCount++;
              for (const [seed, info] of bouncesFromDsn(dsn, matcher, seeds)) {
                if (reported.has(seed)) continue;
                reported.add(seed);
                onBounce(seed, info);
              }
            }
          }
          delete w.error;
          failures = 0;
          await sleep(pollMs - (Date.now() - t0), stopper.signal);
        }
      } catch (e) {
        if (stopper.signal.aborted) break;
        const err = classifyImapError(e, `bounces mailbox ${mailbox.address}`);
        w.error = err.message;
        log?.(err.message);
        if (err.kind === 'auth' || err.kind === 'tls') break;
        await sleep(Math.min(200 * 2 ** failures++, 3000), stopper.signal);
      } finally {
        const c = client;
        client = undefined;
        if (c) {
          await Promise.race([c.logout().catch(() => {}), sleep(1000)]);
          c.close();
        }
      }
    }
  })();
  w.stop = async () => {
    stopper.abort();
    client?.close();
    await loop;
  };
  return w;
}
