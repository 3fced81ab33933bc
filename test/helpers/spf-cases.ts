// Generated SPF scenarios for the differential tests (test/spf/pyspf-differential.test.ts):
// a small world under gen.example — include trees (missing targets and loops
// included), redirects, macros that do and do not depend on the connection, void
// lookups, a/mx terms on IPv4-only, IPv6-only, dual-stack and missing hosts, MX
// sets past the 10-name limit — as a fixture DNS zone, and the sending IPs to try
// in both address families (two of them listed nowhere).
import fc from 'fast-check';

export const ROOT = 'gen.example';
const NAMES = [ROOT, `r1.${ROOT}`, `r2.${ROOT}`, `r3.${ROOT}`, `_spf.${ROOT}`, `_spf.r1.${ROOT}`];
const HOSTS = [1, 2, 3, 4, 5, 6].map((i) => `h${i}.${ROOT}`);
type Kind = 'v4' | 'v6' | 'dual' | 'nx' | 'nodata';

/** the senders a case is evaluated for; the last two are in no range of any case */
export const NOWHERE = { 4: '203.0.113.77', 6: '2001:db8:ffff::77' } as const;
export const IPS = ['192.0.2.11', '192.0.2.13', '2001:db8::b', '2001:db8::d', NOWHERE[4], NOWHERE[6]];

const v4 = (n: number) => `192.0.2.${n}`;
const v6 = (n: number) => `2001:db8::${n.toString(16)}`;

const kind = fc.constantFrom<Kind>('v4', 'v6', 'dual', 'nx', 'nodata', 'v4', 'dual');
const host = fc.constantFrom(...HOSTS);
const name = fc.constantFrom(...NAMES);
const qual = fc.constantFrom('', '', '', '-', '~', '?', '+');

const term = fc.oneof(
  { weight: 3, arbitrary: fc.tuple(qual, fc.integer({ min: 11, max: 16 }), fc.constantFrom('', '/31', '/30')).map(([q, n, c]) => `${q}ip4:${v4(n)}${c}`) },
  { weight: 2, arbitrary: fc.tuple(qual, fc.integer({ min: 11, max: 16 }), fc.constantFrom('', '/127', '/126')).map(([q, n, c]) => `${q}ip6:${v6(n)}${c}`) },
  { weight: 4, arbitrary: fc.tuple(qual, host).map(([q, h]) => `${q}a:${h}`) },
  { weight: 1, arbitrary: qual.map((q) => `${q}a`) },
  { weight: 2, arbitrary: fc.tuple(qual, fc.constantFrom(...NAMES, `m1.${ROOT}`, `m2.${ROOT}`, `many.${ROOT}`)).map(([q, n]) => `${q}mx:${n}`) },
  { weight: 1, arbitrary: qual.map((q) => `${q}mx`) },
  { weight: 1, arbitrary: fc.tuple(qual, host).map(([q, h]) => `${q}exists:${h}`) },
  { weight: 3, arbitrary: name.map((n) => `include:${n}`) },
  // macros the static walk expands: the current domain, the sender's domain and local part
  { weight: 2, arbitrary: fc.constant('include:_spf.%{d}') },
  { weight: 1, arbitrary: qual.map((q) => `${q}a:%{l}.u.${ROOT}`) },
  { weight: 1, arbitrary: qual.map((q) => `${q}exists:%{l}.e.${ROOT}`) },
  { weight: 1, arbitrary: qual.map((q) => `${q}mx:%{d}`) },
  { weight: 1, arbitrary: qual.map((q) => `${q}a:%{d2}`) },
  { weight: 1, arbitrary: qual.map((q) => `${q}a:%{o}`) },
  // a macro of the connection: the static walk cannot expand it
  { weight: 1, arbitrary: fc.constant(`exists:%{i}.bl.${ROOT}`) },
);

const ending = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom('-all', '~all', '?all') },
  { weight: 1, arbitrary: fc.constant('') },
  { weight: 1, arbitrary: fc.constant('+all') },
  { weight: 2, arbitrary: name.map((n) => `redirect=${n}`) },
);

const recordArb = fc.tuple(fc.array(term, { maxLength: 5 }), ending).map(([t, e]) => `v=spf1 ${[...t, e].filter(Boolean).join(' ')}`.trim());

export interface SpfCase {
  localPart: string;
  /** fixture zone document (parseZone's input) */
  zone: Record<string, Record<string, unknown>>;
  /** the sender address evaluated */
  sender: string;
}

export const spfCase: fc.Arbitrary<SpfCase> = fc.record({
  localPart: fc.constantFrom('bounces', 'alice'),
  // every name of the tree may hold a record (the root always does), and an address or MX of its own
  records: fc.tuple(recordArb, ...NAMES.slice(1).map(() => fc.option(recordArb, { freq: 3 }))),
  nameKinds: fc.array(kind, { minLength: NAMES.length, maxLength: NAMES.length }),
  nameMx: fc.array(fc.option(fc.subarray(HOSTS, { minLength: 1, maxLength: 3 }), { freq: 2 }), { minLength: NAMES.length, maxLength: NAMES.length }),
  hostKinds: fc.array(kind, { minLength: HOSTS.length, maxLength: HOSTS.length }),
  m1: fc.subarray(HOSTS, { maxLength: 4 }),
  m2: fc.subarray(HOSTS, { minLength: 1, maxLength: 3 }),
  // the local-part hosts: bounces.u (a:%{l}.u) and bounces.e (exists:%{l}.e)
  u: kind,
  e: fc.boolean(),
  bl: fc.boolean(),
}).map((g) => {
  const zone: SpfCase['zone'] = {};
  const at = (n: string) => (zone[n] ??= {});
  const addrs = (n: string, k: Kind, i: number) => {
    if (k === 'nx') return;
    const e = at(n);
    if (k === 'v4' || k === 'dual') e.A = [v4(i)];
    if (k === 'v6' || k === 'dual') e.AAAA = [v6(i)];
    // nodata: the name exists (it has a TXT record) with no address
    if (k === 'nodata') e.TXT = [...((e.TXT as string[] | undefined) ?? []), 'no address here'];
  };
  HOSTS.forEach((h, i) => addrs(h, g.hostKinds[i]!, 11 + i));
  NAMES.forEach((n, i) => {
    const rec = g.records[i];
    if (rec) at(n).TXT = [rec];
    if (g.nameKinds[i] !== 'nodata') addrs(n, g.nameKinds[i]!, 13 + i);
    const mx = g.nameMx[i];
    if (mx) at(n).MX = mx.map((h, p) => `${10 + p} ${h}`);
  });
  if (g.m1.length) at(`m1.${ROOT}`).MX = g.m1.map((h, p) => `${p} ${h}`);
  else at(`m1.${ROOT}`).TXT = ['no MX'];
  at(`m2.${ROOT}`).MX = g.m2.map((h, p) => `${p} ${h}`);
  // 11 MX names, the matching hosts first (RFC 7208 §4.6.4: more than 10 is a permerror)
  at(`many.${ROOT}`).MX = Array.from({ length: 11 }, (_, p) => `${p} ${HOSTS[p % HOSTS.length]}`);
  addrs(`bounces.u.${ROOT}`, g.u, 12);
  if (g.e) at(`bounces.e.${ROOT}`).A = ['127.0.0.2'];
  if (g.bl) at(`192.0.2.13.bl.${ROOT}`).A = ['127.0.0.2'];
  return { localPart: g.localPart, zone, sender: `${g.localPart}@${ROOT}` };
});
