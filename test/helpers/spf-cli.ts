// `inboxlens check … --only spf --json` against the fixture DNS, the report
// validated against the schema: the spf check's result, its data and finding codes.
import { expect } from 'vitest';
import type { FixtureDns } from '../../src/dns/fixture-server.ts';
import { validateReport } from '../../src/report/validate.ts';
import { runCli } from './cli.ts';
import { dnsArgs } from './dns.ts';

export async function runSpfCheck(dns: FixtureDns, args: string[]) {
  const r = await runCli(['check', ...args, '--only', 'spf', '--json', ...dnsArgs(dns)]);
  const doc = r.json();
  expect(validateReport(doc)).toEqual([]);
  const res = doc.targets[0].checks[0];
  return { r, res, data: res.data, codes: res.findings.map((f: any) => f.code) as string[], find: (code: string) => res.findings.find((f: any) => f.code === code) };
}
