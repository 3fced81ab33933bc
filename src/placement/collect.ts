// Collect: watch every seed at once for its copy and turn what was found into
// one row per seed. Returns as soon as every seed has an answer (found, bounced,
// failed); only the seeds still waiting run on to the deadline. Connections to
// one host:port are capped (maxConnectionsPerHost, default 16): the other seeds
// wait in line, and a seed searched once gives its connection up between polls
// while others wait. A seed still in line at the deadline is an error saying so
// (never checked), not `missing`. Work per seed is constant: no scan over all
// rows or listeners per settled seed.
import type { DnsClient } from '../dns/resolver.ts';
import { watchImapSeed, type WatchOutcome } from './watch-imap.ts';
import { watchPop3Seed } from './watch-pop3.ts';
import { watchBounces } from './bounces.ts';
import { headerDate, headerValue, localAuth, placementOf, receivedDate, receiverAuth, receiverHop, spamHeaders } from './classify.ts';
import { connectImap, classifyImapError } from '../mailbox/imap.ts';
import { resolveAuth, sleep } from './watch-imap.ts';
import { RUN_TOKEN } from './token.ts';
import { resolveAccess } from './hosts.ts';
import { DEFAULT_MAX_CONNECTIONS_PER_HOST, HostSlots, slotKey } from './host-slots.ts';
import { smtpReply } from './summary.ts';
import type { BounceInfo, Matcher, PlacementRow, Seed, SendResult } from './types.ts';
import { copyVerdicts, limiter } from './verdicts.ts';
import { verifyMessage } from '../auth/verify.ts';

type Limit = ReturnType<typeof limiter>;

export interface CollectOptions {
  seeds: Seed[];
  matcher: Matcher;
  timeoutMs: number;
  pollMs: number;
  /** a folder watched with IDLE is searched anyway this often (default 10 s) */
  idleRecheckMs?: number;
  idle: boolean;
  /** what `send` recorded, by seed address: send times, SMTP outcomes */
  sent?: Map<string, SendResult>;
  bounces?: Seed;
  /** DNS for the local DKIM/ARC re-verification (none: skipped) */
  dns?: DnsClient;
  signal?: AbortSignal;
  /** connections open at once to one host:port (default 16); the other seeds wait in line */
  maxConnectionsPerHost?: number;
  /** found copies verified at once (our SPF/DKIM/DMARC verdicts and the DKIM/ARC re-verification; default 8) */
  verifyConcurrency?: number;
  /** a seed got its answer (for progress) */
  onRow?(row: PlacementRow, done: number, total: number): void;
  log?(message: string): void;
}

export interface CollectResult {
  rows: PlacementRow[];
  /** where each found IMAP copy is, for --cleanup */
  locations: Map<string, { path: string; uid: number }>;
  bounces?: { mailbox: string; dsns: number; error?: string };
  durationMs: number;
}

function rowBase(seed: Seed): Pick<PlacementRow, 'seed' | 'provider' | 'protocol' | 'label'> {
  return { seed: seed.address, provider: seed.provider, protocol: seed.access.protocol, ...(seed.label ? { label: seed.label } : {}) };
}

function smtpOf(s: SendResult | undefined): PlacementRow['smtp'] | undefined {
  if (!s) return undefined;
  return { status: s.status, ...(s.code !== undefined ? { code: s.code } : {}), ...(s.response ? { response: s.response } : {}) };
}

