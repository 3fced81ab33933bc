// Property tests: random and malformed TXT records fed to the DKIM key and DMARC
// record parsers, and served by the fixture DNS to the real dkim and dmarc checks
// (engine + DnsClient). Nothing may throw or end in an internal error; a record
// that is broken must come out as a `*.syntax` finding (or the code that names
// its specific problem), never as a pass. Bounded runs, fixed seeds.
import { generateKeyPairSync } from 'node:crypto';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import dkimCheck from '../../checks/dkim.ts';
import dmarcCheck from '../../checks/dmarc.ts';
import type { FixtureDns } from '../../src/dns/fixture-server.ts';
import { DnsClient } from '../../src/dns/resolver.ts';
import { parseDkimKey } from '../../src/dkim/key.ts';
import { DMARC_LOOKALIKE_RE, DMARC_VERSION_RE, parseDmarc } from '../../src/dmarc/record.ts';
import { runTarget } from '../../src/engine.ts';
import type { Check, CheckResult, RunOptions } from '../../src/types.ts';
import { startDns } from '../helpers/dns.ts';

const KEY = generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey.export({ type: 'spki', format: 'der' }).toString('base64');
const SMALL = generateKeyPairSync('rsa', { modulusLength: 768 }).publicKey.export({ type: 'spki', format: 'der' }).toString('base64');
const ED = generateKeyPairSync('ed25519').publicKey.export({ type: 'spki', format: 'der' }).subarray(12).toString('base64');

const sep = fc.constantFrom(';', '; ', ' ;', ';;', ';\t', ' ; ', '');
const mutate = (base: fc.Arbitrary<string>) =>
  fc.tuple(base, fc.nat(), fc.nat({ max: 8 }), fc.string({ maxLength: 6 })).map(([s, at, del, ins]) => {
    const i = s.length ? at % s.length : 0;
    return s.slice(0, i) + ins + s.slice(i + del);
  });
function tagList(tags: string[], values: fc.Arbitrary<string>) {
  return fc
    .array(fc.tuple(fc.constantFrom(...tags), values, sep), { maxLength: 8 })
    .map((parts) => parts.map(([k, v, s], i) => `${k}=${v}${i < parts.length - 1 ? s || ';' : s}`).join(''));
}

const dkimValues = fc.oneof(
  fc.constantFrom('DKIM1', 'dkim1', 'DKIM2', 'rsa', 'ed25519', 'dsa', '', 'y', 's', 'y:s', 'sha256', 'sha1', 'sha1:sha256', 'email', '*', 'tlsrpt', KEY, SMALL, ED, KEY.slice(0, 100), `${KEY.slice(0, 60)} ${KEY.slice(60)}`),
  fc.string({ maxLength: 30 }),
);
const dkimRecord = fc.oneof(
  fc.string({ maxLength: 300 }),
  tagList(['v', 'k', 'p', 'h', 's', 't', 'n', 'g', 'K', 'P', 'x'], dkimValues),
  fc.tuple(tagList(['k', 'h', 's', 't', 'n'], dkimValues), dkimValues).map(([rest, p]) => `v=DKIM1; ${rest}${rest ? '; ' : ''}p=${p}`),
  mutate(fc.constantFrom(`v=DKIM1; k=rsa; p=${KEY}`, `v=DKIM1; k=ed25519; p=${ED}`, 'v=DKIM1; p=')),
);
const validDkim = fc.tuple(fc.constantFrom<[string, string]>(['rsa', KEY], ['ed25519', ED]), fc.constantFrom('', 't=s; ', 'h=sha256; ', 's=email; ', 'n=note; ')).map(([[k, p], extra]) => `v=DKIM1; k=${k}; ${extra}p=${p}`);

const dmarcValues = fc.oneof(
  fc.constantFrom('none', 'quarantine', 'reject', 'Reject', 'rejectt', '', 'r', 's', 'x', 'y', 'n', 'u', '0', '50', '100', '101', '-1', 'afrf', '86400', '0:1:d:s', '2',
    'mailto:d@fuzz-auth.example', 'mailto:a@ext-fuzz.example,mailto:b@fuzz-auth.example', 'https://r.example/x', 'reports@fuzz-auth.example', 'mailto:x@y.example!10m', 'mailto:'),
  fc.string({ maxLength: 30 }),
);
const dmarcRecord = fc.oneof(
  fc.string({ maxLength: 300 }),
  tagList(['p', 'sp', 'np', 'adkim', 'aspf', 'fo', 'rua', 'ruf', 'rf', 'ri', 'pct', 't', 'psd', 'P', 'v', 'zz'], dmarcValues).map((t) => `v=DMARC1; ${t}`),
  tagList(['v', 'p', 'rua'], dmarcValues),
  mutate(fc.constantFrom('v=DMARC1; p=reject; rua=mailto:d@fuzz-auth.example', 'v=DMARC1; p=none; sp=quarantine; adkim=s')),
);
const validDmarc = fc
  .tuple(fc.constantFrom('none', 'quarantine', 'reject'), fc.constantFrom('', '; sp=reject', '; adkim=s; aspf=r', '; t=y', '; fo=1', '; psd=n'), fc.constantFrom('', '; rua=mailto:d@fuzz-auth.example'))
  .map(([p, mid, rua]) => `v=DMARC1; p=${p}${mid}${rua}`);

