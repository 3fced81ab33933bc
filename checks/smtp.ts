// SMTP: what a sending server sees when it delivers to this domain (each MX address:
// banner, EHLO, STARTTLS, TLS version, certificate, timings), optional recipient
// verification (MAIL FROM / RCPT TO, never DATA), and the user's own submission
// server (--smtp URL). It talks to remote servers, so it is opt-in: it runs with
// --only smtp, --smtp-probe, --rcpt or --smtp, and as `inboxlens smtp <domain>`.
import { X509Certificate } from 'node:crypto';
import { readInputFile, INPUT_LIMITS } from '../src/util/read-input.ts';
import type { Check, CheckContext, CheckOutput, Evidence, Finding, Rich, RunOptions, Severity, Span } from '../src/types.ts';
import { finder } from '../src/findings.ts';
import { addresses, answersOf, describe, evidenceOf, isFailure, mxRecords, resolverValidates, txtRecords, type DnsResponse } from '../src/dns/resolver.ts';
import { UsageError } from '../src/util/errors.ts';
import { parseDomain, parseDuration, parseMailbox, parsePositiveInt, refuseControl } from '../src/util/validate.ts';

// parseMailbox moved to src/util/validate.ts (--mail-from takes an address too); still exported from here
export { parseMailbox };
import { registerCredentials, registerSecret } from '../src/util/redact.ts';
import { Semaphore } from '../src/util/semaphore.ts';
import { presentedChain, probeMx, verifyRecipients, type MxAddress, type MxProbe, type RcptRun } from '../src/smtp/receive.ts';
import { probeSubmission, parseSubmissionUrl, PASSWORD_ENV, type SubmissionProbe, type SubmissionTarget } from '../src/smtp/submit.ts';
import { DEFAULT_NET_CANARIES, DEFAULT_SMTP_CANARIES, parseCanary, port25Status, type Canary, type Port25Status } from '../src/smtp/port25.ts';
import { daneMatch, isOldTls, judgeCert, type TlsInfo, type TlsaRecord } from '../src/smtp/tls.ts';
import { SMTP_FINDINGS } from '../src/catalog/smtp.ts';
import { muted, span } from '../src/report/details.ts';

const f = finder('smtp');

export const DEFAULT_TIMEOUT = '20s';
export const DEFAULT_RCPT_INTERVAL = '1s';
export const DEFAULT_CONCURRENCY = 8;
/** probing many recipients from one IP is how probers get listed; keep it a spot check */
export const MAX_RCPTS = 20;
export const EXPIRY_WARN_DAYS = 14;

export interface SmtpConfig {
  probe: boolean;
  rcpts: string[];
  submission?: SubmissionTarget;
  password?: string;
  /** --smtp-insecure-auth: send the password over TLS that failed verification (labs only) */
  insecureAuth?: boolean;
  port: number;
  timeoutMs: number;
  concurrency: number;
  intervalMs: number;
  mailFrom: string;
  helo?: string;
  ca?: string[];
  smtpCanaries: Canary[];
  netCanaries: Canary[];
}

function list(v: unknown): string[] {
  if (v === undefined || v === null || v === false) return [];
  return (Array.isArray(v) ? v : [v]).flatMap((s) => String(s).split(',')).map((s) => s.trim()).filter(Boolean);
}

export function domainOf(addr: string): string {
  return addr.slice(addr.lastIndexOf('@') + 1);
}

/** Validate and normalise the smtp options (the check's `parse`: the engine calls it once per run). */
export function smtpConfig(opts: RunOptions): SmtpConfig {
  const rcpts = [...new Set(list(opts.rcpt).map((r) => parseMailbox(r, '--rcpt')))];
  if (rcpts.length > MAX_RCPTS) throw new UsageError(`--rcpt: ${rcpts.length} addresses given, at most ${MAX_RCPTS}: recipient probing is a spot check (many RCPTs from one IP get it listed); use a list-cleaning service for bulk verification`);
  let submission: SubmissionTarget | undefined;
  let password: string | undefined;
  if (opts.smtp !== undefined && opts.smtp !== '') {
    submission = parseSubmissionUrl(String(opts.smtp));
    password = process.env[PASSWORD_ENV] || undefined;
    registerCredentials(submission.user, password);
  }
  const port = opts.smtpPort === undefined ? 25 : Number(opts.smtpPort);
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new UsageError(`--smtp-port: '${opts.smtpPort}' is not a port number (1-65535); it is for labs and tests, real MX hosts listen on 25`);
  const timeoutMs = parseDuration((opts.smtpTimeout as string | undefined) ?? DEFAULT_TIMEOUT, '--smtp-timeout');
  if (timeoutMs < 50 || timeoutMs > 600_000) throw new UsageError(`--smtp-timeout: '${opts.smtpTimeout}' must be between 50ms and 10m (RFC 5321 §4.5.3.2 allows servers up to 5 minutes per step)`);
  const intervalMs = parseDuration((opts.rcptInterval as string | undefined) ?? DEFAULT_RCPT_INTERVAL, '--rcpt-interval');
  if (intervalMs > 600_000) throw new UsageError(`--rcpt-interval: '${opts.rcptInterval}' is longer than 10m`);
  const concurrency = opts.smtpConcurrency === undefined ? DEFAULT_CONCURRENCY : parsePositiveInt(opts.smtpConcurrency, '--smtp-concurrency', 256);
  let mailFrom = '';
  if (opts.smtpMailFrom !== undefined && !['', '<>'].includes(String(opts.smtpMailFrom).trim())) mailFrom = parseMailbox(String(opts.smtpMailFrom), '--smtp-mail-from');
  let helo: string | undefined;
  if (opts.smtpHelo !== undefined) {
    const h = String(opts.smtpHelo).trim();
    helo = /^\[[0-9a-fA-F.:IPv6]+\]$/.test(h) ? h : parseDomain(h, '--smtp-helo');
  }
  let ca: string[] | undefined;
  if (opts.smtpCa !== undefined) {
    const pem = readInputFile(String(opts.smtpCa), { what: '--smtp-ca', maxBytes: INPUT_LIMITS.pem, encoding: 'utf8', hint: 'give a PEM file with the CA certificate' });
    if (!pem.includes('-----BEGIN CERTIFICATE-----')) throw new UsageError(`--smtp-ca: '${opts.smtpCa}' holds no PEM certificate (-----BEGIN CERTIFICATE-----)`);
    ca = [pem];
  }
  const canaries = (specs: string[], flag: string, port: number) =>
    specs.map((s) => {
      const c = parseCanary(s, port);
      if (!c) throw new UsageError(`${flag}: '${s}' is not HOST[:PORT] (e.g. gmail-smtp-in.l.google.com:25 or 127.0.0.1:2525)`);
      return c;
    });
  const smtpCanaries = canaries(list(opts.smtpCanary).length ? list(opts.smtpCanary) : DEFAULT_SMTP_CANARIES, '--smtp-canary', 25);
  const netCanaries = canaries(list(opts.netCanary).length ? list(opts.netCanary) : DEFAULT_NET_CANARIES, '--net-canary', 443);
  const cfg: SmtpConfig = {
    probe: Boolean(opts.smtpProbe), rcpts, ...(submission ? { submission } : {}), ...(password ? { password } : {}), ...(opts.smtpInsecureAuth ? { insecureAuth: true } : {}),
    port, timeoutMs, concurrency, intervalMs, mailFrom, ...(helo ? { helo } : {}), ...(ca ? { ca } : {}), smtpCanaries, netCanaries,
  };
  return cfg;
}

// ---- findings, merged per host: one finding for the same problem on every address of a host ----

