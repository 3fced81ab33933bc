// The DNS layer every check uses: dns2 for the wire format and UDP, our own TCP
// (dns2's TCP client has no timeout) and DNS-over-HTTPS, with retries, failover,
// de-duplication, a per-run cache, one global concurrency cap and a query trace.
import net from 'node:net';
import { createRequire } from 'node:module';
import { Semaphore } from '../util/semaphore.ts';
import { redact, registerSecret } from '../util/redact.ts';
import { UdpPool } from './udp-pool.ts';

const require = createRequire(import.meta.url);
// dns2 is CommonJS; its Packet class encodes and decodes messages.
const DNS2 = require('dns2');
const Packet = DNS2.Packet;
// dns2 has no TLSA (RFC 6698, type 52) in its type table: register the number so
// queries can be built; the rdata comes back raw (RFC 3597 §5) and is decoded in convertAnswer.
Packet.TYPE.TLSA ??= 52;

export type RRType = 'A' | 'AAAA' | 'TXT' | 'MX' | 'CNAME' | 'PTR' | 'NS' | 'SOA' | 'SRV' | 'CAA' | 'TLSA';
export type Rcode = 'NOERROR' | 'NXDOMAIN' | 'SERVFAIL' | 'REFUSED' | 'FORMERR' | 'NOTIMP' | 'TIMEOUT' | 'NETERR' | 'MALFORMED';

export interface MxData { exchange: string; priority: number }
export interface RR {
  name: string;
  type: string;
  ttl: number;
  /** A/AAAA/CNAME/PTR/NS: string; TXT: the character-strings; MX: {exchange, priority} */
  data: string | string[] | MxData | Record<string, unknown>;
}

export interface DnsResponse {
  name: string;
  type: RRType;
  rcode: Rcode;
  /** every answer, CNAMEs included, in order */
  answers: RR[];
  ms: number;
  server?: string;
  transport?: 'udp' | 'tcp' | 'doh';
  /** why the lookup failed, when rcode is TIMEOUT/NETERR/MALFORMED/SERVFAIL/REFUSED */
  error?: string;
  /**
   * The resolver set the AD bit: it validated the answer with DNSSEC (RFC 4035 §3.2.3).
   * Absent: unsigned data, or a resolver that does not validate — only a probe of
   * signed data (see resolverValidates) tells which.
   */
  authenticated?: true;
}

export interface ResolverAddress { host: string; port: number; doh?: string }

export interface TraceEntry {
  name: string;
  type: string;
  rcode: Rcode;
  answers: string[];
  ms: number;
  server?: string;
  transport?: string;
  attempts: number;
  error?: string;
}

export interface DnsClientOptions {
  resolvers?: ResolverAddress[];
  /** per-attempt timeout */
  timeoutMs?: number;
  /** extra attempts after the first, spread over the resolvers (failover) */
  retries?: number;
  /** global cap on queries in flight */
  concurrency?: number;
  trace?: boolean;
  /** share one concurrency cap between several clients (a batch of domains) */
  semaphore?: Semaphore;
}

import { DEFAULT_CONCURRENCY } from './defaults.ts';
export { DEFAULT_CONCURRENCY };

const RCODE_NAMES: Record<number, Rcode> = { 0: 'NOERROR', 1: 'FORMERR', 2: 'SERVFAIL', 3: 'NXDOMAIN', 4: 'NOTIMP', 5: 'REFUSED' };
/** rcodes that mean "no answer was obtained": the result is unknown, never a pass or fail */
export const FAILED_RCODES: ReadonlySet<Rcode> = new Set(['SERVFAIL', 'REFUSED', 'FORMERR', 'NOTIMP', 'TIMEOUT', 'NETERR', 'MALFORMED']);

export function isFailure(r: DnsResponse): boolean {
  return FAILED_RCODES.has(r.rcode);
}

