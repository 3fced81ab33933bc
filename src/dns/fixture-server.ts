// An authoritative dns2 server on loopback serving zones from YAML files: the lab
// DNS for tests, benchmarks and the demo. It can be slow, fail, truncate or send
// garbage on purpose, per name and type.
//
// Zone file format (fixtures/zones/*.yaml): a mapping of owner name to records.
//   example.com:
//     TXT: ["v=spf1 mx -all"]          # strings over 255 bytes are split (RFC 1035 §3.3)
//     MX: ["10 mx.example.com"]
//     A: [192.0.2.1]
//   slow.example.com:
//     behavior: timeout                # servfail | refused | timeout | truncate | malformed | nxdomain
//     delayMs: 800                     # extra latency for this name
//   partly.example.com:
//     behavior: { AAAA: servfail }     # per type
//   _25._tcp.mx.example.com:
//     TLSA: ["3 1 1 <hex>"]
//     secure: true                     # answers carry the AD bit, as a validating resolver
//                                      # sets it for DNSSEC-signed data (RFC 4035 §3.2.3)
// Names starting with `*.` are wildcards (RFC 4592, simplified: they match any
// name below that does not exist itself).
import net from 'node:net';
import { readFile, readdir } from 'node:fs/promises';
import path from 'node:path';
import { createRequire } from 'node:module';
import YAML from 'yaml';

const require = createRequire(import.meta.url);
const DNS2 = require('dns2');
const Packet = DNS2.Packet;
// TLSA (type 52) is not in dns2's table: served as raw rdata (RFC 3597), see makeRR
Packet.TYPE.TLSA ??= 52;

export type Behavior = 'servfail' | 'refused' | 'timeout' | 'truncate' | 'malformed' | 'nxdomain';
export interface NameEntry {
  records: Map<string, unknown[]>;
  behavior?: Behavior | Partial<Record<string, Behavior>>;
  delayMs?: number;
  /** answers about this name are DNSSEC-validated (the AD bit is set) */
  secure?: boolean;
}
export type ZoneData = Map<string, NameEntry>;

const TYPES = new Set(['A', 'AAAA', 'TXT', 'MX', 'CNAME', 'PTR', 'NS', 'SOA', 'SRV', 'SPF', 'CAA', 'TLSA']);
const BEHAVIORS = new Set<Behavior>(['servfail', 'refused', 'timeout', 'truncate', 'malformed', 'nxdomain']);

function norm(name: string): string {
  return name.trim().replace(/\.$/, '').toLowerCase();
}

/** Parse one zone document (already YAML-decoded) into ZoneData; errors name the owner and key. */
export function parseZone(doc: unknown, source = 'zone'): ZoneData {
  const zone: ZoneData = new Map();
  if (doc == null) return zone;
  if (typeof doc !== 'object' || Array.isArray(doc)) throw new Error(`${source}: expected a mapping of names to records`);
  for (const [owner, spec] of Object.entries(doc as Record<string, unknown>)) {
    const entry: NameEntry = { records: new Map() };
    if (spec == null || typeof spec !== 'object' || Array.isArray(spec)) throw new Error(`${source}: '${owner}' must map record types to lists`);
    for (const [key, value] of Object.entries(spec as Record<string, unknown>)) {
      if (key === 'behavior') {
        if (typeof value === 'string') {
          if (!BEHAVIORS.has(value as Behavior)) throw new Error(`${source}: '${owner}'.behavior '${value}' is not one of ${[...BEHAVIORS].join(', ')}`);
          entry.behavior = value as Behavior;
        } else if (value && typeof value === 'object') {
          entry.behavior = value as Record<string, Behavior>;
        }
        continue;
      }
      if (key === 'delayMs') {
        entry.delayMs = Number(value);
        continue;
      }
      if (key === 'secure') {
        entry.secure = value === true;
        continue;
      }
      const type = key.toUpperCase();
      if (!TYPES.has(type)) throw new Error(`${source}: '${owner}' has unknown record type '${key}'`);
      const list = Array.isArray(value) ? value : [value];
      entry.records.set(type === 'SPF' ? 'TXT' : type, [...(entry.records.get(type) ?? []), ...list]);
    }
    const name = norm(owner);
    const prev = zone.get(name);
    if (prev) {
      for (const [t, l] of entry.records) prev.records.set(t, [...(prev.records.get(t) ?? []), ...l]);
      prev.behavior ??= entry.behavior;
      prev.delayMs ??= entry.delayMs;
      prev.secure ??= entry.secure;
    } else zone.set(name, entry);
  }
  return zone;
}

export async function loadZoneFile(file: string): Promise<ZoneData> {
  return parseZone(YAML.parse(await readFile(file, 'utf8')), file);
}

/** Every *.yaml in a directory, merged. */
export async function loadZoneDir(dir: string): Promise<ZoneData> {
  const out: ZoneData = new Map();
  for (const f of (await readdir(dir)).filter((f) => f.endsWith('.yaml') || f.endsWith('.yml')).sort()) {
    mergeZone(out, await loadZoneFile(path.join(dir, f)));
  }
  return out;
}

