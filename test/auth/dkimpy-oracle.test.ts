// Differential test: dkimpy (Debian's python3-dkim, scripts/setup.sh) against
// inboxlens's own DKIM and ARC verification (src/auth/), both reading the same key
// records from the same fixture DNS server. Cases: the published vectors of
// ../shared/conformance/dkim (RFC 8463 A.3, RFC 6376 A.2, dkimpy's and mailauth's
// messages); messages signed here by mailauth and by dkimpy (each verified by both)
// in the four canonicalizations, with RSA and Ed25519 keys, changed after signing
// in ways that must and must not break them, against key records that are good,
// revoked, of the wrong type, too short, restricted; and the 171 cases of the
// ValiMail ARC validation suite through dkimpy's arc_verify.
//
// Every disagreement is listed in DISAGREE with the RFC section that decides it;
// the test fails on any other one, and on a listed one that no longer occurs.
import { spawn, spawnSync } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dkimSign, sealMessage } from 'mailauth';
import type { FixtureDns } from '../../src/dns/fixture-server.ts';
import { DnsClient } from '../../src/dns/resolver.ts';
import { verifyMessage } from '../../src/auth/verify.ts';
import { verifyArc } from '../../src/auth/arc.ts';
import { headerFields } from '../../src/placement/classify.ts';
import { startDns } from '../helpers/dns.ts';
import { ROOT } from '../helpers/cli.ts';
import { loadArcSuite } from '../helpers/arc-suite.ts';

const PY = '/usr/bin/python3';
const ORACLE = path.join(ROOT, 'test/helpers/dkimpy-oracle.py');
const CONF = path.resolve(ROOT, '../shared/conformance/dkim');
const conf = (f: string) => readFileSync(path.join(CONF, f));
const D = 'oracle.dkim.example';

/**
 * The disagreements, each decided by an RFC; the key is the case id (DKIM: `<case>#<signature index>`).
 * dkimpy 1.1.4 ignores a key record's h= tag (RFC 6376 §3.6.1); inboxlens (mailauth) reads it.
 */
const DISAGREE: Record<string, { inboxlens: string; dkimpy: string; rfc: string }> = {
  ...Object.fromEntries(['key-h-sha1/mailauth#0', 'key-h-sha1/dkimpy#0'].map((id) => [id, {
    inboxlens: 'fail', dkimpy: 'pass',
    rfc: 'RFC 6376 §3.6.1 h= ("Acceptable hash algorithms") and §6.1.2 step 6: a key whose h= lists only sha1 cannot verify an rsa-sha256 signature (PERMFAIL, inappropriate hash algorithm). dkimpy 1.1.4 does not read the key record\'s h= tag.',
  }])),
  // dkimpy returns no status at all (Python None, "the chain is terminated") when a seal of the chain says cv=fail
  ...Object.fromEntries(['arc:cv_fail_i1_as_cv_fail', 'arc:cv_fail_i2_as1_fail', 'arc:cv_fail_i2_as2_fail'].map((id) => [id, {
    inboxlens: 'fail', dkimpy: 'None',
    rfc: 'RFC 8617 §5.2 step 2: "If the value of the cv tag on that seal is fail, the Chain Validation Status is fail"; and step 3.C: a seal of instance 1 with cv other than none, or a later one with cv other than pass, fails the chain. "none" and no status are not chain validation statuses for a message with ARC sets (§4.4). The suite expects fail for the third, and an empty cv (its harness printed dkimpy\'s None) for the first two.',
  }])),
};

/** Disagreements on the chains sealed here (the ARC test below), with the RFC reading that decides them. */
const ED25519_ARC = {
  inboxlens: 'pass', dkimpy: 'fail',
  rfc: 'RFC 8617 §4.1.2: the ARC-Message-Signature has the syntax and semantics of the DKIM-Signature, whose a= values are those of the DKIM registry, to which RFC 8463 §3 adds ed25519-sha256; the ARC-Seal takes its a= the same way (§4.1.3). dkimpy 1.1.4\'s ARC verifier knows only rsa-sha256 ("unknown signature algorithm: ed25519-sha256"). mailauth signs and verifies both.',
};
const ARC_SEALED_DISAGREE: Record<string, typeof ED25519_ARC> = {
  // an Ed25519 chain; and an RSA first hop under an Ed25519 second seal
  'ed/i1': ED25519_ARC, 'ed/i2': ED25519_ARC, 'rsa/i2': ED25519_ARC,
};

