// The SPF record parser (RFC 7208 §4.5, §4.6, §5, §6, §7 and the ABNF of §12).
// It turns one record into structured terms that the tree walker can follow and
// count; it never throws: every problem becomes a syntax error naming the exact
// term. mailauth validates records too, but only answers pass/fail with a text;
// the walker needs each term's parts (target, prefix lengths, macros) to build
// the include tree, so this grammar is ours.
import net from 'node:net';

export type Qualifier = '+' | '-' | '~' | '?';
export type MechanismName = 'all' | 'include' | 'a' | 'mx' | 'ptr' | 'ip4' | 'ip6' | 'exists';

export interface SpfTerm {
  /** position among the record's terms (0-based) */
  index: number;
  /** the term exactly as written */
  raw: string;
  type: 'mechanism' | 'modifier';
  /** mechanism or modifier name, lower case */
  name: string;
  /** mechanisms only: the explicit qualifier, or '+' */
  qualifier?: Qualifier;
  /** include/a/mx/ptr/exists target, redirect/exp value, as written (may hold macros) */
  domainSpec?: string;
  /** ip4/ip6 network as written */
  ip?: string;
  cidr4?: number;
  cidr6?: number;
  /** macro letters used in the domain-spec (lower case, de-duplicated); empty when none */
  macros: string[];
  /** include, a, mx, ptr, exists and redirect cause DNS lookups (RFC 7208 §4.6.4) */
  countsLookup: boolean;
}

export interface SpfSyntaxError {
  /** the offending term as written (or the record, for record-level problems) */
  term: string;
  index?: number;
  message: string;
}

export interface ParsedSpf {
  terms: SpfTerm[];
  errors: SpfSyntaxError[];
}

const MECHANISMS = new Set<MechanismName>(['all', 'include', 'a', 'mx', 'ptr', 'ip4', 'ip6', 'exists']);
const LOOKUP_MECHANISMS = new Set(['include', 'a', 'mx', 'ptr', 'exists']);
// RFC 7208 §7.1: macro-letter; c, r and t only inside the explanation text fetched by exp=
const MACRO_LETTERS = 'slodiphcrtv';
const EXP_ONLY = 'crt';
const MACRO_BODY = /^([a-z])(\d*)(r?)([.\-+,/_=]*)$/i;
// toplabel = ( *alphanum ALPHA *alphanum ) / ( 1*alphanum "-" *( alphanum / "-" ) alphanum )
const TOPLABEL = /^(?:[a-z0-9]*[a-z][a-z0-9]*|[a-z0-9]+-[a-z0-9-]*[a-z0-9])$/i;
const MODIFIER = /^([a-z][a-z0-9\-_.]*)=(.*)$/is;
const QNUM = '(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9][0-9]|[0-9])';
const IP4_NETWORK = new RegExp(`^${QNUM}(?:\\.${QNUM}){3}$`);
// ip4-cidr-length = "/" ("0" / %x31-39 0*1DIGIT); ip6-cidr-length = "/" ("0" / %x31-39 0*2DIGIT)
const CIDR4 = /^(?:0|[1-9][0-9]?)$/;
const CIDR6 = /^(?:0|[1-9][0-9]{0,2})$/;

/**
 * Record selection (RFC 7208 §4.5): "v=spf1", case-insensitive, followed by a
 * space or the end of the record. "v=spf10" or "v=spf1\t…" are not SPF records.
 */
export function isSpfRecord(txt: string): boolean {
  return /^v=spf1(?: |$)/i.test(txt);
}

class TermError extends Error {}

interface MacroScan {
  letters: string[];
  /** the literal text after the last macro-expand ('' when the string ends in one) */
  trailingLiteral: string;
  endsInExpand: boolean;
}