interface Pending {
  code: string;
  severity: Severity;
  summary: string;
  host: string;
  ips: string[];
  extra: { detail?: string; evidence?: Evidence[]; fix?: string; ref?: string };
}

class Collector {
  private items: Pending[] = [];
  add(code: string, severity: Severity, host: string, ip: string | undefined, summary: string, extra: Pending['extra'] = {}): void {
    const same = this.items.find((p) => p.code === code && p.host === host && p.summary === summary && p.severity === severity);
    if (same) {
      if (ip && !same.ips.includes(ip)) same.ips.push(ip);
      return;
    }
    this.items.push({ code, severity, summary, host, ips: ip ? [ip] : [], extra });
  }
  findings(): Finding[] {
    return this.items.map((p) => f(p.code, p.severity, p.ips.length ? `${p.summary} [${p.ips.join(', ')}]` : p.summary, { ...p.extra, subject: p.host }));
  }
  has(sev: Severity): boolean {
    return this.items.some((p) => p.severity === sev);
  }
}

/** A few transcript lines as evidence. */
function lines(p: { transcript: { dir: string; line: string }[] }, match: (l: { dir: string; line: string }) => boolean, max = 12): Evidence[] {
  const picked = p.transcript.filter(match).slice(0, max);
  return picked.map((l) => ({ record: `${l.dir}: ${l.line}` }));
}

function certEvidence(t: TlsInfo): Evidence {
  const c = t.cert;
  return {
    record: c ? `certificate: subject ${c.subject}; names ${c.altNames.join(', ') || '(none)'}; issuer ${c.issuer}; valid ${c.validFrom.slice(0, 10)} to ${c.validTo.slice(0, 10)}` : 'no certificate',
    note: `${t.protocol} ${t.cipher.name}; chain ${t.authorized ? 'trusted' : `not trusted (${t.authorizationError ?? 'unknown reason'})`}; name ${t.nameMatch ? 'matches' : 'does not match'}`,
  };
}

interface Strictness {
  /** why certificate and TLS problems stop delivery here (MTA-STS enforce, DANE), if they do */
  why?: string;
  /** a lookup that decides strictness failed */
  unknown?: string;
}

interface HostDns {
  host: string;
  priority: number;
  a: DnsResponse;
  aaaa: DnsResponse;
  tlsa?: DnsResponse;
}

export interface MtaStsView {
  record: string | null;
  mode: 'enforce' | 'testing' | 'none' | null;
  source: 'mta-sts check' | 'txt' | 'none' | 'unknown';
  /** certificate problems break delivery: mode enforce, or a published record whose mode we could not read */
  strict: boolean;
  error?: string;
}

async function mtaStsView(ctx: CheckContext, domain: string): Promise<{ view: MtaStsView; resp: DnsResponse }> {
  const resp = await ctx.dns.query(`_mta-sts.${domain}`, 'TXT');
  const record = txtRecords(resp).find((t) => /^v=STSv1\b/i.test(t)) ?? null;
  let mode: MtaStsView['mode'] = null;
  try {
    // the mta-sts check fetches and parses the policy; read its verdict when it ran
    const r = await ctx.result('mta-sts');
    const m = (r.data as { policy?: { mode?: string } } | undefined)?.policy?.mode;
    if (m === 'enforce' || m === 'testing' || m === 'none') mode = m;
  } catch {
    // no mta-sts check in this build: judge from the TXT record alone
  }
  if (mode) return { view: { record, mode, source: 'mta-sts check', strict: mode === 'enforce' }, resp };
  if (record) return { view: { record, mode: null, source: 'txt', strict: true }, resp };
  if (isFailure(resp)) return { view: { record: null, mode: null, source: 'unknown', strict: false, error: describe(resp) }, resp };
  return { view: { record: null, mode: null, source: 'none', strict: false }, resp };
}

/** A certificate's subject CN (or DN) for a finding's words. */
function subjectOf(der: Buffer): string {
  try {
    const x = new X509Certificate(der);
    return /CN=([^\n]+)/.exec(x.subject)?.[1] ?? x.subject.replace(/\n/g, ', ');
  } catch {
    return '(unparsable)';
  }
}

function tlsaRecords(resp: DnsResponse | undefined): TlsaRecord[] {
  return resp ? answersOf(resp, 'TLSA').map((a) => a.data as unknown as TlsaRecord) : [];
}

export interface ReceiveData {
  domain: string;
  port: number;
  implicitMx?: boolean;
  mx: { host: string; priority: number; addresses: string[]; tlsa: {
    status: 'found' | 'none' | 'unknown';
    records: string[];
    error?: string;
    /**
     * found records only: secure = the resolver validated them (AD bit); insecure = a
     * validating resolver did not (the zone is unsigned: DANE senders ignore them);
     * unknown = the resolver does not validate, so whether DANE applies is not known
     */
    dnssec?: 'secure' | 'insecure' | 'unknown';
  } }[];
  mtaSts: MtaStsView;
  probes: (Omit<MxProbe, 'certsDer'> & { dane?: { usable: number; matched?: string } })[];
  port25?: Port25Status;
  rcpt?: RcptRun;
  rcptElsewhere?: string[];
}

/** One cap on SMTP sessions for the whole process, however many domains run at once. */
const semaphores = new Map<number, Semaphore>();
function probeSemaphore(limit: number): Semaphore {
  let s = semaphores.get(limit);
  if (!s) semaphores.set(limit, (s = new Semaphore(limit)));
  return s;
}

