// Authentication-Results (RFC 8601 §2.2) and ARC-Authentication-Results (RFC 8617 §4.1.1)
// parsed into the authserv-id, its optional version, and one entry per result.
//
// Hand-written on purpose. mailauth's header parser (lib/parse-dkim-headers.js, the
// only maintained JavaScript one) is built for reading its own ARC sets: it keeps a
// single result per method except dkim (a second spf= result, or a smtp.helo result
// after smtp.mailfrom, overwrites the first), leaves the authserv-id's version in
// the id ("example.org 1"), and mis-reads the comments RFC 8601 allows between any
// two tokens (Appendix B.7: "dkim (Because I like it) / 1 (One yay) = ... fail").
// This parser follows the ABNF: comments (CFWS, nesting, quoted-pairs) are kept in
// `comments` of the part they stand in and never taken as results; quoted strings
// are decoded; what does not fit the grammar is kept in `errors`, never guessed.
// Microsoft's Exchange Online writes no authserv-id ("spf=pass (sender IP is …)
// smtp.mailfrom=…"): that form is recognised (authservId undefined) rather than
// taking "spf=pass" for an id, and its bare "action=none"/"compauth" extras are
// kept as properties with an empty ptype.

export interface AuthProperty {
  /** smtp, header, body, policy (RFC 8601 §2.3), or '' for an extra without a ptype (Microsoft's action=) */
  ptype: string;
  property: string;
  value: string;
}

export interface AuthResult {
  /** the method, lower case: spf, dkim, dmarc, arc, iprev, auth, bimi, compauth… */
  method: string;
  /** the method's version (RFC 8601 §2.2 method-version), when given */
  methodVersion?: number;
  /** the result keyword, lower case (pass, fail, softfail, none, neutral, temperror, permerror, policy, hardfail…) */
  result: string;
  reason?: string;
  properties: AuthProperty[];
  /** the comments inside this result, in order, without the parentheses */
  comments: string[];
}

export interface ParsedAuthResults {
  /** lower case; undefined when the header has none (Exchange Online) */
  authservId?: string;
  /** RFC 8601 authres-version after the authserv-id */
  version?: number;
  /** a job id OpenDKIM/OpenDMARC append with AuthservIDWithJobID ("host/4A2B…"), not part of the id */
  jobId?: string;
  /** ARC-Authentication-Results only: the instance i= */
  instance?: number;
  /** the header said "none": no method was applied (RFC 8601 §2.2 no-result) */
  none: boolean;
  results: AuthResult[];
  /** comments outside any result (after the authserv-id, RFC 8601 B.7) */
  comments: string[];
  /** what does not fit the grammar, in words; the rest of that part is skipped */
  errors: string[];
}

