// One blacklist sweep: every target against every zone that takes it, all
// queries at once under the DnsClient's global cap (de-duplicated by the client),
// each zone's RFC 5782 self-test running alongside, inside a query budget.
import { txtRecords, type DnsClient, type DnsResponse } from '../dns/resolver.ts';
import { redact } from '../util/redact.ts';
import type { Evidence } from '../types.ts';
import { decodeAnswer, type CellStatus, type Decoded } from './decode.ts';
import { queryName, reverseIp, type TargetKind } from './names.ts';
import { testPoints, type ActiveZone } from './zones.ts';

export type TestFamily = 'ipv4' | 'ipv6' | 'domain';
export type SelfTestStatus = 'ok' | 'failed' | 'error' | 'refused' | 'rate-limited' | 'unknown' | 'none';

export interface Target {
  /** an IP address (canonical) or a registrable domain in A-labels */
  value: string;
  kind: TargetKind;
  /** where it came from: "--ip", "SPF ip4:192.0.2.0/30", "link in message: https://…" */
  sources: string[];
}

export interface Cell {
  zone: string;
  status: CellStatus;
  /** the name queried (a DQS key masked) — shown for everything but clean answers */
  query?: string;
  answers?: string[];
  meanings?: string[];
  severity?: 'error' | 'warn' | 'info';
  txt?: string[];
  reason?: string;
}

export interface TargetRow {
  target: string;
  kind: TargetKind;
  sources: string[];
  /** one per zone that takes this kind of target, in zone order */
  results: Cell[];
  /** block zones that answered for this target (listed or clean) */
  answering: number;
  listedOn: number;
  /** block zones asked, answering or not */
  zones: number;
}

export interface SelfTest {
  status: SelfTestStatus;
  reason?: string;
  evidence: Evidence[];
}

export interface ZoneReport {
  name: string;
  title: string;
  short: string;
  type: 'ip' | 'domain';
  kind: 'block' | 'allow';
  keyed: boolean;
  delist?: string;
  doc?: { url: string; checked?: string };
  refusesPublicResolvers?: boolean;
  access?: string;
  keyEnv?: string;
  selfTest: Partial<Record<TestFamily, SelfTest>>;
  counts: Record<CellStatus, number>;
}

export interface SweepResult {
  zones: ZoneReport[];
  targets: TargetRow[];
  leftOut: { targets: Target[]; queries: number };
  queries: { planned: number; selfTest: number; txt: number; budget: number };
}

const FAMILY: Record<TargetKind, TestFamily> = { ip4: 'ipv4', ip6: 'ipv6', domain: 'domain' };

export function zoneTakes(z: ActiveZone, kind: TargetKind): boolean {
  if (kind === 'domain') return z.type === 'domain';
  return z.type === 'ip' && (z.families ?? [4]).includes(kind === 'ip4' ? 4 : 6);
}

function shown(z: ActiveZone, name: string): string {
  // the key is registered as a secret too; this keeps it out even of data that skips redact()
  return redact(z.keyed ? name.slice(0, name.length - z.suffix.length) + z.shownSuffix : name);
}

function evidence(name: string, resp: DnsResponse): Evidence {
  return { query: name, type: resp.type, rcode: resp.rcode, answers: resp.answers.map((a) => String(a.data)) };
}

/** Which targets fit in the budget (targets come in priority order), and what the self-tests cost. */
export function plan(targets: Target[], zones: ActiveZone[], budget: number) {
  const tested = new Set<string>();
  const admitted: Target[] = [];
  const leftOut: Target[] = [];
  let used = 0;
  let leftQueries = 0;
  for (const t of targets) {
    const zs = zones.filter((z) => zoneTakes(z, t.kind));
    const newTests = zs.filter((z) => !tested.has(`${z.name} ${FAMILY[t.kind]}`) && testPoints(z, FAMILY[t.kind]));
    const cost = zs.length + newTests.length * 2;
    if (leftOut.length || used + cost > budget) {
      leftOut.push(t);
      leftQueries += zs.length;
      continue;
    }
    used += cost;
    for (const z of newTests) tested.add(`${z.name} ${FAMILY[t.kind]}`);
    admitted.push(t);
  }
  return { admitted, leftOut, used, leftQueries, tests: [...tested].map((k) => { const [zone, fam] = k.split(' '); return { zone: zone!, family: fam as TestFamily }; }) };
}