async function receive(ctx: CheckContext, cfg: SmtpConfig, findings: Finding[], unknowns: string[]): Promise<ReceiveData | undefined> {
  const domain = ctx.target;
  const mxResp = await ctx.dns.query(domain, 'MX');
  if (isFailure(mxResp)) {
    unknowns.push(`MX lookup failed: ${describe(mxResp)}`);
    return undefined;
  }
  let mx = mxRecords(mxResp).sort((a, b) => a.priority - b.priority);
  if (mx.length === 1 && (mx[0]!.exchange === '' || mx[0]!.exchange === '.')) {
    unknowns.push(`${domain} publishes a null MX (RFC 7505): it accepts no mail, there is no server to probe`);
    return undefined;
  }
  const implicitMx = !mx.length;
  // RFC 5321 §5.1: no MX means the domain's own address is the mail server
  if (implicitMx) mx = [{ exchange: domain, priority: 0 }];

  // the MTA-STS verdict (the mta-sts check fetches the policy over HTTPS) is only needed
  // to judge the probes, so it runs while they run
  const stsP = mtaStsView(ctx, domain);
  const hosts = await Promise.all(mx.map(async (m): Promise<HostDns> => {
    const [a, aaaa, tlsa] = await Promise.all([
      ctx.dns.query(m.exchange, 'A'),
      ctx.dns.query(m.exchange, 'AAAA'),
      // DANE for SMTP always pins port 25 (RFC 7672 §2.2), whatever --smtp-port the lab uses
      ctx.dns.query(`_25._tcp.${m.exchange}`, 'TLSA'),
    ]);
    return { host: m.exchange, priority: m.priority, a, aaaa, tlsa };
  }));

  // DANE uses only TLSA records that validate as secure (RFC 7672 §2.2): ask the
  // resolver whether it validates at all when some TLSA answer was not authenticated
  const unauthenticated = hosts.some((h) => tlsaRecords(h.tlsa).length && !h.tlsa?.authenticated);
  const validating = unauthenticated ? await resolverValidates(ctx.dns) : undefined;
  const notValidated = validating === false ? 'the resolver does not validate DNSSEC' : 'whether the resolver validates DNSSEC could not be told (its lookup of the root zone failed)';
  const data: ReceiveData = {
    domain, port: cfg.port, ...(implicitMx ? { implicitMx } : {}),
    mx: hosts.map((h) => {
      const recs = tlsaRecords(h.tlsa);
      const status = h.tlsa && isFailure(h.tlsa) ? 'unknown' : recs.length ? 'found' : 'none';
      const dnssec = status !== 'found' ? undefined : h.tlsa?.authenticated ? 'secure' : validating === true ? 'insecure' : 'unknown';
      return { host: h.host, priority: h.priority, addresses: [...addresses(h.a), ...addresses(h.aaaa)], tlsa: { status, records: h.tlsa ? evidenceOf(h.tlsa).answers : [], ...(status === 'unknown' ? { error: describe(h.tlsa!) } : {}), ...(dnssec ? { dnssec } : {}) } };
    }),
    mtaSts: { record: null, mode: null, source: 'none', strict: false },
    probes: [],
  };

  const targets: MxAddress[] = hosts.flatMap((h) => [...addresses(h.a), ...addresses(h.aaaa)].map((ip) => ({ host: h.host, priority: h.priority, ip })));
  const unresolved = hosts.filter((h) => !addresses(h.a).length && !addresses(h.aaaa).length);
  for (const h of unresolved) {
    if (isFailure(h.a) || isFailure(h.aaaa)) unknowns.push(`address lookup for MX ${h.host} failed: ${describe(isFailure(h.a) ? h.a : h.aaaa)}`);
    // an MX without addresses is the mx check's finding (mx.unresolvable); here it is just not probed
  }
  if (!targets.length) {
    if (!unknowns.length) unknowns.push(`no MX host of ${domain} has an address to connect to (see the mx check)`);
    data.mtaSts = (await stsP).view;
    return data;
  }

  let done = 0;
  ctx.progress(`probing ${targets.length} MX address(es)…`, 0, targets.length);
  const sem = probeSemaphore(cfg.concurrency);
  const probes = await Promise.all(targets.map((t) => sem.run(async () => {
    const p = await probeMx(t, { port: cfg.port, timeoutMs: cfg.timeoutMs, ca: cfg.ca, helo: cfg.helo, signal: ctx.signal });
    ctx.progress(`${t.host} [${t.ip}]: ${p.status}`, ++done, targets.length);
    return p;
  })));
  const sts = await stsP;
  data.mtaSts = sts.view;

  const c = new Collector();
  const reached = probes.filter((p) => p.status !== 'unreachable' && p.status !== 'no-ipv6');
  /** TLSA records that DANE senders use: found, and not known to be unsigned */
  const daneApplies = (host: string): boolean => {
    const t = data.mx.find((m) => m.host === host)!.tlsa;
    return t.status === 'found' && t.dnssec !== 'insecure';
  };
  for (const m of data.mx.filter((x) => x.tlsa.dnssec === 'insecure')) {
    c.add('smtp.dane-unsigned', 'warn', m.host, undefined, `TLSA records are published for ${m.host}, but they are not DNSSEC-signed: DANE senders ignore them`, {
      evidence: [evidenceOf(hosts.find((h) => h.host === m.host)!.tlsa!), { query: '.', type: 'NS', note: 'the resolver validates DNSSEC (it authenticated the root zone) but did not authenticate these TLSA records' }],
      detail: 'DANE for SMTP uses only TLSA records that validate as secure (RFC 7672 §2.2). Unsigned, they protect nothing, and a certificate problem is judged as under opportunistic TLS.',
      fix: `Sign the zone of ${m.host} with DNSSEC and publish its DS record at the parent, or remove the TLSA records.`,
      ref: 'RFC 7672 §2.2',
    });
  }
  const strictFor = (host: string): Strictness => {
    const h = data.mx.find((m) => m.host === host)!;
    const why = [
      ...(sts.view.strict ? [sts.view.mode === 'enforce' ? 'MTA-STS is in enforce mode' : `MTA-STS is published (${sts.view.record}) and its policy mode was not read; under mode: enforce`] : []),
      ...(daneApplies(host) ? [`DANE applies (TLSA _25._tcp.${host}: ${h.tlsa.records.join(' | ')}${h.tlsa.dnssec === 'unknown' ? `; DNSSEC not confirmed: ${notValidated}` : ''})`] : []),
    ];
    const unk = [
      ...(sts.view.source === 'unknown' ? [`the _mta-sts TXT lookup failed (${sts.view.error})`] : []),
      ...(h.tlsa.status === 'unknown' ? [`the TLSA lookup for ${host} failed (${h.tlsa.error})`] : []),
    ];
    return { ...(why.length ? { why: why.join('; ') } : {}), ...(unk.length ? { unknown: unk.join('; ') } : {}) };
  };
  /** the severity of a TLS problem: blocking under MTA-STS enforce / DANE, a warning under opportunistic TLS */
  const tlsSeverity = (host: string): Severity => {
    const s = strictFor(host);
    if (!s.why && s.unknown) unknowns.push(`whether TLS problems on ${host} block delivery is unknown: ${s.unknown}`);
    return s.why ? 'error' : 'warn';
  };
  const strictNote = (host: string) => {
    const s = strictFor(host);
    return s.why
      ? `${s.why}: compliant senders will not deliver over this connection (RFC 8461 §5, RFC 7672 §2.2).`
      : 'TLS between mail servers is opportunistic here (no MTA-STS enforce, no DANE): senders deliver anyway, but without a verified or modern TLS session.';
  };

  // DANE-TA may match only certificates the server sent (RFC 7671 §5.2.2), and the probe's chain was
  // completed from the local trust store (--smtp-ca too): a second handshake trusting nothing shows what was sent
  const presented = new Map<MxProbe, Buffer[] | { error: string }>();
  await Promise.all(probes.map(async (p) => {
    if (!p.tls || !daneApplies(p.host)) return;
    if (!tlsaRecords(hosts.find((h) => h.host === p.host)!.tlsa).some((r) => r.usage === 2)) return;
    const chain = await sem.run(() => presentedChain(p, { port: cfg.port, timeoutMs: cfg.timeoutMs, helo: cfg.helo, signal: ctx.signal }));
    presented.set(p, 'der' in chain ? chain.der : chain);
  }));

  for (const p of probes) {
    const sent = presented.get(p);
    const chainUnknown = Boolean(sent && !Array.isArray(sent));
    if (sent && !Array.isArray(sent)) unknowns.push(`which certificates ${p.host} [${p.ip}] sends could not be read for DANE-TA (${sent.error}): its TLSA usage-2 records were matched against the leaf only`);
    // without usage-2 records only the leaf matters, and the leaf is what the server sent
    const chainSent = Array.isArray(sent) ? sent : (p.certsDer ?? []).slice(0, 1);
    const dane = daneApplies(p.host) ? daneMatch(tlsaRecords(hosts.find((h) => h.host === p.host)!.tlsa), chainSent) : undefined;
    const { certsDer: _der, ...plain } = p;
    data.probes.push({ ...plain, ...(dane ? { dane: { usable: dane.usable.length, ...(dane.matched ? { matched: `${dane.matched.usage} ${dane.matched.selector} ${dane.matched.matchingType} ${dane.matched.data}` } : {}) } } : {}) });
    const where = `${p.host}`;
    switch (p.status) {
      case 'unreachable':
      case 'no-ipv6':
        continue; // judged below, once we know whether anything answered at all
      case 'slow':
        c.add('smtp.slow', 'warn', p.host, p.ip, p.failure?.step === 'banner'
          ? `${where} accepted the connection but sent no greeting within ${cfg.timeoutMs} ms (tar-pit or overloaded): cut off`
          : `${where} did not answer ${p.failure?.step ?? 'a command'} within ${cfg.timeoutMs} ms: cut off`, {
          evidence: lines(p, () => true),
          detail: 'Senders wait up to 5 minutes for the greeting (RFC 5321 §4.5.3.2), so mail may still arrive, slowly; a deliberate greeting delay (tar-pit, postscreen) also slows every legitimate sender.',
          fix: `If this is deliberate (postscreen greet pause), keep the delay under a few seconds; otherwise look at ${p.host}'s load and DNS (slow reverse lookups delay the banner). Run again with a longer --smtp-timeout to measure it.`,
          ref: 'RFC 5321 §4.5.3.2',
        });
        continue;
      case 'refused-greeting':
        c.add('smtp.greeting-refused', 'warn', p.host, p.ip, `${where} refused the session with "${p.greetingCode} ${p.banner ?? ''}" instead of 220`, {
          evidence: lines(p, () => true),
          detail: 'A 554 greeting (RFC 5321 §3.1) refuses this client, often because its address is listed; it says nothing certain about mail from your real senders.',
          fix: `Probe from a host whose IP is not on blocklists, or ask the operator of ${p.host} why it refuses this address.`,
          ref: 'RFC 5321 §3.1',
        });
        continue;
      case 'error':
        c.add('smtp.session-error', 'warn', p.host, p.ip, `the SMTP session with ${where} failed at ${p.failure?.step}: ${p.failure?.message}`, {
          evidence: lines(p, () => true),
          fix: `Look at ${p.host}'s mail log for this connection; a server that drops sessions loses mail from retrying senders too.`,
          ref: 'RFC 5321 §4.1',
        });
        continue;
    }
    // a completed session
    if (p.bannerHost && p.bannerHost !== p.host) {
      c.add('smtp.banner-mismatch', 'info', p.host, p.ip, `${where} greets as ${p.bannerHost}`, {
        evidence: lines(p, (l) => l.dir === 'S', 1),
        detail: 'Normal at large providers and for hosts with several names; only a problem if the banner name does not resolve or has no matching PTR (some receivers compare them).',
        fix: `Optional: set the server's host name (Postfix myhostname, Exim primary_hostname) to ${p.host}, or give ${p.bannerHost} forward and reverse DNS.`,
        ref: 'RFC 5321 §4.3.1',
      });
    }
    if (p.esmtp === false) {
      c.add('smtp.no-esmtp', 'warn', p.host, p.ip, `${where} rejects EHLO: no ESMTP, so no STARTTLS, SIZE or 8BITMIME`, {
        evidence: lines(p, () => true),
        fix: 'Enable ESMTP (EHLO) on the server; every current MTA supports it.',
        ref: 'RFC 5321 §4.1.1.1',
      });
      continue;
    }
    // evaluated only when there is a problem: an unknown strictness matters only then
    const sev = () => tlsSeverity(p.host);
    if (!p.starttls.offered) {
      c.add('smtp.no-starttls', sev(), p.host, p.ip, `${where} does not offer STARTTLS: mail to ${domain} travels unencrypted`, {
        evidence: lines(p, (l) => l.dir === 'S' && l.line.startsWith('250'), 20),
        detail: strictNote(p.host),
        fix: `Enable STARTTLS on ${p.host} with a certificate for ${p.host} (Postfix: smtpd_tls_security_level = may, smtpd_tls_chain_files = key.pem, fullchain.pem).`,
        ref: 'RFC 3207; RFC 8461 §5',
      });
      continue;
    }
    if (!p.starttls.ok) {
      c.add('smtp.tls-failed', sev(), p.host, p.ip, `${where} offers STARTTLS but the TLS handshake fails: ${p.starttls.error}`, {
        evidence: lines(p, (l) => l.dir !== 'S' || !l.line.startsWith('250-')),
        detail: `${strictNote(p.host)} Even with TLS 1.0 and every cipher allowed, inboxlens could not complete a handshake.`,
        fix: `Check ${p.host}'s TLS key and certificate files and its cipher settings in the mail log; a handshake failure after STARTTLS makes senders fall back to plaintext or defer.`,
        ref: 'RFC 3207 §4.1',
      });
      continue;
    }
    const t = p.tls!;
    if (isOldTls(t.protocol)) {
      c.add('smtp.tls-old', sev(), p.host, p.ip, `${where} negotiates ${t.protocol} at best (${t.cipher.name}): below TLS 1.2`, {
        evidence: [certEvidence(t)],
        detail: `${strictNote(p.host)} Current TLS stacks (OpenSSL 3 default security level, Node, Go) refuse TLS 1.0/1.1, so they either fall back to plaintext or cannot deliver.`,
        fix: `Enable TLS 1.2 and 1.3 on ${p.host} (Postfix: smtpd_tls_protocols = >=TLSv1.2 needs OpenSSL ≥ 1.1.1; upgrade the MTA's TLS library if it cannot).`,
        ref: 'RFC 8996; RFC 7525 §3.1.1',
      });
    }
    const v = judgeCert(t, EXPIRY_WARN_DAYS);
    const daneOk = Boolean(dane?.matched);
    if (dane && dane.usable.length && !dane.matched && !chainUnknown) {
      const ta = dane.usable.some((r) => r.usage === 2);
      c.add('smtp.dane-mismatch', 'error', p.host, p.ip, `no TLSA record of _25._tcp.${p.host} matches the certificate ${p.host} presents`, {
        evidence: [evidenceOf(hosts.find((h) => h.host === p.host)!.tlsa!), certEvidence(t)],
        detail: `DANE senders (Postfix and Exim with DNSSEC, many European providers) refuse to deliver when no TLSA record matches (RFC 7672 §2.2).${ta ? ` A DANE-TA digest record (2 x 1, 2 x 2) matches only a certificate ${p.host} sends in its own chain, never one a sender has in its trust store (RFC 7671 §5.2.2); ${p.host} sent ${chainSent.length} certificate(s): ${chainSent.map((d) => subjectOf(d)).join(' → ') || 'none'}.` : ''}${data.mx.find((m) => m.host === p.host)!.tlsa.dnssec === 'unknown' ? ` DNSSEC is not confirmed (${notValidated}), so the TLSA records are assumed to be signed; if they are not, DANE senders ignore them.` : ''}`,
        fix: ta
          ? `Make ${p.host} send the trust anchor's certificate in its chain (Postfix: put the CA certificate after the server's in smtpd_tls_chain_files), or publish the anchor itself in DNS ("2 0 0 <the CA certificate>" or "2 1 0 <its public key>"), or pin the server's key: "_25._tcp.${p.host}. TLSA 3 1 1 <sha256 of the public key>".`
          : `Publish a TLSA record for the current key before rolling certificates, e.g. "_25._tcp.${p.host}. TLSA 3 1 1 <sha256 of the public key>" (keep the old and new records during a rollover).`,
        ref: 'RFC 7672 §3.1; RFC 7671 §8',
      });
    }
    // DANE-EE authenticates by key alone: names and expiry do not matter to DANE senders (RFC 7672 §3.1.1);
    // a DANE-TA match stands in for the WebPKI chain only: names and expiry are still checked (§3.1.2, §3.2.2)
    const daneExcused = (x: string) => dane?.matched?.usage === 3 || (dane?.matched?.usage === 2 && x.startsWith('the chain does not verify'));
    if (v.problems.length) {
      const s: Severity = daneOk && v.problems.every(daneExcused) && !strictFor(p.host).why?.includes('MTA-STS') ? 'info' : sev();
      c.add('smtp.cert-invalid', s, p.host, p.ip, `the certificate of ${where} is not valid for ${p.host}: ${v.problems.join('; ')}`, {
        evidence: [certEvidence(t)],
        detail: daneOk && v.problems.every(daneExcused)
          ? 'A TLSA record matches this certificate, so DANE senders accept it; WebPKI-validating senders (MTA-STS) would not.'
          : daneOk ? `A DANE-TA record matches its chain, but DANE-TA senders still check the name and the expiry (RFC 7672 §3.1.2, §3.2.2). ${strictNote(p.host)}` : strictNote(p.host),
        fix: `Install a certificate from a public CA that covers ${p.host} (a subjectAltName DNS entry), with the full chain, and renew it automatically (e.g. certbot/ACME).`,
        ref: v.expired ? 'RFC 5280 §4.1.2.5; RFC 8461 §4.2' : 'RFC 6125 §6; RFC 8461 §4.2',
      });
    } else if (v.expiringSoon) {
      c.add('smtp.cert-expiring', 'warn', p.host, p.ip, `the certificate of ${where} expires on ${t.cert!.validTo.slice(0, 10)} (in ${t.cert!.daysLeft} days)`, {
        evidence: [certEvidence(t)],
        detail: strictNote(p.host),
        fix: `Renew the certificate of ${p.host} now and automate renewal (ACME renews 30 days before expiry).`,
        ref: 'RFC 8461 §4.2',
      });
    } else {
      c.add('smtp.cert-ok', 'pass', p.host, p.ip, `${where}: certificate valid for ${p.host} until ${t.cert!.validTo.slice(0, 10)}, chain trusted`);
    }
    if (!isOldTls(t.protocol)) c.add('smtp.starttls', 'pass', p.host, p.ip, `${where}: STARTTLS with ${t.protocol} (${t.cipher.name})`);
  }

  // nothing answered: is it them, or is port 25 blocked on this side?
  if (!reached.length) {
    const onlyV6 = probes.every((p) => p.status === 'no-ipv6');
    if (onlyV6) {
      unknowns.push(`this machine has no IPv6 route and ${domain}'s MX hosts have only IPv6 addresses`);
    } else {
      ctx.progress('no MX answered: checking whether outbound port 25 is blocked here…');
      const p25 = await port25Status(ctx.dns, cfg.smtpCanaries, cfg.netCanaries, Math.min(cfg.timeoutMs, 5000));
      data.port25 = p25;
      if (p25.blocked === false) {
        for (const p of probes.filter((x) => x.status === 'unreachable')) {
          c.add('smtp.unreachable', 'error', p.host, p.ip, `no MX host of ${domain} accepts connections on port ${cfg.port}: ${p.host} ${p.failure?.message ?? ''}`.trim(), {
            evidence: [{ note: p25.summary }],
            detail: 'Outbound SMTP from this machine works (the canary mail servers answered), so senders cannot reach these hosts either: mail to this domain is queued and eventually bounced.',
            fix: `Start the MTA on ${p.host} and open TCP port 25 to the Internet in its firewall / security group.`,
            ref: 'RFC 5321 §5.1',
          });
        }
      } else {
        findings.push(f('smtp.port25-blocked', 'info', `outbound port 25 is blocked from this machine: the MX hosts of ${domain} could not be tested`, {
          evidence: p25.attempts.map((a) => ({ note: `${a.host}:${a.port}${a.ip && a.ip !== a.host ? ` (${a.ip})` : ''}: ${a.ok ? 'connected' : a.error} in ${a.ms} ms` })),
          detail: p25.summary,
          fix: 'Run the smtp check from a host that may connect out on port 25 (most cloud and CI providers block it by default; some lift it on request).',
          ref: 'RFC 6409 §1 (submission ports); RFC 5321 §5.1',
        }));
        unknowns.push(p25.summary);
      }
    }
  } else {
    for (const p of probes.filter((x) => x.status === 'unreachable')) {
      c.add('smtp.unreachable', 'warn', p.host, p.ip, `${p.host} does not accept connections on port ${cfg.port}: ${p.failure?.message ?? 'no connection'}`, {
        detail: `Other MX addresses answered (${reached.map((r) => `${r.host} [${r.ip}]`).join(', ')}), so mail still arrives, but senders waste time on this one.`,
        fix: `Bring ${p.host} back, or remove it from ${domain}'s MX records.`,
        ref: 'RFC 5321 §5.1',
      });
    }
  }
  const complete = probes.filter((p) => p.status === 'ok');
  if (reached.length && !complete.length) unknowns.push(`no MX address of ${domain} completed an SMTP session (${[...new Set(reached.map((r) => r.status))].join(', ')})`);
  if (complete.length) {
    c.add('smtp.reachable', 'pass', domain, undefined, `${complete.length} of ${probes.length} MX address(es) completed an SMTP session on port ${cfg.port}`);
  }

  // recipient verification, at the most preferred MX address that completed a session
  const rcpts = cfg.rcpts.filter((r) => domainOf(r) === domain);
  const elsewhere = cfg.rcpts.filter((r) => domainOf(r) !== domain);
  if (elsewhere.length) {
    data.rcptElsewhere = elsewhere;
    findings.push(f('smtp.rcpt-not-here', 'info', `not verified for ${domain}: ${elsewhere.join(', ')} (another domain)`, {
      fix: `Recipients are verified at their own domain's MX: run inboxlens smtp --rcpt ${elsewhere[0]}`,
      ref: 'RFC 5321 §5.1 (each domain is delivered to its own MX)',
    }));
  }
  if (rcpts.length) {
    const best = complete.sort((a, b) => a.priority - b.priority)[0];
    if (!best) {
      unknowns.push(`recipients not verified: no MX address of ${domain} completed a session`);
    } else {
      ctx.progress(`verifying ${rcpts.length} recipient(s) at ${best.host}…`);
      const run = await verifyRecipients(best, rcpts, { port: cfg.port, timeoutMs: cfg.timeoutMs, ca: cfg.ca, helo: cfg.helo, signal: ctx.signal, mailFrom: cfg.mailFrom, intervalMs: cfg.intervalMs, catchAllDomain: domain });
      data.rcpt = run;
      rcptFindings(run, domain, c, unknowns);
    }
  }
  findings.push(...c.findings());
  return data;
}