describe('parsers never throw, and every broken record says why', () => {
  it('DKIM key records', () => {
    fc.assert(
      fc.property(dkimRecord, (txt) => {
        const k = parseDkimKey(txt);
        if (k.usable) {
          expect(k.keyType).not.toBeNull();
          expect(k.bits).not.toBeNull();
          expect(k.problems.filter((p) => p.severity === 'error')).toEqual([]);
        } else if (k.isDkim && !k.revoked) {
          // unusable for a stated reason
          const tooShort = k.keyType === 'rsa' && (k.bits ?? 0) < 1024;
          expect(k.problems.some((p) => p.severity === 'error') || k.notForEmail || k.sha1Only || k.ed25519WithoutK || tooShort, txt).toBe(true);
        }
      }),
      { numRuns: 1500, seed: 6376 },
    );
  });
  it('well-formed DKIM key records have no problems', () => {
    fc.assert(fc.property(validDkim, (txt) => {
      expect(parseDkimKey(txt)).toMatchObject({ usable: true, problems: [] });
    }), { numRuns: 100, seed: 8463 });
  });
  it('DMARC records', () => {
    fc.assert(
      fc.property(dmarcRecord, (txt) => {
        const d = parseDmarc(txt);
        if (d.isDmarc && !d.applied) expect(d.problems.some((p) => p.severity === 'error'), txt).toBe(true);
        if (!d.isDmarc && DMARC_LOOKALIKE_RE.test(txt)) expect(d.problems[0]?.severity).toBe('error');
      }),
      { numRuns: 1500, seed: 9989 },
    );
  });
  it('well-formed DMARC records have no problems', () => {
    fc.assert(fc.property(validDmarc, (txt) => {
      const d = parseDmarc(txt);
      expect(d.problems).toEqual([]);
      expect(d.applied).not.toBeNull();
    }), { numRuns: 100, seed: 7489 });
  });
});

describe('the dkim and dmarc checks over the fixture DNS', () => {
  let dns: FixtureDns;
  beforeAll(async () => {
    dns = await startDns(undefined, { zonesDir: null });
  });
  afterAll(async () => {
    await dns?.stop();
  });

  async function run(check: Check, target: string, opts: Partial<RunOptions>): Promise<CheckResult> {
    // a fresh client per run: a fresh cache, like a fresh CLI run
    const client = new DnsClient({ resolvers: [{ host: '127.0.0.1', port: dns.port }], timeoutMs: 2000, retries: 1 });
    const registry = new Map<string, Check>([[dkimCheck.id, dkimCheck], [dmarcCheck.id, dmarcCheck]]);
    const t = await runTarget({ target, checks: [check], registry, dns: client, opts: { ips: [], selectors: [], ...opts } });
    return t.checks[0]!;
  }
  const noCrash = (r: CheckResult) => expect(r.reason ?? '').not.toMatch(/internal error/);

  it('a random TXT at a named selector: a finding, never a crash, syntax problems as dkim.syntax', async () => {
    // printable ASCII only, so what the check sees is byte for byte what the property computes
    const served = fc.oneof(fc.string({ maxLength: 300 }), dkimRecord.filter((s) => /^[\x20-\x7e]*$/.test(s)));
    await fc.assert(
      fc.asyncProperty(served, async (txt) => {
        dns.set('fz._domainkey.fuzz-auth.example', 'TXT', [txt]);
        const r = await run(dkimCheck, 'fuzz-auth.example', { selectors: ['fz'], dkimGuess: false });
        noCrash(r);
        const codes = r.findings.map((f) => f.code);
        const k = parseDkimKey(txt);
        if (!k.isDkim) expect(codes).toContain('dkim.no-key-found');
        else if (k.problems.length) expect(codes).toContain('dkim.syntax');
        else if (k.revoked) expect(codes).toContain('dkim.revoked');
        if (k.isDkim && !k.usable) expect(codes).not.toContain('dkim.key-found');
        expect(r.status).not.toBe('unknown');
      }),
      { numRuns: 60, seed: 2024 },
    );
  });

  it('a random TXT at _dmarc: a finding, never a crash, syntax problems as dmarc.syntax', async () => {
    const served = fc.oneof(fc.string({ maxLength: 300 }), dmarcRecord.filter((s) => /^[\x20-\x7e]*$/.test(s)));
    await fc.assert(
      fc.asyncProperty(served, async (txt) => {
        dns.set('_dmarc.fuzz-auth.example', 'TXT', [txt]);
        const r = await run(dmarcCheck, 'fuzz-auth.example', {});
        noCrash(r);
        const codes = r.findings.map((f) => f.code);
        const isDmarc = DMARC_VERSION_RE.test(txt.trim());
        if (!isDmarc) expect(codes).toContain(DMARC_LOOKALIKE_RE.test(txt) ? 'dmarc.syntax' : 'dmarc.missing');
        else if (parseDmarc(txt).problems.length) expect(codes).toContain('dmarc.syntax');
        else expect(codes).not.toContain('dmarc.syntax');
        expect(r.status === 'pass').toBe(!r.findings.some((f) => f.severity === 'error' || f.severity === 'warn'));
      }),
      { numRuns: 60, seed: 2026 },
    );
  });
});