/** Parse `host[:port]`, `[v6]:port` or an https:// DoH URL; throws a message fit for the user. */
export function parseResolver(spec: string): ResolverAddress {
  const s = spec.trim();
  if (/^https?:\/\//i.test(s)) {
    let u: URL;
    try { u = new URL(s); } catch { throw new Error(`--resolver '${spec}' is not a valid DNS-over-HTTPS URL`); }
    const host = u.hostname.replace(/^\[|\]$/g, '');
    // plain http only to a DoH server on this machine (a lab): anything else would send queries in clear
    if (u.protocol === 'http:' && !(host === 'localhost' || host === '::1' || /^127\./.test(host))) {
      throw new Error(`--resolver '${spec}': DNS-over-HTTPS must use https:// (plain http:// is accepted only on loopback, for a lab)`);
    }
    return { host, port: Number(u.port || (u.protocol === 'http:' ? 80 : 443)), doh: u.toString() };
  }
  let host = s;
  let port = 53;
  const v6 = /^\[([^\]]+)\](?::(\d+))?$/.exec(s);
  if (v6) {
    host = v6[1]!;
    if (v6[2]) port = Number(v6[2]);
  } else if ((s.match(/:/g) ?? []).length === 1) {
    const [h, p] = s.split(':');
    host = h!;
    if (!/^\d+$/.test(p!)) throw new Error(`--resolver '${spec}': the port '${p}' is not a number (use HOST[:PORT], e.g. 127.0.0.1:5353)`);
    port = Number(p);
  }
  if (!net.isIP(host)) throw new Error(`--resolver '${spec}': give the resolver's IP address (e.g. 1.1.1.1 or 127.0.0.1:5353), not a host name`);
  if (port < 1 || port > 65535) throw new Error(`--resolver '${spec}': port ${port} is out of range 1-65535`);
  return { host, port };
}

/** The resolvers in /etc/resolv.conf, or none. */
export async function systemResolvers(): Promise<ResolverAddress[]> {
  const { readFile } = await import('node:fs/promises');
  try {
    const text = await readFile('/etc/resolv.conf', 'utf8');
    const out: ResolverAddress[] = [];
    for (const line of text.split('\n')) {
      const m = /^\s*nameserver\s+(\S+)/.exec(line);
      if (m) {
        const host = m[1]!.replace(/%.*$/, '');
        if (net.isIP(host)) out.push({ host, port: 53 });
      }
    }
    return out;
  } catch {
    return [];
  }
}

export function normalizeName(name: string): string {
  return name.trim().replace(/\.$/, '').toLowerCase();
}

function rrToString(rr: RR): string {
  const d = rr.data;
  if (typeof d === 'string') return rr.type === 'CNAME' ? `CNAME ${d}` : d;
  if (Array.isArray(d)) return d.map((s) => JSON.stringify(s)).join(' ');
  if (rr.type === 'MX') return `${(d as MxData).priority} ${(d as MxData).exchange || '.'}`;
  if (rr.type === 'TLSA') return `${(d as any).usage} ${(d as any).selector} ${(d as any).matchingType} ${(d as any).data}`;
  return JSON.stringify(d);
}

const TYPE_NAME: Record<number, string> = Object.fromEntries(
  Object.entries(Packet.TYPE as Record<string, number>).map(([k, v]) => [v, k]),
);

function convertAnswer(a: any): RR {
  const type = TYPE_NAME[a.type] ?? String(a.type);
  let data: RR['data'];
  switch (type) {
    case 'A':
    case 'AAAA':
      data = String(a.address);
      break;
    case 'CNAME':
    case 'PTR':
    case 'NS':
      data = normalizeName(String(a.domain ?? a.ns ?? ''));
      break;
    case 'TXT':
    case 'SPF':
      data = Array.isArray(a.data) ? a.data.map(String) : [String(a.data)];
      break;
    case 'MX':
      data = { exchange: normalizeName(String(a.exchange)), priority: Number(a.priority) };
      break;
    case 'TLSA': {
      // RFC 6698 §2.1: usage, selector, matching type (one octet each), then the association data
      const raw: Buffer = Buffer.isBuffer(a.data) ? a.data : Buffer.alloc(0);
      if (raw.length < 3) throw new Error(`TLSA record for ${a.name} is ${raw.length} octets long`);
      data = { usage: raw[0]!, selector: raw[1]!, matchingType: raw[2]!, data: raw.subarray(3).toString('hex') };
      break;
    }
    default: {
      const { name: _n, type: _t, class: _c, ttl: _l, ...rest } = a;
      data = rest;
    }
  }
  return { name: normalizeName(String(a.name)), type, ttl: Number(a.ttl ?? 0), data };
}

