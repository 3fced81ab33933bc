// Temporary failures told apart by code and words (issue 12, "Real servers"): a
// Postfix whose policy service is down answers `450 4.7.1 Policy service
// unavailable` (a temporary policy refusal, not greylisting), `451 4.3.5` means the
// receiver's own configuration is broken, postgrey's greylisting says so in its text,
// and postscreen's `450 4.3.2` after its greeting tests clears on retry. Replies as
// Postfix writes them, from a lab MX on loopback, through the real CLI.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FixtureDns } from '../../src/dns/fixture-server.ts';
import { startLabSmtp, type LabSmtp } from '../../src/smtp/lab.ts';
import { classifyRcpt } from '../../src/smtp/receive.ts';
import { validateReport } from '../../src/report/validate.ts';
import { runCli } from '../helpers/cli.ts';
import { dnsArgs, startDns } from '../helpers/dns.ts';

const D = 'tempfail.h-smtp.lab.test';
const REPLIES: Record<string, { code: number; message: string }> = {
  [`policy@${D}`]: { code: 450, message: '4.7.1 <policy@tempfail.h-smtp.lab.test>: Recipient address rejected: Policy service unavailable' },
  [`conf@${D}`]: { code: 451, message: '4.3.5 <conf@tempfail.h-smtp.lab.test>: Recipient address rejected: Server configuration problem' },
  [`grey@${D}`]: { code: 450, message: '4.7.1 <grey@tempfail.h-smtp.lab.test>: Recipient address rejected: Greylisted, see http://postgrey.schweikert.ch/help/tempfail.h-smtp.lab.test.html' },
  [`screen@${D}`]: { code: 450, message: '4.3.2 Service currently unavailable' },
  [`full@${D}`]: { code: 452, message: '4.2.2 <full@tempfail.h-smtp.lab.test>: Recipient address rejected: Mailbox full' },
};
let dns: FixtureDns;
let mx: LabSmtp;

beforeAll(async () => {
  dns = await startDns({ [D]: { MX: [`10 mx.${D}`] }, [`mx.${D}`]: { A: ['127.0.0.1'] } });
  mx = await startLabSmtp({ name: `mx.${D}`, rcptReplies: REPLIES });
}, 60_000);
afterAll(async () => {
  await mx?.stop();
  await dns?.stop();
});

const reply = (line: string) => {
  const m = /^(\d{3}) (?:(\d\.\d{1,3}\.\d{1,3}) )?(.*)$/.exec(line)!;
  return { code: Number(m[1]), ...(m[2] ? { enhanced: m[2] } : {}), text: m[3]!, lines: [line], ms: 0 };
};

describe('4xx replies to RCPT', () => {
  it('are classified by enhanced code and words, not by the reply code alone', () => {
    const k = (line: string) => {
      const r = classifyRcpt('a@x.example', reply(line));
      return [r.status, r.tempKind];
    };
    expect(k('450 4.7.1 <a@x.example>: Recipient address rejected: Policy service unavailable')).toEqual(['deferred', 'policy']);
    expect(k('451 4.3.5 <a@x.example>: Recipient address rejected: Server configuration problem')).toEqual(['deferred', 'misconfigured']);
    expect(k('450 4.7.1 <a@x.example>: Recipient address rejected: Greylisted, see http://postgrey.schweikert.ch/help/x.example.html')).toEqual(['greylisted', 'greylisting']);
    expect(k('450 4.7.1 DEFER_IF_PERMIT Service is unavailable')).toEqual(['greylisted', 'greylisting']);
    expect(k('450 4.3.2 Service currently unavailable')).toEqual(['greylisted', 'postscreen']);
    expect(k('452 4.2.2 Mailbox full')).toEqual(['deferred', 'mailbox-full']);
    // words decide only where the enhanced code says nothing more precise (OpenBSD spamd)
    expect(k('451 Temporary failure, please try again later.')).toEqual(['greylisted', 'greylisting']);
    expect(k('451 4.7.1 Please try again later')).toEqual(['deferred', 'policy']);
    expect(k('450 4.2.0 <a@x.example>: Recipient address rejected: Greylisted')).toEqual(['greylisted', 'greylisting']);
  });

  it('the smtp check reports each kind with its own finding and quotes the text', async () => {
    const rcpts = Object.keys(REPLIES).flatMap((a) => ['--rcpt', a]);
    const r = await runCli(['smtp', D, ...rcpts, '--rcpt-interval', '10ms', '--smtp-port', String(mx.port), '--json', ...dnsArgs(dns, '1s')], { timeoutMs: 90_000 });
    const doc = r.json();
    expect(validateReport(doc)).toEqual([]);
    const res = doc.targets[0].checks.find((c: any) => c.check === 'smtp');
    const of = (addr: string) => res.findings.filter((x: any) => x.summary.startsWith(`${addr}@${D}:`)).map((x: any) => [x.code, x.severity]);
    expect(of('policy')).toEqual([['smtp.rcpt-policy-deferred', 'warn']]);
    expect(of('conf')).toEqual([['smtp.rcpt-receiver-misconfigured', 'error']]);
    expect(of('grey')).toEqual([['smtp.greylisted', 'info']]);
    expect(of('screen')).toEqual([['smtp.rcpt-postscreen', 'info']]);
    expect(of('full')).toEqual([['smtp.rcpt-deferred', 'warn']]);
    const policy = res.findings.find((x: any) => x.code === 'smtp.rcpt-policy-deferred');
    expect(policy.summary).toContain('"450 4.7.1 <policy@tempfail.h-smtp.lab.test>: Recipient address rejected: Policy service unavailable"');
    const results = Object.fromEntries(res.data.receive.rcpt.results.map((x: any) => [x.address.split('@')[0], x]));
    expect(results.policy).toMatchObject({ status: 'deferred', tempKind: 'policy', code: 450, enhanced: '4.7.1' });
    expect(results.screen).toMatchObject({ status: 'greylisted', tempKind: 'postscreen' });
    // a receiver that defers everyone for its own configuration fails the check
    expect(res.status).toBe('fail');
  }, 120_000);
});
