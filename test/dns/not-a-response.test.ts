// A "reply" that merely echoes the query (QR=0, no answer section) is not an
// answer: every lookup that gets one has failed, so `check` says unknown (exit 3),
// never "no SPF record" or "no MX" (exit 1), as the blacklist sweep already did.
import dgram from 'node:dgram';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.ts';

let echo: dgram.Socket;
let port: number;
beforeAll(async () => {
  echo = dgram.createSocket('udp4');
  echo.on('message', (msg, rinfo) => echo.send(msg, rinfo.port, rinfo.address)); // the query, byte for byte
  await new Promise<void>((r) => echo.bind(0, '127.0.0.1', () => r()));
  port = echo.address().port;
});
afterAll(() => echo?.close());

describe('a DNS message that is not a response', () => {
  it('makes spf and mx unknown with the reason, exit 3, not spf.missing / mx.missing', async () => {
    const r = await runCli(['check', 'echoed.example', '--only', 'spf,mx', '--json', '--no-save', '--resolver', `127.0.0.1:${port}`, '--timeout', '500ms', '--retries', '0']);
    const checks = r.json().targets[0].checks;
    const codes = checks.flatMap((c: any) => c.findings.map((f: any) => f.code));
    expect(codes).not.toContain('spf.missing');
    expect(codes).not.toContain('mx.missing');
    for (const c of checks) {
      expect(c.status, c.check).toBe('unknown');
      expect(c.reason, c.check).toMatch(/QR=0|not a response|MALFORMED/);
    }
    expect(r.code).toBe(3);
  });
});