async function rowFromOutcome(seed: Seed, out: WatchOutcome, sent: SendResult | undefined, bounce: BounceInfo | undefined, dns: DnsClient | undefined, limit: Limit): Promise<PlacementRow> {
  const base = { ...rowBase(seed), ...(sent ? { smtp: smtpOf(sent)!, sentAt: sent.sentAt, messageId: sent.messageId } : {}) };
  if (out.found) {
    const f = out.found;
    const src = f.message.source;
    const row: PlacementRow = { ...base, placement: placementOf(f, seed.access.protocol, seed.provider), folder: f.folder.path, seenAt: f.seenAt.toISOString() };
    if (f.message.copies > 1) row.copies = f.message.copies;
    if (f.message.internalDate && seed.access.protocol === 'imap') row.internalDate = f.message.internalDate.toISOString();
    if (src) {
      const rd = receivedDate(src);
      if (rd) row.receivedAt = rd.toISOString();
      const mid = headerValue(src, 'message-id');
      if (mid && !row.messageId) row.messageId = mid;
      const subj = headerValue(src, 'subject');
      if (subj) row.subject = subj;
      if (!row.sentAt) {
        const d = headerDate(src);
        if (d) row.sentAt = d.toISOString();
      }
      const receiver = { provider: seed.provider, ...(seed.authservIds ? { authservIds: seed.authservIds } : {}) };
      const ra = receiverAuth(src, receiver);
      if (ra) row.receiverAuth = ra;
      const hop = receiverHop(src, receiver);
      if (hop) row.receiverHop = hop;
      const sh = spamHeaders(src, receiver);
      if (sh) row.spam = sh;
      if (dns && f.message.size !== undefined && src.length >= f.message.size - 2) {
        // the re-verification and our own verdicts (the analysis `analyze` runs), a few copies at a time
        // (one DKIM verification of the copy serves both)
        const [la, ours] = await limit(async () => {
          const verified = await verifyMessage(src, dns.mailauthResolver).catch(() => undefined);
          return Promise.all([localAuth(src, dns, verified), copyVerdicts(src, dns, receiver, ra, verified)]);
        });
        row.localAuth = la;
        row.ours = ours;
      } else if (dns) row.localAuth = { dkim: [], error: 'only the header was read (the message is larger than 8 MB): not re-verified' };
    }
    if (row.sentAt) {
      const sentMs = Date.parse(row.sentAt);
      const arrival = row.internalDate ?? row.receivedAt;
      // INTERNALDATE and Received have whole seconds: never report a negative delay
      if (arrival) row.timeToArrivalMs = Math.max(0, Date.parse(arrival) - sentMs);
      row.detectMs = Math.max(0, f.seenAt.getTime() - sentMs);
    }
    if (out.reconnects) row.note = `reconnected ${out.reconnects} time(s) while watching`;
    return row;
  }
  if (bounce) return { ...base, placement: 'bounced', bounce, ...(bounce.status ? { note: `${bounce.status}${bounce.diagnostic ? ` ${bounce.diagnostic}` : ''}` } : {}) };
  if (out.error) return { ...base, placement: 'error', error: out.error };
  if (!out.searched) return { ...base, placement: 'error', error: out.lastError ?? `seed ${seed.address}: never reached its mailbox before the deadline` };
  // disconnected when the deadline came: the copy may have arrived meanwhile, so it is unknown, not missing
  if (out.lastError) return { ...base, placement: 'error', error: `lost the mailbox before the deadline and could not get it back: ${out.lastError}` };
  const placement = seed.access.protocol === 'pop3' ? 'not-in-inbox' : 'missing';
  const row: PlacementRow = { ...base, placement };
  const notes: string[] = [];
  if (placement === 'not-in-inbox') notes.push(seed.provider === 'gmail' ? 'not in what Gmail serves over POP (spam, trash, or not delivered: POP cannot tell)' : 'not in the inbox (spam or not delivered: POP cannot tell)');
  if (out.reconnects) notes.push(`reconnected ${out.reconnects} time(s)`);
  if (notes.length) row.note = notes.join('; ');
  return row;
}

