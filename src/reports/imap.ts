// `reports import --imap URL`: read a report mailbox read-only — EXAMINE and
// BODY.PEEK[] (imapflow's `source`), so no flag changes and nothing moves —
// and import every report found. Only with --move, and only for the messages
// whose reports were stored, are messages moved: by UID MOVE, or, on a server
// with UIDPLUS but no MOVE, by COPY + \Deleted + UID EXPUNGE of exactly those
// UIDs. A server with neither is refused before anything is read, because the
// plain COPY + EXPUNGE fallback would expunge every \Deleted message in the folder.
import type { ImapFlow } from 'imapflow';
import { connectImap, within, classifyImapError } from '../mailbox/imap.ts';
import type { Access } from '../placement/types.ts';
import { UsageError } from '../util/errors.ts';
import { readInputFile, INPUT_LIMITS } from '../util/read-input.ts';
import { registerCredentials, registerSecret } from '../util/redact.ts';
import { isLoopback } from '../smtp/submit.ts';
import { unpack, DEFAULT_LIMITS, type MailVerifier } from './unpack.ts';
import { record, type ImportSummary } from './import.ts';
import type { ReportStore } from './store.ts';

export interface ImapPlan {
  access: Access;
  auth: { user: string; pass: string };
  folder: string;
  move?: string;
  /** for messages and errors: imaps://user@host:port/Folder (no password, ever) */
  label: string;
}

const PASS_VAR = 'INBOXLENS_IMAP_PASS';

