// The lab MX: an SMTP server on loopback that receives mail for the simulated
// providers, authenticates every message with mailauth (SPF for the address the
// lab pretends the sender connects from, DKIM, DMARC, ARC) against the lab DNS,
// adds Received / Authentication-Results / the provider's spam headers, and
// files it into the seed's Dovecot mailbox by the provider's policy — or refuses
// it (550 5.7.26) where that provider would. Real placement outcomes, offline.
import { EventEmitter } from 'node:events';
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import { SMTPServer, type SMTPServerSession, type SMTPServerAddress, type SMTPServerDataStream } from 'smtp-server';
import { authenticate, type AuthenticateResult } from 'mailauth';
import { DnsClient } from '../dns/resolver.ts';
import type { Dovecot, LabUser } from './dovecot.ts';
import { labTls } from './tls.ts';
import { classify, providerFor, spamHeaders, LAB_PROVIDERS, type Decision, type ProviderPolicy, type Verdict } from './providers.ts';
import { buildDsn, type DsnRecipient } from './dsn.ts';
import { aggregateReports, type AggregateReport, type ReportFacts } from './dmarc-reports.ts';

export type { ProviderPolicy } from './providers.ts';
export { LAB_PROVIDERS } from './providers.ts';

export interface ReceivedRecord {
  rcpt: string;
  /** the Dovecot user it went to */
  user: string;
  folder: string;
  /** the Authentication-Results value the MX added (unfolded, without the field name) */
  authResults: string;
  spf: string;
  dkim: string;
  dmarc: string;
  at: Date;
  messageId?: string;
  provider: string;
  /** inbox, spam or tab (tab: see `tab`) */
  kind: 'inbox' | 'spam' | 'tab';
  tab?: string;
  score: number;
  rules: string[];
  reason: string;
  arc: string;
  mailFrom: string;
  clientIp: string;
  /** the queue id of the SMTP transaction (in the Received header) */
  queueId: string;
  /** what this provider puts in its DMARC aggregate report about the message */
  report: ReportFacts;
}

export interface RejectedRecord {
  rcpt: string;
  provider?: string;
  code: number;
  enhanced: string;
  message: string;
  /** rcpt: refused at RCPT TO; data: refused after DATA; dsn: accepted, then bounced with a DSN */
  stage: 'rcpt' | 'data' | 'dsn';
  at: Date;
  messageId?: string;
  mailFrom: string;
  /** for stage dsn: the lab user the DSN was delivered to, if the sender is one */
  dsnTo?: string;
  /** a message refused for good after DATA: what the provider reports of it (disposition reject) */
  report?: ReportFacts;
}

export interface LabMx {
  host: '127.0.0.1';
  port: number;
  /** the MX's host name (EHLO banner, Received, authserv-id of Authentication-Results) */
  hostname: string;
  /** the IP the lab pretends senders connect from (SPF); changeable between sends */
  clientIp?: string;
  received: ReceivedRecord[];
  rejected: RejectedRecord[];
  on(event: 'delivered', cb: (r: ReceivedRecord) => void): void;
  on(event: 'rejected', cb: (r: RejectedRecord) => void): void;
  off(event: 'delivered' | 'rejected', cb: (r: any) => void): void;
  /** resolves once `n` deliveries in total have been recorded (test and benchmark helper) */
  waitFor(n: number, timeoutMs?: number): Promise<ReceivedRecord[]>;
  stop(): Promise<void>;
  /** each provider's DMARC aggregate reports for what it received (and refused after DATA) since the start */
  aggregateReports(opts?: { begin?: Date; end?: Date }): AggregateReport[];
}

export interface StartLabMxOptions {
  dovecot: Dovecot;
  /** the lab DNS; the MX uses its resolvers with a fresh cache per message, so zone changes take effect at once */
  resolver: DnsClient;
  providers?: ProviderPolicy[];
  /** the IP the lab pretends the sender connects from, for SPF (default: the real peer, 127.0.0.1); XCLIENT ADDR overrides it per connection */
  clientIp?: string;
  hostname?: string;
  /**
   * smtp (default): refusals are SMTP replies (550 5.7.26 after DATA), as a receiving MX does;
   * dsn: accept everything and report refusals as delivery status notifications to the
   * envelope sender, as a relay does (the DSN lands in the sender's lab mailbox if it has one)
   */
  bounces?: 'smtp' | 'dsn';
}

class SmtpReply extends Error {
  responseCode: number;
  constructor(code: number, text: string) {
    super(text);
    this.responseCode = code;
  }
}

const MAX_SIZE = 25 * 1024 * 1024;

