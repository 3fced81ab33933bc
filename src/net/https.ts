// HTTPS fetching for checks (MTA-STS policies, BIMI logos and certificates, later
// content links). Host names are resolved through the run's DnsClient, so lab DNS
// works and every lookup lands in --trace; TLS is verified against the system
// store plus an optional --ca-file; time and body size are bounded; redirects are
// not followed unless asked. It never throws: failures come back classified, and
// the ones that prove nothing (timeouts, DNS failures) are marked `unknown`.
import net from 'node:net';
import tls from 'node:tls';
import { readInputFile, INPUT_LIMITS } from '../util/read-input.ts';
import { X509Certificate } from 'node:crypto';
import type { buildConnector } from 'undici';
import type { OptionSpec } from '../types.ts';
import type { DnsClient, DnsResponse } from '../dns/resolver.ts';
import { addresses, describe, isFailure } from '../dns/resolver.ts';
import type { RunOptions } from '../types.ts';
import { UsageError } from '../util/errors.ts';
import { parseDuration } from '../util/validate.ts';

export const DEFAULT_HTTPS_TIMEOUT_MS = 10_000;
export const DEFAULT_MAX_BYTES = 1024 * 1024;

/**
 * `inboxlens check` options for every check that fetches over HTTPS; each such
 * check spreads these into its `cliOptions` (declaring an option twice is harmless).
 */
export const httpsCliOptions: Record<string, OptionSpec> = {
  'ca-file': {
    type: 'string',
    describe: 'also trust the CA certificate(s) in this PEM file for HTTPS fetches (policies, logos), in addition to the system store',
    group: 'HTTPS:',
  },
  'https-timeout': {
    type: 'string',
    describe: 'time limit for one HTTPS fetch (e.g. 10s, 800ms)',
    default: '10s',
    group: 'HTTPS:',
  },
};

/** One entry of INBOXLENS_HTTPS_PORT_MAP: connect to `address:port` instead of `host:fromPort`. */
export interface PortMapEntry {
  /** exact host name, or `*.suffix` for any name below suffix */
  host: string;
  fromPort: number;
  address: string;
  port: number;
}

export interface HttpsSettings {
  /** extra trusted CA certificates (PEM), on top of the system store */
  extraCa: string[];
  caFile?: string;
  timeoutMs: number;
  portMap: PortMapEntry[];
}

/**
 * INBOXLENS_HTTPS_PORT_MAP, for tests and the lab only (a real run never needs
 * it): comma-separated `host:port=address:port` entries, e.g.
 * `mta-sts.good.sts.example:443=127.0.0.1:40123` or `*.sts.example:443=127.0.0.1:40123`.
 * The host name is still resolved through DNS (so a missing record still fails
 * as it would for real) and still used for SNI, Host and certificate checks;
 * only the TCP connection goes to the mapped address.
 */
export function parsePortMap(spec: string | undefined): PortMapEntry[] {
  if (!spec?.trim()) return [];
  return spec.split(',').map((s) => s.trim()).filter(Boolean).map((item) => {
    const m = /^(\*\.)?([a-z0-9_.-]+):(\d{1,5})=(\[[0-9a-f:.]+\]|[0-9.]+):(\d{1,5})$/i.exec(item);
    const fail = () => new UsageError(`INBOXLENS_HTTPS_PORT_MAP: '${item}' is not HOST:PORT=ADDRESS:PORT (e.g. mta-sts.example.com:443=127.0.0.1:40123); it is for tests and the lab only`);
    if (!m) throw fail();
    const address = m[4]!.replace(/^\[|\]$/g, '');
    const fromPort = Number(m[3]);
    const port = Number(m[5]);
    if (!net.isIP(address) || fromPort < 1 || fromPort > 65535 || port < 1 || port > 65535) throw fail();
    return { host: `${m[1] ?? ''}${m[2]!.toLowerCase().replace(/\.$/, '')}`, fromPort, address, port };
  });
}

function mappedTarget(map: PortMapEntry[], host: string, port: number): PortMapEntry | undefined {
  const h = host.toLowerCase();
  return map.find((e) => e.fromPort === port && (e.host === h || (e.host.startsWith('*.') && h.endsWith(e.host.slice(1)))));
}

