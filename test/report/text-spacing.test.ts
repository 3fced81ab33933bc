// The text report's heading and summary lines (issue 14 QA): the status word is padded
// for the check rows' column, and the target heading and the Summary line took it
// padded — "good.example  PASS   " with trailing spaces, "Summary: PASS  0 error(s) …
// 0 unknown  (12 ms, exit 0)" with doubled ones. Run through the real CLI against the
// fixture DNS, with colour off and on (the padding sat inside the colour codes).
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

// eslint-disable-next-line no-control-regex
const plain = (s: string) => s.replace(/\x1b\[[0-9;]*m/g, '');

describe('text report heading and summary lines', () => {
  for (const colour of ['--no-color', '--color']) {
    it(`have single spaces and no trailing ones (${colour})`, async () => {
      const r = await runCli(['check', 'good.example', 'nxdomain.example', '--only', 'spf,dmarc', '--no-save', colour, ...dnsArgs(dns)]);
      expect([0, 1, 3]).toContain(r.code);
      const lines = plain(r.stdout).split('\n');
      const headings = lines.filter((l) => /^(good|nxdomain)\.example /.test(l));
      expect(headings).toHaveLength(2);
      const summary = lines.filter((l) => l.startsWith('Summary:'));
      expect(summary).toHaveLength(1);
      for (const l of [...headings, ...summary]) {
        expect(l, JSON.stringify(l)).not.toMatch(/ {2}|\s$/);
      }
      expect(headings[0]).toMatch(/^good\.example (PASS|WARN|FAIL|UNKNOWN)$/);
      expect(summary[0]).toMatch(/^Summary: (PASS|WARN|FAIL|UNKNOWN) — \d+ error\(s\), \d+ warning\(s\), \d+ info; checks \d+ pass, \d+ warn, \d+ fail, \d+ unknown \(\d+ ms, exit \d\)$/);
    });
  }
});