export function parseImapUrl(spec: string, o: { plaintext?: boolean; ca?: string; insecure?: boolean; move?: string } = {}, env: NodeJS.ProcessEnv = process.env): ImapPlan {
  let u: URL;
  try {
    u = new URL(spec);
  } catch {
    throw new UsageError(`--imap: '${spec}' is not a URL (use imaps://user@host[:port]/Folder, or imap:// for STARTTLS)`);
  }
  if (u.password) {
    registerSecret(u.password);
    registerSecret(decodeURIComponent(u.password));
    throw new UsageError(`--imap: do not put the password in the URL (it ends up in shell history and process lists); set ${PASS_VAR} in the environment (or secrets: in the config) instead`);
  }
  if (u.protocol !== 'imap:' && u.protocol !== 'imaps:') throw new UsageError(`--imap: '${u.protocol}' is not supported; use imaps:// (implicit TLS, port 993) or imap:// (STARTTLS, port 143)`);
  const secure = u.protocol === 'imaps:';
  const host = u.hostname.replace(/^\[|\]$/g, '');
  if (!host) throw new UsageError('--imap: the URL names no host (e.g. imaps://dmarc@mail.example.com/INBOX)');
  const user = decodeURIComponent(u.username);
  if (!user) throw new UsageError('--imap: the URL names no user (imaps://USER@host/Folder)');
  if (o.plaintext && secure) throw new UsageError('--imap-plaintext is for imap:// (it allows a login without STARTTLS); imaps:// is always TLS');
  if (o.plaintext && !(isLoopback(host) || host === 'localhost')) throw new UsageError(`--imap-plaintext: ${host} is not on loopback; a password is only sent without TLS to a lab on 127.0.0.1 or ::1`);
  const pass = env[PASS_VAR];
  if (!pass) throw new UsageError(`--imap: the URL names user '${user}' but ${PASS_VAR} is not set; export the password as ${PASS_VAR} (or map it in the config's secrets:)`);
  registerCredentials(user, pass);
  const folder = decodeURIComponent(u.pathname.replace(/^\//, '')) || 'INBOX';
  if (o.move !== undefined && (!o.move.trim() || o.move === folder)) throw new UsageError(`--move: give another folder than the one read (${folder})`);
  const port = u.port ? Number(u.port) : secure ? 993 : 143;
  const ca = o.ca ? readInputFile(o.ca, { what: '--imap-ca', maxBytes: INPUT_LIMITS.pem, encoding: 'utf8' }) : undefined;
  if (ca !== undefined && !ca.includes('-----BEGIN CERTIFICATE-----')) throw new UsageError(`--imap-ca: '${o.ca}' holds no PEM certificate`);
  return {
    access: { protocol: 'imap', host, port, secure, insecure: Boolean(o.insecure), allowPlaintext: Boolean(o.plaintext), ...(ca ? { ca } : {}) },
    auth: { user, pass },
    folder,
    ...(o.move ? { move: o.move } : {}),
    label: `${u.protocol}//${user}@${host.includes(':') ? `[${host}]` : host}:${port}/${folder}`,
  };
}

export interface ImapImportOptions {
  store: ReportStore;
  verify?: MailVerifier;
  summary: ImportSummary;
  progress?: (message: string) => void;
  /** per protocol step (default 60 s) */
  stepTimeoutMs?: number;
}

/** Can this server move only the given messages? MOVE (RFC 6851), or UIDPLUS's UID EXPUNGE (RFC 4315). */
export function canMoveSafely(caps: Map<string, unknown> | Set<string>): boolean {
  return caps.has('MOVE') || caps.has('UIDPLUS');
}

export async function importImap(plan: ImapPlan, o: ImapImportOptions): Promise<{ moved?: { moved: number; folder: string } }> {
  const step = o.stepTimeoutMs ?? 60_000;
  const where = `--imap ${plan.label}`;
  let client: ImapFlow;
  try {
    client = await connectImap(plan.access, plan.auth);
  } catch (e) {
    throw new UsageError(`${where}: ${(e as Error).message}`);
  }
  try {
    if (plan.move) {
      if (!canMoveSafely(client.capabilities)) throw new UsageError(`--move: ${plan.access.host} supports neither MOVE nor UIDPLUS, so the only way to move would be COPY + EXPUNGE, which expunges every message marked \\Deleted in ${plan.folder}, not only the reports; nothing was read or moved (import without --move, then file the reports by hand)`);
      const list = await within(client, step, 'LIST', client.list());
      if (!list.some((l) => l.path === plan.move)) throw new UsageError(`--move: the folder '${plan.move}' does not exist on ${plan.access.host} (create it first; inboxlens does not create folders); nothing was read or moved`);
    }
    // EXAMINE: the folder opens read-only, so nothing in it can change while reports are read
    try {
      await within(client, step, `EXAMINE ${plan.folder}`, client.mailboxOpen(plan.folder, { readOnly: true }));
    } catch (e) {
      throw new UsageError(`${where}: cannot open the folder '${plan.folder}': ${(e as Error).message}`);
    }
    const uidValidity = client.mailbox ? String(client.mailbox.uidValidity) : '';
    const uids = client.mailbox && client.mailbox.exists ? ((await within(client, step, 'UID SEARCH ALL', client.search({ all: true }, { uid: true }))) || []) : [];
    const movable: number[] = [];
    try {
      await readAll(client, plan, o, uids, movable, step);
    } catch (e) {
      // the reports read so far are stored; the rest of the folder is a problem the summary names
      o.summary.problems.push({ where: plan.label, kind: 'imap-error', message: `reading the folder stopped: ${classifyImapError(e, 'IMAP').message}; the reports read before are imported, run the import again for the rest` });
      return {};
    }
    if (!plan.move) return {};
    if (!movable.length) return { moved: { moved: 0, folder: plan.move } };
    // only now, for the move, the folder is selected read-write
    const notMoved = (why: string) => {
      o.summary.problems.push({ where: plan.label, kind: 'move-failed', message: `${why}; the ${movable.length} imported message(s) stay in ${plan.folder} (their reports are imported)` });
      return { moved: { moved: 0, folder: plan.move! } };
    };
    await within(client, step, `SELECT ${plan.folder}`, client.mailboxOpen(plan.folder));
    // the UIDs were read in the EXAMINE session: with another UIDVALIDITY they would name other messages
    if (!client.mailbox || String(client.mailbox.uidValidity) !== uidValidity) return notMoved(`the folder's UIDVALIDITY changed while it was read, so its UIDs no longer name the same messages: nothing was moved`);
    const ok = await within(client, step * 5, `UID MOVE to ${plan.move}`, client.messageMove(movable.join(','), plan.move, { uid: true }));
    if (!ok) return notMoved(`the server refused to move them to ${plan.move}`);
    return { moved: { moved: movable.length, folder: plan.move } };
  } catch (e) {
    if (e instanceof UsageError) throw e;
    throw new UsageError(classifyImapError(e, where).message);
  } finally {
    await client.logout().catch(() => client.close());
  }
}

async function readAll(client: ImapFlow, plan: ImapPlan, o: ImapImportOptions, uids: number[], movable: number[], step: number): Promise<void> {
  const limits = DEFAULT_LIMITS;
    // in batches: the sources of a big mailbox are never all in memory at once
    for (let i = 0; i < uids.length; i += 50) {
      const batch = uids.slice(i, i + 50);
      o.progress?.(`reports import: ${plan.label}: message ${i + 1}–${i + batch.length} of ${uids.length}`);
      const msgs: { uid: number; source: Buffer }[] = [];
      await within(
        client,
        step * 5,
        'UID FETCH BODY.PEEK[]',
        (async () => {
          for await (const m of client.fetch(batch.join(','), { uid: true, source: true }, { uid: true })) if (m.source) msgs.push({ uid: m.uid, source: m.source });
        })(),
      );
      o.store.begin();
      try {
        for (const m of msgs) {
          const name = `${plan.label} UID ${m.uid}`;
          const res = await unpack(m.source, name, { limits, source: name, ...(o.verify ? { verify: o.verify } : {}) });
          // a message that is no report (a welcome mail, a bounce) is left alone, not an error of the import
          const notReport = res.found.length === 0 && res.problems.length > 0 && res.problems.every((p) => p.kind === 'not-a-report');
          if (notReport) {
            o.summary.skipped.push(...res.problems);
            o.summary.messages += res.messages.length;
            continue;
          }
          const saved = record(res, o.store, o.summary);
          if (saved.length && !res.problems.length && saved.every((s) => s.outcome !== 'conflict')) movable.push(m.uid);
        }
        o.store.commit();
      } catch (e) {
        o.store.rollback();
        throw e;
      }
    }
}