function readCaFile(file: string): string[] {
  const text = readInputFile(file, { what: '--ca-file', maxBytes: INPUT_LIMITS.pem, encoding: 'utf8', hint: 'give a PEM file with one or more CA certificates' });
  const pems = text.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  if (!pems.length) throw new UsageError(`--ca-file: '${file}' holds no PEM certificate (expected -----BEGIN CERTIFICATE----- blocks)`);
  for (const p of pems) {
    try {
      new X509Certificate(p);
    } catch (e) {
      throw new UsageError(`--ca-file: '${file}' holds a certificate that does not parse (${(e as Error).message})`);
    }
  }
  return pems;
}

const settingsCache = new WeakMap<RunOptions, HttpsSettings>();

/**
 * The HTTPS settings of a run, validated once (call it from a check's prepare()
 * so bad input is a usage error before any target runs).
 */
export function httpsSettings(opts: RunOptions): HttpsSettings {
  let s = settingsCache.get(opts);
  if (s) return s;
  const caFile = typeof opts.caFile === 'string' && opts.caFile ? opts.caFile : undefined;
  const rawTimeout = opts.httpsTimeout as string | number | undefined;
  const timeoutMs = rawTimeout === undefined ? DEFAULT_HTTPS_TIMEOUT_MS : parseDuration(rawTimeout, '--https-timeout');
  if (timeoutMs < 10 || timeoutMs > 600_000) throw new UsageError(`--https-timeout: '${rawTimeout}' must be between 10ms and 10m`);
  s = { extraCa: caFile ? readCaFile(caFile) : [], caFile, timeoutMs, portMap: parsePortMap(process.env.INBOXLENS_HTTPS_PORT_MAP) };
  settingsCache.set(opts, s);
  return s;
}

export type HttpsFailureKind =
  /** the host name has no A/AAAA (NXDOMAIN or NODATA): a fact */
  | 'no-address'
  /** the DNS lookup itself failed: unknown */
  | 'dns-failure'
  /** refused, reset, unreachable */
  | 'connect'
  /** certificate verification or handshake failed */
  | 'tls'
  | 'timeout'
  | 'too-large'
  | 'bad-url'
  | 'protocol'
  | 'aborted';

export interface HttpsOk {
  ok: true;
  /** the URL that answered (after redirects, when followed) */
  url: string;
  status: number;
  headers: Record<string, string>;
  /** the media type of Content-Type, lower case, without parameters ('' when absent) */
  mediaType: string;
  body: Buffer;
  /** the IP address the name resolved to and that was used */
  address: string;
  redirects: string[];
  ms: number;
}

export interface HttpsFail {
  ok: false;
  url: string;
  kind: HttpsFailureKind;
  /** one line, fit for a finding */
  error: string;
  /** Node's TLS error code when certificate verification failed (e.g. DEPTH_ZERO_SELF_SIGNED_CERT) */
  tlsError?: string;
  /** true when the failure proves nothing about the server (timeout, DNS failure, abort) */
  unknown: boolean;
  address?: string;
  /** the address lookups, for evidence */
  dns?: DnsResponse[];
  redirects: string[];
  ms: number;
}

export type HttpsResult = HttpsOk | HttpsFail;

export interface FetchOptions {
  dns: DnsClient;
  settings: HttpsSettings;
  /** overrides settings.timeoutMs: the limit for the whole fetch, DNS included */
  timeoutMs?: number;
  maxBytes?: number;
  /** how many redirects to follow (https only); 0, the default, returns the 3xx as is */
  maxRedirects?: number;
  headers?: Record<string, string>;
  signal?: AbortSignal;
}

const TLS_CODES = /CERT|SIGNATURE|ISSUER|ALTNAME|SELF_SIGNED|ERR_SSL|ERR_TLS|EPROTO|HANDSHAKE/i;

