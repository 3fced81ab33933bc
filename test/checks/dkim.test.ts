// The dkim check against the real fixture DNS server, through the real CLI: every
// finding code, wildcard and CNAME-delegated keys, RSA 512/1024/2048 and ed25519
// keys generated with node:crypto for this run, and DNS failures as unknown.
import { generateKeyPairSync } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FixtureDns } from '../../src/dns/fixture-server.ts';
import { parseDkimKey } from '../../src/dkim/key.ts';
import { GUESSED_SELECTORS, KNOWN_SELECTORS } from '../../src/dkim/selectors.ts';
import { validateReport } from '../../src/report/validate.ts';
import { ROOT, runCli } from '../helpers/cli.ts';
import { runOnly } from '../helpers/run-only.ts';
import { dnsArgs, startDns } from '../helpers/dns.ts';

const CONF = path.resolve(ROOT, '../shared/conformance/dkim');

function rsaSpki(bits: number): string {
  return generateKeyPairSync('rsa', { modulusLength: bits }).publicKey.export({ type: 'spki', format: 'der' }).toString('base64');
}
function ed25519Raw(): string {
  // RFC 8463 §4: the bare 32-byte key, i.e. the SPKI without its 12-byte prefix
  return generateKeyPairSync('ed25519').publicKey.export({ type: 'spki', format: 'der' }).subarray(12).toString('base64');
}


let dns: FixtureDns;
beforeAll(async () => {
  // keys made for this run, next to the committed ones in fixtures/zones/auth.yaml
  dns = await startDns({
    'gen2048._domainkey.auth-gen.example': { TXT: `v=DKIM1; k=rsa; p=${rsaSpki(2048)}` },
    'gen1024._domainkey.auth-gen.example': { TXT: `v=DKIM1; k=rsa; p=${rsaSpki(1024)}` },
    'gen512._domainkey.auth-gen.example': { TXT: `v=DKIM1; k=rsa; p=${rsaSpki(512)}` },
    'gened._domainkey.auth-gen.example': { TXT: `v=DKIM1; k=ed25519; p=${ed25519Raw()}` },
    // a retired key at a guessed selector next to a live one
    'default._domainkey.auth-rotated.example': { TXT: ['v=DKIM1; k=rsa; p='] },
    'k1._domainkey.auth-rotated.example': { TXT: `v=DKIM1; k=rsa; p=${rsaSpki(2048)}` },
    // a wildcard that is a real key: every guessed selector answers with it
    '*._domainkey.auth-wildkey.example': { TXT: `v=DKIM1; k=rsa; p=${rsaSpki(2048)}` },
  });
});
afterAll(async () => {
  await dns?.stop();
});

async function dkim(args: string[], extra: string[] = [], cli = false) {
  const { code, doc, stdout } = await runOnly(dns, 'dkim', [...args, ...extra], cli);
  expect(validateReport(doc)).toEqual([]);
  const res = doc.targets[0].checks.find((c: any) => c.check === 'dkim');
  return { r: { code, stdout }, doc, res, codes: (res?.findings ?? []).map((f: any) => f.code) as string[] };
}
const key = (res: any, selector: string, domain?: string) => res.data.keys.find((k: any) => k.selector === selector && (!domain || k.domain === domain));

