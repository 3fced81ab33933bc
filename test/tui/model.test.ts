// The dashboard's model in-process (beside the tmux tests in test/tui/dashboard.test.ts):
// fed by the engine's real result stream from library runs against the fixture DNS,
// it draws each panel from the checks' generic details and headlines only.
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FixtureDns } from '../../src/dns/fixture-server.ts';
import { blacklist, check, ResultStream } from '../../src/index.ts';
import { loadChecks } from '../../checks/index.ts';
import { applyEvent, authLines, blacklistLines, findingList, newModel, placementLines, progressText, verdict, type DashboardModel } from '../../src/tui/model.ts';
import type { Check, EngineEvent } from '../../src/types.ts';
import { startDns } from '../helpers/dns.ts';

let dns: FixtureDns;
let views: Map<string, Check>;
beforeAll(async () => {
  dns = await startDns();
  views = await loadChecks();
});
afterAll(async () => {
  await dns?.stop();
});

function feed(target: string): { model: DashboardModel; stream: ResultStream } {
  const model = newModel(target);
  const stream = new ResultStream();
  stream.on('event', (e: EngineEvent) => applyEvent(model, e));
  return { model, stream };
}

describe('dashboard model', () => {
  it('the authentication panel: a line per check with its headline, the SPF tree under SPF, running checks marked', async () => {
    const { model, stream } = feed('auth-good.example');
    expect(authLines(model, views)[0]!.text).toMatch(/^SPF\s+·$/);
    const report = await check('auth-good.example', { only: ['spf', 'mx', 'dmarc', 'dkim'], selectors: ['google'], resolvers: [dns.address], timeoutMs: 400, retries: 1, stream });
    expect(verdict(model).status).toBe(report.summary.status === 'fail' ? 'fail' : report.summary.status);
    const lines = authLines(model, views);
    const spf = lines.find((l) => l.text.startsWith('SPF'))!;
    expect(spf.text).toMatch(/^SPF\s+PASS\s+/);
    expect(spf.color).toBe('green');
    const mx = lines.find((l) => l.text.startsWith('MX'))!;
    const hosts = (report.targets[0]!.checks.find((c) => c.check === 'mx')!.data as any).hosts.map((h: any) => h.exchange);
    expect(mx.text).toContain(hosts[0]);
    const dmarc = lines.find((l) => l.text.startsWith('DMARC'))!;
    expect(dmarc.text).toMatch(/p=(none|quarantine|reject)/);
    // checks not run stay a dot, never a pass
    expect(lines.find((l) => l.text.startsWith('BIMI'))!.text).toMatch(/^BIMI\s+·$/);
    const dkim = lines.find((l) => l.text.startsWith('DKIM'))!;
    expect(dkim.text).toMatch(/google rsa\/2048/);
    expect(progressText(model)).toMatch(/starting|done in/);
    // an include tree is drawn under the SPF line, from the check's own tree block
    const t = feed('tree.spf.example');
    await check('tree.spf.example', { only: ['spf'], resolvers: [dns.address], timeoutMs: 400, retries: 1, stream: t.stream });
    const tree = authLines(t.model, views);
    expect(tree[0]!.text).toMatch(/^SPF\s+\w+\s+\d+\/10 lookups/);
    expect(tree.some((l) => /^\s+[├└]─ include:l1\.tree\.spf\.example/.test(l.text))).toBe(true);
    expect(tree.some((l) => /^\s+│?\s+[├└]─ include:l2\.tree\.spf\.example/.test(l.text))).toBe(true);
  });

  it('the blacklist panel shows listings apart from lists that did not answer', async () => {
    const { model, stream } = feed('192.0.2.99');
    await blacklist('192.0.2.99', { resolvers: [dns.address], timeoutMs: 400, retries: 1, stream });
    const lines = blacklistLines(model, views);
    const head = lines.find((l) => /192\.0\.2\.99\s+listed on [1-9]\d* of \d+ answering/.test(l.text));
    expect(head?.color).toBe('red');
    expect(lines.some((l) => /✗ zen\.spamhaus\.org/.test(l.text) && l.color === 'red')).toBe(true);
    expect(findingList(model).some((f) => f.code.startsWith('dnsbl.'))).toBe(true);
  });

  it('the placement panel draws live partial rows with the same table as the final result', () => {
    const model = newModel('demo.example');
    expect(placementLines(model, views)).toEqual([]);
    applyEvent(model, { type: 'check-start', target: 'demo.example', check: 'placement' });
    applyEvent(model, { type: 'partial', target: 'demo.example', check: 'placement', data: { rows: [{ seed: 'a@gmail.lab.test', provider: 'gmail', placement: 'spam', timeToArrivalMs: 3000 }, { seed: 'b@outlook.lab.test', provider: 'outlook', placement: 'inbox', timeToArrivalMs: 500 }] } });
    const lines = placementLines(model, views);
    expect(lines[0]!.text).toMatch(/^seed\s+provider\s+placement\s+arrival\s+receiver$/);
    expect(lines[1]).toMatchObject({ color: 'red' });
    expect(lines[1]!.text).toMatch(/^a@gmail\.lab\.test\s+gmail\s+spam\s+3 s/);
    expect(lines[2]).toMatchObject({ color: 'green' });
    expect(verdict(model).status).toBe('running');
  });

  it('events for another target are ignored; the log keeps at most 500 lines', () => {
    const model = newModel('a.example');
    applyEvent(model, { type: 'check-start', target: 'b.example', check: 'mx' });
    expect(model.running.size).toBe(0);
    for (let i = 0; i < 600; i++) applyEvent(model, { type: 'log', target: 'a.example', check: 'mx', message: `line ${i}` });
    expect(model.logs).toHaveLength(500);
    expect(model.logs.at(-1)).toMatch(/line 599$/);
  });

  it('draws no check from its private data: the model reads details and headlines only', () => {
    const src = readFileSync(new URL('../../src/tui/model.ts', import.meta.url), 'utf8');
    expect(src).not.toMatch(/\.data as|data\?\.\w+\?\./);
  });
});

describe('dashboard popups', () => {
  it('wrap at word boundaries by display width; a word longer than the line is cut', async () => {
    const { wordWrap } = await import('../../src/tui/dashboard.ts');
    expect(wordWrap('fix: Publish a TXT record at _dmarc.example.com', 20)).toEqual(['fix: Publish a TXT', 'record at', '_dmarc.example.com']);
    expect(wordWrap('受信箱 受信箱 受信箱', 14)).toEqual(['受信箱 受信箱', '受信箱']);
    expect(wordWrap('x'.repeat(25), 10)).toEqual(['x'.repeat(10), 'x'.repeat(10), 'x'.repeat(5)]);
    expect(wordWrap('a\nb', 10)).toEqual(['a', 'b']);
  });
});