function keysRsa(bits: number) {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: bits });
  return {
    pkcs8: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    pkcs1: privateKey.export({ type: 'pkcs1', format: 'pem' }).toString(),
    p: publicKey.export({ type: 'spki', format: 'der' }).toString('base64'),
  };
}
function keysEd() {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const der = privateKey.export({ type: 'pkcs8', format: 'der' });
  return {
    pkcs8: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    // dkimpy reads the base64 32-byte seed (the last 32 bytes of the PKCS#8 structure)
    seed: der.subarray(der.length - 32).toString('base64'),
    p: publicKey.export({ type: 'spki', format: 'der' }).subarray(12).toString('base64'),
  };
}

const rsa = keysRsa(2048);
const rsa512 = keysRsa(512);
const ed = keysEd();

// selector -> [key record, signing key kind]
const SELECTORS: Record<string, { record: string; key: 'rsa' | 'ed' | 'rsa512' }> = {
  rsa: { record: `v=DKIM1; k=rsa; p=${rsa.p}`, key: 'rsa' },
  'rsa-nok': { record: `v=DKIM1; p=${rsa.p}`, key: 'rsa' },
  ed: { record: `v=DKIM1; k=ed25519; p=${ed.p}`, key: 'ed' },
  // k= defaults to rsa (RFC 6376 §3.6.1): unusable for both
  'ed-nok': { record: `v=DKIM1; p=${ed.p}`, key: 'ed' },
  revoked: { record: 'v=DKIM1; k=rsa; p=', key: 'rsa' },
  'bad-version': { record: `v=DKIM2; k=rsa; p=${rsa.p}`, key: 'rsa' },
  'k-mismatch': { record: `v=DKIM1; k=ed25519; p=${rsa.p}`, key: 'rsa' },
  testing: { record: `v=DKIM1; k=rsa; t=y; p=${rsa.p}`, key: 'rsa' },
  short: { record: `v=DKIM1; k=rsa; p=${rsa512.p}`, key: 'rsa512' },
  's-email': { record: `v=DKIM1; k=rsa; s=email; p=${rsa.p}`, key: 'rsa' },
  's-tlsrpt': { record: `v=DKIM1; k=rsa; s=tlsrpt; p=${rsa.p}`, key: 'rsa' },
  'h-sha1': { record: `v=DKIM1; k=rsa; h=sha1; p=${rsa.p}`, key: 'rsa' },
  'h-sha256': { record: `v=DKIM1; k=rsa; h=sha256; p=${rsa.p}`, key: 'rsa' },
  // published nowhere
  missing: { record: '', key: 'rsa' },
};

const MESSAGE = [
  `From: Oracle <news@${D}>`, 'To: someone@example.net', 'Subject: differential  test', 'Date: Mon, 07 Dec 2026 10:00:00 +0000',
  `Message-ID: <oracle-1@${D}>`, 'MIME-Version: 1.0', 'Content-Type: text/plain; charset=utf-8', '',
  'Hello,  world.', 'A second line with trailing spaces   ', '', '',
].join('\r\n');
const SIGNED_HEADERS = ['from', 'to', 'subject', 'date', 'message-id', 'mime-version', 'content-type'];
const CANONS = ['relaxed/relaxed', 'simple/simple', 'relaxed/simple', 'simple/relaxed'];

