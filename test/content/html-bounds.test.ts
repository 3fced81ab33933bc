// HTML analysis is bounded per message: 320,000 nested <div> (3.5 MB) took 141 s
// in htmlparser2's close-tag handling; now the analysis stops at the nesting
// bound, quickly, and the report says the HTML was too deeply nested and how
// much of it was analysed.
import { afterAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { analyzeHtml, HTML_LIMITS } from '../../src/content/html.ts';
import { runCli } from '../helpers/cli.ts';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'inboxlens-html-bounds-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const nested = (n: number) => `<html><body><p>Hello <a href="https://shop.example/a">shop</a></p>${'<div>'.repeat(n)}deep${'</div>'.repeat(n)}</body></html>`;

describe('HTML nesting and work per message are bounded', () => {
  it('analyzeHtml stops at the nesting bound, keeps what it saw, and says so', () => {
    const t0 = Date.now();
    const info = analyzeHtml(nested(320_000));
    expect(Date.now() - t0).toBeLessThan(3_000);
    expect(info.limited).toMatchObject({ reason: 'depth', detail: `elements nested more than ${HTML_LIMITS.maxDepth} deep`, totalChars: nested(320_000).length });
    expect(info.limited!.analysedChars).toBeLessThan(100_000);
    expect(info.anchors).toEqual([{ href: 'https://shop.example/a', text: 'shop' }]);
    // ordinary HTML is analysed whole, with no limit reported
    const ok = analyzeHtml(nested(40));
    expect(ok.limited).toBeUndefined();
    expect(ok.visibleText).toBe('Hello shop deep');
    // the element bound too
    const many = analyzeHtml(`<p>${'<b>x</b>'.repeat(50_000)}</p>`, { ...HTML_LIMITS, maxElements: 1000 });
    expect(many.limited?.reason).toBe('elements');
  });

  it('the content command reports content.html-too-complex within seconds, not minutes', async () => {
    const html = nested(320_000);
    const eml = path.join(tmp, 'deep.eml');
    writeFileSync(eml, `From: News <news@shop.example>\r\nTo: a@example.com\r\nSubject: deep\r\nDate: Tue, 1 Jul 2025 09:30:00 +0000\r\nMessage-ID: <deep@shop.example>\r\nMIME-Version: 1.0\r\nContent-Type: text/html; charset=utf-8\r\n\r\n${html}\r\n`);
    const t0 = Date.now();
    const r = await runCli(['content', eml, '--json', '--no-save'], { timeoutMs: 40_000, env: { NODE_OPTIONS: '--max-old-space-size=1024' } });
    expect(Date.now() - t0).toBeLessThan(30_000);
    const doc = r.json();
    const found = doc.targets[0].checks.flatMap((c: any) => c.findings).find((x: any) => x.code === 'content.html-too-complex');
    expect(found?.summary).toMatch(/too deeply nested to analyse: elements nested more than 500 deep; only its first \d+ KB of \d+ KB \(\d+%\) were analysed/);
  }, 45_000);
});