export async function collectPlacement(o: CollectOptions): Promise<CollectResult> {
  const t0 = performance.now();
  const rows = new Map<string, PlacementRow>();
  const locations = new Map<string, { path: string; uid: number }>();
  const total = o.seeds.length;
  let done = 0;
  const settle = (seed: Seed, row: PlacementRow) => {
    if (rows.has(seed.address)) return;
    rows.set(seed.address, row);
    o.onRow?.(row, ++done, total);
  };
  const perSeed = new Map<string, AbortController>();
  // one listener for all seeds (a listener per seed on one signal makes each removal O(n))
  const deadline = new AbortController();
  deadline.signal.addEventListener('abort', () => {
    for (const ac of perSeed.values()) ac.abort();
  }, { once: true });
  const timer = setTimeout(() => deadline.abort(), o.timeoutMs);
  const onOuter = () => deadline.abort();
  o.signal?.addEventListener('abort', onOuter, { once: true });
  const slots = new HostSlots(o.maxConnectionsPerHost ?? DEFAULT_MAX_CONNECTIONS_PER_HOST);
  const bounced = new Map<string, BounceInfo>();
  const limit = limiter(o.verifyConcurrency ?? 8);

  // copies the SMTP server refused or never took are settled without watching
  const watched: Seed[] = [];
  for (const seed of o.seeds) {
    const s = o.sent?.get(seed.address);
    if (s?.status === 'rejected') {
      settle(seed, { ...rowBase(seed), placement: 'bounced', smtp: smtpOf(s)!, sentAt: s.sentAt, messageId: s.messageId, bounce: { source: 'smtp', ...(s.code ? { status: String(s.code) } : {}), ...(s.response ? { diagnostic: s.response } : {}) } });
    } else if (s?.status === 'deferred') {
      // a 4xx from the submission server (452 at RCPT, 451 after DATA): the copy was never queued, so
      // nothing will retry it and waiting for it would only end in "missing"
      settle(seed, { ...rowBase(seed), placement: 'deferred', smtp: smtpOf(s)!, sentAt: s.sentAt, messageId: s.messageId, note: `deferred at submission (${smtpReply(s.code, s.response)}): not queued, so never delivered; send it again` });
    } else if (s?.status === 'error') {
      settle(seed, { ...rowBase(seed), placement: 'error', smtp: smtpOf(s)!, error: `not sent: ${s.error ?? s.response ?? 'the SMTP transaction failed'}` });
    } else {
      watched.push(seed);
    }
  }

  const bounceWatch = o.bounces && watched.length
    ? watchBounces(o.bounces, o.matcher, watched, o.pollMs, (addr, info) => {
      bounced.set(addr, info);
      perSeed.get(addr)?.abort();
    }, o.log, o.dns)
    : undefined;

  await Promise.all(watched.map(async (seed) => {
    const ac = new AbortController();
    perSeed.set(seed.address, ac);
    if (deadline.signal.aborted) ac.abort();
    // a step (login, SELECT, SEARCH) gets at most the whole deadline, and never more than 30 s
    const wo = { matcher: o.matcher, pollMs: o.pollMs, ...(o.dns ? { dns: o.dns } : {}), ...(o.idleRecheckMs ? { idleRecheckMs: o.idleRecheckMs } : {}), idle: o.idle, signal: ac.signal, stepTimeoutMs: Math.min(o.timeoutMs, 30_000), slots, ...(o.log ? { log: o.log } : {}) };
    let out: WatchOutcome;
    try {
      out = seed.access.protocol === 'imap' ? await watchImapSeed(seed, wo) : await watchPop3Seed(seed, wo);
    } catch (e) {
      out = { reconnects: 0, searched: false, error: `seed ${seed.address}: ${(e as Error).message}` };
    }
    if (out.location) locations.set(seed.address, out.location);
    settle(seed, await rowFromOutcome(seed, out, o.sent?.get(seed.address), bounced.get(seed.address), o.dns, limit));
    // the bounce watcher stops as soon as no seed is left waiting for one
    if (bounceWatch && rows.size === total) void bounceWatch.stop();
  }));
  clearTimeout(timer);
  o.signal?.removeEventListener('abort', onOuter);
  let bounces: CollectResult['bounces'];
  if (bounceWatch) {
    await bounceWatch.stop();
    bounces = { mailbox: o.bounces!.address, dsns: bounceWatch.dsnCount, ...(bounceWatch.error ? { error: bounceWatch.error } : {}) };
  }
  return { rows: o.seeds.map((s) => rows.get(s.address)!), locations, ...(bounces ? { bounces } : {}), durationMs: Math.round(performance.now() - t0) };
}

export interface CleanupResult {
  deleted: number;
  /** each message removed: which seed, which folder, its Message-ID */
  removed: { seed: string; folder: string; uid: number; messageId?: string }[];
  /** seeds whose copy could not be deleted, with why */
  skipped: { seed: string; reason: string }[];
}

