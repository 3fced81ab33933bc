// The receiver's part of a received copy: its hop (the Received headers it wrote,
// and the connection from the sender they record) and the verdict headers it
// added — every Authentication-Results with its authserv-id(s), its own ARC set's
// ARC-Authentication-Results, Received-SPF, and the spam headers it wrote.
//
// Trace fields are prepended (RFC 5321 §4.4), so the receiver's Received headers
// are the contiguous block at the top whose `by` is the receiver; the bottom-most
// of the block records the connection from the sender (its `from` clause gives
// the HELO name and the IP). The header under it is the sender's own last hop,
// often a private address, and is never judged. A Received without a `from`
// clause below one with it starts a new trace (local submission, or a previous
// delivery that was forwarded), so it ends the block too.
//
// Which verdict headers are the receiver's (RFC 8601 §5): those above its arrival
// Received with one of its authserv-ids. Anything below that line was in the
// message when it arrived, written by the sender or an earlier hop, and is
// listed as ignored with the reason, never taken as the receiver's verdict.
// Provider profiles (receivers.ts) know their ids; a seed may name its own; for an
// unknown receiver its ids are taken to be names under the registrable domain of
// its `by` hosts.
//
// Postfix appends what its milters add with smfi_addheader (rspamd's X-Spam-Status,
// X-Spamd-Result, X-Rspamd-*) at the very end of the header: that closing run counts
// as the receiver's when its X-Rspamd-Queue-Id is the arrival hop's queue id.
import { createRequire } from 'node:module';
import net from 'node:net';
import ipaddr from 'ipaddr.js';
import { registrableDomain } from '../dns/orgdomain.ts';
import { headerFields, type Field } from './headers.ts';
import { parseAuthResults, type ParsedAuthResults } from './auth-results.ts';
import { matchesAny, profileById, profileForHost, type ReceiverProfile } from './receivers.ts';

const require = createRequire(import.meta.url);
const mailauthReceived = () => require('mailauth/lib/parse-received.js') as { parseReceived(h: string): any };

export interface ReceivedHeader {
  /** position among all header fields, 0 = topmost */
  position: number;
  /** the name the client gave in HELO/EHLO (the `from` clause's name) */
  helo?: string;
  /** the client's address from the TCP-info of the `from` clause */
  ip?: string;
  /** the reverse name the receiving host looked up, when it wrote one */
  rdns?: string;
  by?: string;
  with?: string;
  id?: string;
  date?: string;
  hasFrom: boolean;
  value: string;
}

export interface TrustedAuthResults extends ParsedAuthResults {
  position: number;
  value: string;
}

export interface IgnoredHeader {
  name: string;
  position: number;
  authservId?: string;
  reason: string;
  value: string;
}

export interface ReceivedSpf {
  result: string;
  comment?: string;
  clientIp?: string;
  envelopeFrom?: string;
  helo?: string;
  receiver?: string;
  value: string;
}

export interface ReceiverView {
  /** which profile judged the headers: gmail, outlook, yahoo, icloud or generic */
  profile: ReceiverProfile['id'];
  /** the authserv-id patterns trusted (empty for Exchange Online's id-less form) */
  authservIds: string[];
  /** the receiver's Received headers, top first; the last one is the arrival hop */
  hop: ReceivedHeader[];
  /** the arrival hop: the connection from the sender */
  arrival?: ReceivedHeader;
  authResults: TrustedAuthResults[];
  /** the receiver's own ARC-Authentication-Results (the highest instance above its hop) */
  arcAuthResults?: TrustedAuthResults;
  receivedSpf?: ReceivedSpf;
  /** the header fields the receiver wrote (above its hop), for spam-header decoding */
  receiverFields: Field[];
  /** verdict headers that are not the receiver's, and why */
  ignored: IgnoredHeader[];
}

export interface ReceiverViewOptions {
  /** the provider the mailbox belongs to (a seed's provider), used when the Received headers name no known one */
  provider?: string;
  /** authserv-ids (patterns, "*.example.org") the receiver is known to write (a seed's `authservId`) */
  authservIds?: string[];
}

function unbracket(s: string): string {
  return s.replace(/^\[|\]$/g, '').replace(/^ipv6:/i, '');
}

function isAddressLiteral(s: string | undefined): boolean {
  return !!s && net.isIP(unbracket(s)) !== 0;
}

function isPrivate(ip: string): boolean {
  try {
    return ipaddr.process(ip).range() !== 'unicast';
  } catch {
    return false;
  }
}

/** A `by` name that cannot be another organisation's MX: an address, a bare name, localhost. */
function isInternalName(s: string | undefined): boolean {
  return !s || isAddressLiteral(s) || !s.includes('.') || /^localhost(\.|$)/i.test(s);
}