/** Answers of one type for the queried name, following the CNAME chain in the answer section. */
export function answersOf(resp: DnsResponse, type: string = resp.type): RR[] {
  return resp.answers.filter((a) => a.type === type);
}
/** TXT answers, each record's character-strings joined without spaces (RFC 7208 §3.3). */
export function txtRecords(resp: DnsResponse): string[] {
  return answersOf(resp, 'TXT').map((a) => (a.data as string[]).join(''));
}
export function addresses(resp: DnsResponse): string[] {
  return answersOf(resp).map((a) => a.data as string);
}
export function mxRecords(resp: DnsResponse): MxData[] {
  return answersOf(resp, 'MX').map((a) => a.data as MxData);
}
/** The CNAME chain the resolver followed, in order. */
export function cnameChain(resp: DnsResponse): string[] {
  return answersOf(resp, 'CNAME').map((a) => a.data as string);
}
export function describe(resp: DnsResponse): string {
  if (resp.rcode !== 'NOERROR') return `${resp.type} ${resp.name}: ${resp.rcode}${resp.error ? ` (${resp.error})` : ''}`;
  if (!resp.answers.length) return `${resp.type} ${resp.name}: no records (NODATA)`;
  return `${resp.type} ${resp.name}: ${resp.answers.map(rrToString).join(', ')}`;
}
export function evidenceOf(resp: DnsResponse): { query: string; type: string; rcode: string; answers: string[] } {
  return { query: resp.name, type: resp.type, rcode: resp.rcode, answers: resp.answers.map(rrToString) };
}

function buildQuery(name: string, type: RRType): { id: number; buf: Buffer } {
  const q = new Packet();
  q.header.id = Packet.uuid();
  q.header.rd = 1;
  q.header.ad = 1; // as in udp-pool.ts encodeQuery: report whether the resolver validated the answer
  q.questions.push({ name, class: Packet.CLASS.IN, type: Packet.TYPE[type] });
  // EDNS0 with a 1232-byte payload (DNS flag day 2020): fewer truncations, TCP still covers the rest
  q.additionals.push(Packet.Resource.EDNS([]));
  q.additionals[0].class = 1232;
  return { id: q.header.id, buf: q.toBuffer() };
}

class AttemptError extends Error {
  rcode: Rcode;
  constructor(rcode: Rcode, message: string) {
    super(message);
    this.rcode = rcode;
  }
}

function tcpQuery(server: ResolverAddress, name: string, type: RRType, timeoutMs: number): Promise<any> {
  const { id, buf } = buildQuery(name, type);
  return new Promise((resolve, reject) => {
    const sock = net.connect({ host: server.host, port: server.port });
    let chunks: Buffer[] = [];
    let total = 0;
    const timer = setTimeout(() => {
      sock.destroy();
      reject(new AttemptError('TIMEOUT', `no answer over TCP within ${timeoutMs} ms`));
    }, timeoutMs);
    const done = (err: Error | null, value?: any) => {
      clearTimeout(timer);
      sock.destroy();
      if (err) reject(err);
      else resolve(value);
    };
    sock.on('error', (e) => done(new AttemptError('NETERR', `TCP: ${e.message}`)));
    sock.on('connect', () => {
      const len = Buffer.alloc(2);
      len.writeUInt16BE(buf.length);
      sock.write(Buffer.concat([len, buf]));
    });
    sock.on('data', (d: Buffer) => {
      chunks.push(d);
      total += d.length;
      const all = Buffer.concat(chunks, total);
      chunks = [all];
      if (all.length >= 2) {
        const need = all.readUInt16BE(0);
        if (all.length >= need + 2) {
          try {
            const p = Packet.parse(all.subarray(2, need + 2));
            if (p.header.id !== id) return done(new AttemptError('MALFORMED', 'TCP answer id does not match the query'));
            done(null, p);
          } catch (e) {
            done(new AttemptError('MALFORMED', `undecodable TCP answer: ${(e as Error).message}`));
          }
        }
      }
    });
    sock.on('end', () => done(new AttemptError('NETERR', 'TCP connection closed before a full answer')));
  });
}