function judgeSelfTest(z: ActiveZone, family: TestFamily, listed: [string, DnsResponse], clean: [string, DnsResponse]): SelfTest {
  const ev = [evidence(shown(z, listed[0]), listed[1]), evidence(shown(z, clean[0]), clean[1])];
  const pt = testPoints(z, family)!;
  const l = decodeAnswer(z, listed[1]);
  const c = decodeAnswer(z, clean[1]);
  for (const [d, which] of [[l, pt.listed], [c, pt.clean]] as [Decoded, string][]) {
    if (d.status === 'error' || d.status === 'refused' || d.status === 'rate-limited' || d.status === 'unknown') {
      return { status: d.status, reason: `self-test query for ${which} got no usable answer: ${d.reason}`, evidence: ev };
    }
  }
  if (l.status === 'clean') {
    return { status: 'failed', reason: `test point ${pt.listed} must be listed but is not: the list is dead or empty, or ignores this resolver${z.access === 'registration' ? ' (this list answers only registered resolvers)' : ''}${z.keyed ? ' (or the key is wrong)' : ''}`, evidence: ev };
  }
  if (c.status !== 'clean') {
    return { status: 'failed', reason: `test point ${pt.clean} must not be listed but is (${c.answers.join(', ')}): the zone lists everything, so its listings mean nothing`, evidence: ev };
  }
  if (pt.expect && !l.answers.includes(pt.expect)) {
    return { status: 'ok', reason: `test point answered ${l.answers.join(', ')} (documented: ${pt.expect})`, evidence: ev };
  }
  return { status: 'ok', evidence: ev };
}

export interface SweepOptions {
  dns: DnsClient;
  zones: ActiveZone[];
  /** in priority order: what does not fit the budget is left out from the end */
  targets: Target[];
  maxQueries: number;
  progress?: (done: number, total: number) => void;
}