export function mergeZone(into: ZoneData, from: ZoneData): ZoneData {
  for (const [name, e] of from) into.set(name, e);
  return into;
}

/** Split a TXT value into <=255-byte character-strings (RFC 1035 §3.3.14), on byte boundaries. */
export function splitTxt(value: string): Buffer[] {
  const buf = Buffer.from(value, 'utf8');
  const out: Buffer[] = [];
  for (let i = 0; i < buf.length; i += 255) out.push(buf.subarray(i, i + 255));
  return out.length ? out : [Buffer.alloc(0)];
}

function makeRR(name: string, type: string, value: unknown): any {
  const base = { name, type: Packet.TYPE[type], class: Packet.CLASS.IN, ttl: 300 };
  switch (type) {
    case 'A':
    case 'AAAA':
      return { ...base, address: String(value) };
    case 'CNAME':
    case 'PTR':
      return { ...base, domain: norm(String(value)) };
    case 'NS':
      return { ...base, ns: norm(String(value)) };
    case 'TXT':
      // a list is taken as explicit character-strings; a string is split at 255 bytes
      return { ...base, data: Array.isArray(value) ? value.map(String).map((s) => Buffer.from(s, 'utf8')) : splitTxt(String(value)) };
    case 'MX': {
      const [prio, host] = typeof value === 'string' ? value.trim().split(/\s+/) : [(value as any).priority, (value as any).exchange];
      return { ...base, priority: Number(prio), exchange: norm(String(host ?? '')) };
    }
    case 'TLSA': {
      // "3 1 1 <hex>": usage, selector, matching type, association data (RFC 6698 §2.1)
      const [u, sel, mt, hex] = String(value).trim().split(/\s+/);
      return { ...base, data: Buffer.concat([Buffer.from([Number(u), Number(sel), Number(mt)]), Buffer.from(hex ?? '', 'hex')]) };
    }
    case 'SOA':
      return { ...base, primary: 'ns.lab.test', admin: 'hostmaster.lab.test', serial: 1, refresh: 3600, retry: 600, expiration: 86400, minimum: 300 };
    default:
      throw new Error(`cannot serve record type ${type}`);
  }
}

export interface FixtureDnsOptions {
  zone?: ZoneData;
  /** latency added to every answer, to model a real network in benchmarks */
  latencyMs?: number;
  host?: string;
  port?: number;
}

export class FixtureDns {
  zone: ZoneData;
  latencyMs: number;
  readonly host: string;
  port = 0;
  /** queries received, per "TYPE name" */
  readonly counts = new Map<string, number>();
  queries = 0;
  /** queries received and not yet answered, and the most there ever were at once */
  inFlight = 0;
  maxInFlight = 0;
  private udp: any;
  private tcp: any;
  private timers = new Set<NodeJS.Timeout>();

  private constructor(opts: FixtureDnsOptions) {
    this.zone = opts.zone ?? new Map();
    this.latencyMs = opts.latencyMs ?? 0;
    this.host = opts.host ?? '127.0.0.1';
  }

  static async start(opts: FixtureDnsOptions = {}): Promise<FixtureDns> {
    const s = new FixtureDns(opts);
    await s.listen(opts.port ?? 0);
    return s;
  }

  get address(): string {
    return net.isIPv6(this.host) ? `[${this.host}]:${this.port}` : `${this.host}:${this.port}`;
  }

  /** Add or replace the records of one name. */
  set(name: string, type: string, values: unknown[]): void {
    const n = norm(name);
    const e: NameEntry = this.zone.get(n) ?? { records: new Map() };
    e.records.set(type.toUpperCase(), values);
    this.zone.set(n, e);
  }
  /** Whether answers about `name` carry the AD bit (DNSSEC-validated). */
  setSecure(name: string, secure: boolean): void {
    const n = norm(name);
    const e: NameEntry = this.zone.get(n) ?? { records: new Map() };
    e.secure = secure;
    this.zone.set(n, e);
  }
  setBehavior(name: string, behavior: NameEntry['behavior'] | undefined): void {
    const n = norm(name);
    const e: NameEntry = this.zone.get(n) ?? { records: new Map() };
    e.behavior = behavior;
    this.zone.set(n, e);
  }
  load(zone: ZoneData): void {
    mergeZone(this.zone, zone);
  }
  resetCounts(): void {
    this.counts.clear();
    this.queries = 0;
    this.maxInFlight = this.inFlight;
  }