/** Header block of a raw message, unfolded (RFC 5322 §2.2.3), one field per line. */
function headerFields(raw: Buffer): string[] {
  const s = raw.toString('latin1');
  const end = s.search(/\r?\n\r?\n/);
  const block = end >= 0 ? s.slice(0, end) : s;
  return block.replace(/\r?\n[ \t]+/g, ' ').split(/\r?\n/);
}

function header(fields: string[], name: string): string | undefined {
  const prefix = `${name.toLowerCase()}:`;
  const line = fields.find((l) => l.toLowerCase().startsWith(prefix));
  return line?.slice(prefix.length).trim();
}

function addressKey(addr: string): string {
  const a = addr.trim().toLowerCase();
  const at = a.lastIndexOf('@');
  if (at < 0) return a;
  // plus-addressing: alice+anything@ reaches alice@ (Gmail, Outlook, Fastmail… all do)
  return `${a.slice(0, at).replace(/\+.*$/, '')}@${a.slice(at + 1)}`;
}

function rfc5322Date(d: Date): string {
  return d.toUTCString().replace('GMT', '+0000');
}

function summarize(res: AuthenticateResult, fields: string[]): Verdict & { arc: string; authResults: string } {
  const dkimResults = res.dkim?.results ?? [];
  const dkim = dkimResults.length
    ? (dkimResults.find((r) => r.status?.result === 'pass')?.status?.result ?? dkimResults[0]!.status?.result ?? 'none')
    : 'none';
  const dmarc = res.dmarc ? res.dmarc.status?.result ?? 'none' : 'none';
  const arHeader = res.headers.split(/\r?\n(?=\S)/).find((h) => /^authentication-results:/i.test(h)) ?? '';
  const precedence = (header(fields, 'precedence') ?? '').toLowerCase();
  return {
    spf: res.spf ? res.spf.status?.result ?? 'none' : 'none',
    dkim,
    dkimAligned: dkimResults.some((r) => r.status?.result === 'pass' && !!(r.status as { aligned?: unknown }).aligned),
    dmarc,
    dmarcPolicy: res.dmarc ? res.dmarc.policy : undefined,
    fromDomain: (res.dmarc && res.dmarc.status?.header?.from) || undefined,
    bulk: !!header(fields, 'list-unsubscribe') || precedence === 'bulk',
    list: !!header(fields, 'list-id') || precedence === 'list',
    arc: res.arc ? res.arc.status?.result ?? 'none' : 'none',
    authResults: arHeader.replace(/^authentication-results:\s*/i, '').replace(/\r?\n[ \t]+/g, ' ').trim(),
  };
}

/** The facts a DMARC aggregate report records of one message, from mailauth's evaluation. */
function reportFacts(res: AuthenticateResult, sourceIp: string, mailFrom: string, at: Date): Omit<ReportFacts, 'disposition'> {
  const d = res.dmarc as any;
  const spfRes = res.spf as any;
  const dkim = (res.dkim?.results ?? []).map((r: any) => ({ domain: String(r.signingDomain ?? ''), selector: String(r.selector ?? ''), result: String(r.status?.result ?? 'none') }));
  const envelope = mailFrom || '';
  return {
    sourceIp,
    headerFrom: String(d?.status?.header?.from ?? ''),
    envelopeFrom: envelope,
    spf: { domain: String(spfRes?.domain ?? envelope.split('@').pop() ?? ''), result: String(spfRes?.status?.result ?? 'none') },
    dkim,
    dkimAligned: Boolean(d?.alignment?.dkim?.result),
    spfAligned: Boolean(d?.alignment?.spf?.result),
    ...(d?.p ? { policy: { domain: String(d.policyDomain ?? d.domain), p: String(d.p), ...(d.sp ? { sp: String(d.sp) } : {}), ...(d.np ? { np: String(d.np) } : {}), adkim: d.alignment?.dkim?.strict ? 's' : 'r', aspf: d.alignment?.spf?.strict ? 's' : 'r', testing: Boolean(d.testMode) } } : {}),
    at,
  };
}