function errCode(e: unknown): string | undefined {
  let cur: any = e;
  for (let i = 0; cur && i < 5; i++) {
    if (typeof cur.code === 'string' && cur.code !== 'UND_ERR_SOCKET') return cur.code;
    cur = cur.cause;
  }
  return undefined;
}

function errMessage(e: unknown): string {
  const err = e as Error & { cause?: Error };
  const msg = err?.message ?? String(e);
  return err?.cause?.message && !msg.includes(err.cause.message) ? `${msg}: ${err.cause.message}` : msg;
}

function mediaTypeOf(ct: string | undefined): string {
  return (ct ?? '').split(';')[0]!.trim().toLowerCase();
}

/** Resolve a host name through the run's DNS: both families at once. */
async function resolveHost(dns: DnsClient, host: string): Promise<{ addrs: string[]; responses: DnsResponse[]; failed: boolean }> {
  if (net.isIP(host)) return { addrs: [host], responses: [], failed: false };
  const [a, aaaa] = await Promise.all([dns.query(host, 'A'), dns.query(host, 'AAAA')]);
  const addrs = [...addresses(a), ...addresses(aaaa)].filter((x) => net.isIP(x));
  // one family failing does not matter when the other answered
  return { addrs, responses: [a, aaaa], failed: !addrs.length && (isFailure(a) || isFailure(aaaa)) };
}

/** GET an https:// URL. Never throws. */
export async function httpsGet(rawUrl: string, o: FetchOptions): Promise<HttpsResult> {
  const started = performance.now();
  const redirects: string[] = [];
  const timeoutMs = o.timeoutMs ?? o.settings.timeoutMs;
  const deadline = AbortSignal.timeout(timeoutMs);
  const signal = o.signal ? AbortSignal.any([deadline, o.signal]) : deadline;
  let url = rawUrl;
  for (let hop = 0; ; hop++) {
    const r = await fetchOnce(url, o, signal, timeoutMs, started, deadline);
    r.redirects = [...redirects];
    if (!r.ok || r.status < 300 || r.status > 399 || hop >= (o.maxRedirects ?? 0)) return r;
    const loc = r.headers.location;
    if (!loc) return r;
    let next: URL;
    try {
      next = new URL(loc, url);
    } catch {
      return { ok: false, url, kind: 'protocol', error: `redirect to an invalid Location '${loc}'`, unknown: false, redirects, ms: Math.round(performance.now() - started) };
    }
    if (next.protocol !== 'https:') {
      return { ok: false, url, kind: 'protocol', error: `redirect to a non-HTTPS URL ${next.href}`, unknown: false, redirects, ms: Math.round(performance.now() - started) };
    }
    redirects.push(url);
    url = next.href;
  }
}

