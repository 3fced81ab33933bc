// The mta-sts check through the real CLI, against the fixture DNS and a real
// HTTPS server on loopback serving the policy files.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FixtureDns } from '../../src/dns/fixture-server.ts';
import { runCli } from '../helpers/cli.ts';
import { check } from '../../src/engine/api.ts';
import { dnsArgs, startDns } from '../helpers/dns.ts';
import { startHttpsLab, type HttpsLab } from '../helpers/https-lab.ts';
import { validateReport } from '../../src/report/validate.ts';
import { parseStsRecord } from '../../checks/mta-sts.ts';

let dns: FixtureDns;
let lab: HttpsLab;
const WK = '/.well-known/mta-sts.txt';
const policy = (mode: string, mx: string[], maxAge: number | string) => `version: STSv1\r\nmode: ${mode}\r\n${mx.map((m) => `mx: ${m}\r\n`).join('')}max_age: ${maxAge}\r\n`;

beforeAll(async () => {
  dns = await startDns();
  const served = ['good', 'uncovered', 'testuncovered', 'bigpolicy', 'testing', 'shortage', 'hugeage', 'badtype', 'badpolicy', 'redirect', 'notfound', 'slow', 'none'];
  lab = await startHttpsLab({ hosts: served.map((d) => `mta-sts.${d}.sts.example`), selfSigned: ['mta-sts.selfsigned.sts.example'] });
  const serve = (d: string, body: string, type = 'text/plain') => lab.route(`mta-sts.${d}.sts.example`, WK, { type, body });
  serve('good', policy('enforce', ['*.good.sts.example'], 604800));
  serve('uncovered', policy('enforce', ['*.uncovered.sts.example'], 604800));
  serve('testing', policy('testing', ['mx.testing.sts.example'], 86400));
  serve('testuncovered', policy('testing', ['mx.testuncovered.sts.example'], 86400));
  serve('bigpolicy', policy('enforce', ['mx.bigpolicy.sts.example'], 604800) + `# ${'x'.repeat(70_000)}\n`);
  serve('shortage', policy('enforce', ['mx.shortage.sts.example'], 3600));
  serve('hugeage', policy('enforce', ['mx.hugeage.sts.example'], 40_000_000));
  serve('badtype', policy('enforce', ['mx.badtype.sts.example'], 604800), 'text/html; charset=utf-8');
  serve('badpolicy', policy('enforced', ['mx.badpolicy.sts.example'], 604800));
  serve('none', 'version: STSv1\nmode: none\nmax_age: 86400\n');
  serve('selfsigned', policy('enforce', ['mx.selfsigned.sts.example'], 604800));
  lab.route('mta-sts.redirect.sts.example', WK, { status: 301, headers: { location: 'https://www.redirect.sts.example/mta-sts.txt' } });
  lab.route('mta-sts.slow.sts.example', WK, { hang: true });
});
afterAll(async () => {
  await lab?.stop();
  await dns?.stop();
});

async function runCheck(domain: string, only: string, flags: string[]) {
  const checkOptions: Record<string, string> = {};
  for (let i = 0; i < flags.length; i += 2) checkOptions[flags[i]!.replace(/^--/, '')] = flags[i + 1]!;
  // the lab's HTTPS servers listen on loopback ports: the run reads the map from the environment, as the CLI does
  process.env.INBOXLENS_HTTPS_PORT_MAP = lab.portMap;
  return check(domain, { only: [only], checkOptions, resolvers: [dns.address], timeoutMs: 400, retries: 1 });
}

/** The check in-process through the library (what `check --only mta-sts --json` prints); flags as `--name value` pairs. */
async function sts(domain: string, extra: string[] = ['--ca-file', lab.caFile]) {
  const doc: any = await runCheck(domain, 'mta-sts', extra);
  const r = { code: doc.summary.exitCode as number };
  expect(validateReport(doc)).toEqual([]);
  const res = doc.targets[0].checks[0];
  return { r, res, codes: res.findings.map((f: any) => f.code) as string[], find: (code: string) => res.findings.find((f: any) => f.code === code) };
}

