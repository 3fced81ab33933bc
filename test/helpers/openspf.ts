// The OpenSPF RFC 7208 suites (../shared/conformance/spf/): loading the YAML and
// turning a scenario's zonedata into the fixture DNS server's zone, with pyspf's
// test-driver semantics. Shared by the conformance and the differential tests.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import type { Behavior, ZoneData } from '../../src/dns/fixture-server.ts';
import { ROOT } from './cli.ts';

export const SUITE_DIR = path.resolve(ROOT, '../shared/conformance/spf');
export const SUITE_FILES = ['pyspf-rfc7208-tests.yml', 'mailauth-rfc7208-tests.yml'];

export interface SuiteTest { helo?: string; host: string; mailfrom?: string; result: string | string[]; explanation?: string; spec?: string | string[]; description?: string }
export interface Scenario { description: string; tests: Record<string, SuiteTest>; zonedata?: Record<string, unknown[]> }

const TYPES = ['A', 'AAAA', 'TXT', 'MX', 'PTR', 'CNAME', 'SPF', 'NS', 'SOA'];

/**
 * pyspf's test-driver semantics (test/testspf.py): SPF entries become TXT unless
 * the name lists any TXT entry (even "TXT: NONE"), generated TXT goes last; a
 * TIMEOUT entry makes a query time out unless a record of that type came before it.
 */
export function zoneFor(zonedata: Record<string, unknown[]> = {}): ZoneData {
  const zone: ZoneData = new Map();
  for (const [owner, list] of Object.entries(zonedata)) {
    const ordered: ({ type: string; value: unknown } | 'TIMEOUT')[] = [];
    const generated: { type: string; value: unknown }[] = [];
    let hasTxt = false;
    for (const e of list ?? []) {
      if (e === 'TIMEOUT') {
        ordered.push('TIMEOUT');
        continue;
      }
      const [type, value] = Object.entries(e as Record<string, unknown>)[0]!;
      if (type === 'TXT') hasTxt = true;
      if (value === 'NONE') continue;
      if (type === 'SPF') {
        generated.push({ type: 'TXT', value });
        continue;
      }
      ordered.push({ type, value });
    }
    if (!hasTxt) ordered.push(...generated);
    const records = new Map<string, unknown[]>();
    const behavior: Partial<Record<string, Behavior>> = {};
    const timeoutAt = ordered.indexOf('TIMEOUT');
    for (const t of TYPES) {
      const before = (timeoutAt < 0 ? ordered : ordered.slice(0, timeoutAt)).filter((x): x is { type: string; value: unknown } => x !== 'TIMEOUT' && x.type === t);
      if (timeoutAt >= 0 && !before.length) {
        behavior[t] = 'timeout';
        continue;
      }
      if (before.length) records.set(t, before.map((x) => convert(t, x.value)));
    }
    zone.set(owner.toLowerCase().replace(/\.$/, ''), { records, ...(Object.keys(behavior).length ? { behavior } : {}) });
  }
  return zone;
}

function convert(type: string, value: unknown): unknown {
  switch (type) {
    case 'MX': {
      const [priority, exchange] = value as [number, string];
      return { priority, exchange: String(exchange ?? '') };
    }
    case 'TXT':
      // a list is the record's character-strings; a string is one record
      return Array.isArray(value) ? value.map(String) : String(value);
    default:
      return String(value);
  }
}

export function loadSuite(file: string): Scenario[] {
  return YAML.parseAllDocuments(readFileSync(path.join(SUITE_DIR, file), 'utf8'))
    .map((d) => d.toJS() as Scenario)
    .filter((s) => s && s.tests);
}