class Reader {
  pos = 0;
  readonly s: string;
  constructor(s: string) {
    this.s = s;
  }
  get done(): boolean {
    return this.pos >= this.s.length;
  }
  peek(): string {
    return this.s[this.pos] ?? '';
  }
  /** Skip whitespace and comments; comments go to `into`. */
  cfws(into: string[]): void {
    for (;;) {
      while (/[ \t\r\n]/.test(this.peek()) && !this.done) this.pos++;
      if (this.peek() !== '(') return;
      into.push(this.comment());
    }
  }
  private comment(): string {
    // at '(' : RFC 5322 §3.2.2 ccontent, nesting, quoted-pair
    let depth = 0;
    let out = '';
    while (!this.done) {
      const c = this.s[this.pos++]!;
      if (c === '\\' && !this.done) {
        out += this.s[this.pos++];
        continue;
      }
      if (c === '(') {
        if (depth++ > 0) out += c;
        continue;
      }
      if (c === ')') {
        if (--depth === 0) return out.replace(/\s+/g, ' ').trim();
        out += c;
        continue;
      }
      out += c;
    }
    return out.replace(/\s+/g, ' ').trim();
  }
  quoted(): string {
    // at '"'
    this.pos++;
    let out = '';
    while (!this.done) {
      const c = this.s[this.pos++]!;
      if (c === '\\' && !this.done) out += this.s[this.pos++];
      else if (c === '"') return out;
      else out += c;
    }
    return out;
  }
  /** A run of characters up to whitespace, a comment, or one of `stops`. */
  word(stops: string): string {
    const start = this.pos;
    while (!this.done && !/[ \t\r\n(]/.test(this.peek()) && !stops.includes(this.peek())) this.pos++;
    return this.s.slice(start, this.pos);
  }
  /** A value (RFC 2045 token or quoted-string), or a pvalue (addr-spec, domain). */
  value(stops: string): string {
    if (this.peek() !== '"') return this.word(stops);
    const q = this.quoted();
    // a quoted local-part of an address: "first last"@example.com
    return this.peek() === '@' ? `"${q}"${this.word(stops)}` : q;
  }
  skipTo(c: string): void {
    // skip a malformed part up to the next `c` outside quotes and comments
    while (!this.done && this.peek() !== c) {
      if (this.peek() === '"') this.quoted();
      else if (this.peek() === '(') this.cfws([]);
      else this.pos++;
    }
  }
}

/**
 * Parse the value of an Authentication-Results field (without the field name),
 * or of ARC-Authentication-Results when `arc` is set (it starts with "i=N;").
 */
export function parseAuthResults(value: string, opts: { arc?: boolean } = {}): ParsedAuthResults {
  const r = new Reader(value);
  const out: ParsedAuthResults = { none: false, results: [], comments: [], errors: [] };
  r.cfws(out.comments);
  if (opts.arc) {
    const m = /^i[ \t]*=[ \t]*(\d+)[ \t]*;/i.exec(value.slice(r.pos));
    if (m) {
      out.instance = Number(m[1]);
      r.pos += m[0].length;
      r.cfws(out.comments);
    } else out.errors.push('no instance (i=) before the authserv-id');
  }
  // Exchange Online: no authserv-id, the header starts with a result
  const noId = /^[A-Za-z0-9_.-]+(?:[ \t]*\/[ \t]*\d+)?[ \t]*=/.test(value.slice(r.pos));
  if (!noId && !r.done && r.peek() !== ';') {
    const id = r.value(';/');
    out.authservId = id.toLowerCase();
    if (r.peek() === '/') {
      r.pos++;
      out.jobId = r.word(';');
    }
    r.cfws(out.comments);
    if (/\d/.test(r.peek())) {
      const v = r.word(';');
      if (/^\d+$/.test(v)) out.version = Number(v);
      else out.errors.push(`"${v}" after the authserv-id is not a version`);
      r.cfws(out.comments);
    }
  }
  let first = true;
  while (!r.done) {
    if (!(noId && first)) {
      if (r.peek() !== ';') {
        out.errors.push(`expected ";" at "${value.slice(r.pos, r.pos + 30)}"`);
        r.skipTo(';');
        if (r.done) break;
      }
      r.pos++;
    }
    first = false;
    const comments: string[] = [];
    r.cfws(comments);
    if (r.done) {
      // a trailing ";" (common, tolerated)
      out.comments.push(...comments);
      break;
    }
    const method = r.word(';=/.').toLowerCase();
    r.cfws(comments);
    if (method === 'none' && (r.done || r.peek() === ';')) {
      out.none = true;
      out.comments.push(...comments);
      continue;
    }
    if (!method) {
      out.errors.push(`a result without a method at "${value.slice(r.pos, r.pos + 30)}"`);
      r.skipTo(';');
      continue;
    }
    const res: AuthResult = { method, result: '', properties: [], comments };
    if (r.peek() === '/') {
      r.pos++;
      r.cfws(comments);
      const v = r.word(';=');
      if (/^\d+$/.test(v)) res.methodVersion = Number(v);
      else out.errors.push(`${method}: "${v}" is not a method version`);
      r.cfws(comments);
    }
    if (r.peek() !== '=') {
      out.errors.push(`${method}: no "=" and result`);
      r.skipTo(';');
      continue;
    }
    r.pos++;
    r.cfws(comments);
    res.result = r.word(';').toLowerCase();
    if (!res.result) {
      out.errors.push(`${method}: empty result`);
      r.skipTo(';');
      continue;
    }
    // reasonspec and propspecs
    for (;;) {
      r.cfws(comments);
      if (r.done || r.peek() === ';') break;
      const ptype = r.word(';=.').toLowerCase();
      r.cfws(comments);
      if (!ptype) {
        out.errors.push(`${method}: unexpected "${r.peek()}"`);
        r.skipTo(';');
        break;
      }
      if (r.peek() === '=') {
        r.pos++;
        r.cfws(comments);
        const v = r.value(';');
        if (ptype === 'reason' && res.reason === undefined) res.reason = v;
        else res.properties.push({ ptype: '', property: ptype, value: v });
        continue;
      }
      if (r.peek() !== '.') {
        out.errors.push(`${method}: "${ptype}" is not a property (ptype.property=value)`);
        r.skipTo(';');
        break;
      }
      r.pos++;
      r.cfws(comments);
      const property = r.word(';=').toLowerCase();
      r.cfws(comments);
      if (r.peek() !== '=') {
        out.errors.push(`${method}: ${ptype}.${property} has no value`);
        r.skipTo(';');
        break;
      }
      r.pos++;
      r.cfws(comments);
      res.properties.push({ ptype, property, value: r.value(';') });
    }
    out.results.push(res);
  }
  return out;
}

/** The first value of ptype.property in a result (header.d, smtp.mailfrom, header.from…). */
export function propertyOf(r: AuthResult, ptype: string, property: string): string | undefined {
  return r.properties.find((p) => p.ptype === ptype && p.property === property)?.value;
}