describe.concurrent('dkim check', () => {
  it('finds keys at guessed selectors, including one delegated to an ESP by CNAME (the chain is reported)', async () => {
    const { r, res, codes } = await dkim(['auth-good.example']);
    expect(r.code).toBe(0);
    expect(res.status).toBe('pass');
    expect(codes.filter((c) => c === 'dkim.key-found')).toHaveLength(2);
    expect(key(res, 'google')).toMatchObject({ source: 'guessed', found: true, usable: true, keyType: 'rsa', bits: 2048, cname: [] });
    expect(key(res, 's1')).toMatchObject({ found: true, usable: true, bits: 2048, cname: ['s1.domainkey.u1.auth-esp.example'] });
    const s1 = res.findings.find((f: any) => f.subject === 's1._domainkey.auth-good.example');
    expect(s1.summary).toMatch(/via CNAME to s1\.domainkey\.u1\.auth-esp\.example/);
    expect(s1.evidence[0].note).toBe('delegated by CNAME: s1._domainkey.auth-good.example → s1.domainkey.u1.auth-esp.example');
    // every built-in selector was tried, and only the ones that answered are listed
    expect(res.data.tried).toEqual(GUESSED_SELECTORS);
    expect(res.data.keys).toHaveLength(2);
  });

  it('measures RSA 512/1024/2048 and ed25519 keys made with node:crypto: 512 is an error, 1024 a warning', async () => {
    const { r, res, codes } = await dkim(['auth-gen.example', '--no-dkim-guess', '--selector', 'gen2048,gen1024,gen512,gened']);
    expect(key(res, 'gen2048')).toMatchObject({ keyType: 'rsa', bits: 2048, usable: true, source: 'user' });
    expect(key(res, 'gen1024')).toMatchObject({ keyType: 'rsa', bits: 1024, usable: true });
    expect(key(res, 'gen512')).toMatchObject({ keyType: 'rsa', bits: 512 });
    expect(key(res, 'gened')).toMatchObject({ keyType: 'ed25519', bits: 256, usable: true });
    const weak = res.findings.filter((f: any) => f.code === 'dkim.weak-key');
    expect(weak.map((f: any) => [f.subject, f.severity])).toEqual([
      ['gen1024._domainkey.auth-gen.example', 'warn'],
      ['gen512._domainkey.auth-gen.example', 'error'],
    ]);
    expect(weak[1].ref).toBe('RFC 8301 §3.2');
    expect(codes.filter((c) => c === 'dkim.key-found')).toHaveLength(3); // 512 is not worth a pass
    expect(res.status).toBe('fail');
    expect(r.code).toBe(1);
    expect(res.data.tried).toEqual(['gen2048', 'gen1024', 'gen512', 'gened']);
  });

  it('judges every kind of broken, revoked or restricted key record at named selectors', async () => {
    const sels = ['rsa2048', 'pkcs1', 'revoked', 'testing', 'sha1only', 'tlsonly', 'badversion', 'truncated', 'unknownk', 'twice', 'notdkim', 'gone', 'absent'];
    const { res } = await dkim(['auth-keys.example', '--no-dkim-guess', '--selector', sels.join(',')]);
    const by = (code: string) => res.findings.filter((f: any) => f.code === code).map((f: any) => `${f.subject.split('.')[0]}:${f.severity}`);
    expect(by('dkim.revoked')).toEqual(['revoked:error']);
    expect(by('dkim.testing-mode')).toEqual(['testing:warn']);
    expect(by('dkim.sha1-only')).toEqual(['sha1only:error']);
    expect(by('dkim.not-for-email')).toEqual(['tlsonly:error']);
    expect(by('dkim.syntax')).toEqual(['badversion:error', 'truncated:error', 'unknownk:error', 'twice:warn']);
    expect(by('dkim.no-key-found')).toEqual(['notdkim:warn', 'gone:warn', 'absent:warn']);
    expect(by('dkim.key-found')).toEqual(['rsa2048:pass', 'pkcs1:pass', 'testing:pass', 'twice:pass']);
    // a bare RSAPublicKey (PKCS#1) is read as well as a SubjectPublicKeyInfo
    expect(key(res, 'pkcs1')).toMatchObject({ keyType: 'rsa', bits: 2048, usable: true });
    expect(key(res, 'gone')).toMatchObject({ state: 'dangling-cname', cname: ['gone.dkim.auth-oldesp.example'] });
    expect(key(res, 'notdkim')).toMatchObject({ state: 'not-dkim', found: false });
    const syntax = res.findings.find((f: any) => f.subject === 'badversion._domainkey.auth-keys.example');
    expect(syntax.detail).toMatch(/v="DKIM2" is not "DKIM1"/);
    expect(syntax.fix).toMatch(/Publish a new key/);
    for (const f of res.findings) {
      if (f.severity !== 'pass') expect(f.ref, f.code).toMatch(/RFC/);
    }
    expect(res.status).toBe('fail');
  });

  it('a revoked key at a guessed selector is information, not an error', async () => {
    const { r, res } = await dkim(['auth-rotated.example']);
    const revoked = res.findings.find((f: any) => f.code === 'dkim.revoked');
    expect(revoked.severity).toBe('info');
    expect(revoked.summary).toMatch(/guessed selector/);
    expect(res.status).toBe('pass');
    expect(r.code).toBe(0);
  });

  it('guessing never proves absence: no key among the guessed selectors is unknown (exit 3), not a warning', async () => {
    const { r, res, codes } = await dkim(['auth-nokey.example'], [], true);
    expect(codes).toEqual(['dkim.no-guessed-key']);
    expect(res.findings[0].severity).toBe('info');
    expect(res.status).toBe('unknown');
    expect(res.reason).toMatch(new RegExp(`no DKIM key among ${GUESSED_SELECTORS.length} guessed selectors`));
    expect(res.findings[0].fix).toMatch(/--selector/);
    expect(r.code).toBe(3);
  });

  it('a selector the user named and that has no key is a warning (exit 1 with --fail-on warn)', async () => {
    const { r, res, codes } = await dkim(['auth-nokey.example', '--selector', 'news', '--fail-on', 'warn'], [], true);
    expect(codes).toEqual(['dkim.no-key-found']);
    expect(res.findings[0].summary).toMatch(/news\._domainkey\.auth-nokey\.example/);
    expect(res.status).toBe('warn');
    expect(r.code).toBe(1);
  });

  it('detects a wildcard under _domainkey with a random selector and does not count its echoes as keys', async () => {
    const { res, codes } = await dkim(['auth-wild.example']);
    expect(codes).toContain('dkim.wildcard');
    expect(res.data.wildcards).toEqual([{ domain: 'auth-wild.example', records: ['v=DKIM1; p='] }]);
    // 36 guessed selectors answer with the wildcard's revocation; only the real k2 key is reported
    expect(res.data.keys.map((k: any) => k.selector)).toEqual(['k2']);
    expect(codes).not.toContain('dkim.revoked');
    const wild = res.findings.find((f: any) => f.code === 'dkim.wildcard');
    expect(wild.evidence[0].query).toMatch(/^inboxlens-[0-9a-f]{12}\._domainkey\.auth-wild\.example$/);
    expect(res.status).toBe('pass');
  });

  it('a wildcard that is itself a key makes guessing prove nothing; a named selector still gets it', async () => {
    const guessed = await dkim(['auth-wildkey.example']);
    expect(guessed.codes.sort()).toEqual(['dkim.no-guessed-key', 'dkim.wildcard']);
    expect(guessed.res.status).toBe('unknown');
    const named = await dkim(['auth-wildkey.example', '--no-dkim-guess', '--selector', 'whatever']);
    expect(key(named.res, 'whatever')).toMatchObject({ found: true, usable: true, bits: 2048 });
    expect(named.res.status).toBe('pass');
  });

  it('reports a guessed selector that is a dangling CNAME to an old ESP', async () => {
    const { res } = await dkim(['auth-dangling.example']);
    const d = res.findings.find((f: any) => f.code === 'dkim.dangling-cname');
    expect(d.severity).toBe('warn');
    expect(d.summary).toBe('k1._domainkey.auth-dangling.example is a CNAME to dkim.auth-oldesp.example, which has no key');
    expect(key(res, 'k1')).toMatchObject({ state: 'dangling-cname', source: 'guessed' });
    expect(key(res, 'selector1')).toMatchObject({ usable: true });
    expect(res.status).toBe('warn');
  });

  it('a DNS failure at a named selector is unknown with the reason, never a pass or a miss (exit 3)', async () => {
    const { r, res, codes } = await dkim(['auth-dkimfail.example', '--selector', 'mine']);
    expect(res.status).toBe('unknown');
    expect(res.reason).toMatch(/mine\._domainkey\.auth-dkimfail\.example failed.*SERVFAIL/);
    expect(codes).not.toContain('dkim.no-key-found');
    expect(key(res, 'mine')).toMatchObject({ state: 'failed', found: false });
    expect(r.code).toBe(3);
  });

  it('failed guesses with nothing found leave the result unknown', async () => {
    const { res } = await dkim(['auth-dkimfail.example']);
    expect(res.status).toBe('unknown');
    expect(res.reason).toMatch(/1 of \d+ selector lookups at auth-dkimfail\.example failed/);
    expect(res.data.failed).toEqual(['google._domainkey.auth-dkimfail.example']);
  });

  it('dkim.lookup-failed: failed guesses are noted when keys were found elsewhere', async () => {
    const { res, codes } = await dkim(['auth-partial.example']);
    expect(codes.sort()).toEqual(['dkim.key-found', 'dkim.lookup-failed']);
    expect(res.findings.find((f: any) => f.code === 'dkim.lookup-failed').detail).toBe('selector1._domainkey.auth-partial.example');
    expect(res.data.failed).toEqual(['selector1._domainkey.auth-partial.example']);
    expect(res.status).toBe('pass');
  });

  it('--dkim-domain: keys are looked up on the signing domain too, and judged there', async () => {
    const { res } = await dkim(['auth-nokey.example', '--dkim-domain', 'auth-good.example']);
    expect(res.data.signingDomain).toBe('auth-good.example');
    expect(res.data.domains).toEqual(['auth-good.example', 'auth-nokey.example']);
    expect(key(res, 'google', 'auth-good.example')).toMatchObject({ usable: true });
    expect(res.status).toBe('pass');
    // the user's selector is expected at the signing domain
    const named = await dkim(['auth-good.example', '--dkim-domain', 'auth-nokey.example', '--selector', 'google']);
    expect(named.codes).toContain('dkim.no-key-found');
    expect(named.res.findings.find((f: any) => f.code === 'dkim.no-key-found').subject).toBe('google._domainkey.auth-nokey.example');
  });

  it('is skipped when there is nothing to try (--no-dkim-guess and no --selector)', async () => {
    const { doc } = await dkim(['auth-good.example', '--no-dkim-guess'], [], true);
    expect(doc.targets[0].checks.find((c: any) => c.check === 'dkim')).toBeUndefined();
    expect(doc.skipped).toContainEqual({ check: 'dkim', reason: 'no --selector given and --no-dkim-guess set' });
  });

  it('draws the key list in the human output', async () => {
    const r = await runCli(['check', 'auth-good.example', '--only', 'dkim', '--no-save', ...dnsArgs(dns, '1500ms')]);
    expect(r.stdout).toContain('s1._domainkey.auth-good.example  RSA 2048-bit → s1.domainkey.u1.auth-esp.example (guessed)');
  });
});

