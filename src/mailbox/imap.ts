// Read-only IMAP access to a seed mailbox with imapflow: connect with verified TLS
// (STARTTLS required unless the seed allows plaintext), find the folders that
// matter by special-use attribute first and by provider names as a fallback, and
// search/fetch with EXAMINE and BODY.PEEK so nothing in the mailbox changes.
import { ImapFlow, type ImapFlowOptions, type ListResponse, type SearchObject } from 'imapflow';
import { redact } from '../util/redact.ts';
import { GMAIL_TABS, type Access, type FolderOverrides, type Matcher, type Provider } from '../placement/types.ts';

export type FolderRole = 'inbox' | 'junk' | 'all' | 'trash' | 'tab' | 'other';

export interface SeedFolder {
  path: string;
  role: FolderRole;
  /** for role 'tab': promotions, social, updates, forums */
  tab?: string;
  specialUse?: string;
}

export interface FolderMap {
  folders: SeedFolder[];
  inbox: SeedFolder;
  junk?: SeedFolder;
  all?: SeedFolder;
  /** the server has Gmail's extensions (X-GM-RAW, X-GM-LABELS) */
  gmail: boolean;
  /** folders not searched (Sent, Drafts, unselectable ones), with why */
  skipped: { path: string; why: string }[];
}

export class MailboxError extends Error {
  readonly kind: 'auth' | 'tls' | 'network' | 'timeout' | 'protocol';
  constructor(message: string, kind: MailboxError['kind']) {
    super(redact(message));
    this.name = 'MailboxError';
    this.kind = kind;
  }
}

/** Fallback names when a server marks no special use (localised names vary: these are the common ones). */
const JUNK_NAMES: Record<Provider, string[]> = {
  gmail: ['[Gmail]/Spam', '[Google Mail]/Spam', 'Spam'],
  outlook: ['Junk Email', 'Junk E-mail', 'Junk'],
  yahoo: ['Bulk Mail', 'Bulk', 'Spam'],
  icloud: ['Junk'],
  generic: ['Junk', 'Spam', 'Bulk', 'Junk Email', 'Bulk Mail', 'INBOX.Junk', 'INBOX.Spam', 'INBOX/Junk', 'INBOX/Spam'],
};
/**
 * Localized spam-folder names, matched on the name of a top-level folder or a
 * direct child of INBOX (Courier-style `INBOX.` namespaces), case-insensitively,
 * when nothing above matched: imapflow's list of localized names (its
 * name-derived special use) first, then these, which it lacks (German servers
 * and clients: "Unerwünscht", GMX/WEB.DE "Spamverdacht").
 */
const LOCALIZED_JUNK = ['unerwünscht', 'spamverdacht', 'spam-verdacht', 'junk-e-mail', 'junk', 'spam'];
const ALL_NAMES = ['[Gmail]/All Mail', '[Google Mail]/All Mail'];
const TRASH_NAMES = ['Trash', 'Deleted Items', 'Deleted Messages', '[Gmail]/Trash', '[Google Mail]/Trash', '[Gmail]/Bin', '[Google Mail]/Bin'];
const SKIP_USES = new Set(['\\Sent', '\\Drafts', '\\Flagged', '\\Important']);
const SKIP_NAMES = new Set(['sent', 'sent items', 'sent messages', 'sent mail', 'drafts', 'outbox', '[gmail]/sent mail', '[google mail]/sent mail', '[gmail]/drafts', '[google mail]/drafts', '[gmail]/starred', '[gmail]/important']);

/** The longest response line accepted (a SEARCH of many UIDs is the long one in practice). */
export const MAX_LINE = 256 * 1024;
/** The largest literal (one message source) accepted. */
export const MAX_LITERAL = 40 * 1024 * 1024;
/** How long connect, TLS and login may take together, unless the caller says otherwise. */
export const CONNECT_DEADLINE_MS = 30_000;

