// Watching one IMAP seed for its copy, on two connections and without mailbox
// locks (imapflow only idles when none is held): one EXAMINEs INBOX and IDLEs
// there; the other searches every other folder at an interval (INBOX too while
// its watcher is down) and IDLEs on the spam folder in between, so a copy filed
// into INBOX or spam is seen the moment the server announces it. IDLE alone is not
// trusted: some servers announce new mail during IDLE late or never (Cyrus without
// idled only every 60 s; a proxy may hold the untagged responses until the next
// command), so a folder watched with IDLE is also searched every idleRecheckMs.
// A dropped connection is reopened until the deadline; a login or TLS failure ends
// the seed at once with the reason.
import type { ImapFlow } from 'imapflow';
import type { DnsClient } from '../dns/resolver.ts';
import { HostResolveError, resolveAccess } from './hosts.ts';
import { accessTokenFor, AuthError } from './oauth.ts';
import { registerCredentials } from '../util/redact.ts';
import { classifyImapError, connectImap, within, discoverFolders, examine, gmailLabels, gmailTab, searchSelected, MailboxError, type FolderMap, type FoundMessage, type SeedFolder } from '../mailbox/imap.ts';
import { SlotKind, slotKey, type HostSlots } from './host-slots.ts';
import { IDLE_RECHECK_MS, type Matcher, type Seed } from './types.ts';

export interface WatchOptions {
  matcher: Matcher;
  /** poll interval for folders without IDLE (and POP3) */
  pollMs: number;
  /** use IDLE on INBOX and spam (false: the polling fallback for every folder) */
  idle: boolean;
  /**
   * a folder watched with IDLE is searched anyway this often (leaving IDLE for it),
   * whatever the server's IDLE announces; default IDLE_RECHECK_MS
   */
  idleRecheckMs?: number;
  /** stops the watch (deadline reached, bounce found, user abort) */
  signal: AbortSignal;
  /** the longest any one protocol step (login, SELECT, SEARCH, FETCH) may take; default 30 s */
  stepTimeoutMs?: number;
  /** connections per host:port (collect shares one among all seeds); none: unlimited */
  slots?: HostSlots;
  /** resolves the seed's host name (--resolver); none: the system resolver, at connect time */
  dns?: DnsClient;
  log?(message: string): void;
}

/** Why a seed that waited in line for a connection until the deadline was never checked. */
export function queuedTooLong(slots: HostSlots, host: string, port: number): string {
  return `not checked: the deadline came while it waited for a connection to ${host}:${port} (at most ${slots.max} at once per host, --max-connections)`;
}

/** The watch ended while this seed waited in line for a connection (its text names no secret: not redacted). */
class NotChecked extends Error {}

export interface Found {
  folder: SeedFolder;
  tab?: string;
  message: FoundMessage;
  seenAt: Date;
}

export interface WatchOutcome {
  found?: Found;
  error?: string;
  errorKind?: string;
  reconnects: number;
  /** every folder was searched at least once (so "not found" means missing, not unknown) */
  searched: boolean;
  /** the last connection problem, when the watch ended without a copy */
  lastError?: string;
  folders?: FolderMap;
  /** for --cleanup: how to reach the copy again */
  location?: { path: string; uid: number };
}

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const t = setTimeout(done, Math.max(0, ms));
    function done() {
      clearTimeout(t);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}

const backoff = (n: number) => Math.min(200 * 2 ** n, 3000);

/** The seed's credentials with a fresh OAuth2 token when it uses one. */
export async function resolveAuth(seed: Seed): Promise<{ user: string; pass?: string; accessToken?: string }> {
  const token = await accessTokenFor(seed.auth);
  if (token) registerCredentials(seed.auth.user, token);
  return token ? { user: seed.auth.user, accessToken: token } : { user: seed.auth.user, pass: seed.auth.pass };
}

/**
 * IDLE on the selected folder until `ms` pass, new mail arrives there, or the
 * watch stops. The next command (the search) ends the IDLE (imapflow sends DONE).
 */