// changes after signing; `breaks` says which canonicalizations they break (every implementation must agree anyway)
const MUTATIONS: { id: string; apply: (m: string) => string }[] = [
  { id: 'as-signed', apply: (m) => m },
  { id: 'body-changed', apply: (m) => m.replace('Hello,  world.', 'Hello, world!') },
  { id: 'body-whitespace', apply: (m) => m.replace('Hello,  world.', 'Hello, world.') },
  { id: 'body-trailing-blank-lines', apply: (m) => `${m}\r\n\r\n` },
  { id: 'subject-changed', apply: (m) => m.replace('Subject: differential  test', 'Subject: differential test!') },
  { id: 'subject-whitespace', apply: (m) => m.replace('Subject: differential  test', 'Subject:   differential test') },
  { id: 'header-case', apply: (m) => m.replace('Subject: differential', 'SUBJECT: differential') },
  { id: 'unsigned-header-added', apply: (m) => m.replace('To: someone@example.net', 'To: someone@example.net\r\nX-Added: by a relay') },
  { id: 'signed-header-prepended', apply: (m) => m.replace(/(\r\nFrom: )/, '\r\nSubject: an added subject$1') },
];

interface DkimCase { id: string; message: Buffer }
interface OracleResult { id: string; sigs?: { pass: boolean; error: string | null }[]; cv?: string; reason?: string; header?: string; crash?: string }

// asynchronous: the fixture DNS server that dkimpy asks runs in this process
async function oracle(dns: FixtureDns, cases: Record<string, unknown>[]): Promise<Map<string, OracleResult>> {
  const child = spawn(PY, [ORACLE], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const code = await new Promise<number | null>((resolve, reject) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 200_000);
    child.on('error', reject);
    child.on('close', (c) => {
      clearTimeout(timer);
      resolve(c);
    });
    child.stdin.end(JSON.stringify({ dns: { host: '127.0.0.1', port: dns.port }, cases }));
  });
  if (code !== 0) throw new Error(`dkimpy oracle exited ${code}: ${stderr}`);
  const out = new Map<string, OracleResult>();
  for (const x of JSON.parse(stdout).results as OracleResult[]) {
    if (x.crash) throw new Error(`dkimpy crashed on ${x.id}: ${x.crash}`);
    out.set(x.id, x);
  }
  return out;
}

/** The b= of every DKIM-Signature, top to bottom, without whitespace. */
function signatureValues(raw: Buffer): string[] {
  return headerFields(raw).filter((h) => h.name === 'dkim-signature').map((h) => /(?:^|;)\s*b\s*=([^;]*)/.exec(h.value)?.[1]?.replace(/\s+/g, '') ?? '');
}

const haveDkimpy = existsSync(PY) && spawnSync(PY, ['-c', 'import dkim, dns.resolver'], { encoding: 'utf8' }).status === 0;

let dns: FixtureDns;
let client: DnsClient;
const arcSuite = loadArcSuite();

beforeAll(async () => {
  const rfcTxt = (JSON.parse(conf('rfc/dns.json').toString()) as { txt: Record<string, string> }).txt;
  const zone: Record<string, unknown> = {};
  for (const [name, v] of Object.entries(rfcTxt)) zone[name] = { TXT: [v] };
  for (const [name, v] of Object.entries(arcSuite.txt)) zone[name] = { TXT: [v] };
  for (const [sel, s] of Object.entries(SELECTORS)) if (s.record) zone[`${sel}._domainkey.${D}`] = { TXT: [s.record] };
  // dkimpy's own test keys (its test data publishes them for any name)
  zone['test._domainkey.dkimpy.oracle.example'] = { TXT: [conf('dkimpy/test.txt').toString().trim()] };
  zone['sed._domainkey.test.ex'] = { TXT: [conf('dkimpy/eximtest.dns').toString().trim()] };
  dns = await startDns(zone, { zonesDir: null });
  client = new DnsClient({ resolvers: [{ host: '127.0.0.1', port: dns.port }], timeoutMs: 3000, retries: 2 });
});
afterAll(async () => {
  await dns?.stop();
});