/** The values of one header field in a raw header block (unfolded, trimmed). */
function headerValues(raw: string, name: string): string[] {
  const unfolded = raw.replace(/\r?\n[ \t]+/g, ' ');
  const out: string[] = [];
  for (const line of unfolded.split(/\r?\n/)) {
    const i = line.indexOf(':');
    if (i > 0 && line.slice(0, i).trim().toLowerCase() === name.toLowerCase()) out.push(line.slice(i + 1).trim());
  }
  return out;
}

/**
 * --cleanup: delete only this run's copies, proven per message. Each copy is
 * fetched again before anything is touched and deleted only when its
 * X-Inboxlens-Token header (the one inboxlens itself writes) equals this run's
 * token exactly: never on a subject or body match, never on a substring (IMAP
 * SEARCH HEADER matches substrings, so it only narrows, it does not prove).
 * Removal uses UID EXPUNGE (UIDPLUS), so no other message marked \Deleted is
 * expunged with it.
 */
export async function cleanupCopies(seeds: Seed[], result: CollectResult, token: string, maxConnectionsPerHost = DEFAULT_MAX_CONNECTIONS_PER_HOST, dns?: DnsClient): Promise<CleanupResult> {
  const out: CleanupResult = { deleted: 0, removed: [], skipped: [] };
  if (!RUN_TOKEN.test(token)) throw new Error(`refusing to clean up: '${token}' is not an inboxlens run token`);
  const foundAt = new Set(result.rows.filter((r) => r.folder).map((r) => r.seed));
  const slots = new HostSlots(maxConnectionsPerHost);
  const never = new AbortController().signal;
  await Promise.all(seeds.map(async (seed) => {
    if (seed.access.protocol !== 'imap') {
      if (foundAt.has(seed.address)) out.skipped.push({ seed: seed.address, reason: 'POP3 seed: inboxlens never deletes over POP3' });
      return;
    }
    const loc = result.locations.get(seed.address);
    if (!loc) return;
    let c;
    const release = (await slots.acquire(slotKey(seed.access.host, seed.access.port), never))!;
    try {
      c = await connectImap(await resolveAccess(seed.access, dns), await resolveAuth(seed));
      // imapflow only sends UID EXPUNGE when the server lists UIDPLUS; otherwise it would EXPUNGE everything marked \Deleted
      if (!c.capabilities.has('UIDPLUS')) {
        out.skipped.push({ seed: seed.address, reason: 'the server lacks UIDPLUS: deleting one message could expunge others marked \\Deleted' });
        return;
      }
      const lock = await c.getMailboxLock(loc.path);
      try {
        const msg = await c.fetchOne(String(loc.uid), { uid: true, headers: ['x-inboxlens-token', 'message-id'] }, { uid: true });
        const raw = msg && msg.headers ? msg.headers.toString('utf8') : '';
        const tokens = headerValues(raw, 'X-Inboxlens-Token');
        if (!msg || tokens.length !== 1 || tokens[0] !== token) {
          const why = !msg ? 'is gone' : !tokens.length ? 'carries no X-Inboxlens-Token header' : `carries X-Inboxlens-Token ${tokens.join(', ')}, not ${token}`;
          out.skipped.push({ seed: seed.address, reason: `UID ${loc.uid} in ${loc.path} ${why}: left in place` });
          return;
        }
        const messageId = headerValues(raw, 'Message-ID')[0];
        if (await c.messageDelete(String(loc.uid), { uid: true })) {
          out.deleted += 1;
          out.removed.push({ seed: seed.address, folder: loc.path, uid: loc.uid, ...(messageId ? { messageId } : {}) });
        } else out.skipped.push({ seed: seed.address, reason: `the server refused to delete UID ${loc.uid} in ${loc.path}` });
      } finally {
        lock.release();
      }
    } catch (e) {
      out.skipped.push({ seed: seed.address, reason: classifyImapError(e, `seed ${seed.address}`).message });
    } finally {
      if (c) {
        await Promise.race([c.logout().catch(() => {}), sleep(1000)]);
        c.close();
      }
      release();
    }
  }));
  out.removed.sort((a, b) => a.seed.localeCompare(b.seed));
  return out;
}