function rcptFindings(run: RcptRun, domain: string, c: Collector, unknowns: string[]): void {
  const at = `${run.host} [${run.ip}]`;
  const ev = (addr: string): Evidence[] => {
    const i = run.transcript.findIndex((l) => l.dir === 'C' && l.line === `RCPT TO:<${addr}>`);
    return i === -1 ? [] : run.transcript.slice(i, i + 2).map((l) => ({ record: `${l.dir}: ${l.line}` }));
  };
  const reply = (r: { code?: number; enhanced?: string; text?: string }) => `${r.code}${r.enhanced ? ` ${r.enhanced}` : ''} ${r.text ?? ''}`.trim();
  const catchAll = run.catchAll?.status === 'accepted';
  for (const r of run.results) {
    switch (r.status) {
      case 'accepted':
        c.add('smtp.rcpt-accepted', 'pass', domain, undefined, `${r.address}: accepted by ${at} (${reply(r)})${catchAll ? ', but the domain accepts any address' : ''}`);
        break;
      case 'rejected':
        if (r.rejectKind === 'policy') {
          c.add('smtp.rcpt-rejected', 'warn', domain, undefined, `${r.address}: refused by ${at} for policy reasons (${reply(r)}); the mailbox itself is not known`, {
            evidence: ev(r.address),
            detail: 'A 5.7.x refusal is about the client (its IP, its reputation, probing), not the mailbox (RFC 3463 §3.8).',
            fix: 'Verify from the host that really sends your mail, or ask the recipient.',
            ref: 'RFC 3463 §3.8',
          });
        } else {
          c.add('smtp.rcpt-rejected', 'error', domain, undefined, `${r.address}: rejected by ${at} (${reply(r)})`, {
            evidence: ev(r.address),
            detail: 'Mail to this address would bounce; sending to addresses that do not exist hurts your sender reputation (mailbox providers count invalid recipients).',
            fix: `Remove ${r.address} from your list (or fix its spelling).`,
            ref: 'RFC 5321 §4.2.2; RFC 3463 §3.2',
          });
        }
        break;
      case 'greylisted':
        if (r.tempKind === 'postscreen') {
          c.add('smtp.rcpt-postscreen', 'info', domain, undefined, `${r.address}: deferred by ${at} after its greeting tests (${reply(r)}): a retry from this client passes`, {
            evidence: ev(r.address),
            detail: 'Postfix\'s postscreen answers 450 4.3.2 to RCPT once a new client has passed its after-greeting tests (pipelining, non-SMTP commands, bare newlines); it lets the client in when it comes back. Like greylisting, it delays the first delivery; whether the mailbox exists is not known yet.',
            fix: 'Nothing to fix if your MTA retries; verify again in a minute to learn whether the address exists.',
            ref: 'RFC 5321 §4.2.1; Postfix POSTSCREEN_README (after 220 greeting tests)',
          });
          break;
        }
        c.add('smtp.greylisted', 'info', domain, undefined, `${r.address}: greylisted by ${at} (${reply(r)}): first delivery from a new sender is deferred`, {
          evidence: ev(r.address),
          detail: 'Greylisting (RFC 6647) rejects the first attempt from an unknown client temporarily; a retrying MTA gets through after minutes. Whether the mailbox exists is not known yet.',
          fix: 'Nothing to fix on your side if your MTA retries (all real MTAs do); expect a delay on first contact. Verify again later to learn whether the address exists.',
          ref: 'RFC 6647 §2',
        });
        break;
      case 'deferred':
        if (r.tempKind === 'misconfigured') {
          c.add('smtp.rcpt-receiver-misconfigured', 'error', domain, undefined, `${r.address}: ${at} defers every recipient because of its own configuration (${reply(r)})`, {
            evidence: ev(r.address),
            detail: '4.3.5 means "system incorrectly configured" (RFC 3463 §3.5). Postfix answers 451 4.3.5 when a policy service (check_policy_service) or a lookup table it needs is unreachable: every sender is deferred until it is fixed, and mail bounces once senders give up.',
            fix: `Read the mail log on ${run.host} (Postfix: "warning: problem talking to server …" or a table lookup error) and fix the policy service or table it names.`,
            ref: 'RFC 3463 §3.5; RFC 5321 §4.2.1',
          });
          break;
        }
        if (r.tempKind === 'policy') {
          c.add('smtp.rcpt-policy-deferred', 'warn', domain, undefined, `${r.address}: temporarily refused by ${at} for policy reasons: "${reply(r)}"`, {
            evidence: ev(r.address),
            detail: 'A 4.7.x reply without greylisting words is a temporary policy refusal (RFC 3463 §3.8), not greylisting: a retry may be refused again. Its text says which policy; the mailbox state is unknown.',
            fix: 'Read the quoted text: "Policy service unavailable" is a broken policy service at the receiver (its operator must fix it); a rate or reputation reason points at the probing client: verify from the host that really sends your mail.',
            ref: 'RFC 3463 §3.8; RFC 5321 §4.2.1',
          });
          break;
        }
        c.add('smtp.rcpt-deferred', 'warn', domain, undefined, `${r.address}: temporarily refused by ${at} (${reply(r)})`, {
          evidence: ev(r.address),
          detail: 'A 4xx reply is temporary (mailbox full, rate limit, local problem): delivery will be retried; the mailbox state is unknown.',
          fix: 'Verify again later; a persistent 452 4.2.2 means the mailbox is full.',
          ref: 'RFC 5321 §4.2.1',
        });
        break;
      default:
        unknowns.push(`${r.address}: ${r.reason ?? 'not verified'}`);
    }
  }
  if (catchAll) {
    c.add('smtp.catch-all', 'info', domain, undefined, `${domain} looks like a catch-all: ${at} accepted a random address (${run.catchAll!.address})`, {
      evidence: ev(run.catchAll!.address),
      detail: 'When any local part is accepted at RCPT time, "accepted" proves nothing: the server may bounce or discard later (RFC 5321 §3.3 allows accepting first).',
      fix: 'Treat accepted addresses at this domain as unverified; confirm them by engagement (opens, replies) or double opt-in.',
      ref: 'RFC 5321 §3.3',
    });
  }
  if (!run.reset && run.mailFromReply) unknowns.push(`the RSET after the recipient probe at ${at} was not confirmed`);
}

