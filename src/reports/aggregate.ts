// DMARC aggregate reports (RFC 7489 Appendix C; RFC 9990's schema with its
// urn:ietf:params:xml:ns:dmarc-2.0 namespace, np/testing/discovery_method; the
// pre-RFC draft still sent in the wild) → AggregateReport. A DOCTYPE or entity
// declaration is refused before parsing (an XML bomb or an external entity has
// no place in a report), the document must be valid UTF-8 (or the charset it
// declares) and well-formed (fast-xml-parser's XMLValidator), and the values
// are checked against what the schema allows. The elements are then read with
// htmlparser2's SAX parser in XML mode (no DTD support at all; only the
// predefined entities and character references are decoded): fast-xml-parser's
// XMLParser builds the same tree six times slower (172 ms against 17 ms for
// OpenDMARC's 0.5 MB sample), which made an import of 10,000 reports take a minute.
import { XMLValidator } from 'fast-xml-parser';
import { Parser } from 'htmlparser2';
import ipaddr from 'ipaddr.js';
import { ReportError, type AggregateRecord, type AggregateReport, type AuthResultDkim, type AuthResultSpf } from './types.ts';

const RFC9990_NS = 'urn:ietf:params:xml:ns:dmarc-2.0';

/**
 * Bytes → text: a BOM or the XML declaration's encoding decides; UTF-8 is
 * decoded strictly, so a stray Latin-1 byte is an error with its offset, not
 * a silent U+FFFD in a domain name.
 */
export function decodeXml(bytes: Uint8Array): string {
  if (bytes.length >= 2 && bytes[0] === 0xff && bytes[1] === 0xfe) return strictDecode(bytes.subarray(2), 'utf-16le');
  if (bytes.length >= 2 && bytes[0] === 0xfe && bytes[1] === 0xff) return strictDecode(bytes.subarray(2), 'utf-16be');
  const start = bytes.length >= 3 && bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf ? 3 : 0;
  const head = Buffer.from(bytes.subarray(start, start + 200)).toString('latin1');
  const declared = /^\s*<\?xml[^>]*\bencoding\s*=\s*["']([A-Za-z0-9._-]+)["']/.exec(head)?.[1]?.toLowerCase();
  const label = !declared || declared === 'utf8' || declared === 'us-ascii' || declared === 'ascii' ? 'utf-8' : declared;
  return strictDecode(bytes.subarray(start), label);
}

function strictDecode(bytes: Uint8Array, label: string): string {
  let dec: InstanceType<typeof TextDecoder>;
  try {
    dec = new TextDecoder(label, { fatal: true });
  } catch {
    throw new ReportError('invalid-encoding', `the XML declares encoding '${label}', which inboxlens cannot decode (re-save it as UTF-8)`);
  }
  try {
    return dec.decode(bytes);
  } catch {
    if (label !== 'utf-8') throw new ReportError('invalid-encoding', `not valid ${label} text`);
    const at = firstBadUtf8(bytes);
    const line = Buffer.from(bytes.subarray(0, at)).toString('latin1').split('\n').length;
    throw new ReportError('invalid-utf8', `invalid UTF-8: byte 0x${bytes[at]!.toString(16).padStart(2, '0')} at offset ${at} (line ${line}) is not part of a UTF-8 character; the report must be UTF-8 or declare its encoding`);
  }
}

function firstBadUtf8(b: Uint8Array): number {
  const dec = new TextDecoder('utf-8', { fatal: true });
  let lo = 0;
  let hi = b.length;
  // the longest prefix that decodes (allowing a character cut at the end) ends at the bad byte
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    try {
      dec.decode(b.subarray(0, mid), { stream: true });
      lo = mid;
    } catch {
      hi = mid;
    }
  }
  return lo;
}

/** Refuse what no report needs and a parser must never expand. */
export function refuseDeclarations(text: string): void {
  const m = /<!(DOCTYPE|ENTITY)\b/i.exec(text);
  if (m) throw new ReportError('doctype', `refused: the document contains a <!${m[1]!.toUpperCase()}> declaration (reports never need one; entity expansion is how XML bombs and external-entity reads work)`);
}

type Node = Record<string, unknown>;

/**
 * The document as nested objects, the shape fast-xml-parser gives: a leaf is
 * its trimmed text, an element with children an object, a repeated name an
 * array; namespace prefixes dropped. Also returns the root's xmlns.
 */