function idleFor(c: ImapFlow, path: string, ms: number, signal: AbortSignal): Promise<'exists' | 'timeout'> {
  return new Promise((resolve) => {
    let done = false;
    let why: 'exists' | 'timeout' = 'timeout';
    const finish = () => {
      if (done) return;
      done = true;
      clearTimeout(t);
      c.off('exists', onExists);
      c.off('close', finish);
      signal.removeEventListener('abort', finish);
      resolve(why);
    };
    const onExists = (ev: { path: string }) => {
      if (ev.path !== path) return;
      why = 'exists';
      finish();
    };
    const t = setTimeout(finish, Math.max(0, ms));
    c.on('exists', onExists);
    c.once('close', finish);
    signal.addEventListener('abort', finish, { once: true });
    c.idle().catch(finish);
  });
}

export async function watchImapSeed(seed: Seed, o: WatchOptions): Promise<WatchOutcome> {
  const where = `seed ${seed.address} (IMAP ${seed.access.host}:${seed.access.port})`;
  const stop = new AbortController();
  const onAbort = () => stop.abort();
  o.signal.addEventListener('abort', onAbort, { once: true });
  if (o.signal.aborted) stop.abort();
  const clients = new Set<ImapFlow>();
  const healthyIdle = new Set<string>();
  const outcome: WatchOutcome = { reconnects: 0, searched: false };
  let claimed = false;

  const finish = (patch: Partial<WatchOutcome>) => {
    if (stop.signal.aborted && (outcome.found || outcome.error)) return;
    Object.assign(outcome, patch);
    stop.abort();
  };

  let auth: { user: string; pass?: string; accessToken?: string };
  let access: Seed['access'];
  try {
    auth = await resolveAuth(seed);
    // the host name resolves through the run's resolver; the connection goes to the address, TLS names the host
    access = await resolveAccess(seed.access, o.dns);
  } catch (e) {
    o.signal.removeEventListener('abort', onAbort);
    return { reconnects: 0, searched: false, error: `${where}: ${(e as Error).message}`, errorKind: e instanceof AuthError ? 'auth' : e instanceof HostResolveError ? 'network' : 'protocol' };
  }

  const stepMs = o.stepTimeoutMs ?? 30_000;
  // every command of a watch has a deadline, and the watch's end closes whatever is still waiting
  const step = <T>(c: ImapFlow, what: string, p: Promise<T>): Promise<T> => within(c, stepMs, what, p, stop.signal);
  const key = slotKey(seed.access.host, seed.access.port);
  const open = async (kind: SlotKind = outcome.searched ? SlotKind.Again : SlotKind.First): Promise<ImapFlow> => {
    // wait in line for one of the host's connections; the deadline may come first
    const release = o.slots ? await o.slots.acquire(key, stop.signal, kind) : () => {};
    if (!release) throw new NotChecked(queuedTooLong(o.slots!, seed.access.host, seed.access.port));
    let c: ImapFlow;
    try {
      c = await connectImap(access, auth, {}, { deadlineMs: stepMs, signal: stop.signal });
    } catch (e) {
      release();
      throw e;
    }
    clients.add(c);
    c.once('close', () => {
      clients.delete(c);
      release();
    });
    if (stop.signal.aborted) {
      c.close();
      throw new MailboxError('stopped', 'network');
    }
    return c;
  };

  /** A copy was found in `folder`: classify the folder precisely, then end the watch. */
  const report = async (c: ImapFlow, folder: SeedFolder, m: FoundMessage, folders: FolderMap) => {
    if (claimed) return;
    claimed = true;
    const seenAt = new Date();
    let where: SeedFolder = folder;
    let msg = m;
    let tab: string | undefined;
    try {
      if (folder.role === 'all') {
        // All Mail also holds what is in the inbox: say inbox when the copy is there too
        if (folders.gmail) {
          const labels = await step(c, 'FETCH X-GM-LABELS', gmailLabels(c, m.uid));
          if (labels?.has('\\Inbox')) {
            await step(c, `EXAMINE ${folders.inbox.path}`, examine(c, folders.inbox.path));
            const inInbox = await step(c, `SEARCH ${folders.inbox.path}`, searchSelected(c, o.matcher));
            if (inInbox) {
              where = folders.inbox;
              msg = inInbox;
            }
          }
        } else {
          await step(c, `EXAMINE ${folders.inbox.path}`, examine(c, folders.inbox.path));
          const inInbox = await step(c, `SEARCH ${folders.inbox.path}`, searchSelected(c, o.matcher));
          if (inInbox) {
            where = folders.inbox;
            msg = inInbox;
          }
        }
      }
      if (where.role === 'inbox' && folders.gmail) {
        await step(c, `EXAMINE ${where.path}`, examine(c, where.path));
        tab = await step(c, 'FETCH X-GM-LABELS', gmailTab(c, msg.uid));
      }
    } catch (e) {
      o.log?.(`${where.path}: could not refine the placement: ${(e as Error).message}`);
    }
    finish({ found: { folder: where, ...(tab ? { tab } : {}), message: msg, seenAt }, location: { path: where.path, uid: msg.uid } });
  };

  const recheckMs = Math.max(200, o.idleRecheckMs ?? IDLE_RECHECK_MS);
  const idleWatch = async (folder: SeedFolder, folders: FolderMap) => {
    let failures = 0;
    while (!stop.signal.aborted) {
      let c: ImapFlow | undefined;
      let recheck: NodeJS.Timeout | undefined;
      try {
        c = await open(SlotKind.Extra);
        await step(c, `EXAMINE ${folder.path}`, examine(c, folder.path));
        healthyIdle.add(folder.path);
        failures = 0;
        const closed = new Promise<void>((r) => c!.once('close', () => r()));
        let running = false;
        let dirty = true;
        const client = c;
        const kick = async () => {
          if (running) {
            dirty = true;
            return;
          }
          running = true;
          clearTimeout(recheck);
          try {
            while (dirty && !stop.signal.aborted) {
              dirty = false;
              // NOOP ends the IDLE and makes the server report what it held back (RFC 9051 §6.1.2)
              await step(client, `NOOP ${folder.path}`, client.noop());
              const m = await step(client, `SEARCH ${folder.path}`, searchSelected(client, o.matcher));
              if (m) {
                await report(client, folder, m, folders);
                return;
              }
            }
            if (!stop.signal.aborted) {
              // the server may never announce the copy during IDLE: leave IDLE and search again in a while
              recheck = setTimeout(() => {
                dirty = true;
                void kick();
              }, recheckMs);
              // IDLE ends by itself when the next command (a search) is issued
              client.idle().catch(() => {});
            }
          } catch {
            client.close();
          } finally {
            running = false;
          }
        };
        client.on('exists', (ev: { path: string }) => {
          if (ev.path === folder.path) {
            dirty = true;
            void kick();
          }
        });
        void kick();
        await Promise.race([closed, new Promise<void>((r) => stop.signal.addEventListener('abort', () => r(), { once: true }))]);
      } catch (e) {
        if (e instanceof NotChecked) break;
        const err = classifyImapError(e, where);
        // before the poll connection has logged in once, it reports such errors; stop here
        if ((err.kind === 'auth' || err.kind === 'tls') && !outcome.folders) return;
      } finally {
        clearTimeout(recheck);
        healthyIdle.delete(folder.path);
        if (c && !stop.signal.aborted) {
          c.close();
          outcome.reconnects++;
          o.log?.(`${seed.address}: IDLE connection on ${folder.path} dropped; reconnecting`);
        }
      }
      if (!stop.signal.aborted) await sleep(backoff(failures++), stop.signal);
    }
  };

  const pollLoop = async () => {
    let failures = 0;
    let folders: FolderMap | undefined;
    let idleStarted = false;
    let firstPass = true;
    // gave the connection up for others waiting for this host: back for the next poll then
    let resumeAt = 0;
    while (!stop.signal.aborted) {
      if (resumeAt) {
        await sleep(resumeAt - Date.now(), stop.signal);
        resumeAt = 0;
        if (stop.signal.aborted) break;
      }
      let c: ImapFlow | undefined;
      try {
        c = await open();
        folders ??= await step(c, 'LIST', discoverFolders(c, seed.provider, seed.folders));
        outcome.folders = folders;
        const fm = folders;
        // the IDLE connection is an extra one: not while other seeds wait for this host
        if (o.idle && !idleStarted && !o.slots?.contended(key)) {
          idleStarted = true;
          void idleWatch(fm.inbox, fm);
        }
        // this connection idles on the spam folder between polls: two connections per seed in all
        const idleHere = o.idle ? fm.junk : undefined;
        failures = 0;
        while (!stop.signal.aborted) {
          const cycleStart = Date.now();
          // first pass: everything (the copy may already be there); then what no IDLE watcher covers,
          // the spam folder last so it is still selected for the IDLE that follows
          const targets = fm.folders.filter((f) => firstPass || !healthyIdle.has(f.path)).sort((a, b) => Number(a === idleHere) - Number(b === idleHere));
          for (const f of targets) {
            if (stop.signal.aborted) break;
            // still selected (the spam folder it idled on): NOOP ends that IDLE and brings the news EXAMINE would
            if (c.mailbox && c.mailbox.path === f.path) await step(c, `NOOP ${f.path}`, c.noop());
            else await step(c, `EXAMINE ${f.path}`, examine(c, f.path));
            const m = await step(c, `SEARCH ${f.path}`, searchSelected(c, o.matcher));
            if (m) {
              await report(c, f, m, fm);
              break;
            }
          }
          if (firstPass && !stop.signal.aborted) outcome.searched = true;
          firstPass = false;
          delete outcome.lastError;
          if (stop.signal.aborted) break;
          // other seeds wait for a connection to this host: log out until the next poll
          if (o.slots?.contended(key)) {
            resumeAt = cycleStart + o.pollMs;
            break;
          }
          // the rest of the poll interval: IDLE on spam, searching it at once when it announces new mail
          const until = cycleStart + o.pollMs;
          while (!stop.signal.aborted && Date.now() < until) {
            if (idleHere && c.mailbox && c.mailbox.path === idleHere.path) {
              if ((await idleFor(c, idleHere.path, until - Date.now(), stop.signal)) === 'exists') {
                const m = await step(c, `SEARCH ${idleHere.path}`, searchSelected(c, o.matcher));
                if (m) await report(c, idleHere, m, fm);
              }
            } else {
              await sleep(until - Date.now(), stop.signal);
            }
          }
        }
      } catch (e) {
        if (e instanceof NotChecked) {
          // never searched: the line, not the server, is why nothing is known
          if (!outcome.searched) outcome.lastError = `${where}: ${e.message}`;
          break;
        }
        const err = classifyImapError(e, where);
        if (stop.signal.aborted) {
          // the deadline came mid-step: that step is why nothing is known
          if (!outcome.searched && err.kind === 'timeout') outcome.lastError = `${where}: ${err.message}`;
          break;
        }
        // fatal only before the first successful session: a server restarting refuses logins for a moment
        if (!folders && (err.kind === 'auth' || err.kind === 'tls' || err.kind === 'protocol')) {
          finish({ error: err.message, errorKind: err.kind });
          break;
        }
        outcome.reconnects++;
        outcome.lastError = err.message;
        o.log?.(`${err.message}; reconnecting`);
        await sleep(backoff(failures++), stop.signal);
      } finally {
        if (c) {
          const cl = c;
          // LOGOUT politely but never wait long for it
          await Promise.race([cl.logout().catch(() => {}), sleep(1000)]);
          cl.close();
        }
      }
    }
  };

  try {
    await pollLoop();
  } finally {
    o.signal.removeEventListener('abort', onAbort);
    await Promise.all([...clients].map(async (c) => {
      await Promise.race([c.logout().catch(() => {}), sleep(1000)]);
      c.close();
    }));
  }
  return outcome;
}
