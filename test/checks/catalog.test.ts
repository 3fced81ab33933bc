// Finding codes are stable API, declared once per check (src/catalog/<id>.ts):
// every check has a catalogue, every code a check's source can emit is in it,
// and the generated reference (docs/checks/) matches it. At run time the engine
// refuses, under test, any code a catalogue lacks (test/helpers/setup.ts).
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadChecks } from '../../checks/index.ts';
import { checkDoc } from '../../src/catalog/docs.ts';
import { runTarget } from '../../src/engine.ts';
import { DnsClient } from '../../src/dns/resolver.ts';
import type { Check } from '../../src/types.ts';
import { ROOT } from '../helpers/cli.ts';

/** Code literals in a source file ('spf.missing', "dnsbl.listed"). */
function codesIn(file: string, prefixes: string[]): string[] {
  const src = readFileSync(file, 'utf8');
  const re = new RegExp(`['"\`]((?:${prefixes.map((p) => p.replace(/[-.]/g, '\\$&')).join('|')})\\.[a-z0-9]+(?:-[a-z0-9]+)*)['"\`]`, 'g');
  return [...src.matchAll(re)].map((m) => m[1]!);
}

describe('finding catalogues', () => {
  it('every check declares a catalogue and a docs page; codes carry the check\'s prefix, a meaning and a fix', async () => {
    const checks = await loadChecks();
    expect(checks.size).toBeGreaterThanOrEqual(14);
    for (const c of checks.values()) {
      expect(c.findings, c.id).toBeDefined();
      expect(Object.keys(c.findings!).length, c.id).toBeGreaterThan(0);
      expect(c.docs).toBe(`docs/checks/${c.id}.md`);
      for (const [code, spec] of Object.entries(c.findings!)) {
        expect(code.startsWith(`${c.id}.`) || (c.id === 'blacklist' && code.startsWith('dnsbl.')), code).toBe(true);
        expect(spec.severity.length, code).toBeGreaterThan(0);
        expect(spec.meaning.length, code).toBeGreaterThan(3);
      }
    }
  });

  it('every code literal in the checks\' sources is in its check\'s catalogue', async () => {
    const checks = await loadChecks();
    const all = new Map<string, string>();
    for (const c of checks.values()) for (const code of Object.keys(c.findings!)) all.set(code, c.id);
    const prefixes = [...new Set([...all.keys()].map((k) => k.slice(0, k.indexOf('.'))))];
    const files = [
      ...readdirSync(path.join(ROOT, 'checks')).filter((f) => f.endsWith('.ts')).map((f) => path.join(ROOT, 'checks', f)),
      path.join(ROOT, 'src/placement/summary.ts'),
      path.join(ROOT, 'src/content/analyze.ts'),
    ];
    const missing: string[] = [];
    for (const f of files) for (const code of codesIn(f, prefixes)) if (!all.has(code)) missing.push(`${path.relative(ROOT, f)}: ${code}`);
    // step and option names that look like codes but are not findings
    const notCodes = new Set(['checks/smtp.ts: smtp.timeout']);
    expect(missing.filter((m) => !notCodes.has(m))).toEqual([]);
  });

  it('docs/checks/ is generated from the catalogues and up to date (npm run docs)', async () => {
    for (const c of (await loadChecks()).values()) {
      expect(readFileSync(path.join(ROOT, 'docs/checks', `${c.id}.md`), 'utf8'), `docs/checks/${c.id}.md is stale: run npm run docs`).toBe(checkDoc(c));
    }
  });

  it('the engine refuses, under test, a finding code its check does not declare', async () => {
    const rogue: Check = {
      id: 'rogue', title: 'Rogue', needs: [], findings: { 'rogue.known': { severity: ['info'], meaning: 'declared', fix: '-' } },
      run: async () => ({ findings: [{ check: 'rogue', code: 'rogue.undeclared', severity: 'warn', summary: 'not in the catalogue' }] }),
    };
    const dns = new DnsClient({ resolvers: [{ host: '127.0.0.1', port: 9 }], timeoutMs: 50, retries: 0 });
    await expect(runTarget({ target: 'x.example', checks: [rogue], registry: new Map([['rogue', rogue]]), opts: { ips: [], selectors: [] }, dns })).rejects.toThrow(/emitted rogue\.undeclared, not in its catalogue/);
  });
});
