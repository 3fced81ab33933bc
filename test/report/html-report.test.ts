// --html-report and the Markdown summary's placement pictures, end to end on the
// lab: a placement run whose copies reach the inbox, then one (same domain, SPF
// and DKIM broken in the lab DNS) whose copies go to spam, compared with the
// first. The HTML is parsed (htmlparser2: nothing external to fetch), opened in
// headless Chromium (the DOM it built, and a screenshot whose chart pixels are
// counted), and the Markdown's tables and Mermaid chart are read back.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseDocument, DomUtils } from 'htmlparser2';
import { startLab, type Lab } from '../../src/lab/index.ts';
import { runCli, type CliResult } from '../helpers/cli.ts';
import { decodePng, pixelsOf } from '../helpers/png.ts';
import { BUCKETS, BUCKET_COLOUR, bucketOf } from '../../src/report/placement-view.ts';
import { CHART, renderHtml } from '../../src/report/html.ts';
import { validateReport } from '../../src/report/validate.ts';
import { whyLine } from '../../src/placement/why.ts';

let lab: Lab;
let dir: string;
let before: CliResult;
let after: CliResult;
const file = (n: string) => path.join(dir, n);

function runArgs(label: string, extra: string[]): string[] {
  const s = lab.senders.good;
  return [
    'placement', 'run', '--seeds', lab.seedsFile, '--from', s.from, '--envelope-from', s.envelopeFrom, '--smtp', lab.smtpUrl, '--smtp-ca', lab.caFile,
    '--resolver', lab.dns.address, '--dns-timeout', '1s', '--retries', '1', '--timeout', '20s', '--db', file('h.db'), '--label', label, '--json', ...extra,
  ];
}

/** Headless Chromium on a local file: no network (nothing may be fetched anyway), its own profile, bounded. */
function chromium(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    execFile(
      'chromium',
      ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-extensions', `--user-data-dir=${file('chromium-profile')}`, '--force-device-scale-factor=1', '--hide-scrollbars', ...args],
      { timeout: 90_000, maxBuffer: 32 * 1024 * 1024 },
      (err, stdout, stderr) => {
        if (err && (err as NodeJS.ErrnoException).code === 'ENOENT') reject(new Error('chromium is missing: apt-get install chromium (scripts/setup.sh)'));
        else resolve({ code: err ? Number((err as any).code ?? 1) : 0, stdout, stderr });
      },
    );
  });
}

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'inboxlens-html-'));
  lab = await startLab({ providers: ['gmail', 'outlook', 'yahoo', 'icloud', 'generic'], imapSeeds: 5, pop3Seeds: 2 });
  const dkim = lab.senders.good.dkim!;
  before = await runCli(runArgs('before', ['--dkim-key', dkim.keyFile, '--dkim-selector', dkim.selector, '--list-unsubscribe', 'https://goodsender.test/u?x=1']), { timeoutMs: 120_000 });
  // the same domain loses its SPF authorization and sends unsigned: DMARC fails, the copies go to spam
  lab.dns.set('goodsender.test', 'TXT', ['v=spf1 -all']);
  after = await runCli(runArgs('after', ['--against', 'last:before', '--html-report', file('r.html'), '--markdown', file('r.md')]), { timeoutMs: 120_000 });
}, 240_000);
afterAll(async () => {
  await lab?.stop();
  await rm(dir, { recursive: true, force: true });
});

function placementOf(r: CliResult) {
  const doc = r.json();
  expect(validateReport(doc)).toEqual([]);
  return { doc, c: doc.targets[0].checks.find((c: any) => c.check === 'placement') };
}

/** The expected share of each bucket per provider, from the JSON rows (the renderers' only input). */
function expectedBars(rows: any[]): Map<string, { answered: number; counts: Record<string, number> }> {
  const m = new Map<string, { answered: number; counts: Record<string, number> }>();
  const add = (p: string, b: string | undefined) => {
    const e = m.get(p) ?? { answered: 0, counts: Object.fromEntries(BUCKETS.map((k) => [k, 0])) };
    if (b) {
      e.answered++;
      e.counts[b]!++;
    }
    m.set(p, e);
  };
  for (const r of rows) {
    add(r.provider, bucketOf(r.placement));
    add('all', bucketOf(r.placement));
  }
  return m;
}

describe('the runs the pictures are drawn from', () => {
  it('before: the inbox (and the Promotions tab) everywhere; after: spam, compared with before', () => {
    expect(before.code).toBe(0);
    expect(after.code).toBe(1);
    const b = placementOf(before).c.data.rows as any[];
    const a = placementOf(after);
    expect(b.every((r) => r.placement === 'inbox' || r.placement.startsWith('tab:'))).toBe(true);
    expect(b.some((r) => r.placement === 'tab:promotions')).toBe(true);
    expect((a.c.data.rows as any[]).filter((r) => r.protocol === 'imap').every((r) => r.placement === 'spam')).toBe(true);
    expect(a.doc.comparison.regressions.join('\n')).toMatch(/inbox placement at gmail fell from 100% to 0%/);
  });
});