// ---- the sending side ----

const submissionCache = new Map<string, Promise<SubmissionProbe>>();

async function submission(ctx: CheckContext, cfg: SmtpConfig, findings: Finding[], unknowns: string[]): Promise<{ probe: SubmissionProbe; port25?: Port25Status }> {
  const t = cfg.submission!;
  const key = `${t.display}|${cfg.password ? 'pw' : ''}`;
  // several targets of one run share the probe in flight; a later run (a dashboard re-run) probes again
  let pp = submissionCache.get(key);
  if (!pp) {
    pp = probeSubmission(t, ctx.dns, { timeoutMs: cfg.timeoutMs, ca: cfg.ca, helo: cfg.helo, password: cfg.password, insecureAuth: cfg.insecureAuth, signal: ctx.signal });
    submissionCache.set(key, pp);
    pp.finally(() => submissionCache.delete(key)).catch(() => {});
  }
  ctx.progress(`probing submission server ${t.display}…`);
  const p = await pp;
  const c = new Collector();
  const host = `${t.host}:${t.port}`;
  let port25: Port25Status | undefined;
  const all = () => lines(p, () => true, 30);
  switch (p.status) {
    case 'unresolved':
      unknowns.push(`submission server ${t.host}: ${p.failure?.message}`);
      break;
    case 'unreachable':
    case 'no-ipv6':
      if (t.port === 25) port25 = await port25Status(ctx.dns, cfg.smtpCanaries, cfg.netCanaries, Math.min(cfg.timeoutMs, 5000));
      if (port25 && port25.blocked !== false) {
        findings.push(f('smtp.port25-blocked', 'info', `outbound port 25 is blocked from this machine, so ${t.display} cannot be reached from here`, {
          detail: port25.summary,
          fix: `Submit on port 587 (smtp://USER@${t.host}:587, STARTTLS) or 465 (smtps://USER@${t.host}:465): applications should not relay on port 25.`,
          ref: 'RFC 6409 §1; RFC 8314 §3.3',
        }));
        unknowns.push(`${t.display}: ${port25.summary}`);
      } else {
        c.add('smtp.unreachable', 'error', host, p.ip, `the submission server ${t.display} does not accept connections: ${p.failure?.message}`, {
          evidence: all(),
          fix: `Check the host and port (587 for STARTTLS, 465 for implicit TLS) and that ${t.host} listens there and its firewall lets this machine in.`,
          ref: 'RFC 6409 §3.1; RFC 8314 §3.3',
        });
      }
      break;
    case 'slow':
      c.add('smtp.slow', 'warn', host, p.ip, `${t.display} did not answer ${p.failure?.step} within ${cfg.timeoutMs} ms: cut off`, {
        evidence: all(),
        detail: t.scheme === 'smtp' && t.port === 465 && p.failure?.step === 'banner' ? 'Port 465 speaks TLS from the first byte: the server waits for a TLS handshake and sends no plaintext greeting.' : undefined,
        fix: t.scheme === 'smtp' && t.port === 465 ? `Use smtps://${t.user ? `${t.user}@` : ''}${t.host}:465 for implicit TLS.` : `Look at ${t.host}'s load, or measure with a longer --smtp-timeout.`,
        ref: 'RFC 5321 §4.5.3.2',
      });
      unknowns.push(`${t.display}: ${p.failure?.message}`);
      break;
    case 'refused-greeting':
      c.add('smtp.greeting-refused', 'warn', host, p.ip, `${t.display} refused the session: ${p.banner}`, { evidence: all(), fix: `Ask the operator of ${t.host} why it refuses this machine's address.`, ref: 'RFC 5321 §3.1' });
      unknowns.push(`${t.display} refused the session`);
      break;
    case 'error':
      if (p.failure?.step === 'tls') {
        c.add('smtp.tls-failed', 'error', host, p.ip, `implicit TLS to ${t.display} fails: ${p.failure.message}`, {
          evidence: all(),
          detail: t.port === 587 ? 'Port 587 starts in plaintext and upgrades with STARTTLS; smtps:// expects TLS from the first byte.' : undefined,
          fix: t.port === 587 ? `Use smtp://${t.user ? `${t.user}@` : ''}${t.host}:587 (STARTTLS).` : `Check the TLS key and certificate configured for port ${t.port} on ${t.host}.`,
          ref: 'RFC 8314 §3.3',
        });
      } else {
        c.add('smtp.session-error', 'warn', host, p.ip, `the session with ${t.display} failed at ${p.failure?.step}: ${p.failure?.message}`, { evidence: all(), fix: `Look at ${t.host}'s mail log for this connection.`, ref: 'RFC 6409' });
        unknowns.push(`${t.display}: ${p.failure?.message}`);
      }
      break;
    case 'ok': {
      if (p.authBeforeTls.length) {
        // the EHLO reply before STARTTLS is the evidence
        const tlsAt = p.transcript.findIndex((l) => l.dir === 'C' && l.line === 'STARTTLS');
        const clear = tlsAt === -1 ? p.transcript : p.transcript.slice(0, tlsAt);
        c.add('smtp.auth-before-tls', p.loopback ? 'info' : 'error', host, p.ip, `${t.display} offers AUTH ${p.authBeforeTls.join(' ')} before STARTTLS${p.loopback ? ' (loopback: the password never leaves this machine)' : ': clients may send the password in the clear'}`, {
          evidence: lines({ transcript: clear }, (l) => l.dir === 'S' && /^250[ -]AUTH/i.test(l.line), 3),
          fix: 'Offer AUTH only after STARTTLS (Postfix: smtpd_tls_auth_only = yes; Exim: auth_advertise_hosts = ${if eq{$tls_in_cipher}{}{}{*}}), or use implicit TLS on 465.',
          ref: 'RFC 4954 §4; RFC 8314 §3',
        });
      }
      if (t.scheme === 'smtp' && !p.starttls.offered) {
        c.add('smtp.no-starttls', 'error', host, p.ip, `${t.display} does not offer STARTTLS: passwords and messages would cross the network unencrypted`, {
          evidence: lines(p, (l) => l.dir === 'S' && l.line.startsWith('250'), 20),
          fix: `Enable STARTTLS on port ${t.port} (Postfix submission: -o smtpd_tls_security_level=encrypt), or use implicit TLS on 465.`,
          ref: 'RFC 3207; RFC 8314 §3.3',
        });
        break;
      }
      if (t.scheme === 'smtp' && !p.starttls.ok) {
        c.add('smtp.tls-failed', 'error', host, p.ip, `STARTTLS on ${t.display} fails: ${p.starttls.error}`, { evidence: all(), fix: `Check the TLS key, certificate and ciphers configured on ${t.host}.`, ref: 'RFC 3207 §4.1' });
        break;
      }
      const tl = p.tls!;
      if (isOldTls(tl.protocol)) {
        c.add('smtp.tls-old', 'warn', host, p.ip, `${t.display} negotiates ${tl.protocol} at best (${tl.cipher.name}): below TLS 1.2`, {
          evidence: [certEvidence(tl)],
          fix: 'Enable TLS 1.2 and 1.3; current mail libraries refuse TLS 1.0/1.1.',
          ref: 'RFC 8996; RFC 8314 §4.1',
        });
      }
      const v = judgeCert(tl, EXPIRY_WARN_DAYS);
      if (v.problems.length) {
        c.add('smtp.cert-invalid', 'error', host, p.ip, `the certificate of ${t.display} is not valid for ${t.host}: ${v.problems.join('; ')}`, {
          evidence: [certEvidence(tl)],
          detail: 'Mail clients and sending libraries verify the submission server\'s certificate and refuse to log in when it fails.',
          fix: `Install a certificate from a public CA that covers ${t.host}, with its full chain.`,
          ref: 'RFC 8314 §4.1; RFC 6125 §6',
        });
      } else if (v.expiringSoon) {
        c.add('smtp.cert-expiring', 'warn', host, p.ip, `the certificate of ${t.display} expires on ${tl.cert!.validTo.slice(0, 10)} (in ${tl.cert!.daysLeft} days)`, {
          evidence: [certEvidence(tl)], fix: `Renew the certificate of ${t.host} and automate renewal.`, ref: 'RFC 8314 §4.1',
        });
      }
      if (!p.authMechanisms.length) {
        c.add('smtp.no-auth', 'warn', host, p.ip, `${t.display} offers no AUTH mechanism under TLS`, {
          evidence: lines(p, (l) => l.dir === 'S' && l.line.startsWith('250'), 20),
          detail: 'Without SMTP AUTH a submission server relays by client IP only; applications cannot log in.',
          fix: 'Enable SASL authentication on the submission port (Postfix: -o smtpd_sasl_auth_enable=yes).',
          ref: 'RFC 6409 §4.1; RFC 4954',
        });
      }
      const a = p.auth;
      if (a.unverifiedTls && a.attempted) {
        c.add('smtp.auth-unverified-tls', 'warn', host, p.ip, `${t.display}: the password was sent over TLS whose certificate failed verification (--smtp-insecure-auth)`, {
          detail: 'Whoever answered on this connection may not be the server: with an unverified certificate the password could have gone to anyone in the path.',
          fix: `Use --smtp-insecure-auth only against a lab server; give a real server a valid certificate, or pass its private CA with --smtp-ca.`,
          ref: 'RFC 8314 §4.1; RFC 4954 §4',
        });
      } else if (a.unverifiedTls) {
        c.add('smtp.auth-withheld', 'warn', host, p.ip, `${t.display}: the login was not tested: ${a.reason}`, {
          fix: `Fix the certificate of ${t.host} (see smtp.cert-invalid), or pass a private CA with --smtp-ca. For a lab server only, --smtp-insecure-auth sends the password anyway.`,
          ref: 'RFC 8314 §4.1; RFC 4954 §4',
        });
      }
      if (a.attempted && a.ok === true) {
        c.add('smtp.auth-ok', 'pass', host, p.ip, `${t.display}: login as ${t.user} accepted (AUTH ${a.mechanism})`);
      } else if (a.attempted && a.ok === false) {
        c.add('smtp.auth-failed', 'error', host, p.ip, `${t.display}: login as ${t.user} refused (AUTH ${a.mechanism}: ${a.code}${a.enhanced ? ` ${a.enhanced}` : ''} ${a.text ?? ''})`.trim(), {
          evidence: lines(p, (l) => /^AUTH|^\[|^235|^334|^5\d\d|^4\d\d/.test(l.line) && l.dir !== '*', 6),
          fix: `Check the user name and the password in ${PASSWORD_ENV} (many providers need an app password or SMTP-specific credentials, not the account password).`,
          ref: 'RFC 4954 §6',
        });
      } else if (a.reason && t.user && !a.unverifiedTls) {
        if (a.attempted) unknowns.push(`${t.display}: login ${a.reason}`);
        else findings.push(f('smtp.auth-untested', 'info', `${t.display}: credentials not tested: ${a.reason}`, { fix: `Set ${PASSWORD_ENV} in the environment to test the login (it is never printed).`, ref: 'RFC 4954 §4' }));
      }
      if (!c.has('error') && !c.has('warn')) {
        c.add('smtp.submission-ok', 'pass', host, p.ip, `${t.display}: ${t.scheme === 'smtps' ? 'implicit TLS' : 'STARTTLS'} with ${tl.protocol}, certificate valid, AUTH ${p.authMechanisms.join(' ')} offered under TLS`);
      }
    }
  }
  findings.push(...c.findings());
  return { probe: p, ...(port25 ? { port25 } : {}) };
}

async function run(ctx: CheckContext<SmtpConfig>): Promise<CheckOutput> {
  const cfg = ctx.settings;
  const findings: Finding[] = [];
  const unknowns: string[] = [];
  const data: Record<string, unknown> = {};
  // the receiving side runs unless the user asked only about a submission server
  const doReceive = cfg.probe || cfg.rcpts.length > 0 || !cfg.submission;
  // both sides at once; their findings are kept apart so the order of the report is stable
  const recvFindings: Finding[] = [];
  const subFindings: Finding[] = [];
  const [recv, sub] = await Promise.all([
    doReceive ? receive(ctx, cfg, recvFindings, unknowns) : Promise.resolve(undefined),
    cfg.submission ? submission(ctx, cfg, subFindings, unknowns) : Promise.resolve(undefined),
  ]);
  findings.push(...recvFindings, ...subFindings);
  if (recv) data.receive = recv;
  if (sub) data.submission = { ...sub.probe, ...(sub.port25 ? { port25: sub.port25 } : {}) };
  const reason = [...new Set(unknowns)].join('; ');
  // an error finding stands on its own; otherwise anything we could not determine makes the result unknown
  if (unknowns.length && !findings.some((x) => x.severity === 'error')) return { status: 'unknown', reason, findings, data };
  return { findings, data, ...(unknowns.length ? { reason } : {}) };
}

function ms(n: number | undefined): string {
  return n === undefined ? '–' : `${n} ms`;
}

const check: Check<SmtpConfig> = {
  findings: SMTP_FINDINGS,
  docs: 'docs/checks/smtp.md',
  id: 'smtp',
  title: 'SMTP',
  needs: ['smtp', 'dns'],
  dependsOn: ['mta-sts'],
  optIn: true,
  optInWith: ['smtp-probe', 'rcpt', 'smtp'],
  cliOptions: {
    'smtp-probe': { type: 'boolean', describe: 'connect to every MX address of the domain on port 25: banner, EHLO, STARTTLS, TLS version, certificate, timings' },
    rcpt: { type: 'string', array: true, describe: `verify a recipient at its domain's MX (repeatable, at most ${MAX_RCPTS}): MAIL FROM/RCPT TO, then RSET and QUIT, never DATA` },
    smtp: { type: 'string', describe: `your submission server, smtp://USER@HOST:587 (STARTTLS) or smtps://USER@HOST:465; password from ${PASSWORD_ENV}` },
    'smtp-insecure-auth': { type: 'boolean', describe: 'labs only: send the password even when the submission server\'s certificate fails verification (reported as smtp.auth-unverified-tls)' },
    'smtp-timeout': { type: 'string', describe: `time limit for each SMTP step (connect, banner, each command, TLS) [default: ${DEFAULT_TIMEOUT}]` },
    'smtp-concurrency': { type: 'number', describe: `MX addresses probed at once [default: ${DEFAULT_CONCURRENCY}]` },
    'rcpt-interval': { type: 'string', describe: `minimum time between two RCPT commands to one server [default: ${DEFAULT_RCPT_INTERVAL}]` },
    'smtp-mail-from': { type: 'string', describe: 'reverse-path for recipient verification [default: <> (the null sender)]' },
    'smtp-helo': { type: 'string', describe: 'EHLO name [default: an address literal of this machine]' },
    'smtp-ca': { type: 'string', describe: 'also trust the CA certificate(s) in this PEM file when judging mail server certificates' },
    'smtp-port': { type: 'number', describe: 'connect to MX hosts on this port instead of 25 (labs and tests only)' },
    'smtp-canary': { type: 'string', array: true, describe: 'mail hosts (HOST[:PORT]) that show whether outbound port 25 works from here [default: Gmail, Yahoo, Outlook MX]' },
    'net-canary': { type: 'string', array: true, describe: 'web hosts (HOST[:PORT]) that show the network works at all [default: Google, Microsoft, Yahoo on 443]' },
  },
  parse: smtpConfig,
  run,
  details(r) {
    const out: Rich[] = [];
    const recv = r.data?.receive as ReceiveData | undefined;
    for (const p of recv?.probes ?? []) {
      const t = p.tls;
      const tlsPart: Span[] = t ? [span(`${t.protocol} ${t.cipher.name}`)] : p.starttls.offered ? [span('TLS failed', 'bad')] : p.status === 'ok' ? [span('no STARTTLS', 'warn')] : [];
      const cert: Span[] = t?.cert ? [judgeCert(t).problems.length ? span('cert invalid', 'bad') : span(`cert ok, ${t.cert.daysLeft} d left`)] : [];
      out.push([
        span(`${String(p.priority).padStart(3)} ${p.host} `), muted(`${p.ip}:${p.port}`), span('  '),
        p.status === 'ok' ? span('ok', 'good') : span(p.status, 'warn'), span('  '),
        ...tlsPart, ...(tlsPart.length && cert.length ? [span('  ')] : []), ...cert,
      ]);
      const timing = ['connect', 'banner', 'ehlo', 'starttls', 'handshake'].filter((k) => p.timings[k] !== undefined).map((k) => `${k} ${ms(p.timings[k])}`).join(' · ');
      const caps = Object.entries(p.extensionsTls ?? p.extensions ?? {}).map(([k, v]) => (v ? `${k} ${v}` : k)).join(' ');
      out.push([span('      '), muted([p.bannerHost ? `banner ${p.bannerHost}` : p.banner ? `banner "${p.banner.slice(0, 40)}"` : '', timing].filter(Boolean).join('  '))]);
      if (caps) out.push([span('      '), muted(`EHLO: ${caps}`)]);
    }
    const rc = recv?.rcpt;
    if (rc) {
      for (const x of [...rc.results, ...(rc.catchAll ? [rc.catchAll] : [])]) {
        out.push([span(`    RCPT ${x.address}: `), span(x.status, x.status === 'accepted' ? 'good' : x.status === 'rejected' ? 'bad' : 'warn'), span(' '), muted(x.code ? `${x.code}${x.enhanced ? ` ${x.enhanced}` : ''} ${x.text ?? ''}` : x.reason ?? '')]);
      }
    }
    const sub = r.data?.submission as SubmissionProbe | undefined;
    if (sub) {
      const t = sub.tls;
      out.push([
        span(`submit ${sub.url} `), muted(sub.ip ?? ''), span('  '), sub.status === 'ok' ? span('ok', 'good') : span(sub.status, 'warn'),
        span(`  ${t ? `${t.protocol} ${t.cipher.name}` : ''}  ${sub.authMechanisms.length ? `AUTH ${sub.authMechanisms.join(' ')}` : ''}`),
        ...(sub.auth.attempted ? [span('  login '), sub.auth.ok ? span('accepted', 'good') : sub.auth.ok === false ? span('refused', 'bad') : span('unknown', 'warn')] : []),
      ]);
    }
    return [{ kind: 'list', items: out }];
  },
};
export default check;