function tree(text: string): { doc: Node; ns?: string } {
  // prototype-less objects: an element named __proto__ or constructor is just a name here
  const obj = (): Node => Object.create(null) as Node;
  const root = obj();
  const stack: { name: string; obj: Node; text: string; kids: number }[] = [{ name: '', obj: root, text: '', kids: 0 }];
  let ns: string | undefined;
  const local = (n: string) => n.slice(n.indexOf(':') + 1);
  const p = new Parser(
    {
      onopentag(name, attribs) {
        if (stack.length === 1) ns = Object.entries(attribs).find(([k]) => k === 'xmlns' || k.startsWith('xmlns:'))?.[1];
        stack.at(-1)!.kids++;
        stack.push({ name: local(name), obj: obj(), text: '', kids: 0 });
      },
      ontext(t) {
        stack.at(-1)!.text += t;
      },
      onclosetag() {
        const el = stack.pop()!;
        const parent = stack.at(-1)!.obj;
        const value: unknown = el.kids ? el.obj : el.text.trim();
        const prev = parent[el.name];
        if (prev === undefined) parent[el.name] = value;
        else if (Array.isArray(prev)) prev.push(value);
        else parent[el.name] = [prev, value];
      },
    },
    { xmlMode: true, decodeEntities: true, recognizeSelfClosing: true },
  );
  p.write(text);
  p.end();
  return { doc: root, ...(ns ? { ns } : {}) };
}


const arr = (x: unknown): unknown[] => (x == null || x === '' ? [] : Array.isArray(x) ? x : [x]);
function txt(x: unknown): string {
  if (x == null) return '';
  if (Array.isArray(x)) return txt(x[0]);
  if (typeof x === 'object') return txt((x as Node)['#text']);
  return String(x).trim();
}
const opt = (x: unknown): string | undefined => txt(x) || undefined;
const node = (x: unknown): Node => (x && typeof x === 'object' && !Array.isArray(x) ? (x as Node) : Array.isArray(x) && x[0] && typeof x[0] === 'object' ? (x[0] as Node) : {});

/**
 * Parse one aggregate report document. Errors are ReportErrors with a kind
 * (invalid-utf8, doctype, invalid-xml, not-a-report, invalid-report).
 */