/** Validate a macro-string (RFC 7208 §7.1); returns the macro letters it uses. */
function macroString(input: string, where: 'domain' | 'modifier'): MacroScan {
  const letters = new Set<string>();
  let trailingLiteral = '';
  let endsInExpand = false;
  for (let i = 0; i < input.length; ) {
    const c = input[i]!;
    if (c === '%') {
      const next = input[i + 1];
      // "%%", "%_" and "%-" are macro-expands too (a literal %, a space, "%20")
      if (next === '%' || next === '_' || next === '-') {
        i += 2;
        trailingLiteral = '';
        endsInExpand = true;
        continue;
      }
      if (next !== '{') throw new TermError(`a '%' must start a macro (%{…}) or be written %% (RFC 7208 §7.1)`);
      const end = input.indexOf('}', i + 2);
      if (end < 0) throw new TermError(`the macro starting at '${input.slice(i, i + 8)}' is not closed with '}'`);
      const body = input.slice(i + 2, end);
      const m = MACRO_BODY.exec(body);
      if (!m) throw new TermError(`'%{${body}}' is not a valid macro (letter, optional digits and 'r', then delimiters; RFC 7208 §7.1)`);
      const letter = m[1]!.toLowerCase();
      if (!MACRO_LETTERS.includes(letter)) throw new TermError(`'%{${body}}' uses the unknown macro letter '${m[1]}' (valid: s l o d i p h v)`);
      if (where === 'domain' && EXP_ONLY.includes(letter)) throw new TermError(`the macro letter '${m[1]}' is only allowed in explanation text (RFC 7208 §7.1)`);
      if (m[2] && Number(m[2]) === 0) throw new TermError(`'%{${body}}': the number of parts must be nonzero (RFC 7208 §7.3)`);
      letters.add(letter);
      i = end + 1;
      trailingLiteral = '';
      endsInExpand = true;
      continue;
    }
    const code = input.charCodeAt(i);
    // macro-literal = %x21-24 / %x26-7E: visible ASCII only, no spaces or control characters
    if (code < 0x21 || code > 0x7e) {
      const shown = code < 0x20 || code === 0x7f ? `\\x${code.toString(16).padStart(2, '0')}` : c;
      throw new TermError(`the character '${shown}' is not allowed (visible ASCII only)`);
    }
    trailingLiteral += c;
    endsInExpand = false;
    i++;
  }
  return { letters: [...letters], trailingLiteral, endsInExpand };
}

/** domain-spec = macro-string domain-end; domain-end = ( "." toplabel [ "." ] ) / macro-expand */
function domainSpec(spec: string): string[] {
  if (!spec) throw new TermError('the domain is empty');
  const scan = macroString(spec, 'domain');
  if (scan.endsInExpand) return scan.letters;
  const body = scan.trailingLiteral.replace(/\.$/, '');
  const dot = body.lastIndexOf('.');
  if (dot < 0 || !TOPLABEL.test(body.slice(dot + 1))) {
    throw new TermError(`'${spec}' does not end in a valid top-level label (like .com; RFC 7208 §7.1 domain-end)`);
  }
  return scan.letters;
}

function cidrs(s: string): { cidr4?: number; cidr6?: number } {
  const m = /^(?:\/([0-9]+))?(?:\/\/([0-9]+))?$/.exec(s);
  if (!m) throw new TermError(`'${s}' is not a valid prefix length (use /24, //64 or /24//64)`);
  const out: { cidr4?: number; cidr6?: number } = {};
  if (m[1] !== undefined) {
    if (!CIDR4.test(m[1]) || Number(m[1]) > 32) throw new TermError(`the IPv4 prefix length /${m[1]} is invalid (0-32, no leading zeros)`);
    out.cidr4 = Number(m[1]);
  }
  if (m[2] !== undefined) {
    if (!CIDR6.test(m[2]) || Number(m[2]) > 128) throw new TermError(`the IPv6 prefix length //${m[2]} is invalid (0-128, no leading zeros)`);
    out.cidr6 = Number(m[2]);
  }
  return out;
}

/** Split "target/24//64" into the domain-spec and the dual-cidr-length. */
function splitDualCidr(arg: string): { spec: string; cidr: string } {
  const m = /^(.*?)((?:\/[0-9]+)?(?:\/\/[0-9]+)?)$/s.exec(arg)!;
  return { spec: m[1]!, cidr: m[2]! };
}

