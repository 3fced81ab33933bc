// Property tests: random and malformed SPF records into the parser, and served
// by the fixture DNS to the walker and the check's judgement. Nothing may throw;
// a bad term becomes an spf.syntax finding, a good record a valid tree whose
// JSON matches the schema.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FixtureDns } from '../../src/dns/fixture-server.ts';
import { DnsClient } from '../../src/dns/resolver.ts';
import { isSpfRecord, parseSpf } from '../../src/spf/parser.ts';
import { walkSpf } from '../../src/spf/walker.ts';
import { authorizedRanges } from '../../src/spf/analyze.ts';
import { spfTreeDetail } from '../../src/spf/view.ts';
import { drawDetails } from '../../src/report/details.ts';
import { makeStyle } from '../../src/report/style.ts';
import { treeFindings } from '../../checks/spf.ts';
import { startDns } from '../helpers/dns.ts';
import { ROOT } from '../helpers/cli.ts';

const require = createRequire(import.meta.url);
const Ajv2020 = require('ajv/dist/2020').default;
const schema = JSON.parse(readFileSync(path.join(ROOT, 'schema/checks/spf.schema.json'), 'utf8'));
const validNode = new Ajv2020({ allErrors: true, strict: false }).compile({ ...schema, $ref: '#/$defs/node', required: [], properties: {}, additionalProperties: true });

// term pieces that reach the grammar's corners: qualifiers, every mechanism, cidrs, macros, junk
const piece = fc.oneof(
  fc.constantFrom('', '+', '-', '~', '?', '!'),
  fc.constantFrom('all', 'include', 'a', 'mx', 'ptr', 'ip4', 'ip6', 'exists', 'redirect', 'exp', 'foo', 'A', 'MX', 'Include'),
  fc.constantFrom(':', '/', '//', '=', '.', '..', '%', '%%', '%_', '%-', '%{', '}', '%{d}', '%{i}', '%{ir}', '%{l1r-}', '%{c}', '%{d0}', '%{x}'),
  fc.constantFrom('example.com', 'fz.spf.example', 'a.fz.spf.example', 'loop.fz.spf.example', '_spf.fz.spf.example', 'com', '123', '-x-'),
  fc.constantFrom('192.0.2.1', '192.0.2.256', '01.2.3.4', '2001:db8::1', '::ffff:1.2.3.4', 'fe80::1%eth0', '24', '32', '33', '64', '128', '129', '024'),
  fc.constantFrom('\t', '\r', '\n', '\x00', '\x7f', 'é', '\u00a0', '"', ' '),
  fc.string({ maxLength: 6 }),
);
const term = fc.array(piece, { minLength: 1, maxLength: 6 }).map((p) => p.join(''));
const record = fc.tuple(fc.constantFrom('v=spf1', 'V=SPF1', 'v=spf1 ', 'v=spf10', 'spf1', ''), fc.array(term, { maxLength: 12 }), fc.constantFrom(' ', '  ', '\t'))
  .map(([v, terms, sep]) => `${v}${terms.length ? sep : ''}${terms.join(sep)}`);

describe('spf parser (fuzz)', () => {
  it('never throws on arbitrary text; every error names a term of the record', () => {
    fc.assert(
      fc.property(fc.oneof(record, fc.string({ maxLength: 300 }), fc.string({ unit: 'binary', maxLength: 300 }).map((s) => `v=spf1 ${s}`)), (r) => {
        const p = parseSpf(r);
        if (!isSpfRecord(r)) {
          expect(p.errors.length).toBe(1);
          return;
        }
        const parts = r.slice(6).split(' ').filter(Boolean);
        // every space-separated part is either a parsed term or a syntax error naming it
        expect(p.terms.length + p.errors.filter((e) => e.index !== undefined && !/appears \d+ times/.test(e.message)).length).toBe(parts.length);
        for (const e of p.errors) {
          expect(parts).toContain(e.term);
          expect(typeof e.message).toBe('string');
          expect(e.message.length).toBeGreaterThan(5);
        }
        for (const t of p.terms) expect(parts[t.index]).toBe(t.raw);
      }),
      { numRuns: 3000 },
    );
  });

  it('a parsed term only holds visible ASCII in its target', () => {
    fc.assert(
      fc.property(record, (r) => {
        for (const t of parseSpf(r).terms) {
          if (t.domainSpec !== undefined) expect(t.domainSpec).toMatch(/^[\x21-\x7e]+$/);
        }
      }),
      { numRuns: 2000 },
    );
  });
});

describe('spf walker and findings (fuzz, against the fixture DNS)', () => {
  let dns: FixtureDns;
  beforeAll(async () => {
    dns = await startDns({
      'a.fz.spf.example': { A: ['192.0.2.7'], TXT: ['v=spf1 ip4:192.0.2.0/24 -all'] },
      'loop.fz.spf.example': { TXT: ['v=spf1 include:fz.spf.example -all'] },
      '_spf.fz.spf.example': { TXT: ['v=spf1 a:a.fz.spf.example mx:a.fz.spf.example ~all'] },
    }, { zonesDir: null });
  });
  afterAll(async () => {
    await dns?.stop();
  });

  it('walks random records (as one or several strings) without throwing; bad terms become spf.syntax', async () => {
    const style = makeStyle(false);
    let syntax = 0;
    let clean = 0;
    await fc.assert(
      fc.asyncProperty(record, fc.integer({ min: 1, max: 4 }), async (r, pieces) => {
        // several character-strings, cut anywhere: the walker must join them without spaces
        // (at most 60 characters each, so that no string exceeds 255 octets on the wire)
        const size = Math.min(Math.ceil(r.length / pieces), 60) || 1;
        const strings = r.length ? Array.from({ length: Math.ceil(r.length / size) }, (_, i) => r.slice(i * size, (i + 1) * size)) : [''];
        dns.set('fz.spf.example', 'TXT', [strings]);
        const client = new DnsClient({ resolvers: [{ host: dns.host, port: dns.port }], timeoutMs: 1500, retries: 0 });
        const tree = await walkSpf(client, 'fz.spf.example');
        expect(validNode(tree.root), JSON.stringify(validNode.errors)).toBe(true);
        const findings = treeFindings(tree, true);
        for (const f of findings) expect(f.code).toMatch(/^spf\.[a-z-]+$/);
        drawDetails([spfTreeDetail(tree)], style);
        authorizedRanges(tree);
        if (!isSpfRecord(r)) {
          expect(findings.map((f) => f.code)).toEqual(['spf.missing']);
          return;
        }
        expect(tree.root.record).toBe(r);
        const errors = parseSpf(r).errors;
        if (errors.length) {
          syntax++;
          const reported = findings.filter((f) => f.code === 'spf.syntax').map((f) => f.summary);
          for (const e of errors) expect(reported.some((s) => s.includes(JSON.stringify(e.term).slice(1, -1)) || s.includes(e.term))).toBe(true);
        } else clean++;
      }),
      { numRuns: 400 },
    );
    // the generator reaches both sides
    expect(syntax).toBeGreaterThan(20);
    expect(clean).toBeGreaterThan(5);
  });
});
