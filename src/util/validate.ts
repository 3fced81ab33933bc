// Validation of what users type: domains, IPs, durations. Every error names the
// argument, what was wrong, and what to type instead.
import { domainToASCII } from 'node:url';
import ipaddr from 'ipaddr.js';
import { UsageError } from './errors.ts';

const LABEL = /^(?!-)[a-z0-9_-]{1,63}(?<!-)$/;

export function isIp(s: string): boolean {
  return ipaddr.isValid(s) && (ipaddr.IPv4.isValidFourPartDecimal(s) || s.includes(':'));
}

const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/;

/** "a line break (CR, U+000D)": the character named the way a user recognises it. */
export function describeControl(ch: string): string {
  const cp = ch.codePointAt(0)!;
  const u = `U+${cp.toString(16).toUpperCase().padStart(4, '0')}`;
  if (cp === 0x0d) return `a line break (CR, ${u})`;
  if (cp === 0x0a) return `a line break (LF, ${u})`;
  if (cp === 0x2028 || cp === 0x2029) return `a line break (${cp === 0x2028 ? 'LINE' : 'PARAGRAPH'} SEPARATOR, ${u})`;
  if (cp === 0x09) return `a tab (${u})`;
  if (cp === 0x00) return `a NUL character (${u})`;
  return `a control character (${u})`;
}

/**
 * Refuse a value with control characters (a line break, a tab, NUL…): it is not
 * what the user meant, and rewriting it (URL parsers drop CR/LF, percent-encoding
 * hides them) would check or send something else. A UsageError naming the flag.
 */
export function refuseControl(value: string, what: string): string {
  const m = CONTROL.exec(value);
  if (m) throw new UsageError(`${what}: '${JSON.stringify(value).slice(1, -1)}' contains ${describeControl(m[0])} at position ${m.index + 1}; give the value without it`);
  return value;
}

/** A domain name in A-label form (IDNs converted), or a UsageError naming the flag. */
export function parseDomain(input: string, what = 'domain'): string {
  const raw = refuseControl(String(input ?? '').trim(), what).replace(/\.$/, '');
  if (!raw) throw new UsageError(`${what}: a domain name is required (e.g. example.com)`);
  if (isIp(raw) || /^\[.*\]$/.test(raw)) {
    throw new UsageError(`${what}: '${raw}' is an IP address, not a domain name; pass sending IPs with --ip ${raw}`);
  }
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(raw) || raw.includes('@') || raw.includes('/')) {
    throw new UsageError(`${what}: '${raw}' is not a bare domain name; give just the domain, e.g. example.com`);
  }
  const ascii = domainToASCII(raw.toLowerCase());
  if (!ascii) throw new UsageError(`${what}: '${raw}' is not a valid domain name`);
  const labels = ascii.split('.');
  if (labels.length < 2) throw new UsageError(`${what}: '${raw}' has no dot; give a full domain such as example.com`);
  if (ascii.length > 253 || !labels.every((l) => LABEL.test(l))) {
    throw new UsageError(`${what}: '${raw}' is not a valid domain name (labels are letters, digits and hyphens, at most 63 characters each, 253 in all)`);
  }
  if (/^\d+$/.test(labels[labels.length - 1]!)) throw new UsageError(`${what}: '${raw}' is not a valid domain name (the last label cannot be numeric)`);
  return ascii;
}

/** `local@domain` with the domain in A-label form; a UsageError naming the flag otherwise. */
export function parseMailbox(input: string, what: string): string {
  const s = refuseControl(String(input).trim(), what).replace(/^<|>$/g, '');
  const at = s.lastIndexOf('@');
  if (at < 1 || at === s.length - 1) throw new UsageError(`${what}: '${s}' is not an email address (e.g. someone@example.com)`);
  const local = s.slice(0, at);
  // RFC 5321 §4.1.2 local parts: no spaces, controls or angle brackets unquoted; §4.5.3.1.1: at most 64 octets
  if (/[\s<>()\[\],;:\\]/.test(local) && !/^"[^"\r\n]*"$/.test(local)) throw new UsageError(`${what}: '${s}' has characters that are not allowed in the local part`);
  if (Buffer.byteLength(local) > 64) throw new UsageError(`${what}: '${s}': the local part is longer than 64 octets (RFC 5321 §4.5.3.1.1)`);
  return `${local}@${parseDomain(s.slice(at + 1), what)}`;
}

/**
 * --mail-from: the envelope sender as a domain (example.com) or a full address
 * (bounces@example.com). The domain is where SPF is evaluated; the local part,
 * when given, is what %{l} and %{s} expand to (RFC 7208 §7.3).
 */
export function parseMailFrom(input: string, what = '--mail-from'): { domain: string; address?: string } {
  const raw = refuseControl(String(input ?? '').trim(), what).replace(/^<|>$/g, '');
  if (!raw.includes('@')) return { domain: parseDomain(raw, what) };
  if (raw.startsWith('@')) throw new UsageError(`${what}: '${raw}' has no local part; give a domain (example.com) or a full address (bounces@example.com)`);
  const address = parseMailbox(raw, what);
  return { domain: address.slice(address.lastIndexOf('@') + 1), address };
}

export function parseIp(input: string, what = '--ip'): string {
  const raw = String(input ?? '').trim();
  if (!isIp(raw)) throw new UsageError(`${what}: '${raw}' is not an IPv4 or IPv6 address (e.g. 192.0.2.10 or 2001:db8::10)`);
  return ipaddr.parse(raw).toString();
}

/** "30s", "2m", "1500ms", "1h", or a bare number of seconds. */
const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

/** A duration as written: 90s, 1500ms, 5m, 2h30m, 1d, 1w2d; a bare number is seconds. */
export function isDuration(input: string): boolean {
  const s = input.trim();
  return /^\d+(?:\.\d+)?$/.test(s) || /^(?:\d+(?:\.\d+)?(?:ms|s|m|h|d|w))+$/.test(s);
}

export function parseDuration(input: string | number, what: string): number {
  if (typeof input === 'number') return input * 1000;
  const s = String(input).trim();
  if (!isDuration(s)) throw new UsageError(`${what}: '${input}' is not a duration (use e.g. 90s, 1500ms, 5m, 2h30m, 1d)`);
  if (/^\d+(?:\.\d+)?$/.test(s)) return Math.round(Number(s) * 1000);
  let ms = 0;
  for (const m of s.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h|d|w)/g)) ms += Number(m[1]) * UNIT_MS[m[2]!]!;
  return Math.round(ms);
}

export function parsePositiveInt(input: unknown, what: string, max = 100_000): number {
  const n = Number(input);
  if (!Number.isInteger(n) || n < 1 || n > max) throw new UsageError(`${what}: '${input}' must be a whole number from 1 to ${max}`);
  return n;
}