export async function sweep(o: SweepOptions): Promise<SweepResult> {
  const p = plan(o.targets, o.zones, o.maxQueries);
  const byName = new Map(o.zones.map((z) => [z.name, z] as const));
  const total = p.used;
  let done = 0;
  let txtCount = 0;
  const tick = () => o.progress?.(++done, total);

  const cells = p.admitted.map((t) => {
    const label = t.kind === 'domain' ? t.value : reverseIp(t.value); // once per target, not per zone
    return o.zones.filter((z) => zoneTakes(z, t.kind)).map(async (z): Promise<[string, Cell]> => {
      const name = `${label}.${z.suffix}`;
      const resp = await o.dns.query(name, 'A');
      tick();
      const d = decodeAnswer(z, resp);
      const cell: Cell = { zone: z.name, status: d.status };
      if (d.status !== 'clean') cell.query = shown(z, name);
      if (d.answers.length) cell.answers = d.answers;
      if (d.meanings) cell.meanings = d.meanings;
      if (d.severity && (d.status === 'listed' || d.status === 'allowlisted')) cell.severity = d.severity;
      if (d.reason) cell.reason = redact(d.reason);
      if ((d.status === 'listed' || d.status === 'allowlisted') && z.txt !== false) {
        // the reason a list gives is worth one more query, only for listings
        txtCount++;
        const txt = txtRecords(await o.dns.query(name, 'TXT', true));
        if (txt.length) cell.txt = txt.map((s) => redact(s));
      }
      return [z.name, cell];
    });
  });

  // The self-tests queue behind the lookups: a lookup may need a follow-up query
  // (a listing's TXT reason, which then goes to the head of the queue), a test point
  // never does, so lookups first keeps a late listing from adding a round trip.
  const tests = p.tests.map(async ({ zone, family }) => {
    const z = byName.get(zone)!;
    const pt = testPoints(z, family)!;
    const kind: TargetKind = family === 'ipv4' ? 'ip4' : family === 'ipv6' ? 'ip6' : 'domain';
    const ln = queryName(pt.listed, kind, z.suffix);
    const cn = queryName(pt.clean, kind, z.suffix);
    const [lr, cr] = await Promise.all([o.dns.query(ln, 'A').finally(tick), o.dns.query(cn, 'A').finally(tick)]);
    return [`${zone} ${family}`, judgeSelfTest(z, family, [ln, lr], [cn, cr])] as const;
  });

  const selfTests = new Map(await Promise.all(tests));
  const rows: TargetRow[] = await Promise.all(
    p.admitted.map(async (t, i) => {
      const entries = await Promise.all(cells[i]!);
      const row: TargetRow = { target: t.value, kind: t.kind, sources: t.sources, results: [], answering: 0, listedOn: 0, zones: 0 };
      for (const [zn, cell] of entries) {
        const z = byName.get(zn)!;
        const st = selfTests.get(`${zn} ${FAMILY[t.kind]}`);
        // a zone is trusted only once its self-test passed: a clean answer from a dead list proves nothing
        if (st && st.status !== 'ok' && (cell.status === 'clean' || cell.status === 'listed' || cell.status === 'allowlisted')) {
          const was = cell.status;
          cell.status = st.status === 'failed' ? 'unreliable' : (st.status as CellStatus);
          cell.reason = `${st.status === 'failed' ? 'zone failed its self-test' : 'zone self-test'}: ${st.reason} (this lookup said ${was}${cell.answers ? ` ${cell.answers.join(', ')}` : ''})`;
          cell.query ??= shown(z, queryName(t.value, t.kind, z.suffix));
          delete cell.severity;
        }
        row.results.push(cell);
        if (z.kind === 'block') {
          row.zones++;
          if (cell.status === 'listed' || cell.status === 'clean') row.answering++;
          if (cell.status === 'listed') row.listedOn++;
        }
      }
      return row;
    }),
  );

  const cellsByZone = new Map<string, Cell[]>();
  for (const r of rows) {
    for (const c of r.results) {
      let list = cellsByZone.get(c.zone);
      if (!list) cellsByZone.set(c.zone, (list = []));
      list.push(c);
    }
  }
  const zones: ZoneReport[] = o.zones.map((z) => {
    const counts = { listed: 0, clean: 0, allowlisted: 0, error: 0, refused: 0, 'rate-limited': 0, unknown: 0, unreliable: 0 } as Record<CellStatus, number>;
    for (const c of cellsByZone.get(z.name) ?? []) counts[c.status]++;
    const selfTest: ZoneReport['selfTest'] = {};
    for (const fam of ['ipv4', 'ipv6', 'domain'] as const) {
      const st = selfTests.get(`${z.name} ${fam}`);
      if (st) selfTest[fam] = st;
      else if (rows.some((r) => FAMILY[r.kind] === fam && r.results.some((x) => x.zone === z.name)) && !testPoints(z, fam)) selfTest[fam] = { status: 'none', reason: 'this zone has no test point: its answers are unverified', evidence: [] };
    }
    return {
      name: z.name, title: z.title, short: z.short, type: z.type, kind: z.kind, keyed: z.keyed,
      ...(z.delist ? { delist: z.delist } : {}),
      ...(z.doc ? { doc: z.doc } : {}),
      ...(z.refusesPublicResolvers ? { refusesPublicResolvers: true } : {}),
      ...(z.access ? { access: z.access } : {}),
      ...(z.key ? { keyEnv: z.key.env } : {}),
      selfTest, counts,
    };
  });

  return {
    zones,
    targets: rows,
    leftOut: { targets: p.leftOut, queries: p.leftQueries },
    queries: { planned: p.used, selfTest: p.tests.length * 2, txt: txtCount, budget: o.maxQueries },
  };
}