describe('DKIM key record parser (RFC 6376 §3.6.1, RFC 8463)', () => {
  const rec = (f: string) => readFileSync(path.join(CONF, 'dkimpy', f), 'utf8').trim();
  it('reads the dkimpy test records as dkimpy does', () => {
    expect(parseDkimKey(rec('test.txt'))).toMatchObject({ usable: true, keyType: 'rsa', bits: 1024, problems: [] });
    expect(parseDkimKey(rec('test2.txt'))).toMatchObject({ usable: true, keyType: 'rsa' }); // k= defaults to rsa
    expect(parseDkimKey(rec('ed25519test.dns'))).toMatchObject({ usable: true, keyType: 'ed25519', bits: 256 });
    expect(parseDkimKey(rec('eximtest.dns'))).toMatchObject({ usable: true, keyType: 'ed25519' });
    expect(parseDkimKey(rec('badk.txt')).usable).toBe(false);
    expect(parseDkimKey(rec('badk.txt')).problems[0]!.message).toMatch(/k=ed25519-sha256/);
    expect(parseDkimKey(rec('badversion.txt')).usable).toBe(false);
    expect(parseDkimKey(rec('test_bad.txt'))).toMatchObject({ usable: false, keyType: null });
    expect(parseDkimKey(rec('test_tlsrpt.txt'))).toMatchObject({ usable: false, notForEmail: true });
  });
  it('reads the RFC 8463 Appendix A ed25519 key', () => {
    const dnsJson = JSON.parse(readFileSync(path.join(CONF, 'rfc', 'dns.json'), 'utf8'));
    expect(parseDkimKey(dnsJson.txt['brisbane._domainkey.football.example.com'])).toMatchObject({ usable: true, keyType: 'ed25519' });
  });
  it('grades what lenient verifiers forgive as warnings', () => {
    const k = rsaSpki(2048);
    expect(parseDkimKey(`k=rsa; v=DKIM1; p=${k}`).problems).toEqual([{ severity: 'warn', message: 'v=DKIM1 must be the first tag of the record' }]);
    expect(parseDkimKey(`v=DKIM1; K=rsa; p=${k}`).problems[0]!.severity).toBe('warn');
    expect(parseDkimKey(`v=DKIM1; p=${k}; p=${k}`).problems.some((p) => p.severity === 'error' && /duplicate/.test(p.message))).toBe(true);
    // whitespace inside p= is allowed (RFC 6376 §3.6.1)
    expect(parseDkimKey(`v=DKIM1; p=${k.slice(0, 40)} ${k.slice(40)}`)).toMatchObject({ usable: true, bits: 2048 });
  });
  it('is not fooled by other TXT records', () => {
    expect(parseDkimKey('v=spf1 -all').isDkim).toBe(false);
    expect(parseDkimKey('google-site-verification=x').isDkim).toBe(false);
    expect(parseDkimKey('').isDkim).toBe(false);
  });
  it('every built-in selector says where it comes from, and none repeats', () => {
    expect(new Set(GUESSED_SELECTORS).size).toBe(GUESSED_SELECTORS.length);
    for (const s of KNOWN_SELECTORS) expect(s.source.length, s.selector).toBeGreaterThan(10);
    for (const s of ['google', 'selector1', 'selector2', 'k1', 'k2', 's1', 's2', 'default', 'dkim', 'mail', 'mandrill', 'mxvault', 'smtp', 'everlytickey1', 'everlytickey2', 'pm']) {
      expect(GUESSED_SELECTORS).toContain(s);
    }
  });
});