  private async listen(port: number): Promise<void> {
    // UDP and TCP on the same port number; retry if another process holds the TCP side
    for (let tries = 0; tries < 20; tries++) {
      const udp = DNS2.createUDPServer({ type: net.isIPv6(this.host) ? 'udp6' : 'udp4' });
      udp.on('request', (req: any, send: any) => this.handle(req, send, 'udp'));
      udp.on('requestError', () => {});
      await udp.listen(port, this.host);
      // under concurrent load the default receive buffer drops datagrams
      try { udp.setRecvBufferSize(8 * 1024 * 1024); udp.setSendBufferSize(8 * 1024 * 1024); } catch { /* best effort */ }
      const chosen = udp.address().port;
      const tcp = DNS2.createTCPServer({ idleTimeout: 2000 });
      tcp.on('request', (req: any, send: any) => this.handle(req, send, 'tcp'));
      tcp.on('requestError', () => {});
      const ok = await new Promise<boolean>((resolve) => {
        tcp.once('error', () => resolve(false));
        tcp.listen(chosen, this.host, () => resolve(true));
      });
      if (ok) {
        this.udp = udp;
        this.tcp = tcp;
        this.port = chosen;
        return;
      }
      udp.close();
      if (port) break;
    }
    throw new Error(`fixture DNS could not listen on ${this.host}:${port || '(any port)'}`);
  }

  async stop(): Promise<void> {
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    await Promise.all([
      new Promise<void>((r) => { try { this.udp?.close(() => r()); } catch { r(); } }),
      new Promise<void>((r) => { try { this.tcp?.close(() => r()); } catch { r(); } }),
    ]);
  }

  /** The entry for a name: exact, else the closest wildcard above it, else undefined. */
  private lookupName(name: string): { entry?: NameEntry; exists: boolean } {
    const exact = this.zone.get(name);
    if (exact) return { entry: exact, exists: true };
    // an empty non-terminal exists (NODATA, not NXDOMAIN)
    const suffix = `.${name}`;
    for (const k of this.zone.keys()) if (k.endsWith(suffix) && !k.startsWith('*.')) return { exists: true };
    const labels = name.split('.');
    for (let i = 1; i < labels.length; i++) {
      const w = this.zone.get(`*.${labels.slice(i).join('.')}`);
      if (w) return { entry: w, exists: true };
    }
    return { exists: false };
  }

  private behaviorFor(entry: NameEntry | undefined, type: string): Behavior | undefined {
    const b = entry?.behavior;
    if (!b) return undefined;
    if (typeof b === 'string') return b;
    return b[type];
  }

  private handle(req: any, send: (p: any) => void, transport: 'udp' | 'tcp'): void {
    this.queries++;
    const q = req.questions?.[0];
    const res = Packet.createResponseFromRequest(req);
    res.header.aa = 1;
    res.header.ra = 1;
    if (!q) {
      res.header.rcode = 1;
      return this.reply(send, res, 0);
    }
    const qname = norm(q.name);
    const qtype: string = Object.keys(Packet.TYPE).find((k) => Packet.TYPE[k] === q.type) ?? String(q.type);
    const key = `${qtype} ${qname}`;
    this.counts.set(key, (this.counts.get(key) ?? 0) + 1);

    let { entry, exists } = this.lookupName(qname);
    const behavior = this.behaviorFor(entry, qtype);
    const delay = this.latencyMs + (entry?.delayMs ?? 0);
    switch (behavior) {
      case 'timeout':
        return; // never answer
      case 'servfail':
        res.header.rcode = 2;
        return this.reply(send, res, delay);
      case 'refused':
        res.header.rcode = 5;
        return this.reply(send, res, delay);
      case 'nxdomain':
        res.header.rcode = 3;
        return this.reply(send, res, delay);
      case 'malformed': {
        // a header that promises an answer that is not there
        const bad = Buffer.alloc(14);
        bad.writeUInt16BE(req.header.id, 0);
        bad.writeUInt16BE(0x8180, 2);
        bad.writeUInt16BE(1, 4);
        bad.writeUInt16BE(3, 6);
        return this.reply(send, bad, delay);
      }
      case 'truncate':
        if (transport === 'udp') {
          res.header.tc = 1;
          return this.reply(send, res, delay);
        }
    }

    // follow CNAMEs within the fixture data, as a recursive resolver would
    let name = qname;
    for (let hops = 0; hops < 8 && entry; hops++) {
      const cname = entry.records.get('CNAME');
      if (!cname?.length || qtype === 'CNAME') break;
      res.answers.push(makeRR(name, 'CNAME', cname[0]));
      name = norm(String(cname[0]));
      ({ entry, exists } = this.lookupName(name));
    }
    if (!exists) {
      res.header.rcode = 3;
      return this.reply(send, res, delay);
    }
    for (const v of entry?.records.get(qtype) ?? []) res.answers.push(makeRR(name, qtype, v));
    // RFC 6840 §5.7: AD only for a query that asked for it (AD or DO set)
    if (entry?.secure && req.header.ad) res.header.ad = 1;
    this.reply(send, res, delay);
  }

  private reply(send: (p: any) => void, msg: any, delay: number): void {
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    const go = () => {
      this.inFlight--;
      try {
        const r = send(msg) as unknown;
        if (r && typeof (r as Promise<unknown>).catch === 'function') (r as Promise<unknown>).catch(() => {});
      } catch { /* client went away */ }
    };
    if (delay > 0) {
      const t = setTimeout(() => { this.timers.delete(t); go(); }, delay);
      this.timers.add(t);
    } else go();
  }
}