async function fetchOnce(rawUrl: string, o: FetchOptions, signal: AbortSignal, timeoutMs: number, started: number, deadline: AbortSignal): Promise<HttpsResult> {
  const ms = () => Math.round(performance.now() - started);
  const fail = (kind: HttpsFailureKind, error: string, extra: Partial<HttpsFail> = {}): HttpsFail => ({
    ok: false, url: rawUrl, kind, error, unknown: kind === 'timeout' || kind === 'dns-failure' || kind === 'aborted', redirects: [], ms: ms(), ...extra,
  });
  let u: URL;
  try {
    u = new URL(rawUrl);
  } catch {
    return fail('bad-url', `'${rawUrl}' is not a valid URL`);
  }
  if (u.protocol !== 'https:') return fail('bad-url', `'${rawUrl}' is not an https:// URL`);
  const host = u.hostname.replace(/^\[|\]$/g, '').toLowerCase();
  const port = Number(u.port || 443);

  const timedOut = new Promise<'timeout'>((resolve) => {
    if (signal.aborted) resolve('timeout');
    else signal.addEventListener('abort', () => resolve('timeout'), { once: true });
  });
  const resolved = await Promise.race([resolveHost(o.dns, host), timedOut]);
  if (resolved === 'timeout') {
    return deadline.aborted ? fail('timeout', `no address for ${host} within ${timeoutMs} ms`) : fail('aborted', 'the run was cancelled');
  }
  const { addrs, responses, failed } = resolved;
  if (failed) return fail('dns-failure', `the address lookup for ${host} failed: ${responses.map(describe).join('; ')}`, { dns: responses });
  if (!addrs.length) return fail('no-address', `${host} has no A or AAAA record`, { dns: responses });

  const mapped = mappedTarget(o.settings.portMap, host, port);
  // prefer IPv4 when both exist: loopback labs and many networks lack IPv6 routes
  const ordered = mapped ? [mapped.address] : [...addrs.filter((x) => net.isIPv4(x)), ...addrs.filter((x) => net.isIPv6(x))];
  const address = ordered[0]!;
  const ca = o.settings.extraCa.length ? [...tls.getCACertificates('default'), ...o.settings.extraCa] : undefined;

  // undici loads only when a fetch happens: most runs (and every batch domain without MTA-STS/BIMI) never need it
  const { Agent, buildConnector: makeConnector, request } = await import('undici');
  const base = makeConnector({
    ...(ca ? { ca } : {}),
    rejectUnauthorized: true,
    timeout: timeoutMs,
    allowH2: false,
    // the name was resolved above through the run's DNS; hand node that address
    lookup: (_h: string, opts: { all?: boolean }, cb: (...a: any[]) => void) => {
      const family = net.isIPv6(address) ? 6 : 4;
      if (opts?.all) cb(null, [{ address, family }]);
      else cb(null, address, family);
    },
  } as any);
  const connect: buildConnector.connector = (opts, cb) => base({ ...opts, ...(mapped ? { port: String(mapped.port) } : {}) }, cb);
  const agent = new Agent({ connect, connections: 1, pipelining: 0 });
  try {
    const res = await request(u.href, {
      dispatcher: agent,
      method: 'GET',
      headers: { 'user-agent': 'inboxlens', accept: '*/*', ...o.headers },
      signal,
      headersTimeout: timeoutMs,
      bodyTimeout: timeoutMs,
    });
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(res.headers)) if (v !== undefined) headers[k.toLowerCase()] = Array.isArray(v) ? v.join(', ') : String(v);
    const maxBytes = o.maxBytes ?? DEFAULT_MAX_BYTES;
    if (Number(headers['content-length']) > maxBytes) {
      res.body.destroy();
      return fail('too-large', `the response is ${headers['content-length']} bytes, over the ${maxBytes}-byte limit`, { address });
    }
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of res.body) {
      size += (chunk as Buffer).length;
      if (size > maxBytes) {
        res.body.destroy();
        return fail('too-large', `the response is over the ${maxBytes}-byte limit`, { address });
      }
      chunks.push(chunk as Buffer);
    }
    return { ok: true, url: u.href, status: res.statusCode, headers, mediaType: mediaTypeOf(headers['content-type']), body: Buffer.concat(chunks, size), address, redirects: [], ms: ms() };
  } catch (e) {
    if (deadline.aborted) return fail('timeout', `no complete answer from ${host} (${address}) within ${timeoutMs} ms`, { address });
    if (signal.aborted) return fail('aborted', 'the run was cancelled', { address });
    const code = errCode(e);
    const msg = errMessage(e);
    if (code === 'UND_ERR_CONNECT_TIMEOUT' || code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT' || code === 'ETIMEDOUT') {
      return fail('timeout', `no complete answer from ${host} (${address}) within ${timeoutMs} ms`, { address });
    }
    if (code && TLS_CODES.test(code)) {
      return fail('tls', `TLS with ${host} (${address}) failed: ${code}: ${msg}`, { tlsError: code, address });
    }
    if (code === 'ECONNREFUSED' || code === 'ECONNRESET' || code === 'EHOSTUNREACH' || code === 'ENETUNREACH' || code === 'EADDRNOTAVAIL' || code === 'UND_ERR_SOCKET' || code === 'EPIPE') {
      return fail('connect', `cannot connect to ${host} (${address}:${mapped?.port ?? port}): ${code}`, { address });
    }
    return fail('protocol', `fetching ${u.href} failed: ${code ? `${code}: ` : ''}${msg}`, { address });
  } finally {
    agent.destroy().catch(() => {});
  }
}