export function imapOptions(access: Access, auth: { user: string; pass?: string; accessToken?: string }, extra: Partial<ImapFlowOptions> = {}): ImapFlowOptions {
  return {
    host: access.host,
    port: access.port,
    secure: access.secure,
    // secure: false means STARTTLS, required; only an allowPlaintext seed may continue without it
    ...(access.secure ? {} : access.allowPlaintext ? {} : { doSTARTTLS: true }),
    ...(access.servername ? { servername: access.servername } : {}),
    auth: auth.accessToken ? { user: auth.user, accessToken: auth.accessToken } : { user: auth.user, pass: auth.pass ?? '' },
    tls: {
      rejectUnauthorized: !access.insecure,
      minVersion: 'TLSv1.2',
      ...(access.ca ? { ca: access.ca } : {}),
    },
    logger: false,
    // what real servers send: short lines, a message of at most a few tens of MB (a 25 MB
    // attachment limit grows by a third in base64). imapflow's own defaults are 1 GiB, so a
    // hostile server's endless line would grow the process that far before it is refused.
    maxLineLength: MAX_LINE,
    maxLiteralSize: MAX_LITERAL,
    maxResponseSize: MAX_LITERAL + MAX_LINE,
    disableAutoIdle: true,
    connectionTimeout: 15_000,
    greetingTimeout: 15_000,
    socketTimeout: 5 * 60_000,
    clientInfo: { name: 'inboxlens' },
    ...extra,
  };
}

/** Sort an imapflow/socket error into what the user has to fix. */
export function classifyImapError(e: unknown, where: string): MailboxError {
  if (e instanceof MailboxError) {
    // say whose mailbox it was: a host:port (several seeds share one) or a bare step is not enough
    if (e.message.startsWith(where)) return e;
    const host = /^IMAP (\S+):(\d+): /.exec(e.message);
    if (host && where.includes(`IMAP ${host[1]}:${host[2]}`)) return new MailboxError(`${where}: ${e.message.slice(host[0].length)}`, e.kind);
    // connected by the address the host name resolved to: keep the address
    if (host && /\(IMAP \S+:\d+\)$/.test(where)) return new MailboxError(`${where} [${host[1]}]: ${e.message.slice(host[0].length)}`, e.kind);
    return new MailboxError(`${where}: ${e.message}`, e.kind);
  }
  const err = e as any;
  const code = String(err?.code ?? '');
  const text = [err?.responseText, err?.message].filter(Boolean).join(': ') || String(e);
  // RFC 5530 UNAVAILABLE: "temporary failure", e.g. a server restarting its authentication
  if (err?.serverResponseCode === 'UNAVAILABLE' || /\bBYE\b.*shutting down/i.test(text)) return new MailboxError(`${where}: the server is temporarily unavailable (${text})`, 'network');
  if (err?.authenticationFailed || code === 'AUTHENTICATIONFAILED' || err?.serverResponseCode === 'AUTHENTICATIONFAILED') {
    return new MailboxError(`${where}: login refused (${err?.responseText || err?.serverResponseCode || 'authentication failed'}): check the seed's user and password / app password / token`, 'auth');
  }
  if (err?.tlsFailed || /CERT|SELF_SIGNED|DEPTH_ZERO|UNABLE_TO_VERIFY|ERR_TLS|ERR_SSL/.test(code) || /certificate|self.signed|altnames/i.test(text)) {
    return new MailboxError(`${where}: TLS failed: ${code && !text.includes(code) ? `${code} ` : ''}${text} (give the seed a ca: file for a private CA; insecure: true skips verification)`, 'tls');
  }
  if (/STARTTLS/i.test(text) && /support|offer|required/i.test(text)) return new MailboxError(`${where}: the server offers no STARTTLS, so the login was not attempted (use secure: true, or allowPlaintext: true for a lab)`, 'tls');
  if (code === 'LineTooLarge' || code === 'LiteralTooLarge' || code === 'ResponseTooLarge' || /exceeds maximum allowed size/i.test(text)) {
    return new MailboxError(`${where}: the server sent a response larger than inboxlens accepts (${text.slice(0, 200)})`, 'protocol');
  }
  if (/TIMEOUT/.test(code) || code === 'ETIMEDOUT') return new MailboxError(`${where}: timed out (${code})`, 'timeout');
  if (/^E[A-Z]+$/.test(code) || code === 'NoConnection' || code === 'EConnectionClosed' || /closed|ECONNRESET|EPIPE/i.test(text)) {
    return new MailboxError(`${where}: ${code ? `${code}: ` : ''}${err?.message ?? String(e)}`, 'network');
  }
  return new MailboxError(`${where}: ${code ? `${code}: ` : ''}${text}`, 'protocol');
}