async function dohQuery(server: ResolverAddress, name: string, type: RRType, timeoutMs: number): Promise<any> {
  const { buf } = buildQuery(name, type);
  // RFC 8484 §4.1: the id SHOULD be 0 for cache friendliness
  buf.writeUInt16BE(0, 0);
  let res: Response;
  try {
    res = await fetch(server.doh!, {
      method: 'POST',
      headers: { 'content-type': 'application/dns-message', accept: 'application/dns-message' },
      body: buf,
      signal: AbortSignal.timeout(timeoutMs),
    });
  } catch (e) {
    const err = e as Error;
    if (err.name === 'TimeoutError') throw new AttemptError('TIMEOUT', `no DoH answer within ${timeoutMs} ms`);
    throw new AttemptError('NETERR', `DoH: ${err.message}`);
  }
  if (!res.ok) throw new AttemptError('SERVFAIL', `DoH server answered HTTP ${res.status}`);
  try {
    return Packet.parse(Buffer.from(await res.arrayBuffer()));
  } catch (e) {
    throw new AttemptError('MALFORMED', `undecodable DoH answer: ${(e as Error).message}`);
  }
}

async function udpQuery(pool: UdpPool, server: ResolverAddress, name: string, type: RRType, timeoutMs: number): Promise<any> {
  // truncation is handled by our own TCP client (it has a timeout); the pool reuses sockets (src/dns/udp-pool.ts)
  try {
    return await pool.query(server.host, server.port, name, Packet.TYPE[type], timeoutMs);
  } catch (e) {
    const err = e as Error & { code?: string };
    if (err.code === 'ETIMEDOUT') throw new AttemptError('TIMEOUT', `no answer within ${timeoutMs} ms`);
    // the pool's sockets are connected, so an ICMP port-unreachable comes back as this
    if (err.code === 'ECONNREFUSED') throw new AttemptError('NETERR', `nothing answers DNS on UDP port ${server.port} of ${server.host} (connection refused)`);
    throw new AttemptError('NETERR', err.message);
  }
}

/**
 * Does this resolver validate DNSSEC? The root zone is always signed, so a
 * validating resolver sets the AD bit on its NS answer; one that does not
 * validate never sets it. undefined: the probe itself failed.
 */
export async function resolverValidates(dns: DnsClient): Promise<boolean | undefined> {
  const r = await dns.query('.', 'NS');
  if (isFailure(r)) return undefined;
  return r.rcode === 'NOERROR' && r.authenticated === true;
}

/** host:port as people write it: an IPv6 address in brackets ([::1]:53). */
export function endpoint(host: string, port: number): string {
  return net.isIPv6(host) ? `[${host}]:${port}` : `${host}:${port}`;
}

export class DnsClient {
  readonly resolvers: ResolverAddress[];
  readonly timeoutMs: number;
  readonly retries: number;
  readonly concurrency: number;
  private readonly sem: Semaphore;
  private readonly cache = new Map<string, Promise<DnsResponse>>();
  private readonly udp = new UdpPool();
  private readonly traceOn: boolean;
  readonly trace: TraceEntry[] = [];
  /** how many queries went to the wire (cache and de-duplication hits excluded) */
  wireQueries = 0;

  constructor(opts: DnsClientOptions = {}) {
    this.resolvers = opts.resolvers?.length ? opts.resolvers : [{ host: '127.0.0.1', port: 53 }];
    this.timeoutMs = opts.timeoutMs ?? 2500;
    this.retries = opts.retries ?? 2;
    this.concurrency = opts.concurrency ?? DEFAULT_CONCURRENCY;
    this.sem = opts.semaphore ?? new Semaphore(this.concurrency);
    this.traceOn = opts.trace ?? false;
  }

  /** A secret (a DQS key) that may appear inside query names: masked in the trace and in errors. */
  addSecret(secret: string): void {
    registerSecret(secret);
  }
  redact(text: string): string {
    return redact(text);
  }

  /**
   * One lookup; never throws: failures come back as an rcode with an error text.
   * `followUp`: a query that continues a lookup already answered (the TXT reason of
   * a listing) goes to the head of the queue under the cap, not behind the whole sweep.
   */
  query(name: string, type: RRType, followUp = false): Promise<DnsResponse> {
    const n = normalizeName(name);
    const key = `${type} ${n}`;
    let p = this.cache.get(key);
    if (!p) {
      p = this.sem.run(() => this.resolveWire(n, type), followUp);
      this.cache.set(key, p);
    }
    return p;
  }

  /** Drop a failed lookup from the cache so a later `r` (re-run) asks again. */
  forget(name: string, type: RRType): void {
    this.cache.delete(`${type} ${normalizeName(name)}`);
  }

