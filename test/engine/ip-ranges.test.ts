// --ip is validated once for every check that uses it, and each address of an
// accepted range is judged: a record that denies one address inside the range
// is not a pass, and garbage is exit 2 whichever check runs.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FixtureDns } from '../../src/dns/fixture-server.ts';
import { runCli } from '../helpers/cli.ts';
import { dnsArgs, startDns } from '../helpers/dns.ts';

let dns: FixtureDns;
beforeAll(async () => {
  dns = await startDns();
});
afterAll(async () => {
  await dns?.stop();
});

describe('--ip ranges', () => {
  it('SPF is evaluated for every address of a range: one denied address fails the run', async () => {
    const r = await runCli(['check', 'range.spf.example', '--only', 'spf', '--ip', '203.0.113.64/28', '--json', '--no-save', ...dnsArgs(dns)]);
    const spf = r.json().targets[0].checks[0];
    expect(spf.data.evaluations).toHaveLength(16);
    expect(spf.data.evaluations.find((e: any) => e.ip === '203.0.113.66').result).toBe('fail');
    expect(spf.data.evaluations.filter((e: any) => e.result === 'pass')).toHaveLength(15);
    expect(spf.status).toBe('fail');
    expect(r.code).toBe(1);
  });

  it('a range that is not one is refused at once, whichever check runs (exit 2, naming the value)', async () => {
    for (const only of ['ptr', 'spf', 'blacklist']) {
      const r = await runCli(['check', 'range.spf.example', '--only', only, '--ip', 'foo/8', ...dnsArgs(dns)]);
      expect(r.code, only).toBe(2);
      expect(r.stderr).toMatch(/--ip 'foo\/8' is not a CIDR range/);
    }
  });
});