describe('dkimpy as an oracle for DKIM and ARC', () => {
  it('python3-dkim is installed (scripts/setup.sh installs it; never skipped)', () => {
    expect(haveDkimpy, `${PY} cannot import dkim and dns.resolver: run scripts/setup.sh (Debian package python3-dkim)`).toBe(true);
  });

  it('DKIM: inboxlens and dkimpy agree on every signature of every case, or the RFC decides', async () => {
    const cases: DkimCase[] = [
      { id: 'rfc8463-a3', message: conf('rfc/rfc8463-appendix-a3-signed.eml') },
      // known bad as published (the RFC's key does not match the signature): both must fail it
      { id: 'rfc6376-a2', message: conf('rfc/rfc6376-appendix-a2-signed.eml') },
      { id: 'mailauth-ec-signed', message: conf('mailauth/ec-signed.eml') },
      { id: 'dkimpy-rfc6376-signed', message: conf('dkimpy/rfc6376.signed.msg') },
      { id: 'dkimpy-exim-ed25519', message: conf('dkimpy/ed25519test2.msg') },
      // keys not published: both must fail
      { id: 'dkimpy-gmail-unpublished', message: conf('dkimpy/test2.message') },
      { id: 'dkimpy-mbox-unpublished', message: conf('dkimpy/message.mbox') },
    ];

    // dkimpy signs with its own test key and with ours; mailauth signs with ours
    const signJobs: Record<string, unknown>[] = [];
    const b64 = (s: string | Buffer) => Buffer.from(s).toString('base64');
    for (const canon of CANONS) {
      for (const sel of ['rsa', 'ed']) {
        signJobs.push({ id: `dkimpy/${sel}/${canon}`, op: 'dkim-sign', message: b64(MESSAGE), selector: sel, domain: D, canon,
          algorithm: sel === 'ed' ? 'ed25519-sha256' : 'rsa-sha256', key: sel === 'ed' ? ed.seed : rsa.pkcs1, headers: SIGNED_HEADERS });
      }
    }
    signJobs.push({ id: 'dkimpy/test-key/relaxed/simple', op: 'dkim-sign', message: b64(MESSAGE.replaceAll(D, 'dkimpy.oracle.example')), selector: 'test', domain: 'dkimpy.oracle.example', canon: 'relaxed/simple', key: conf('dkimpy/test.private').toString(), headers: SIGNED_HEADERS });
    for (const sel of Object.keys(SELECTORS).filter((s) => s !== 'rsa' && s !== 'ed')) {
      const k = SELECTORS[sel]!.key;
      signJobs.push({ id: `key-${sel}/dkimpy`, op: 'dkim-sign', message: b64(MESSAGE), selector: sel, domain: D, canon: 'relaxed/relaxed',
        algorithm: k === 'ed' ? 'ed25519-sha256' : 'rsa-sha256', key: k === 'ed' ? ed.seed : k === 'rsa512' ? rsa512.pkcs1 : rsa.pkcs1, headers: SIGNED_HEADERS });
    }
    const dkimpySigned = await oracle(dns, signJobs);
    const base = new Map<string, string>();
    for (const [id, r] of dkimpySigned) {
      expect(r.header, id).toMatch(/^DKIM-Signature:/);
      base.set(id, `${r.header}${id.includes('test-key') ? MESSAGE.replaceAll(D, 'dkimpy.oracle.example') : MESSAGE}`);
    }
    const mailauthSign = async (sel: string, canon: string) => {
      const k = SELECTORS[sel]!.key;
      const s = await dkimSign(MESSAGE, {
        canonicalization: canon, headerList: SIGNED_HEADERS,
        signatureData: [{ signingDomain: D, selector: sel, privateKey: k === 'ed' ? ed.pkcs8 : k === 'rsa512' ? rsa512.pkcs8 : rsa.pkcs8, algorithm: k === 'ed' ? 'ed25519-sha256' : 'rsa-sha256', canonicalization: canon }],
      } as any);
      expect(s.errors, `${sel} ${canon}`).toEqual([]);
      return s.signatures + MESSAGE;
    };
    for (const canon of CANONS) for (const sel of ['rsa', 'ed']) base.set(`mailauth/${sel}/${canon}`, await mailauthSign(sel, canon));
    for (const sel of Object.keys(SELECTORS).filter((s) => s !== 'rsa' && s !== 'ed')) base.set(`key-${sel}/mailauth`, await mailauthSign(sel, 'relaxed/relaxed'));
    for (const [id, m] of base) {
      // a key variant as signed; a good key with every change after signing
      if (id.startsWith('key-')) cases.push({ id, message: Buffer.from(m) });
      else for (const mu of MUTATIONS) cases.push({ id: `${id}/${mu.id}`, message: Buffer.from(mu.apply(m)) });
    }
    // two signatures, one good and one made with a key that is not published
    cases.push({ id: 'two-signatures', message: Buffer.from((await mailauthSign('missing', 'relaxed/relaxed')).split('\r\nFrom:')[0]! + '\r\n' + (await mailauthSign('rsa', 'relaxed/relaxed'))) });

    const theirs = await oracle(dns, cases.map((c) => ({ id: c.id, op: 'dkim-verify', message: c.message.toString('base64') })));
    const rows: { id: string; inboxlens: string; dkimpy: string; why?: string }[] = [];
    for (const c of cases) {
      const ours = await verifyMessage(c.message, client.mailauthResolver);
      const bs = signatureValues(c.message);
      const them = theirs.get(c.id)!.sigs!;
      expect(them.length, c.id).toBe(bs.length);
      bs.forEach((b, i) => {
        const r = ours.results.find((x) => String(x.signature ?? '').replace(/\s+/g, '') === b);
        rows.push({ id: `${c.id}#${i}`, inboxlens: r?.status?.result === 'pass' ? 'pass' : 'fail', dkimpy: them[i]!.pass ? 'pass' : 'fail', ...(them[i]!.error ? { why: `${r?.status?.comment ?? ''} | ${them[i]!.error}` } : {}) });
      });
    }
    const disagree = Object.fromEntries(rows.filter((r) => r.inboxlens !== r.dkimpy).map((r) => [r.id, { inboxlens: r.inboxlens, dkimpy: r.dkimpy }]));
    expect(disagree).toEqual(Object.fromEntries(Object.entries(DISAGREE).filter(([k]) => !k.startsWith('arc:')).map(([k, v]) => [k, { inboxlens: v.inboxlens, dkimpy: v.dkimpy }])));

    // the cases mean something: passes and failures on both sides, and the vectors as published
    const by = (id: string) => rows.find((r) => r.id === id)!;
    expect(by('rfc8463-a3#0')).toMatchObject({ inboxlens: 'pass', dkimpy: 'pass' });
    expect(by('rfc8463-a3#1')).toMatchObject({ inboxlens: 'pass', dkimpy: 'pass' });
    expect(by('rfc6376-a2#0')).toMatchObject({ inboxlens: 'fail', dkimpy: 'fail' });
    expect(by('key-ed-nok/mailauth#0')).toMatchObject({ inboxlens: 'fail', dkimpy: 'fail' });
    expect(by('mailauth/ed/simple/simple/subject-whitespace#0')).toMatchObject({ inboxlens: 'fail', dkimpy: 'fail' });
    expect(by('dkimpy/rsa/relaxed/relaxed/subject-whitespace#0')).toMatchObject({ inboxlens: 'pass', dkimpy: 'pass' });
    expect(rows.filter((r) => r.inboxlens === 'pass').length).toBeGreaterThan(40);
    expect(rows.filter((r) => r.inboxlens === 'fail').length).toBeGreaterThan(40);
  }, 240_000);

  it('ARC: chains sealed by mailauth, one and two hops, RSA and Ed25519, changed after sealing: both agree, or the RFC decides', async () => {
    const seal = async (msg: Buffer, sel: string, cv: string, hop: string) => {
      const k = SELECTORS[sel]!.key;
      const headers = await sealMessage(msg, {
        signingDomain: D, selector: sel, privateKey: k === 'ed' ? ed.pkcs8 : rsa.pkcs8, algorithm: k === 'ed' ? 'ed25519-sha256' : 'rsa-sha256',
        authResults: `${hop}.${D}; spf=pass smtp.mailfrom=${D}; dkim=pass header.d=${D}`, cv,
      } as any);
      expect(headers.toString(), `${sel} ${hop}`).toMatch(/^ARC-Seal:/);
      return Buffer.concat([headers, msg]);
    };
    const plain = Buffer.from(MESSAGE);
    const cases: { id: string; message: Buffer }[] = [];
    for (const sel of ['rsa', 'ed', 'ed-nok', 'rsa-nok', 'revoked', 'short']) {
      const one = await seal(plain, sel, 'none', 'hop1');
      cases.push({ id: `${sel}/i1`, message: one });
      cases.push({ id: `${sel}/i1/body-changed`, message: Buffer.from(one.toString().replace('Hello,  world.', 'Hello, world!')) });
      cases.push({ id: `${sel}/i1/aar-changed`, message: Buffer.from(one.toString().replace('spf=pass', 'spf=fail')) });
      if (sel === 'rsa' || sel === 'ed') {
        const two = await seal(one, sel === 'rsa' ? 'ed' : 'rsa', 'pass', 'hop2');
        cases.push({ id: `${sel}/i2`, message: two });
        cases.push({ id: `${sel}/i2/first-seal-changed`, message: Buffer.from(two.toString().replace(/(ARC-Seal: i=1;[^]*?b=)(.)/, (_m, a: string, c: string) => a + (c === 'A' ? 'B' : 'A'))) });
      }
    }
    const theirs = await oracle(dns, cases.map((c) => ({ id: c.id, op: 'arc-verify', message: c.message.toString('base64') })));
    const rows: Record<string, { inboxlens: string; dkimpy: string }> = {};
    for (const c of cases) rows[c.id] = { inboxlens: (await verifyArc(c.message, client.mailauthResolver)).result, dkimpy: theirs.get(c.id)!.cv! };
    const disagree = Object.fromEntries(Object.entries(rows).filter(([, r]) => r.inboxlens !== r.dkimpy));
    expect(disagree).toEqual(Object.fromEntries(Object.entries(ARC_SEALED_DISAGREE).map(([k, v]) => [k, { inboxlens: v.inboxlens, dkimpy: v.dkimpy }])));
    expect(rows['rsa/i1']).toEqual({ inboxlens: 'pass', dkimpy: 'pass' });
    expect(rows['rsa/i1/aar-changed']).toEqual({ inboxlens: 'fail', dkimpy: 'fail' });
    expect(rows['ed-nok/i1']).toEqual({ inboxlens: 'fail', dkimpy: 'fail' });
    expect(rows['rsa/i2/first-seal-changed']).toEqual({ inboxlens: 'fail', dkimpy: 'fail' });
  }, 240_000);

  it('ARC: dkimpy arc_verify and inboxlens agree on the ValiMail suite, or the RFC decides', async () => {
    const theirs = await oracle(dns, arcSuite.cases.map((c) => ({ id: c.id, op: 'arc-verify', message: c.message.toString('base64') })));
    const disagree: Record<string, { inboxlens: string; dkimpy: string; suite: string }> = {};
    for (const c of arcSuite.cases) {
      const ours = (await verifyArc(c.message, client.mailauthResolver)).result;
      const them = theirs.get(c.id)!.cv!;
      if (ours !== them) disagree[`arc:${c.id}`] = { inboxlens: ours, dkimpy: them, suite: c.cv };
    }
    expect(disagree).toEqual(Object.fromEntries(Object.entries(DISAGREE).filter(([k]) => k.startsWith('arc:')).map(([k, v]) => [k, { inboxlens: v.inboxlens, dkimpy: v.dkimpy, suite: v.inboxlens }])));
  }, 240_000);
});
