// The shapes seed-inbox placement passes between its parts: seeds (who to test and
// how to reach them), what was sent, and one result row per seed.
import type { CopyVerdicts } from './verdicts.ts';

export const PROVIDERS = ['gmail', 'outlook', 'yahoo', 'icloud', 'generic'] as const;
export type Provider = (typeof PROVIDERS)[number];

/** How often a folder watched with IDLE is searched anyway, unless --poll-interval says otherwise. */
export const IDLE_RECHECK_MS = 10_000;

export const GMAIL_TABS = ['primary', 'promotions', 'social', 'updates', 'forums'] as const;

/** How to reach one mailbox: imapflow's option names (secure: true = implicit TLS, false = STARTTLS). */
export interface Access {
  protocol: 'imap' | 'pop3';
  host: string;
  port: number;
  secure: boolean;
  /** skip certificate verification (never the default) */
  insecure: boolean;
  /** allow a login without TLS when the server offers no STARTTLS (a lab on loopback) */
  allowPlaintext: boolean;
  /** PEM of a private CA to trust, read from the seed's `ca:` file */
  ca?: string;
  caPath?: string;
  servername?: string;
}

export interface SeedAuth {
  user: string;
  pass?: string;
  accessToken?: string;
  refreshToken?: string;
  clientId?: string;
  clientSecret?: string;
  tokenUrl?: string;
  scope?: string;
}

/** A seed's own folder names, overriding what special-use and names would find. */
export interface FolderOverrides {
  inbox?: string;
  junk?: string;
  all?: string;
  trash?: string;
  /** Gmail-style tabs modelled as folders: tab name → folder path */
  tabs?: Record<string, string>;
  /** folders never searched (e.g. a huge archive) */
  skip?: string[];
}

export interface Seed {
  /** 1-based position in the file, for messages */
  index: number;
  address: string;
  provider: Provider;
  access: Access;
  auth: SeedAuth;
  folders?: FolderOverrides;
  /** a free label (a team, a region) carried into the rows */
  label?: string;
  /** the authserv-id(s) this mailbox's receiver writes in Authentication-Results ("*.example.org" for any subdomain) */
  authservIds?: string[];
}

/** What identifies a run's copies in a mailbox. */
export interface Matcher {
  token?: string;
  subject?: string;
  header?: { name: string; value: string };
  from?: string;
  /** only messages that arrived on or after this time */
  since?: Date;
}

export type SmtpOutcome = 'accepted' | 'deferred' | 'rejected' | 'error';

export interface SendResult {
  seed: string;
  status: SmtpOutcome;
  /** the SMTP reply code (250, 451, 550 …) when the server gave one */
  code?: number;
  response?: string;
  messageId: string;
  sentAt: string;
  error?: string;
}

/** `deferred`: the submission server answered 4xx, so the copy was never queued (nothing retries it) */
export type Placement = 'inbox' | `tab:${string}` | 'spam' | `other:${string}` | 'not-spam' | 'not-in-inbox' | 'bounced' | 'missing' | 'deferred' | 'error';

export interface AuthMethodResult {
  result: string;
  domain?: string;
  selector?: string;
  /** the comments of the result (RFC 8601 CFWS), joined with "; " */
  comment?: string;
  /** reason= (RFC 8601 §2.2 reasonspec) */
  reason?: string;
}

/**
 * The receiver's Authentication-Results (RFC 8601): every header it added above its
 * hop with its authserv-id(s) (src/analyze/receiver.ts), merged: the first spf,
 * dmarc and arc result, every dkim result.
 */
export interface ReceiverAuth {
  /** the first trusted header's authserv-id, version stripped */
  authservId?: string;
  /** every authserv-id of the trusted headers (iCloud writes one per method) */
  authservIds?: string[];
  /** how many Authentication-Results headers were the receiver's */
  headers?: number;
  spf?: AuthMethodResult;
  dkim: AuthMethodResult[];
  dmarc?: AuthMethodResult;
  arc?: AuthMethodResult;
  /** the trusted headers' values, one a line */
  raw: string;
  /** Authentication-Results headers that are not the receiver's (planted, an earlier hop's), and why */
  ignored?: { authservId?: string; reason: string }[];
}

export interface SpamHeaders {
  spamStatus?: string;
  spamScore?: number;
  spamFlag?: string;
  scl?: number;
  forefront?: string;
  /** the receiver's spam filter verdicts, decoded (src/analyze/spam.ts) */
  verdicts?: { filter: string; verdict: 'spam' | 'not-spam' | 'unknown'; score?: number; threshold?: number; action?: string; scl?: number; bcl?: number; sfv?: string; cat?: string; notes?: string[] }[];
}

export interface LocalAuth {
  dkim: AuthMethodResult[];
  arc?: AuthMethodResult;
  error?: string;
}

export interface BounceInfo {
  source: 'smtp' | 'dsn';
  status?: string;
  action?: string;
  diagnostic?: string;
  remoteMta?: string;
  reportingMta?: string;
}

export interface PlacementRow {
  seed: string;
  provider: Provider;
  protocol: 'imap' | 'pop3';
  label?: string;
  placement: Placement;
  folder?: string;
  /** when the copy was sent (SMTP accept, or the Date header when only collecting) */
  sentAt?: string;
  /** the mailbox's INTERNALDATE (IMAP) */
  internalDate?: string;
  /** the date of the receiver's topmost Received header */
  receivedAt?: string;
  /** the receiver's arrival hop: who took the copy, from which IP and HELO */
  receiverHop?: { by?: string; ip?: string; helo?: string; profile?: string };
  /** when inboxlens saw the copy */
  seenAt?: string;
  /** send → arrival, from INTERNALDATE or Received (second resolution on most servers) */
  timeToArrivalMs?: number;
  /** send → seen by inboxlens */
  detectMs?: number;
  messageId?: string;
  subject?: string;
  smtp?: { status: SmtpOutcome; code?: number; response?: string };
  receiverAuth?: ReceiverAuth;
  spam?: SpamHeaders;
  localAuth?: LocalAuth;
  /** inboxlens's own verdicts on the copy: SPF for the receiver hop's IP and Return-Path, DKIM with key judgement, DMARC alignment, disagreements with the receiver (src/placement/verdicts.ts) */
  ours?: CopyVerdicts;
  bounce?: BounceInfo;
  /** why the seed could not be checked, or what made the row uncertain */
  error?: string;
  note?: string;
  /** how many copies matched (more than one: the first is reported) */
  copies?: number;
}

export interface ProviderSummary {
  total: number;
  counts: Record<string, number>;
  /** rates over the seeds that gave an answer (errors excluded) */
  rates: { inbox: number; tab: number; spam: number; missing: number };
}

export interface PlacementSummary extends ProviderSummary {
  providers: Record<string, ProviderSummary>;
  timeToInbox?: { n: number; medianMs: number; maxMs: number };
}