export function parseAggregate(bytes: Uint8Array): AggregateReport {
  if (!bytes.length) throw new ReportError('empty', 'the file is empty');
  let text = decodeXml(bytes);
  refuseDeclarations(text);
  const warnings: string[] = [];
  // some reporters wrap the report in an unclosed <xs:schema> element (parsedmarc strips it too)
  if (/<\/?xs:schema\b/.test(text)) {
    text = text.replace(/<\/?xs:schema\b[^>]*>/g, '');
    warnings.push('a stray <xs:schema> wrapper around <feedback> was ignored');
  }
  text = text.replace(/^\s+/, '');
  const valid = XMLValidator.validate(text);
  if (valid !== true) {
    const e = valid.err;
    throw new ReportError('invalid-xml', `invalid XML at line ${e.line}, column ${e.col}: ${e.msg}`);
  }
  const { doc, ns } = tree(text);
  const roots = Object.keys(doc);
  const fb = doc.feedback as Node | undefined;
  if (!fb || typeof fb !== 'object') throw new ReportError('not-a-report', `not a DMARC aggregate report: the root element is <${roots[0] ?? 'none'}>, not <feedback>`);
  const meta = node(fb.report_metadata);
  const pol = node(fb.policy_published);
  if (!fb.report_metadata) throw new ReportError('invalid-report', 'no <report_metadata>: not a complete aggregate report');
  if (!fb.policy_published) throw new ReportError('invalid-report', 'no <policy_published>: not a complete aggregate report');
  const reportId = txt(meta.report_id);
  if (!reportId) throw new ReportError('invalid-report', '<report_metadata> has no <report_id>');
  const email = opt(meta.email);
  let org = txt(meta.org_name);
  if (!org) {
    const d = email?.split('@').pop()?.toLowerCase();
    if (!d) throw new ReportError('invalid-report', '<report_metadata> names neither <org_name> nor <email>: the reporter is unknown');
    org = d;
    warnings.push(`<org_name> is empty: the reporter is taken from <email> (${d})`);
  }
  const range = node(meta.date_range);
  const begin = epoch(range.begin, 'date_range/begin');
  const end = epoch(range.end, 'date_range/end');
  if (end < begin) throw new ReportError('invalid-report', `date_range ends (${end}) before it begins (${begin})`);
  const domain = txt(pol.domain).toLowerCase().replace(/\.$/, '');
  if (!domain) throw new ReportError('invalid-report', '<policy_published> has no <domain>');
  const version = opt(fb.version);
  const schema: AggregateReport['schema'] =
    ns === RFC9990_NS || (version && /^2(\.|$)/.test(version)) || pol.testing !== undefined || pol.discovery_method !== undefined ? 'rfc9990' : version ? 'rfc7489' : 'draft';
  const lower = new Set<string>();
  const enumValue = (v: unknown, what: string): string => {
    const s = txt(v);
    const l = s.toLowerCase();
    if (s !== l) lower.add(what);
    return l;
  };
  const pct = opt(pol.pct);
  const records: AggregateRecord[] = [];
  let i = 0;
  for (const r of arr(fb.record)) {
    i++;
    const rec = node(r);
    const row = node(rec.row);
    const ids = node(rec.identifiers);
    const pe = node(row.policy_evaluated);
    const rawIp = txt(row.source_ip);
    let sourceIp = rawIp;
    if (ipaddr.isValid(rawIp)) sourceIp = ipaddr.process(rawIp).toString();
    else warnings.push(`record ${i}: source_ip '${rawIp}' is not an IP address (kept as written)`);
    const countText = txt(row.count);
    const count = Number(countText);
    if (!/^\d+$/.test(countText) || !Number.isSafeInteger(count)) throw new ReportError('invalid-report', `record ${i}: count '${countText}' is not a whole number`);
    const auth = node(rec.auth_results);
    const dkim: AuthResultDkim[] = arr(auth.dkim).map((d) => {
      const n = node(d);
      return { domain: txt(n.domain).toLowerCase(), ...(opt(n.selector) ? { selector: txt(n.selector) } : {}), result: enumValue(n.result, 'auth_results dkim result') || 'none', ...(opt(n.human_result) ? { humanResult: txt(n.human_result) } : {}) };
    });
    const spf: AuthResultSpf[] = arr(auth.spf).map((d) => {
      const n = node(d);
      return { domain: txt(n.domain).toLowerCase(), ...(opt(n.scope) ? { scope: txt(n.scope).toLowerCase() } : {}), result: enumValue(n.result, 'auth_results spf result') || 'none', ...(opt(n.human_result) ? { humanResult: txt(n.human_result) } : {}) };
    });
    const reasons = arr(pe.reason)
      .map((x) => node(x))
      .filter((x) => txt(x.type) || txt(x.comment))
      .map((x) => ({ type: enumValue(x.type, 'reason type'), ...(opt(x.comment) ? { comment: txt(x.comment) } : {}) }));
    const headerFrom = txt(ids.header_from).toLowerCase();
    records.push({
      sourceIp,
      count,
      disposition: enumValue(pe.disposition, 'disposition') || 'none',
      dkimAligned: enumValue(pe.dkim, 'policy_evaluated dkim') === 'pass',
      spfAligned: enumValue(pe.spf, 'policy_evaluated spf') === 'pass',
      dkimPass: dkim.some((d) => d.result === 'pass'),
      spfPass: spf.some((s) => s.result === 'pass'),
      reasons,
      headerFrom,
      ...(opt(ids.envelope_from) ? { envelopeFrom: txt(ids.envelope_from).toLowerCase() } : {}),
      ...(opt(ids.envelope_to) ? { envelopeTo: txt(ids.envelope_to).toLowerCase() } : {}),
      dkim,
      spf,
    });
  }
  if (lower.size) warnings.push(`values written in upper case were read in lower case (${[...lower].join(', ')}), as the schema spells them`);
  return {
    kind: 'aggregate',
    schema,
    ...(version ? { version } : {}),
    org,
    ...(email ? { email } : {}),
    ...(opt(meta.extra_contact_info) ? { extraContactInfo: txt(meta.extra_contact_info) } : {}),
    reportId,
    begin,
    end,
    ...(opt(meta.generator) ? { generator: txt(meta.generator) } : {}),
    errors: arr(meta.error).map(txt).filter(Boolean),
    policy: {
      domain,
      ...(opt(pol.adkim) ? { adkim: txt(pol.adkim).toLowerCase() } : {}),
      ...(opt(pol.aspf) ? { aspf: txt(pol.aspf).toLowerCase() } : {}),
      ...(opt(pol.p) ? { p: txt(pol.p).toLowerCase() } : {}),
      ...(opt(pol.sp) ? { sp: txt(pol.sp).toLowerCase() } : {}),
      ...(opt(pol.np) ? { np: txt(pol.np).toLowerCase() } : {}),
      ...(pct !== undefined && /^\d+$/.test(pct) ? { pct: Number(pct) } : {}),
      ...(opt(pol.fo) ? { fo: txt(pol.fo) } : {}),
      ...(opt(pol.testing) ? { testing: txt(pol.testing).toLowerCase() } : {}),
      ...(opt(pol.discovery_method) ? { discoveryMethod: txt(pol.discovery_method).toLowerCase() } : {}),
    },
    records,
    warnings,
  };
}

/** Unix seconds; some reporters write "1337270400.0". */
function epoch(v: unknown, what: string): number {
  const s = txt(v);
  if (!/^\d+(\.\d+)?$/.test(s)) throw new ReportError('invalid-report', `${what} '${s}' is not a Unix time`);
  return Math.floor(Number(s));
}