describe('--html-report', () => {
  it('is one self-contained file: no script, no stylesheet link, nothing in src/href/url() that leaves the file, a CSP that forbids loads', async () => {
    const html = await readFile(file('r.html'), 'utf8');
    const dom = parseDocument(html);
    const all = DomUtils.findAll(() => true, dom.children);
    expect(all.length).toBeGreaterThan(100);
    expect(DomUtils.findAll((e) => ['script', 'link', 'iframe', 'img', 'object', 'embed', 'base'].includes(e.name), dom.children)).toEqual([]);
    for (const e of all) {
      for (const [k, v] of Object.entries(e.attribs)) {
        if (/^(src|href|xlink:href|srcset|action|poster|data)$/i.test(k)) expect(v, `${e.name} ${k}`).toMatch(/^(#|data:)/);
        if (k === 'style') expect(v).not.toMatch(/url\(/i);
      }
    }
    expect(html).not.toMatch(/@import|url\(/i);
    const csp = DomUtils.findOne((e) => e.name === 'meta' && e.attribs['http-equiv'] === 'Content-Security-Policy', dom.children);
    expect(csp?.attribs.content).toMatch(/default-src 'none'/);
    // the verdict, the findings with their fixes, the comparison
    expect(DomUtils.textContent(DomUtils.findOne((e) => e.attribs.class === 'verdict', dom.children)!)).toMatch(/FAIL\s*\d+ error\(s\)/);
    const findings = DomUtils.findAll((e) => /\bfinding\b/.test(e.attribs.class ?? ''), dom.children);
    expect(findings.map((f) => f.attribs['data-code'])).toEqual(expect.arrayContaining(['placement.spam', 'placement.auth-fail-at-receiver']));
    expect(findings.every((f) => f.attribs['data-code'] === 'placement.none-arrived' || DomUtils.textContent(f).includes('Fix:'))).toBe(true);
    const diff = DomUtils.findOne((e) => e.attribs.class === 'diff', dom.children)!;
    expect(DomUtils.textContent(diff)).toMatch(/inbox placement at gmail fell from 100% to 0%/);
    expect(DomUtils.textContent(diff)).toMatch(/gmail\s*100%\s*0%\s*▼ -100 pts/);
  });

  it('renders in headless Chromium: the DOM it built has one bar segment per bucket, each as wide as its share', async () => {
    const { stdout } = await chromium(['--dump-dom', `file://${file('r.html')}`]);
    const dom = parseDocument(stdout);
    const segs = DomUtils.findAll((e) => e.name === 'rect' && e.attribs.class === 'seg', dom.children);
    const want = expectedBars(placementOf(after).c.data.rows);
    let checked = 0;
    for (const [provider, e] of want) {
      const mine = segs.filter((s) => s.attribs['data-provider'] === provider);
      for (const k of BUCKETS) {
        const seg = mine.find((s) => s.attribs['data-bucket'] === k);
        if (!e.counts[k]) {
          expect(seg, `${provider} ${k}`).toBeUndefined();
          continue;
        }
        expect(Number(seg!.attribs.width)).toBeCloseTo((e.counts[k]! / e.answered) * CHART.barWidth, 0);
        expect(seg!.attribs.fill).toBe(BUCKET_COLOUR[k]);
        checked++;
      }
      // a full bar: the segments add up to the whole width
      expect(mine.reduce((n, s) => n + Number(s.attribs.width), 0)).toBeCloseTo(CHART.barWidth, 0);
    }
    expect(checked).toBeGreaterThanOrEqual(want.size);
  }, 120_000);

  it('a screenshot shows the chart: the pixels of each colour are the bars\' areas (and the legend swatch)', async () => {
    const png = file('r.png');
    await chromium([`--screenshot=${png}`, '--window-size=1000,1400', `file://${file('r.html')}`]);
    const image = decodePng(await readFile(png));
    expect(image.width).toBe(1000);
    const want = expectedBars(placementOf(after).c.data.rows);
    const spam = pixelsOf(image, BUCKET_COLOUR.spam);
    const area = (k: string) => [...want.values()].reduce((n, e) => n + (e.answered ? (e.counts[k]! / e.answered) * CHART.barWidth * CHART.barHeight : 0), 0);
    // legend swatches are 12×12 with rounded corners: at most 144 pixels each
    for (const k of ['spam', 'missing'] as const) {
      const got = pixelsOf(image, BUCKET_COLOUR[k]).count;
      expect(area(k)).toBeGreaterThan(0);
      expect(got).toBeGreaterThan(area(k) * 0.97);
      expect(got).toBeLessThan(area(k) * 1.03 + 144);
    }
    // nothing reached the inbox: only the legend's swatch is inbox green
    expect(pixelsOf(image, BUCKET_COLOUR.inbox).count).toBeLessThanOrEqual(144);
    // the bars stand in a column: as many rows as providers (and "all"), 20 px high, inside the page
    expect(spam.box!.y1 - spam.box!.y0).toBeGreaterThan((want.size - 1) * CHART.rowHeight);
    expect(spam.box!.x1).toBeLessThan(1000);
  }, 120_000);

  it('the before run\'s report shows the inbox and the tab in green and blue', async () => {
    // the renderer is pure: the first run's JSON document drawn again
    const out = file('before.html');
    await writeFile(out, renderHtml(before.json()));
    const png = file('before.png');
    await chromium([`--screenshot=${png}`, '--window-size=1000,1400', `file://${out}`]);
    const image = decodePng(await readFile(png));
    expect(pixelsOf(image, BUCKET_COLOUR.inbox).count).toBeGreaterThan(CHART.barWidth * CHART.barHeight);
    expect(pixelsOf(image, BUCKET_COLOUR.tab).count).toBeGreaterThan(100);
    expect(pixelsOf(image, BUCKET_COLOUR.spam).count).toBeLessThanOrEqual(144);
  }, 120_000);
});

describe('the Markdown summary\'s placement', () => {
  it('has a per-provider table, a Mermaid bar chart of the same numbers, and a per-seed table', async () => {
    const md = await readFile(file('r.md'), 'utf8');
    const rows = placementOf(after).c.data.rows as any[];
    const want = expectedBars(rows);
    const table = md.slice(md.indexOf('#### Placement per provider'), md.indexOf('```mermaid'));
    for (const [provider, e] of want) {
      const line = table.split('\n').find((l) => l.startsWith(`| ${provider === 'all' ? '**all**' : provider} |`))!;
      expect(line, provider).toBeDefined();
      const cells = line.split('|').slice(2, -1).map((c) => c.trim());
      expect(Number(cells[0])).toBe(rows.filter((r) => provider === 'all' || r.provider === provider).length);
      BUCKETS.forEach((k, i) => expect(cells[i + 1]).toBe(e.counts[k] ? `${e.counts[k]} (${Math.round((e.counts[k]! / e.answered) * 100)}%)` : '0'));
    }
    const chart = /```mermaid\n([\s\S]*?)```/.exec(md)![1]!;
    expect(chart).toMatch(/^xychart-beta$/m);
    const providers = JSON.parse(/x-axis (\[.*\])/.exec(chart)![1]!) as string[];
    expect(providers).toEqual([...want.keys()].filter((p) => p !== 'all').sort());
    // cumulative shares, tallest first: the first series is 100 for every provider that answered, the last is inbox
    const series = [...chart.matchAll(/^\s+bar \[(.*)\]$/gm)].map((m) => m[1]!.split(',').map(Number));
    expect(series).toHaveLength(BUCKETS.length);
    expect(series[0]).toEqual(providers.map(() => 100));
    providers.forEach((p, i) => {
      const e = want.get(p)!;
      expect(series[BUCKETS.length - 1]![i]).toBe(Math.round((e.counts.inbox! / e.answered) * 100));
      expect(series[BUCKETS.length - 3]![i]).toBe(Math.round(((e.counts.inbox! + e.counts.tab! + e.counts.spam!) / e.answered) * 100));
    });
    const seedTable = md.slice(md.indexOf('#### Placement per seed'));
    for (const r of rows) expect(seedTable).toMatch(new RegExp(`\\| ${r.seed.replace(/\./g, '\\.')} \\| ${r.provider} \\| ${r.protocol} \\| ${r.placement} \\|`));
    // each copy found says why it landed there: the receiver's verdicts, ours on the same copy, the reading
    const imap = rows.filter((r) => r.protocol === 'imap');
    expect(imap.length).toBeGreaterThan(0);
    for (const r of imap) {
      const line = seedTable.split('\n').find((l) => l.startsWith(`| ${r.seed} |`))!;
      expect(line, r.seed).toMatch(/\| spam · receiver: spf=fail dkim=none dmarc=fail · .*ours: spf=fail dkim=none dmarc=fail — DMARC fails for goodsender\.test: SPF fail for [\d.]+ at goodsender\.test, no DKIM signature \|$/);
      expect(line).toContain(whyLine(r));
    }
    // the HTML report's seed table has the same reading in its last column
    const doc = parseDocument(await readFile(file('r.html'), 'utf8'));
    const seedsHtml = DomUtils.findOne((e) => e.name === 'table' && e.attribs.class === 'seeds', doc.children)!;
    const cells = new Map(DomUtils.findAll((e) => e.name === 'tr', [seedsHtml]).slice(1).map((tr) => {
      const tds = DomUtils.findAll((e) => e.name === 'td', [tr]).map((td) => DomUtils.textContent(td));
      return [tds[0], tds.at(-1)] as const;
    }));
    for (const r of imap) expect(cells.get(r.seed), r.seed).toBe(whyLine(r));
    expect(md).toMatch(/### Compared with \S+ \(before\)/);
  });
});
