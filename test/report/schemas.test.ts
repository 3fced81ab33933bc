// Every JSON document inboxlens prints has a schema in schema/ and is checked
// against it: the mx check's data, `history --json`, `diff --json` and a report's
// `comparison`, through the real CLI against the fixture DNS server.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, rm } from 'node:fs/promises';
import { readdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { FixtureDns } from '../../src/dns/fixture-server.ts';
import { ROOT, runCli } from '../helpers/cli.ts';
import { dnsArgs, startDns } from '../helpers/dns.ts';
import { hasCheckSchema, validateDocument, validateReport } from '../../src/report/validate.ts';

let dns: FixtureDns;
let dir: string;
beforeAll(async () => {
  dns = await startDns({
    'ok.schemas.example': { MX: ['10 mx1.schemas.example', '20 mx2.schemas.example'] },
    'mx1.schemas.example': { A: ['192.0.2.21'], AAAA: ['2001:db8::21'] },
    'mx2.schemas.example': { CNAME: ['mx1.schemas.example'] },
    'bad.schemas.example': { MX: ['10 gone.schemas.example', '20 [192.0.2.9]'] },
    'null.schemas.example': { MX: ['0 .'] },
    'nomx.schemas.example': { A: ['192.0.2.22'] },
  });
  dir = await mkdtemp(path.join(os.tmpdir(), 'inboxlens-schemas-'));
});
afterAll(async () => {
  await dns?.stop();
  await rm(dir, { recursive: true, force: true });
});

describe('schemas for every document', () => {
  it('every check has a data schema in schema/checks/', () => {
    const ids = readdirSync(path.join(ROOT, 'checks')).filter((f) => f.endsWith('.ts') && f !== 'index.ts').map((f) => f.replace(/\.ts$/, ''));
    expect(ids.length).toBeGreaterThan(10);
    expect(ids.filter((id) => !hasCheckSchema(id))).toEqual([]);
  });

  it.each(['ok', 'bad', 'null', 'nomx'])('mx data of %s.schemas.example fits schema/checks/mx.schema.json', async (name) => {
    const r = await runCli(['check', `${name}.schemas.example`, '--only', 'mx', '--json', '--no-save', ...dnsArgs(dns)]);
    expect([0, 1]).toContain(r.code);
    const doc = r.json();
    const mx = doc.targets[0].checks.find((c: any) => c.check === 'mx');
    expect(mx.data).toBeDefined();
    expect(validateReport(doc)).toEqual([]);
    if (name === 'ok') expect(mx.data.hosts.map((h: any) => h.status)).toEqual(['ok', 'cname']);
    if (name === 'bad') expect(mx.data.hosts.map((h: any) => h.status).sort()).toEqual(['ip-literal', 'unresolvable']);
    if (name === 'null') expect(mx.data.nullMx).toBe(true);
  }, 30_000);

  it('the mx schema can fail: data it does not describe is named', () => {
    const doc = { schemaVersion: '1.0', tool: { name: 'inboxlens', version: '0' }, command: 'check', generatedAt: new Date().toISOString(), durationMs: 1, summary: { status: 'pass', exitCode: 0, findings: { error: 0, warn: 0, info: 0, pass: 0 }, checks: { pass: 1, warn: 0, fail: 0, unknown: 0 } }, targets: [{ target: 'x.example', status: 'pass', ms: 1, checks: [{ check: 'mx', title: 'MX', target: 'x.example', status: 'pass', ms: 1, findings: [], data: { hosts: [{ exchange: 'mx.x.example', priority: -1, addresses: ['not-an-ip'], status: 'fine' }] } }] }] };
    const problems = validateReport(doc).join('\n');
    expect(problems).toMatch(/data\/hosts\/0\/priority .*\(check mx\)/);
    expect(problems).toMatch(/data\/hosts\/0\/status /);
    expect(problems).toMatch(/data\/hosts\/0\/addresses\/0 /);
  });

  it('history --json, diff --json and a report\'s comparison fit their schemas', async () => {
    const db = path.join(dir, 'h.db');
    const empty = await runCli(['history', '--db', path.join(dir, 'none.db'), '--json']);
    expect(validateDocument('history', empty.json())).toEqual([]);

    dns.set('ok.schemas.example', 'MX', ['10 mx1.schemas.example']);
    const before = await runCli(['check', 'ok.schemas.example', '--only', 'mx,spf', '--db', db, '--label', 'before', '--json', ...dnsArgs(dns)]);
    dns.set('ok.schemas.example', 'MX', ['10 gone.schemas.example']);
    const after = await runCli(['check', 'ok.schemas.example', '--only', 'mx,spf', '--db', db, '--json', '--against', 'last:before', ...dnsArgs(dns)]);
    expect(after.code).toBe(1);
    const a = after.json();
    expect(a.comparison.targets[0].added.map((f: any) => f.code)).toContain('mx.unresolvable');
    expect(validateReport(a)).toEqual([]);
    expect(validateReport(before.json())).toEqual([]);

    const hist = await runCli(['history', '--db', db, '--json']);
    expect(hist.json().runs).toHaveLength(2);
    expect(validateDocument('history', hist.json())).toEqual([]);

    const d = await runCli(['diff', 'last:before', 'last', '--db', db, '--json']);
    expect(d.code).toBe(0);
    expect(d.json().regressions.join('\n')).toMatch(/mx\.unresolvable/);
    expect(validateDocument('diff', d.json())).toEqual([]);

    // and the schemas can fail
    const h = hist.json<{ runs: Record<string, unknown>[] }>();
    expect(validateDocument('history', { ...h, runs: [{ ...h.runs[0], exitCode: 9 }] }).join('\n')).toMatch(/\/runs\/0\/exitCode must be equal to one of the allowed values/);
    expect(validateDocument('history', { ...h, runs: [{ ...h.runs[0], report: {} }] }).join('\n')).toMatch(/must NOT have additional properties/);
    const bad = d.json();
    bad.targets[0].added[0].severity = 'catastrophic';
    bad.targets[0].statusAfter = 'gone';
    const why = validateDocument('diff', bad).join('\n');
    expect(why).toMatch(/\/targets\/0\/added\/0\/severity/);
    expect(why).toMatch(/\/targets\/0\/statusAfter/);
    expect(validateReport({ ...a, comparison: { ...a.comparison, regressions: 'none' } }).join('\n')).toMatch(/\/comparison\/regressions must be array/);
  }, 60_000);
});
