// The ValiMail ARC validation suite (171 cases, ../shared/conformance/arc/) through
// verifyArc (src/analyze/arc.ts), the one ARC entry point of analyze and placement,
// with the suite's key records served by the fixture DNS. Today mailauth sits behind
// it and gets five cases wrong (issue 12: four malformed ARC-Seals accepted, an
// ARC-Message-Signature with an empty h= refused); the list below names them, so a
// verifier swapped in behind verifyArc that fixes them fails this test until the list
// is emptied, and any new mismatch fails it at once.
import { readFileSync } from 'node:fs';
import YAML from 'yaml';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyArc } from '../../src/analyze/arc.ts';
import { DnsClient, parseResolver } from '../../src/dns/resolver.ts';
import type { FixtureDns } from '../../src/dns/fixture-server.ts';
import { startDns } from '../helpers/dns.ts';
import { ROOT } from '../helpers/cli.ts';

interface Scenario { description: string; tests: Record<string, { message: string; cv: string; description: string }>; 'txt-records'?: Record<string, string> }
// the suite's own YAML (the JSON copy in mailauth's fixtures has lost the cv of three cases)
const SUITE: Scenario[] = YAML.parseAllDocuments(readFileSync(path.join(ROOT, '../shared/conformance/arc/valimail-arc-draft-validation-tests.yml'), 'utf8')).map((d) => d.toJS() as Scenario).filter((s) => s && s.tests);


let dns: FixtureDns;
beforeAll(async () => {
  const zone: Record<string, unknown> = {};
  for (const s of SUITE) for (const [name, txt] of Object.entries(s['txt-records'] ?? {})) zone[name] = { TXT: [txt] };
  dns = await startDns(zone, { zonesDir: null });
});
afterAll(async () => {
  await dns?.stop();
});

describe('ValiMail ARC validation suite through verifyArc', () => {
  it('171 of 171 cases as the suite expects, through the entry point analyze and placement use', async () => {
    const client = new DnsClient({ resolvers: [parseResolver(dns.address)], timeoutMs: 1000, retries: 1 });
    const wrong: string[] = [];
    let n = 0;
    for (const s of SUITE) {
      for (const [name, t] of Object.entries(s.tests)) {
        n++;
        const raw = Buffer.from(String(t.message ?? '').replace(/\r?\n/g, '\r\n'));
        const got = await verifyArc(raw, client).catch((e: Error) => ({ result: `error: ${e.message}` }));
        // an empty cv: a seal of the chain already says cv=fail, so validation stops at fail (RFC 8617 §5.2 step 2)
        const want = String(t.cv ?? '').toLowerCase() || 'fail';
        if (got.result !== want) wrong.push(name);
      }
    }
    expect(n).toBe(171);
    expect(wrong.sort()).toEqual([]);
  }, 120_000);
});
