// What a DNSBL answer means. An answer is a listing only when it is a documented
// listing code inside 127.0.0.0/8; error codes, answers outside 127/8 and DNS
// failures are errors, never listings and never "clean".
import ipaddr from 'ipaddr.js';
import { addresses, isFailure, type DnsResponse } from '../dns/resolver.ts';
import type { CodeMeaning, ZoneDef } from './zones.ts';
import type { Severity } from '../types.ts';

export type CellStatus = 'listed' | 'clean' | 'allowlisted' | 'error' | 'refused' | 'rate-limited' | 'unknown' | 'unreliable';
export const UNDETERMINED: ReadonlySet<CellStatus> = new Set(['error', 'refused', 'rate-limited', 'unknown', 'unreliable']);

export interface Decoded {
  status: CellStatus;
  /** the A answers as received */
  answers: string[];
  /** for listings: one line per code (or bit) with its meaning */
  meanings?: string[];
  /** the worst severity among the matched codes (listings) */
  severity?: Exclude<Severity, 'pass'>;
  /** why the answer is not a verdict */
  reason?: string;
}

function asMeaning(v: string | CodeMeaning): CodeMeaning {
  return typeof v === 'string' ? { meaning: v } : v;
}

function toInt(a: string): number {
  return ipaddr.IPv4.parse(a).toByteArray().reduce((n, b) => n * 256 + b, 0);
}

/** Does a code key ("127.0.0.2", "127.0.0.4-127.0.0.7", "127.0.*.3") match an answer? */
export function codeMatches(key: string, answer: string): boolean {
  if (key.includes('-')) {
    const [lo, hi] = key.split('-');
    const v = toInt(answer);
    return v >= toInt(lo!) && v <= toInt(hi!);
  }
  if (key.includes('*')) {
    const k = key.split('.');
    const a = answer.split('.');
    return k.every((o, i) => o === '*' || o === a[i]);
  }
  return key === answer;
}

function lookup(table: Record<string, string | CodeMeaning> | undefined, answer: string): CodeMeaning | undefined {
  if (!table) return undefined;
  if (table[answer]) return asMeaning(table[answer]!);
  for (const [k, v] of Object.entries(table)) if (codeMatches(k, answer)) return asMeaning(v);
  return undefined;
}

const SEV_RANK = { info: 1, warn: 2, error: 3 } as const;

function inLoopback(a: string): boolean {
  return ipaddr.IPv4.isValidFourPartDecimal(a) && a.startsWith('127.');
}

/** Turn one A lookup against a zone into a verdict. */
export function decodeAnswer(zone: ZoneDef, resp: DnsResponse): Decoded {
  if (isFailure(resp)) {
    const status = resp.rcode === 'REFUSED' ? 'refused' : 'unknown';
    const reason = resp.error?.includes(resp.rcode) ? resp.error : `${resp.rcode}${resp.error ? `: ${resp.error}` : ''}`;
    return { status, answers: [], reason };
  }
  const answers = addresses(resp).filter((a) => ipaddr.isValid(a));
  if (resp.rcode === 'NXDOMAIN' || !answers.length) return { status: 'clean', answers: [] };

  const outside = answers.filter((a) => !inLoopback(a));
  if (outside.length) {
    return {
      status: 'error', answers,
      reason: `answer ${outside.join(', ')} is outside 127.0.0.0/8: not a DNSBL answer (the list may be dead and its domain parked, or the resolver rewrites NXDOMAIN)`,
    };
  }
  // one error code among the answers makes the whole answer an error: never half a listing
  for (const a of answers) {
    const e = Object.entries(zone.errors ?? {}).find(([k]) => codeMatches(k, a))?.[1];
    if (e) return { status: e.status, answers, reason: `${a}: ${e.meaning}` };
  }

  const meanings: string[] = [];
  let severity: Exclude<Severity, 'pass'> = zone.kind === 'allow' ? 'info' : 'error';
  let worst = 0;
  const note = (m: CodeMeaning, a: string) => {
    meanings.push(`${a}: ${m.meaning}`);
    const s = m.severity ?? (zone.kind === 'allow' ? 'info' : 'error');
    if (SEV_RANK[s] > worst) {
      worst = SEV_RANK[s];
      severity = s;
    }
  };
  for (const a of answers) {
    if (zone.bitmask) {
      const last = Number(a.split('.')[3]);
      const bits = Object.keys(zone.bitmask).map(Number).filter((b) => (last & b) !== 0);
      for (const b of bits) note(asMeaning(zone.bitmask[String(b)]!), `${a} (bit ${b})`);
      const unknownBits = last & ~bits.reduce((x, b) => x | b, 0) & ~1;
      if (unknownBits) note({ meaning: `undocumented bits ${unknownBits} set (listed, sub-list unknown)` }, a);
      if (!bits.length && !unknownBits) note({ meaning: 'listed (no documented bit set)' }, a);
      continue;
    }
    const m = lookup(zone.codes, a);
    note(m ?? { meaning: zone.codes ? 'undocumented return code (any 127/8 answer is a listing, RFC 5782 §2.1)' : 'listed' }, a);
  }
  return { status: zone.kind === 'allow' ? 'allowlisted' : 'listed', answers, meanings, severity };
}