export interface ConnectLimits {
  /** connect, greeting, STARTTLS and login together (default CONNECT_DEADLINE_MS) */
  deadlineMs?: number;
  /** abandons the attempt (the watch stopped) */
  signal?: AbortSignal;
}

/**
 * Connect and log in. imapflow bounds the TCP connect and the greeting, but not
 * the login: a server that accepts AUTHENTICATE and never answers would hold the
 * attempt until its 5-minute socket timeout. So the whole attempt has a deadline.
 */
export async function connectImap(access: Access, auth: { user: string; pass?: string; accessToken?: string }, extra: Partial<ImapFlowOptions> = {}, limits: ConnectLimits = {}): Promise<ImapFlow> {
  const ms = limits.deadlineMs ?? CONNECT_DEADLINE_MS;
  const client = new ImapFlow(imapOptions(access, auth, { connectionTimeout: Math.min(15_000, ms), greetingTimeout: Math.min(15_000, ms), ...extra }));
  // an error event without a listener would crash the process; failures surface through the awaited calls
  client.on('error', () => {});
  const where = `IMAP ${access.host}:${access.port}`;
  try {
    await within(client, ms, 'connecting and logging in', client.connect(), limits.signal);
  } catch (e) {
    client.close();
    throw e instanceof MailboxError ? new MailboxError(`${where}: ${e.message}`, e.kind) : classifyImapError(e, where);
  }
  return client;
}

/**
 * One protocol step with a deadline: when the server has not answered within
 * `ms` (or `signal` fires), the connection is closed, which fails the command.
 */
export async function within<T>(client: ImapFlow, ms: number, step: string, p: Promise<T>, signal?: AbortSignal): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  let onAbort: (() => void) | undefined;
  const guard = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      client.close();
      reject(new MailboxError(`${step}: the server did not answer within ${fmtSeconds(ms)}`, 'timeout'));
    }, ms);
    if (signal) {
      onAbort = () => {
        client.close();
        reject(new MailboxError(`${step}: the server had not answered when the watch ended`, 'timeout'));
      };
      if (signal.aborted) onAbort();
      else signal.addEventListener('abort', onAbort, { once: true });
    }
  });
  p.catch(() => {}); // closing the client rejects it: that rejection is the guard's to report
  try {
    return await Promise.race([p, guard]);
  } finally {
    clearTimeout(timer);
    if (onAbort) signal!.removeEventListener('abort', onAbort);
  }
}

