// Spam scoring through the real CLI with real filters: Debian's spamd (spamc
// protocol, REPORT) and rspamd (/checkv2), both started here on loopback with
// network tests off, and what happens when the filter is not there.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import net from 'node:net';
import path from 'node:path';
import type { FixtureDns } from '../../src/dns/fixture-server.ts';
import { validateReport } from '../../src/report/validate.ts';
import { startSpamd, type SpamdLab } from '../../src/lab/spamd.ts';
import { startRspamd, type RspamdLab } from '../../src/lab/rspamd.ts';
import { ROOT, runCli } from '../helpers/cli.ts';
import { dnsArgs, startDns } from '../helpers/dns.ts';

const fx = (name: string) => path.join(ROOT, `fixtures/messages/content-${name}.eml`);
let dns: FixtureDns;
let spamd: SpamdLab;
let rspamd: RspamdLab;
let closedPort: number;

let starting: Promise<unknown>[] = [];

// rspamd loads its rules in 20-40 s, longer on a busy machine
beforeAll(async () => {
  dns = await startDns();
  // both filters load their rules at the same time; each is kept as soon as it is up,
  // so afterAll stops it even when the other one fails
  starting = [startSpamd().then((s) => (spamd = s)), startRspamd({ dns: dns.address, timeoutMs: 240_000 }).then((s) => (rspamd = s))];
  await Promise.all(starting);
  const srv = net.createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  closedPort = (srv.address() as net.AddressInfo).port;
  await new Promise<void>((r) => srv.close(() => r()));
}, 300_000);
afterAll(async () => {
  await Promise.allSettled(starting);
  await Promise.all([spamd?.stop(), rspamd?.stop()]);
  await dns?.stop();
}, 300_000);

async function content(file: string, extra: string[]) {
  const r = await runCli(['content', file, '--json', ...dnsArgs(dns), ...extra]);
  const doc = r.json();
  expect(validateReport(doc)).toEqual([]);
  const res = doc.targets[0].checks[0];
  return { r, res, score: res.findings.filter((x: any) => x.code === 'content.spam-score'), codes: res.findings.map((x: any) => x.code) as string[] };
}

describe('SpamAssassin (spamd)', () => {
  it('GTUBE: spam, the GTUBE rule with its 1000 points, rating 0/10, exit 1', async () => {
    const { r, res, score, codes } = await content(fx('gtube'), ['--spamd', spamd.address]);
    expect(codes).not.toContain('content.no-filter');
    expect(score).toHaveLength(1);
    expect(score[0].severity).toBe('error');
    expect(score[0].summary).toMatch(/^SpamAssassin scores the message 10\d\d\.\d+ \(spam at 5\.0\) — rating 0\/10: spam$/);
    expect(score[0].evidence.map((e: any) => e.record)).toContainEqual(expect.stringMatching(/^\s*1000\.0 GTUBE  BODY: Generic Test/));
    const v = res.data.spam[0];
    expect(v).toMatchObject({ filter: 'spamassassin', isSpam: true, threshold: 5, rating: 0 });
    expect(v.rules).toContainEqual({ name: 'GTUBE', score: 1000, description: 'BODY: Generic Test for Unsolicited Bulk Email' });
    expect(r.code).toBe(1);
  });
  it('the good message: ham, a rating derived from the real score', async () => {
    const { res, score } = await content(fx('good'), ['--spamd', spamd.address]);
    const v = res.data.spam[0];
    expect(v.isSpam).toBe(false);
    expect(v.score).toBeLessThan(v.threshold);
    expect(v.rating).toBe(Math.round(Math.min(10, 10 * (1 - Math.max(0, v.score) / (2 * v.threshold))) * 10) / 10);
    expect(v.rating).toBeGreaterThan(5);
    expect(['pass', 'warn']).toContain(score[0].severity);
    expect(score[0].summary).toMatch(/not spam/);
  });
  it('spamd not reachable: the score is unknown with the reason, never a pass (exit 3)', async () => {
    const { r, res, codes } = await content(fx('good'), ['--spamd', `127.0.0.1:${closedPort}`]);
    expect(res.status).toBe('unknown');
    expect(res.reason).toBe(`SpamAssassin could not score the message: spamd 127.0.0.1:${closedPort}: connection refused (is spamd running and listening there?)`);
    expect(codes).not.toContain('content.spam-score');
    expect(res.data.spam).toEqual([{ filter: 'spamassassin', error: `spamd 127.0.0.1:${closedPort}: connection refused (is spamd running and listening there?)` }]);
    expect(r.code).toBe(3);
  });
  it('an error found elsewhere still fails the check when spamd is not reachable (and the reason stays)', async () => {
    const { r, res } = await content(fx('gtube'), ['--spamd', `127.0.0.1:${closedPort}`]);
    expect(res.status).toBe('fail');
    expect(res.reason).toMatch(/SpamAssassin could not score/);
    expect(r.code).toBe(1);
  });
});

describe('rspamd (/checkv2)', () => {
  it('GTUBE: rspamd rejects it', async () => {
    const { res, score } = await content(fx('gtube'), ['--rspamd', rspamd.url]);
    const v = res.data.spam[0];
    expect(v).toMatchObject({ filter: 'rspamd', isSpam: true, action: 'reject' });
    expect(v.rating).toBeUndefined();
    expect(score[0].severity).toBe('error');
    expect(score[0].summary).toMatch(/^rspamd scores the message [\d.]+ \(spam at [\d.]+, action "reject"\): spam$/);
  });
  it('a phishing-style link scores higher than the same message without it, with named symbols', async () => {
    const [good, bad] = await Promise.all([content(fx('good'), ['--rspamd', rspamd.url]), content(fx('mismatched-link'), ['--rspamd', rspamd.url])]);
    const g = good.res.data.spam[0];
    const b = bad.res.data.spam[0];
    expect(b.score).toBeGreaterThan(g.score);
    for (const rule of b.rules) expect(rule.name).toMatch(/^[A-Z0-9_]+$/);
    expect(b.rules.length).toBeGreaterThan(3);
  });
  it('both filters at once: one verdict each', async () => {
    const { res, score } = await content(fx('gtube'), ['--spamd', spamd.address, '--rspamd', rspamd.url]);
    expect(res.data.spam.map((v: any) => v.filter)).toEqual(['spamassassin', 'rspamd']);
    expect(score.map((s: any) => s.subject)).toEqual(['SpamAssassin', 'rspamd']);
  });
  it('rspamd not reachable: unknown with the reason', async () => {
    const { r, res } = await content(fx('good'), ['--rspamd', `http://127.0.0.1:${closedPort}`]);
    expect(res.status).toBe('unknown');
    expect(res.reason).toMatch(/^rspamd could not score the message: rspamd http:\/\/127\.0\.0\.1:\d+\/checkv2: connection refused/);
    expect(r.code).toBe(3);
  });
});
