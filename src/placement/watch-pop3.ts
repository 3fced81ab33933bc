// Watching one POP3 seed. POP3 shows a snapshot of the maildrop per session, so
// each poll is a short session: log in, UIDL, TOP 0 on messages not seen before
// (newest first), and TOP of the whole message for the one that matches. Never
// RETR, never DELE. Gmail's POP needs the `recent:` login prefix to show mail it
// already served; for Gmail a copy found means "not spam", not "inbox".
import { Pop3Client, Pop3Error } from '../mailbox/pop3.ts';
import { headerMatches, MAX_SOURCE_BYTES } from '../mailbox/imap.ts';
import { queuedTooLong, resolveAuth, sleep, type WatchOptions, type WatchOutcome } from './watch-imap.ts';
import { SlotKind, slotKey } from './host-slots.ts';
import type { Seed } from './types.ts';
import { resolveAccess } from './hosts.ts';

const backoff = (n: number) => Math.min(200 * 2 ** n, 3000);

/** Gmail POP: `recent:user` lists the last 30 days, including what another client already downloaded. */
export function pop3User(seed: Seed): string {
  const u = seed.auth.user;
  return seed.provider === 'gmail' && !/^recent:/i.test(u) ? `recent:${u}` : u;
}

export async function watchPop3Seed(seed: Seed, o: WatchOptions): Promise<WatchOutcome> {
  const where = `seed ${seed.address} (POP3 ${seed.access.host}:${seed.access.port})`;
  const outcome: WatchOutcome = { reconnects: 0, searched: false };
  const checked = new Set<string>();
  let failures = 0;
  let loggedIn = false;
  let auth: { user: string; pass?: string; accessToken?: string };
  try {
    auth = await resolveAuth(seed);
  } catch (e) {
    return { reconnects: 0, searched: false, error: `${where}: ${(e as Error).message}`, errorKind: 'auth' };
  }
  let access: Seed['access'];
  try {
    // the host name resolves through the run's resolver; the connection goes to the address, TLS names the host
    access = await resolveAccess(seed.access, o.dns);
  } catch (e) {
    return { reconnects: 0, searched: false, error: `${where}: ${(e as Error).message}`, errorKind: 'network' };
  }
  const user = pop3User(seed);
  const key = slotKey(seed.access.host, seed.access.port);
  while (!o.signal.aborted) {
    const cycleStart = Date.now();
    let c: Pop3Client | undefined;
    // one session at a time per host slot: wait in line for it, the deadline may come first
    const release = o.slots ? await o.slots.acquire(key, o.signal, outcome.searched ? SlotKind.Again : SlotKind.First) : () => {};
    if (!release) {
      if (!outcome.searched) outcome.lastError = `${where}: ${queuedTooLong(o.slots!, seed.access.host, seed.access.port)}`;
      break;
    }
    try {
      c = await Pop3Client.connect({
        host: access.host,
        port: access.port,
        secure: access.secure,
        allowPlaintext: access.allowPlaintext,
        insecure: access.insecure,
        ...(access.ca ? { ca: access.ca } : {}),
        ...(access.servername ? { servername: access.servername } : {}),
        ...(o.stepTimeoutMs ? { timeoutMs: o.stepTimeoutMs } : {}),
        signal: o.signal,
      });
      const onAbort = () => c?.close();
      o.signal.addEventListener('abort', onAbort, { once: true });
      try {
        await c.login(user, auth.accessToken ? { accessToken: auth.accessToken } : { pass: auth.pass });
        loggedIn = true;
        const ids = await c.uidl();
        const sizes = new Map((await c.list()).map((x) => [x.n, x.size]));
        // new copies are at the end of the maildrop: look there first
        for (const { n, uid } of [...ids].reverse()) {
          if (o.signal.aborted) break;
          if (checked.has(uid)) continue;
          const head = await c.top(n, 0);
          if (headerMatches(head.toString('utf8'), o.matcher)) {
            const seenAt = new Date();
            const size = sizes.get(n);
            const source = size !== undefined && size > MAX_SOURCE_BYTES ? head : await c.top(n, 1_000_000_000);
            outcome.found = { folder: { path: 'INBOX', role: 'inbox' }, message: { uid: n, ...(size !== undefined ? { size } : {}), source, copies: 1 }, seenAt };
            break;
          }
          checked.add(uid);
        }
        outcome.searched = true;
        delete outcome.lastError;
        failures = 0;
        await c.quit().catch(() => {});
      } finally {
        o.signal.removeEventListener('abort', onAbort);
      }
      // QUIT closed the session: its slot goes to the next in line
      release();
      if (outcome.found) break;
    } catch (e) {
      c?.close();
      release();
      if (o.signal.aborted) {
        // the deadline came mid-step: that step is why nothing is known
        const last = c?.transcript.at(-1)?.split(' ')[0];
        if (!outcome.searched) outcome.lastError = `${where}: ${last ? `${last}: ` : ''}the server had not answered when the watch ended`;
        break;
      }
      const err = e instanceof Pop3Error ? e : new Pop3Error(`${(e as Error).message}`, 'protocol');
      const msg = `${where}: ${err.message.replace(/^POP3 [^:]+:\d+: /, '')}`;
      // a refused login or an untrusted certificate will not fix itself by retrying, unless the
      // same login worked minutes ago (a server restarting refuses logins for a moment)
      if ((err.kind === 'auth' || err.kind === 'tls') && !loggedIn) {
        outcome.error = msg;
        outcome.errorKind = err.kind;
        break;
      }
      outcome.reconnects++;
      outcome.lastError = msg;
      o.log?.(`${msg}; retrying`);
      await sleep(backoff(failures++), o.signal);
      continue;
    }
    await sleep(o.pollMs - (Date.now() - cycleStart), o.signal);
  }
  return outcome;
}
