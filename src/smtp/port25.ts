// Is this machine's outbound port 25 blocked? Most cloud and CI networks drop it.
// When no MX answers at all we connect to a few well-known mail hosts on 25 and, as
// a control, to well-known web hosts on 443: 25 dead but 443 alive means the block
// is ours, not the domain's. Both lists are configurable (the tests use loopback).
import net from 'node:net';
import type { DnsClient } from '../dns/resolver.ts';
import { addresses } from '../dns/resolver.ts';

export interface Canary {
  host: string;
  port: number;
}

export const DEFAULT_SMTP_CANARIES = ['gmail-smtp-in.l.google.com:25', 'mta5.am0.yahoodns.net:25', 'hotmail-com.olc.protection.outlook.com:25'];
export const DEFAULT_NET_CANARIES = ['www.google.com:443', 'www.microsoft.com:443', 'www.yahoo.com:443'];

/** `host:port`, `[v6]:port` or `ip:port`; undefined when it does not parse. */
export function parseCanary(spec: string, defaultPort: number): Canary | undefined {
  const s = spec.trim();
  const v6 = /^\[([^\]]+)\](?::(\d+))?$/.exec(s);
  let host: string;
  let port = defaultPort;
  if (v6) {
    host = v6[1]!;
    if (v6[2]) port = Number(v6[2]);
  } else if (net.isIPv6(s)) {
    host = s;
  } else {
    const i = s.lastIndexOf(':');
    host = i === -1 ? s : s.slice(0, i);
    if (i !== -1) {
      if (!/^\d+$/.test(s.slice(i + 1))) return undefined;
      port = Number(s.slice(i + 1));
    }
  }
  if (!host || port < 1 || port > 65535) return undefined;
  if (!net.isIP(host) && !/^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$/i.test(host)) return undefined;
  return { host: host.toLowerCase(), port };
}

export interface CanaryAttempt {
  host: string;
  port: number;
  ip?: string;
  ok: boolean;
  error?: string;
  ms: number;
}

export interface Port25Status {
  /** true: 25 is blocked here; false: 25 works; null: cannot tell (no network at all) */
  blocked: boolean | null;
  summary: string;
  attempts: CanaryAttempt[];
}

function tcpConnect(ip: string, port: number, timeoutMs: number): Promise<{ ok: boolean; error?: string; ms: number }> {
  const t = performance.now();
  return new Promise((resolve) => {
    const sock = net.connect({ host: ip, port });
    const done = (ok: boolean, error?: string) => {
      clearTimeout(timer);
      sock.destroy();
      resolve({ ok, ...(error ? { error } : {}), ms: Math.round(performance.now() - t) });
    };
    const timer = setTimeout(() => done(false, `no connection within ${timeoutMs} ms`), timeoutMs);
    sock.once('connect', () => done(true));
    sock.once('error', (e: NodeJS.ErrnoException) => done(false, e.code ?? e.message));
  });
}

async function attempt(c: Canary, dns: DnsClient, timeoutMs: number): Promise<CanaryAttempt> {
  let ip = net.isIP(c.host) ? c.host : undefined;
  if (!ip) {
    const r = await dns.query(c.host, 'A');
    ip = addresses(r)[0];
    if (!ip) return { host: c.host, port: c.port, ok: false, error: `no address (A ${c.host}: ${r.rcode})`, ms: r.ms };
  }
  return { host: c.host, port: c.port, ip, ...(await tcpConnect(ip, c.port, timeoutMs)) };
}

/** how long an answer is reused: a batch of domains asks once, a later re-run asks again */
const CACHE_MS = 60_000;
const cache = new Map<string, { at: number; p: Promise<Port25Status> }>();

/** Probe the canaries (all at once); the answer is reused for a minute. */
export function port25Status(dns: DnsClient, smtp: Canary[], web: Canary[], timeoutMs: number): Promise<Port25Status> {
  const key = JSON.stringify([smtp, web]);
  const hit = cache.get(key);
  let p = hit && performance.now() - hit.at < CACHE_MS ? hit.p : undefined;
  if (!p) {
    p = (async (): Promise<Port25Status> => {
      const [s, w] = await Promise.all([
        Promise.all(smtp.map((c) => attempt(c, dns, timeoutMs))),
        Promise.all(web.map((c) => attempt(c, dns, timeoutMs))),
      ]);
      const attempts = [...s, ...w];
      const list = (xs: CanaryAttempt[]) => xs.map((x) => `${x.host}:${x.port}`).join(', ');
      if (s.some((x) => x.ok)) return { blocked: false, summary: `outbound SMTP works from here (${list(s.filter((x) => x.ok))} answered)`, attempts };
      if (w.some((x) => x.ok)) {
        return { blocked: true, summary: `outbound port 25 blocked: none of ${list(s)} answered, but ${list(w.filter((x) => x.ok))} did`, attempts };
      }
      return { blocked: null, summary: `no network: neither the mail canaries (${list(s)}) nor the web canaries (${list(w)}) answered`, attempts };
    })();
    cache.set(key, { at: performance.now(), p });
  }
  return p;
}