function parseTerm(raw: string, index: number): SpfTerm {
  // a modifier's name has no ':' or '/', so "a:x=y" stays a mechanism
  const mod = MODIFIER.exec(raw);
  if (mod) {
    const name = mod[1]!.toLowerCase();
    const value = mod[2]!;
    if (name === 'redirect' || name === 'exp') {
      const macros = domainSpec(value);
      return { index, raw, type: 'modifier', name, domainSpec: value, macros, countsLookup: name === 'redirect' };
    }
    // unknown-modifier = name "=" macro-string: allowed and ignored (RFC 7208 §6)
    macroString(value, 'modifier');
    return { index, raw, type: 'modifier', name, macros: [], countsLookup: false };
  }
  let rest = raw;
  let qualifier: Qualifier = '+';
  if ('+-~?'.includes(rest[0]!)) {
    qualifier = rest[0] as Qualifier;
    rest = rest.slice(1);
  }
  const cut = rest.search(/[:/]/);
  const name = (cut < 0 ? rest : rest.slice(0, cut)).toLowerCase();
  const arg = cut < 0 ? '' : rest.slice(cut);
  if (!MECHANISMS.has(name as MechanismName)) {
    if (!name) throw new TermError('a qualifier or separator without a mechanism name');
    throw new TermError(`'${name}' is not an SPF mechanism (all, include, a, mx, ptr, ip4, ip6, exists) nor a modifier (name=value)`);
  }
  const base = { index, raw, type: 'mechanism' as const, name, qualifier, countsLookup: LOOKUP_MECHANISMS.has(name) };
  switch (name as MechanismName) {
    case 'all':
      if (arg) throw new TermError("'all' takes no argument");
      return { ...base, macros: [] };
    case 'include':
    case 'exists': {
      if (!arg.startsWith(':')) throw new TermError(`'${name}' needs a domain: ${name}:example.com`);
      const spec = arg.slice(1);
      return { ...base, domainSpec: spec, macros: domainSpec(spec) };
    }
    case 'ptr': {
      if (!arg) return { ...base, macros: [] };
      if (!arg.startsWith(':')) throw new TermError("'ptr' takes no prefix length");
      const spec = arg.slice(1);
      return { ...base, domainSpec: spec, macros: domainSpec(spec) };
    }
    case 'a':
    case 'mx': {
      let spec: string | undefined;
      let cidr = arg;
      if (arg.startsWith(':')) {
        ({ spec, cidr } = splitDualCidr(arg.slice(1)));
        if (!spec) throw new TermError(`'${name}:' is followed by an empty domain`);
      }
      const c = cidrs(cidr);
      return { ...base, ...(spec !== undefined ? { domainSpec: spec } : {}), ...c, macros: spec !== undefined ? domainSpec(spec) : [] };
    }
    case 'ip4': {
      const m = /^:([^/]*)(?:\/(.*))?$/s.exec(arg);
      if (!m) throw new TermError("'ip4' needs an address: ip4:192.0.2.0/24");
      if (!IP4_NETWORK.test(m[1]!)) throw new TermError(`'${m[1]}' is not an IPv4 address (dotted quad, no leading zeros)`);
      const out: SpfTerm = { ...base, ip: m[1]!, macros: [] };
      if (m[2] !== undefined) {
        if (!CIDR4.test(m[2]) || Number(m[2]) > 32) throw new TermError(`the IPv4 prefix length /${m[2]} is invalid (0-32, no leading zeros)`);
        out.cidr4 = Number(m[2]);
      }
      return out;
    }
    case 'ip6': {
      const m = /^:([^/]*)(?:\/(.*))?$/s.exec(arg);
      if (!m) throw new TermError("'ip6' needs an address: ip6:2001:db8::/32");
      if (m[1]!.includes('%') || !net.isIPv6(m[1]!)) throw new TermError(`'${m[1]}' is not an IPv6 address`);
      const out: SpfTerm = { ...base, ip: m[1]!, macros: [] };
      if (m[2] !== undefined) {
        if (!CIDR6.test(m[2]) || Number(m[2]) > 128) throw new TermError(`the IPv6 prefix length /${m[2]} is invalid (0-128, no leading zeros)`);
        out.cidr6 = Number(m[2]);
      }
      return out;
    }
  }
}

/**
 * Parse a record that `isSpfRecord` selected. Terms are separated by one or
 * more spaces (only SP: a tab or newline inside a term is a syntax error).
 */
export function parseSpf(record: string): ParsedSpf {
  const terms: SpfTerm[] = [];
  const errors: SpfSyntaxError[] = [];
  if (!isSpfRecord(record)) {
    errors.push({ term: record.slice(0, 40), message: "the record does not start with 'v=spf1' followed by a space" });
    return { terms, errors };
  }
  const parts = record.slice(6).split(' ').filter((p) => p !== '');
  parts.forEach((raw, index) => {
    try {
      terms.push(parseTerm(raw, index));
    } catch (e) {
      if (!(e instanceof TermError)) throw e;
      errors.push({ term: raw, index, message: e.message });
    }
  });
  // RFC 7208 §6: redirect and exp may each appear at most once
  for (const name of ['redirect', 'exp']) {
    const dup = terms.filter((t) => t.type === 'modifier' && t.name === name);
    if (dup.length > 1) errors.push({ term: dup[1]!.raw, index: dup[1]!.index, message: `'${name}=' appears ${dup.length} times; at most once is allowed (RFC 7208 §6)` });
  }
  return { terms, errors };
}