  private async resolveWire(name: string, type: RRType): Promise<DnsResponse> {
    const started = performance.now();
    let last: AttemptError | undefined;
    let attempts = 0;
    for (let attempt = 0; attempt <= this.retries; attempt++) {
      const server = this.resolvers[attempt % this.resolvers.length]!;
      attempts++;
      this.wireQueries++;
      try {
        let transport: DnsResponse['transport'] = server.doh ? 'doh' : 'udp';
        let pkt = server.doh
          ? await dohQuery(server, name, type, this.timeoutMs)
          : await udpQuery(this.udp, server, name, type, this.timeoutMs);
        if (pkt.header.tc) {
          transport = 'tcp';
          pkt = await tcpQuery(server, name, type, this.timeoutMs);
        }
        // a message with QR=0 is a query, not an answer (a reflector or a broken middlebox echoing
        // what it got): its empty answer section says nothing, so it is a failed lookup, never "no record"
        if (!pkt.header?.qr) throw new AttemptError('MALFORMED', `${server.doh ?? server.host} sent back a query (QR=0), not a response`);
        const rcode = RCODE_NAMES[pkt.header.rcode] ?? 'SERVFAIL';
        // SERVFAIL and REFUSED from one resolver: another resolver may do better
        if ((rcode === 'SERVFAIL' || rcode === 'REFUSED') && attempt < this.retries && this.resolvers.length > 1) {
          last = new AttemptError(rcode, `${server.host} answered ${rcode}`);
          continue;
        }
        let answers: RR[];
        try {
          answers = (pkt.answers as any[]).map(convertAnswer);
        } catch (e) {
          throw new AttemptError('MALFORMED', `undecodable answer: ${(e as Error).message}`);
        }
        if (pkt.errors?.length && !answers.length && rcode === 'NOERROR') {
          throw new AttemptError('MALFORMED', `undecodable answer: ${pkt.errors.map((e: Error) => e.message).join('; ')}`);
        }
        const resp: DnsResponse = {
          name, type, rcode, answers, ms: Math.round(performance.now() - started),
          ...(pkt.header.ad ? { authenticated: true as const } : {}),
          server: endpoint(server.host, server.port), transport,
          error: rcode === 'NOERROR' || rcode === 'NXDOMAIN' ? undefined : `${endpoint(server.host, server.port)} answered ${rcode}`,
        };
        this.record(resp, attempts);
        return resp;
      } catch (e) {
        last = e instanceof AttemptError ? e : new AttemptError('NETERR', (e as Error).message);
        if (attempt < this.retries) await new Promise((r) => setTimeout(r, 50 * 2 ** attempt));
      }
    }
    const resp: DnsResponse = {
      name, type, rcode: last!.rcode, answers: [], ms: Math.round(performance.now() - started),
      error: this.redact(`${last!.message} (after ${attempts} attempt${attempts > 1 ? 's' : ''} to ${this.resolvers.map((r) => endpoint(r.host, r.port)).join(', ')})`),
    };
    this.record(resp, attempts);
    return resp;
  }

  private record(resp: DnsResponse, attempts: number): void {
    if (!this.traceOn) return;
    this.trace.push({
      name: this.redact(resp.name), type: resp.type, rcode: resp.rcode,
      answers: resp.answers.map(rrToString), ms: resp.ms, server: resp.server, transport: resp.transport, attempts,
      ...(resp.error ? { error: this.redact(resp.error) } : {}),
    });
  }

  /**
   * The resolver handed to mailauth: `resolver(name, rrtype)` in the shape of
   * node's dns.promises.resolve, failing with node-style codes.
   */
  mailauthResolver = async (name: string, rrtype: string): Promise<any> => {
    const type = rrtype.toUpperCase() as RRType;
    const resp = await this.query(name, type);
    if (resp.rcode !== 'NOERROR') {
      const code = { NXDOMAIN: 'ENOTFOUND', TIMEOUT: 'ETIMEOUT', REFUSED: 'EREFUSED', SERVFAIL: 'ESERVFAIL', FORMERR: 'EFORMERR', NOTIMP: 'ENOTIMP', NETERR: 'ECONNREFUSED', MALFORMED: 'EBADRESP' }[resp.rcode];
      const err = new Error(`${type} ${name}: ${resp.rcode}`) as Error & { code?: string };
      err.code = code;
      throw err;
    }
    const list = answersOf(resp, type);
    if (!list.length) {
      const err = new Error(`${type} ${name}: no records`) as Error & { code?: string };
      err.code = 'ENODATA';
      throw err;
    }
    return list.map((a) => a.data);
  };
}