function fmtSeconds(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000} s` : `${(ms / 1000).toFixed(1)} s`;
}

function lastSegment(l: ListResponse): string {
  return l.name || l.path.split(l.delimiter || '/').pop() || l.path;
}

/** Work out which folder is which: overrides, then special-use, then names. */
export function mapFolders(list: ListResponse[], provider: Provider, overrides: FolderOverrides = {}, gmail = false): FolderMap {
  const selectable = list.filter((l) => !l.flags.has('\\Noselect') && !l.flags.has('\\NonExistent'));
  const skipped: FolderMap['skipped'] = list.filter((l) => !selectable.includes(l)).map((l) => ({ path: l.path, why: 'not selectable' }));
  const byPath = new Map(selectable.map((l) => [l.path, l]));
  const byLower = new Map(selectable.map((l) => [l.path.toLowerCase(), l]));
  const find = (name?: string) => (name ? byPath.get(name) ?? byLower.get(name.toLowerCase()) : undefined);
  const use = (u: string) => selectable.find((l) => l.specialUse === u && (l as any).specialUseSource !== 'name') ?? selectable.find((l) => l.flags.has(u));
  const byNames = (names: string[]) => names.map((n) => find(n)).find(Boolean);

  const inboxL = find(overrides.inbox) ?? find('INBOX');
  // a top-level folder, or one right under INBOX (INBOX.Unerwünscht, INBOX/Spam)
  const shallow = selectable.filter((l) => {
    const segs = l.path.split(l.delimiter || '/');
    return segs.length === 1 || (segs.length === 2 && segs[0]!.toUpperCase() === 'INBOX');
  });
  const byLocalName = () => shallow.find((l) => l.specialUse === '\\Junk' && l.path.toUpperCase() !== 'INBOX')
    ?? shallow.find((l) => LOCALIZED_JUNK.includes(lastSegment(l).normalize('NFC').toLowerCase()));
  const junkL = find(overrides.junk) ?? use('\\Junk') ?? byNames(JUNK_NAMES[provider]) ?? byNames(JUNK_NAMES.generic) ?? byLocalName();
  const allL = find(overrides.all) ?? use('\\All') ?? (provider === 'gmail' ? byNames(ALL_NAMES) : undefined);
  const trashL = find(overrides.trash) ?? use('\\Trash') ?? byNames(TRASH_NAMES);
  const tabPaths = new Map<string, string>();
  for (const [tab, p] of Object.entries(overrides.tabs ?? {})) {
    const l = find(p);
    if (l) tabPaths.set(l.path, tab.toLowerCase());
  }
  if (provider === 'gmail' && !gmail) {
    // a Gmail-like server without X-GM-RAW (a lab, an archive copy) may model tabs as folders
    for (const l of selectable) {
      const seg = lastSegment(l).toLowerCase();
      if ((GMAIL_TABS as readonly string[]).includes(seg) && seg !== 'primary' && !tabPaths.has(l.path)) tabPaths.set(l.path, seg);
    }
  }
  const skipSet = new Set((overrides.skip ?? []).map((s) => s.toLowerCase()));
  const folders: SeedFolder[] = [];
  if (!inboxL) throw new MailboxError('the server lists no INBOX', 'protocol');
  for (const l of selectable) {
    const base = { path: l.path, ...(l.specialUse ? { specialUse: l.specialUse } : {}) };
    if (l === inboxL) folders.push({ ...base, role: 'inbox' });
    else if (l === junkL) folders.push({ ...base, role: 'junk' });
    else if (l === allL) folders.push({ ...base, role: 'all' });
    else if (tabPaths.has(l.path)) folders.push({ ...base, role: 'tab', tab: tabPaths.get(l.path)! });
    else if (skipSet.has(l.path.toLowerCase())) skipped.push({ path: l.path, why: 'skipped by the seed (folders.skip)' });
    else if ((l.specialUse && SKIP_USES.has(l.specialUse)) || SKIP_NAMES.has(l.path.toLowerCase())) skipped.push({ path: l.path, why: `${l.specialUse ?? 'sent/drafts'} folder` });
    else if (l === trashL) folders.push({ ...base, role: 'trash' });
    else folders.push({ ...base, role: 'other' });
  }
  const inbox = folders.find((f) => f.role === 'inbox')!;
  return {
    folders,
    inbox,
    ...(junkL ? { junk: folders.find((f) => f.path === junkL.path) } : {}),
    ...(allL ? { all: folders.find((f) => f.path === allL.path) } : {}),
    gmail,
    skipped,
  };
}

export async function discoverFolders(client: ImapFlow, provider: Provider, overrides?: FolderOverrides): Promise<FolderMap> {
  const list = await client.list();
  return mapFolders(list, provider, overrides, client.capabilities.has('X-GM-EXT-1'));
}

/** The SEARCH queries for a matcher, most precise first (the token header, then the subject that repeats it). */
export function searchQueries(m: Matcher): SearchObject[] {
  const since = m.since ? { since: new Date(m.since.getTime() - 24 * 3600_000) } : {};
  if (m.token) return [{ header: { 'X-Inboxlens-Token': m.token } }, { subject: m.token }];
  const q: SearchObject = { ...since };
  if (m.header) q.header = { [m.header.name]: m.header.value };
  if (m.subject) q.subject = m.subject;
  if (m.from) q.from = m.from;
  return [q];
}

/** Does this message (its header block) really match? IMAP SEARCH is substring and case-insensitive. */
export function headerMatches(headers: string, m: Matcher, internalDate?: Date): boolean {
  const unfolded = headers.replace(/\r?\n[ \t]+/g, ' ');
  const field = (name: string) => {
    const re = new RegExp(`^${name.replace(/[-]/g, '\\-')}:[ \\t]*(.*)$`, 'gim');
    return [...unfolded.matchAll(re)].map((x) => x[1]!.trim());
  };
  if (m.token) {
    return field('X-Inboxlens-Token').some((v) => v === m.token) || field('Subject').some((v) => v.includes(m.token!));
  }
  if (m.since && internalDate && internalDate.getTime() < m.since.getTime() - 60_000) return false;
  if (m.header && !field(m.header.name).some((v) => v.toLowerCase().includes(m.header!.value.toLowerCase()))) return false;
  if (m.subject && !field('Subject').some((v) => v.toLowerCase().includes(m.subject!.toLowerCase()))) return false;
  if (m.from && !field('From').some((v) => v.toLowerCase().includes(m.from!.toLowerCase()))) return false;
  return true;
}

export interface FoundMessage {
  uid: number;
  internalDate?: Date;
  size?: number;
  source?: Buffer;
  /** how many messages in the folder matched */
  copies: number;
}

/** Largest copy fetched whole for local re-verification; larger ones are read by header only. */
export const MAX_SOURCE_BYTES = 8 * 1024 * 1024;

/**
 * Search the selected folder (opened read-only by the caller) for the matcher's
 * copies; fetch the newest one that really matches. BODY.PEEK: no \Seen.
 */
export async function searchSelected(client: ImapFlow, m: Matcher): Promise<FoundMessage | undefined> {
  if (!client.mailbox || !client.mailbox.exists) return undefined;
  for (const q of searchQueries(m)) {
    const uids = await client.search(q, { uid: true });
    if (!uids || !uids.length) continue;
    const candidates: { uid: number; internalDate?: Date; size?: number }[] = [];
    for await (const msg of client.fetch(uids.join(','), { uid: true, internalDate: true, size: true, headers: true }, { uid: true })) {
      const idate = msg.internalDate ? new Date(msg.internalDate) : undefined;
      if (headerMatches(msg.headers?.toString('utf8') ?? '', m, idate)) candidates.push({ uid: msg.uid, ...(idate ? { internalDate: idate } : {}), ...(msg.size !== undefined ? { size: msg.size } : {}) });
    }
    if (!candidates.length) continue;
    candidates.sort((a, b) => b.uid - a.uid);
    const best = candidates[0]!;
    let source: Buffer | undefined;
    if ((best.size ?? 0) <= MAX_SOURCE_BYTES) {
      const full = await client.fetchOne(String(best.uid), { uid: true, source: true }, { uid: true });
      source = full ? full.source : undefined;
    } else {
      const head = await client.fetchOne(String(best.uid), { uid: true, headers: true }, { uid: true });
      source = head ? head.headers : undefined;
    }
    return { ...best, ...(source ? { source } : {}), copies: candidates.length };
  }
  return undefined;
}

/** Open a folder read-only (EXAMINE) without taking imapflow's mailbox lock, so the connection may IDLE. */
export async function examine(client: ImapFlow, path: string): Promise<void> {
  if (client.mailbox && client.mailbox.path === path && client.mailbox.readOnly) return;
  await client.mailboxOpen(path, { readOnly: true });
}

/** Gmail: which inbox tab holds this message (X-GM-RAW category search on its UID). */
export async function gmailTab(client: ImapFlow, uid: number): Promise<string | undefined> {
  for (const tab of ['promotions', 'social', 'updates', 'forums']) {
    const r = await client.search({ uid: String(uid), gmraw: `category:${tab}` }, { uid: true });
    if (r && r.length) return tab;
  }
  return undefined;
}

/** Gmail: does the message in All Mail also carry the \Inbox label? */
export async function gmailLabels(client: ImapFlow, uid: number): Promise<Set<string> | undefined> {
  const m = await client.fetchOne(String(uid), { uid: true, labels: true }, { uid: true });
  return m ? m.labels : undefined;
}