describe('MTA-STS TXT record grammar', () => {
  it('accepts RFC 8461 records and says what is wrong with others', () => {
    expect(parseStsRecord('v=STSv1; id=20160831085700Z;')).toEqual({ id: '20160831085700Z' });
    expect(parseStsRecord('v=STSv1;id=abc; ext=1')).toEqual({ id: 'abc' });
    expect(parseStsRecord('v=STSv1; id=2024-01-15')).toMatchObject({ error: expect.stringMatching(/letters and digits/) });
    expect(parseStsRecord('v=STSv1; foo=bar')).toMatchObject({ error: expect.stringMatching(/no id/) });
    expect(parseStsRecord('v=STSv1;; id=1')).toMatchObject({ error: expect.stringMatching(/empty field/) });
    expect(parseStsRecord('v=STSv2; id=1')).toMatchObject({ error: expect.stringMatching(/v=STSv1/) });
  });
});

describe('mta-sts check', () => {
  it('passes an enforced policy whose wildcard covers every MX, fetched over verified HTTPS', async () => {
    const { r, res, codes } = await sts('good.sts.example');
    expect(codes).toEqual(['mta-sts.ok']);
    expect(res.status).toBe('pass');
    expect(res.data.policy).toEqual({ version: 'STSv1', mode: 'enforce', maxAge: 604800, mx: ['*.good.sts.example'] });
    expect(res.data.mx.map((m: any) => m.covered)).toEqual([true, true]);
    expect(lab.hits).toContain(`mta-sts.good.sts.example ${WK}`);
    expect(r.code).toBe(0);
  });
  it('fails certificate verification when the lab CA is not trusted (no --ca-file)', async () => {
    const { r, find } = await sts('good.sts.example', []);
    const x = find('mta-sts.policy-unreachable');
    expect(x.severity).toBe('error');
    expect(x.summary).toMatch(/SELF_SIGNED_CERT_IN_CHAIN|UNABLE_TO_VERIFY_LEAF_SIGNATURE/);
    expect(r.code).toBe(1);
  });
  it('rejects a self-signed policy host certificate even with --ca-file', async () => {
    const { find } = await sts('selfsigned.sts.example');
    expect(find('mta-sts.policy-unreachable').summary).toMatch(/DEPTH_ZERO_SELF_SIGNED_CERT/);
  });
  it('finds an MX the policy does not cover (a wildcard matches one label only)', async () => {
    const { r, codes, find, res } = await sts('uncovered.sts.example');
    expect(codes).toEqual(['mta-sts.mx-not-covered']);
    expect(find('mta-sts.mx-not-covered').severity).toBe('error');
    expect(find('mta-sts.mx-not-covered').summary).toContain('deep.mx.uncovered.sts.example');
    expect(res.data.mx).toEqual([
      { exchange: 'mx1.uncovered.sts.example', priority: 10, covered: true, match: '.uncovered.sts.example' },
      { exchange: 'deep.mx.uncovered.sts.example', priority: 20, covered: false },
    ]);
    expect(r.code).toBe(1);
  });
  it('an uncovered MX under testing mode is a warning', async () => {
    const { r, codes, find } = await sts('testuncovered.sts.example');
    expect(codes.sort()).toEqual(['mta-sts.mx-not-covered', 'mta-sts.testing-mode']);
    expect(find('mta-sts.mx-not-covered').severity).toBe('warn');
    expect(find('mta-sts.mx-not-covered').summary).toContain('backup.elsewhere.sts.example');
    expect(r.code).toBe(0);
  });
  it('rejects a policy over 64 KB without reading it all', async () => {
    const { codes, find } = await sts('bigpolicy.sts.example');
    expect(codes).toEqual(['mta-sts.policy-invalid']);
    expect(find('mta-sts.policy-invalid').summary).toMatch(/too large.*65536/);
  });
  it('reports testing mode as info', async () => {
    const { r, codes } = await sts('testing.sts.example');
    expect(codes.sort()).toEqual(['mta-sts.ok', 'mta-sts.testing-mode']);
    expect(r.code).toBe(0);
  });
  it('warns about a short max_age under enforce, and rejects one over a year', async () => {
    const short = await sts('shortage.sts.example');
    expect(short.codes).toEqual(['mta-sts.max-age']);
    expect(short.find('mta-sts.max-age').severity).toBe('warn');
    const huge = await sts('hugeage.sts.example');
    expect(huge.codes).toEqual(['mta-sts.max-age']);
    expect(huge.find('mta-sts.max-age').severity).toBe('error');
    expect(huge.find('mta-sts.max-age').summary).toContain('31557600');
  });
  it('rejects a policy served with the wrong content type', async () => {
    const { codes, find } = await sts('badtype.sts.example');
    expect(codes).toEqual(['mta-sts.policy-invalid']);
    expect(find('mta-sts.policy-invalid').summary).toContain('text/html');
  });
  it('rejects a policy with an invalid mode', async () => {
    const { codes, find } = await sts('badpolicy.sts.example');
    expect(codes).toEqual(['mta-sts.policy-invalid']);
    expect(find('mta-sts.policy-invalid').summary).toMatch(/mode/i);
  });
  it('does not follow a redirect, and reports a 404 and a missing policy host', async () => {
    const redirect = await sts('redirect.sts.example');
    expect(redirect.codes).toEqual(['mta-sts.policy-unreachable']);
    expect(redirect.find('mta-sts.policy-unreachable').summary).toMatch(/301.*do not follow/);
    expect(lab.hits.filter((h) => h.includes('www.redirect'))).toEqual([]);
    const notfound = await sts('notfound.sts.example');
    expect(notfound.find('mta-sts.policy-unreachable').summary).toMatch(/404/);
    const nohost = await sts('nohost.sts.example');
    expect(nohost.find('mta-sts.policy-unreachable').summary).toMatch(/no A or AAAA/);
  });
  it('a policy fetch that times out, or a policy host whose DNS fails, is unknown (exit 3)', async () => {
    const slow = await sts('slow.sts.example', ['--ca-file', lab.caFile, '--https-timeout', '500ms']);
    expect(slow.res.status).toBe('unknown');
    expect(slow.res.reason).toMatch(/within 500 ms/);
    expect(slow.r.code).toBe(3);
    const hostfail = await sts('hostfail.sts.example');
    expect(hostfail.res.status).toBe('unknown');
    expect(hostfail.res.reason).toMatch(/SERVFAIL/);
  });
  it('reports mode none as info', async () => {
    const { codes } = await sts('none.sts.example');
    expect(codes.sort()).toEqual(['mta-sts.mode-none', 'mta-sts.ok']);
  });
  it('reports record syntax errors: a bad id, several records, a wrong-case version', async () => {
    const names = ['badtxt', 'multi', 'lowercase'];
    const runs = await Promise.all(names.map((d) => sts(`${d}.sts.example`)));
    for (const [i, d] of names.entries()) {
      expect(runs[i]!.codes, d).toEqual(['mta-sts.syntax']);
      expect(runs[i]!.r.code).toBe(1);
    }
  });
  it('a domain without MTA-STS gets an info finding (it is optional), even next to unrelated TXT records', async () => {
    for (const d of ['nosts', 'unrelated']) {
      const { codes, r, res } = await sts(`${d}.sts.example`);
      expect(codes).toEqual(['mta-sts.missing']);
      expect(res.status).toBe('pass');
      expect(r.code).toBe(0);
    }
  });
  it('a failed _mta-sts lookup is unknown', async () => {
    const { res, r } = await sts('dnsfail.sts.example');
    expect(res.status).toBe('unknown');
    expect(r.code).toBe(3);
  });
  it('a bad --ca-file or port map is a usage error (exit 2, one line)', async () => {
    const bad = await runCli(['check', 'good.sts.example', '--only', 'mta-sts', '--ca-file', '/nonexistent.pem', ...dnsArgs(dns)]);
    expect(bad.code).toBe(2);
    expect(bad.stderr.trim().split('\n')).toHaveLength(1);
    expect(bad.stderr).toMatch(/--ca-file/);
    const map = await runCli(['check', 'good.sts.example', '--only', 'mta-sts', ...dnsArgs(dns)], { env: { INBOXLENS_HTTPS_PORT_MAP: 'nonsense' } });
    expect(map.code).toBe(2);
    expect(map.stderr).toMatch(/INBOXLENS_HTTPS_PORT_MAP/);
  });
});