export function parseReceivedHeader(value: string, position: number): ReceivedHeader {
  let p: any;
  try {
    p = mailauthReceived().parseReceived(`Received: ${value}`) || {};
  } catch {
    p = {};
  }
  const out: ReceivedHeader = { position, hasFrom: !!p.from, value };
  const from = p.from as { value?: string; comment?: string } | undefined;
  if (from) {
    const name = String(from.value ?? '');
    const comment = String(from.comment ?? '');
    // TCP-info (RFC 5321 §4.4): "(rdns [ip])", "([ip])", Exim's "([ip] helo=name)", qmail's "(HELO x) (ip)"
    const bracketed = [...comment.matchAll(/\[([0-9a-fA-F:.]+|IPv6:[0-9a-fA-F:.]+)\]/gi)].map((m) => unbracket(m[1]!));
    const bare = comment.split(/[\s()]+/).filter((t) => net.isIP(t) !== 0);
    const ip = [...bracketed, ...bare].find((x) => net.isIP(x) !== 0) ?? (isAddressLiteral(name) ? unbracket(name) : undefined);
    if (ip) out.ip = ip;
    const heloKw = /helo[= ]([^\s)]+)/i.exec(comment)?.[1];
    const helo = isAddressLiteral(name) && heloKw ? heloKw : name;
    if (helo) out.helo = helo.replace(/\.$/, '');
    const rdns = /(?:^|\s)([A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+)\.?\s*\[/.exec(comment)?.[1];
    if (rdns && rdns.toLowerCase() !== 'unknown' && net.isIP(rdns) === 0) out.rdns = rdns;
  }
  if (p.by?.value) out.by = String(p.by.value).toLowerCase().replace(/\.$/, '');
  if (p.with?.value) out.with = String(p.with.value);
  if (p.id?.value) out.id = String(p.id.value);
  if (p.timestamp) out.date = String(p.timestamp);
  return out;
}

function parseReceivedSpf(value: string): ReceivedSpf {
  // RFC 7208 §9.1: result [comment] [key-value-list]
  const m = /^\s*([A-Za-z]+)\s*(?:\(([^)]*)\))?\s*(.*)$/.exec(value);
  const out: ReceivedSpf = { result: (m?.[1] ?? '').toLowerCase(), value };
  if (m?.[2]) out.comment = m[2].trim();
  const kv = new Map<string, string>();
  for (const x of (m?.[3] ?? '').matchAll(/([A-Za-z-]+)\s*=\s*("(?:[^"\\]|\\.)*"|[^;\s]+)/g)) kv.set(x[1]!.toLowerCase(), x[2]!.replace(/^"|"$/g, '').replace(/^<|>$/g, ''));
  if (kv.get('client-ip')) out.clientIp = kv.get('client-ip')!;
  if (kv.get('envelope-from')) out.envelopeFrom = kv.get('envelope-from')!;
  if (kv.get('helo')) out.helo = kv.get('helo')!;
  if (kv.get('receiver')) out.receiver = kv.get('receiver')!;
  return out;
}

/** Fields a receiver writes on arrival: verdicts, its ARC set, spam scores, the envelope it saw. */
const RECEIVER_WRITTEN = /^(authentication-results|arc-authentication-results|arc-seal|arc-message-signature|received-spf|return-path|dkim-filter|dmarc-filter|delivered-to|x-original-to|x-spam(-[a-z-]+)?|x-spamd-[a-z-]+|x-rspamd-[a-z-]+|x-virus-[a-z-]+|x-gm-[a-z-]+|x-ms-exchange-[a-z-]+|x-forefront-antispam-report|x-microsoft-antispam[a-z-]*)$/;

const NOT_TIED = 'right below the receiver\'s arrival Received, where a header the sender put at the top of its message stands, and nothing ties it to this hop (no filter line or queue id naming it): not taken as the receiver\'s; name the receiver\'s authserv-id (a seed\'s authservId, --authserv-id) if it writes its verdicts there';

function idPatternsFor(host: string | undefined): string[] {
  if (!host) return [];
  const reg = registrableDomain(host);
  return reg ? [reg, `*.${reg}`] : [host];
}

/** The receiver's hop and the verdict headers it wrote, from a received copy. */
export function receiverView(source: Buffer | string | Field[], o: ReceiverViewOptions = {}): ReceiverView {
  const fields = Array.isArray(source) ? source : headerFields(source);
  const received = fields.map((f, i) => (f.name === 'received' ? parseReceivedHeader(f.value, i) : undefined)).filter((x): x is ReceivedHeader => !!x);
  const firstNamed = received.find((r) => !isInternalName(r.by))?.by;
  const seedIds = (o.authservIds ?? []).map((s) => s.toLowerCase());
  const profile: ReceiverProfile = (firstNamed ? profileForHost(firstNamed) : undefined) ?? (!firstNamed ? profileById(o.provider) : undefined) ?? {
    id: 'generic',
    hosts: idPatternsFor(firstNamed),
    authservIds: idPatternsFor(firstNamed),
  };
  const hosts = [...profile.hosts, ...seedIds.flatMap(idPatternsFor)];
  const ids = [...new Set([...profile.authservIds, ...seedIds])];

  // the contiguous block at the top whose `by` is the receiver
  const hop: ReceivedHeader[] = [];
  for (const r of received) {
    const ours = r.by ? matchesAny(r.by, hosts) : false;
    // an internal hop (Gmail's "by 2002:…", amavis' "by localhost") belongs to the block at the
    // top, or when the hop above it took the message from inside (no `from`, or a private address)
    const prev = hop[hop.length - 1];
    const fromInside = !prev || !prev.hasFrom || (prev.ip !== undefined && isPrivate(prev.ip));
    if (!ours && !(isInternalName(r.by) && fromInside && (prev || received[0] === r))) break;
    // a Received without `from` below one with it: the message was (re)submitted there, a new trace
    if (!r.hasFrom && hop.some((h) => h.hasFrom)) break;
    hop.push(r);
  }
  // the bottom-most Received of the block that records a connection
  const arrival = [...hop].reverse().find((h) => h.hasFrom) ?? hop[hop.length - 1];
  const boundary = arrival ? arrival.position : received.length ? received[0]!.position : fields.length;
  // Many receivers insert their verdicts right below their own arrival Received (Gmail; Postfix
  // hands milters such as OpenDKIM, OpenDMARC and rspamd a header list without its own Received),
  // which is also where a header the sender put at the top of its message stands. A header there
  // is taken as the receiver's only when the receiver wrote none above its hop and something ties
  // it to this hop: the Gmail profile (Gmail removes headers with its id that arrive from outside,
  // RFC 8601 §5), an authserv-id the user named (a seed's authservId, --authserv-id), or this
  // hop's queue id in an OpenDKIM/OpenDMARC filter line, rspamd's X-Rspamd-Queue-Id or the
  // header's own job id. The run of verdict fields ends at the first field of another kind.
  let belowEnd = boundary;
  if (arrival && !profile.noAuthservId) {
    belowEnd = boundary + 1;
    while (belowEnd < fields.length && RECEIVER_WRITTEN.test(fields[belowEnd]!.name)) belowEnd++;
  }
  const queueId = arrival?.id?.toLowerCase();
  const markers: number[] = [];
  for (let i = boundary + 1; i < belowEnd; i++) {
    const f = fields[i]!;
    const v = f.value.trim().toLowerCase();
    if (!queueId) break;
    if (((f.name === 'dkim-filter' || f.name === 'dmarc-filter') && v.split(/\s+/).pop() === queueId) || (f.name === 'x-rspamd-queue-id' && v === queueId)) markers.push(i);
  }
  const lastMarker = markers.length ? markers[markers.length - 1]! : -1;
  // Postfix appends the headers a milter adds with smfi_addheader (rspamd's X-Spam-Status,
  // X-Spamd-Result, X-Rspamd-*) at the END of the header, below everything the sender wrote.
  // That closing run of verdict fields is the receiver's only when it carries this hop's queue
  // id in X-Rspamd-Queue-Id, which no sender can know beforehand. A sender's own field of the
  // same name just above the milter's is superseded by the milter's (the last one counts).
  const tail = new Set<number>();
  if (queueId && arrival) {
    let start = fields.length;
    while (start > boundary + 1 && RECEIVER_WRITTEN.test(fields[start - 1]!.name)) start--;
    const run = [...Array(fields.length - start).keys()].map((k) => start + k);
    if (run.some((i) => fields[i]!.name === 'x-rspamd-queue-id' && fields[i]!.value.trim().toLowerCase() === queueId)) {
      const last = new Map<string, number>();
      for (const i of run) last.set(fields[i]!.name, i);
      for (const i of run) if (fields[i]!.name === 'authentication-results' || last.get(fields[i]!.name) === i) tail.add(i);
    }
  }

  const view: ReceiverView = { profile: profile.id, authservIds: ids, hop, ...(arrival ? { arrival } : {}), authResults: [], receiverFields: fields.slice(0, boundary), ignored: [] };
  const noHop = received.length === 0;
  let firstNoIdTaken = false;
  let adoptedId: string | undefined | null = null;
  const parsedAt = new Map<number, ParsedAuthResults>();
  const parse = (i: number) => {
    let p = parsedAt.get(i);
    if (!p) parsedAt.set(i, (p = parseAuthResults(fields[i]!.value, { arc: fields[i]!.name === 'arc-authentication-results' })));
    return p;
  };
  const idMatches = (p: ParsedAuthResults) => !!p.authservId && matchesAny(p.authservId, ids);
  const wroteAbove = fields.some((f, i) => i < boundary && f.name === 'authentication-results' && (profile.noAuthservId ? parse(i).authservId === undefined : idMatches(parse(i))));
  const useZone = !wroteAbove && belowEnd > boundary + 1;
  let zoneArSeen = 0;
  let afterLastMarker = 0;
  for (let i = 0; i < fields.length; i++) {
    const f = fields[i]!;
    if (f.name !== 'authentication-results' && f.name !== 'arc-authentication-results') continue;
    const arc = f.name === 'arc-authentication-results';
    const parsed = parse(i);
    const ignore = (reason: string) => view.ignored.push({ name: f.name, position: i, ...(parsed.authservId ? { authservId: parsed.authservId } : {}), reason, value: f.value });
    const above = i < boundary;
    const inZone = !above && i > boundary && i < belowEnd;
    if (tail.has(i) && !arc) {
      if (idMatches(parsed)) view.authResults.push({ ...parsed, position: i, value: f.value });
      else ignore(`authserv-id ${parsed.authservId ?? '(none)'} is not the receiver's (${ids.join(', ') || 'none known'})`);
      continue;
    }
    if (!above && !(inZone && useZone && !arc)) {
      ignore(inZone
        ? wroteAbove
          ? 'right below the receiver\'s arrival Received, where a header the sender put at the top of its message stands; the receiver wrote its own above its hop'
          : NOT_TIED
        : `below the receiver's hop (${arrival ? `under "Received: … by ${arrival.by ?? '?'}"` : 'under its Received'}): it was in the message when the receiver got it, written by the sender or an earlier hop`);
      continue;
    }
    let trusted: boolean;
    let why = '';
    if (inZone) {
      zoneArSeen++;
      if (i > lastMarker && lastMarker >= 0) afterLastMarker++;
      const bound = (profile.writesBelowArrival && zoneArSeen === 1)
        || (!!parsed.authservId && matchesAny(parsed.authservId, seedIds))
        || (!!queueId && parsed.jobId?.toLowerCase() === queueId)
        || i < lastMarker
        || (lastMarker >= 0 && i > lastMarker && afterLastMarker === 1);
      trusted = bound && idMatches(parsed);
      if (!trusted) {
        why = !idMatches(parsed)
          ? `authserv-id ${parsed.authservId ?? '(none)'} is not the receiver's (${ids.join(', ') || 'none known'})`
          : lastMarker < 0
            ? NOT_TIED
            : 'right below the receiver\'s arrival Received, after the headers tied to this hop: a header the sender put at the top of its message stands there';
      }
    } else if (profile.noAuthservId) {
      trusted = !arc && parsed.authservId === undefined && !firstNoIdTaken;
      if (trusted) firstNoIdTaken = true;
      else why = arc ? '' : parsed.authservId ? `authserv-id ${parsed.authservId}: Exchange Online writes none` : 'not the topmost id-less header above the receiver\'s first Received';
      if (arc) trusted = true;
    } else if (ids.length || !noHop) {
      trusted = idMatches(parsed);
      if (!trusted) why = parsed.authservId ? `authserv-id ${parsed.authservId} is not the receiver's (${ids.join(', ') || 'none known'})` : 'no authserv-id: the receiver names itself in its headers (RFC 8601 §2.5)';
    } else {
      // no Received header at all and nothing known: the topmost header's id is taken as the receiver's
      if (adoptedId === null) adoptedId = parsed.authservId;
      trusted = parsed.authservId === adoptedId;
      if (!trusted) why = `authserv-id ${parsed.authservId ?? '(none)'} differs from the topmost header's (${adoptedId ?? 'none'})`;
    }
    if (!trusted) {
      ignore(why);
      continue;
    }
    const entry: TrustedAuthResults = { ...parsed, position: i, value: f.value };
    if (arc) {
      if (!view.arcAuthResults || (entry.instance ?? 0) > (view.arcAuthResults.instance ?? 0)) view.arcAuthResults = entry;
    } else view.authResults.push(entry);
  }
  // the other verdict fields of the zone count when its Authentication-Results did
  const zoneTrusted = view.authResults.some((a) => a.position > boundary);
  if (zoneTrusted) view.receiverFields.push(...fields.slice(boundary + 1, belowEnd));
  view.receiverFields.push(...[...tail].map((i) => fields[i]!));
  const spfField = fields.findIndex((f, i) => f.name === 'received-spf' && (i < boundary || (zoneTrusted && i > boundary && i < belowEnd) || tail.has(i)));
  if (spfField >= 0) view.receivedSpf = parseReceivedSpf(fields[spfField]!.value);
  return view;
}