export async function startLabMx(opts: StartLabMxOptions): Promise<LabMx> {
  const tls = await labTls();
  const providers = opts.providers ?? LAB_PROVIDERS;
  const hostname = opts.hostname ?? 'mx.lab.test';
  const bounceMode = opts.bounces ?? 'smtp';
  const events = new EventEmitter();
  const received: ReceivedRecord[] = [];
  const rejected: RejectedRecord[] = [];
  const inflight = new Set<Promise<unknown>>();
  const users = new Map<string, LabUser>();
  for (const u of opts.dovecot.users) users.set(addressKey(u.user), u);
  const base = opts.resolver;

  const reject = (r: RejectedRecord) => {
    rejected.push(r);
    events.emit('rejected', r);
  };

  const mx: LabMx = {
    host: '127.0.0.1',
    port: 0,
    hostname,
    aggregateReports: (o = {}) => {
      // each simulated provider reports for itself, from its own domain
      const byProvider = new Map<string, ReportFacts[]>();
      const add = (provider: string | undefined, f: ReportFacts | undefined) => {
        if (!provider || !f) return;
        byProvider.set(provider, [...(byProvider.get(provider) ?? []), f]);
      };
      for (const r of received) add(r.provider, r.report);
      for (const r of rejected) add(r.provider, r.report);
      return [...byProvider].flatMap(([id, facts]) => {
        const p = providers.find((x) => x.id === id);
        const domain = p?.domains[0] ?? `${id}.lab.test`;
        return aggregateReports({ org: `${id} (inboxlens lab)`, email: `noreply-dmarc@${domain}` }, facts, o);
      });
    },
    clientIp: opts.clientIp,
    received,
    rejected,
    on(event: string, cb: (r: any) => void) { events.on(event, cb); },
    off(event: string, cb: (r: any) => void) { events.off(event, cb); },
    waitFor(n: number, timeoutMs = 30_000) {
      if (received.length >= n) return Promise.resolve(received.slice());
      return new Promise((resolve, reject) => {
        const onDelivered = () => {
          if (received.length >= n) {
            clearTimeout(timer);
            events.off('delivered', onDelivered);
            resolve(received.slice());
          }
        };
        const timer = setTimeout(() => {
          events.off('delivered', onDelivered);
          reject(new Error(`lab MX: ${received.length} of ${n} deliveries after ${timeoutMs} ms`));
        }, timeoutMs);
        events.on('delivered', onDelivered);
      });
    },
    stop: async () => {
      await new Promise<void>((r) => server.close(() => r()));
      await Promise.allSettled([...inflight]);
    },
  };

  function lookupRcpt(address: string): { provider: ProviderPolicy; user: LabUser } | SmtpReply {
    const domain = address.slice(address.lastIndexOf('@') + 1).toLowerCase();
    const provider = providerFor(providers, domain);
    if (!provider) return new SmtpReply(550, `5.7.1 Relaying denied: ${domain} is not a domain of this lab MX`);
    const user = users.get(addressKey(address));
    if (!user) return new SmtpReply(550, `5.1.1 <${address}>: the email account that you tried to reach does not exist`);
    return { provider, user };
  }

  async function handleMessage(raw: Buffer, session: SMTPServerSession): Promise<string> {
    const arrival = new Date();
    const queueId = randomBytes(6).toString('hex').toUpperCase();
    const mailFrom = session.envelope.mailFrom ? session.envelope.mailFrom.address : '';
    const xaddr = session.xClient?.get('ADDR');
    const clientIp = (typeof xaddr === 'string' && net.isIP(xaddr) ? xaddr : undefined) ?? mx.clientIp ?? session.remoteAddress;
    const helo = session.hostNameAppearsAs || undefined;
    // a fresh cache per message: the lab's zones may change between sends (the demo's "after")
    const resolver = new DnsClient({ resolvers: base.resolvers, timeoutMs: base.timeoutMs, retries: base.retries, concurrency: base.concurrency });
    const res = await authenticate(raw, {
      ip: clientIp,
      helo,
      sender: mailFrom,
      mta: hostname,
      resolver: resolver.mailauthResolver,
      disableBimi: true,
    });
    const fields = headerFields(raw);
    const v = summarize(res, fields);
    const messageId = header(fields, 'message-id');
    const facts = reportFacts(res, clientIp, mailFrom, arrival);

    const plans = session.envelope.rcptTo.map((r: SMTPServerAddress) => {
      const found = lookupRcpt(r.address);
      if (found instanceof SmtpReply) throw found; // checked at RCPT already
      const provider = { ...found.provider, layout: found.user.layout ?? found.provider.layout };
      return { rcpt: r.address, user: found.user, provider, decision: classify(provider, v) };
    });

    const deliverable = plans.filter((p) => p.decision.action === 'deliver');
    const refused = plans.filter((p) => p.decision.action !== 'deliver');
    if (!deliverable.length && bounceMode === 'smtp') {
      const d = (refused.find((p) => p.decision.action === 'defer') ?? refused[0]!).decision as Exclude<Decision, { action: 'deliver' }>;
      for (const p of refused) {
        const pd = p.decision as Exclude<Decision, { action: 'deliver' }>;
        reject({ rcpt: p.rcpt, provider: p.provider.id, code: pd.code, enhanced: pd.enhanced, message: pd.message, stage: 'data', at: arrival, messageId, mailFrom, ...(pd.action === 'reject' ? { report: { ...facts, disposition: 'reject' as const } } : {}) });
      }
      throw new SmtpReply(d.code, `${d.enhanced} ${d.message}`);
    }

    const tlsNote = session.secure ? 'ESMTPS' : 'ESMTP';
    const records = await Promise.all(deliverable.map(async (p) => {
      const d = p.decision as Extract<Decision, { action: 'deliver' }>;
      const receivedHdr = `Received: from ${helo ?? 'unknown'} ([${clientIp}])\r\n\tby ${hostname} (inboxlens lab MX) with ${tlsNote} id ${queueId}\r\n\tfor <${p.rcpt}>; ${rfc5322Date(arrival)}\r\n`;
      const spam = spamHeaders(p.provider, d, { clientIp, helo, dmarc: v.dmarc }).map((h) => `${h}\r\n`).join('');
      // newest on top: the provider's verdict, then the authentication results, then the trace (RFC 8601 §5)
      const out = Buffer.concat([Buffer.from(spam + res.headers + receivedHdr, 'latin1'), raw]);
      await opts.dovecot.deliver(p.user.user, d.folder, out, { from: mailFrom });
      const rec: ReceivedRecord = {
        rcpt: p.rcpt, user: p.user.user, folder: d.folder, authResults: v.authResults, spf: v.spf, dkim: v.dkim, dmarc: v.dmarc,
        at: new Date(), messageId, provider: p.provider.id, kind: d.kind, tab: d.tab, score: d.score, rules: d.rules.map((r) => r.name),
        reason: d.reason, arc: v.arc, mailFrom, clientIp, queueId,
        report: { ...facts, disposition: d.kind === 'spam' ? 'quarantine' : 'none' },
      };
      return rec;
    })).catch((e: Error) => {
      // Dovecot down or refusing: a temporary failure, the sender keeps the message and retries
      throw new SmtpReply(451, `4.3.0 Mailbox store unavailable, try again later (${e.message.split('\n')[0]})`);
    });
    for (const rec of records) {
      received.push(rec);
      events.emit('delivered', rec);
    }

    if (refused.length) {
      // accepted for some recipients (or relay mode): the others get a DSN, as a relay would send
      const sender = mailFrom ? users.get(addressKey(mailFrom)) : undefined;
      const list: DsnRecipient[] = refused.map((p) => {
        const pd = p.decision as Exclude<Decision, { action: 'deliver' }>;
        return { rcpt: p.rcpt, code: pd.code, status: pd.enhanced, text: pd.message };
      });
      if (sender) {
        const dsn = buildDsn({ reportingMta: hostname, to: mailFrom, arrival, recipients: list, original: raw, originalMessageId: messageId });
        await opts.dovecot.deliver(sender.user, 'INBOX', dsn, { from: '' }).catch(() => {});
      }
      for (const p of refused) {
        const pd = p.decision as Exclude<Decision, { action: 'deliver' }>;
        reject({ rcpt: p.rcpt, provider: p.provider.id, code: pd.code, enhanced: pd.enhanced, message: pd.message, stage: 'dsn', at: arrival, messageId, mailFrom, dsnTo: sender?.user, ...(pd.action === 'reject' ? { report: { ...facts, disposition: 'reject' as const } } : {}) });
      }
    }
    return `2.0.0 Ok: queued as ${queueId}`;
  }

  const server = new SMTPServer({
    name: hostname,
    banner: 'inboxlens lab MX',
    secure: false,
    key: tls.keyPem,
    cert: tls.certPem,
    size: MAX_SIZE,
    authOptional: true,
    disabledCommands: ['AUTH'],
    disableReverseLookup: true,
    // only loopback clients exist; XCLIENT lets a test claim the address SPF is evaluated for
    useXClient: ['127.0.0.1', '::1'],
    closeTimeout: 2000,
    logger: false,
    onRcptTo(address, session, callback) {
      const found = lookupRcpt(address.address);
      if (found instanceof SmtpReply) {
        reject({ rcpt: address.address, code: found.responseCode, enhanced: found.message.split(' ')[0]!, message: found.message.slice(found.message.indexOf(' ') + 1), stage: 'rcpt', at: new Date(), mailFrom: session.envelope.mailFrom ? session.envelope.mailFrom.address : '' });
        return callback(found);
      }
      callback();
    },
    onData(stream: SMTPServerDataStream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('error', (e) => callback(e));
      stream.on('end', () => {
        if (stream.sizeExceeded) return callback(new SmtpReply(552, `5.3.4 Message exceeds the ${MAX_SIZE} byte limit`));
        const p = handleMessage(Buffer.concat(chunks), session);
        inflight.add(p);
        p.then(
          (msg) => callback(null, msg),
          (e: Error) => callback(e instanceof SmtpReply ? e : new SmtpReply(451, `4.3.0 Temporary failure: ${e.message}`)),
        ).finally(() => inflight.delete(p));
      });
    },
  });
  server.on('error', () => { /* per-connection errors: the client sees them */ });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  mx.port = (server.server.address() as net.AddressInfo).port;
  return mx;
}
