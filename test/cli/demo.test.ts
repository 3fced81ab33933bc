// The demo end to end on the embedded lab: non-interactive JSON (what CI checks),
// and the dashboard under tmux with placement rows filling in.
import { describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { mkdtemp, writeFile, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { BIN, ROOT, runCli } from '../helpers/cli.ts';
import { Tmux } from '../helpers/tmux.ts';

describe.concurrent('inboxlens demo', () => {
  it('runs the whole job on the lab and prints valid JSON that scripts/check-demo.ts accepts', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'inboxlens-demo-'));
    try {
      const db = path.join(dir, 'h.db');
      const html = path.join(dir, 'demo.html');
      const r = await runCli(['demo', '--json', '--db', db, '--html-report', html], { timeoutMs: 180_000 });
      expect(r.code).toBe(0);
      // the HTML report: the good domain's campaign as a chart, the broken domain now, and its before/after
      const page = await readFile(html, 'utf8');
      expect(page).toMatch(/<h2>goodsender\.test /);
      expect(page).toMatch(/<rect class="seg" data-provider="gmail" data-bucket="tab"/);
      expect(page).toMatch(/<h2>brokensender\.test /);
      expect(page).toMatch(/<section class="diff">[\s\S]*newly listed/);
      const doc = r.json();
      expect(doc.command).toBe('demo');
      expect(doc.demo.runs.map((x: any) => x.label)).toEqual(['demo-good', 'before', 'after']);
      const file = path.join(dir, 'demo.json');
      await writeFile(file, r.stdout);
      const verdict = await new Promise<{ code: number; out: string }>((resolve) =>
        execFile(process.execPath, [path.join(ROOT, 'scripts/check-demo.ts'), file], (e, so, se) => resolve({ code: e ? Number((e as any).code) : 0, out: so + se })),
      );
      expect(verdict.out).toMatch(/demo JSON ok/);
      expect(verdict.code).toBe(0);
      // the runs are in history, and diff reproduces the demo's before/after
      const d = await runCli(['diff', 'last:before', 'last:after', '--db', db, '--json']);
      expect(d.json().targets[0].listed.length).toBeGreaterThan(0);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }, 240_000);

  it('fills the dashboard with placement rows as copies arrive, then shows the before/after diff', async () => {
    const term = new Tmux();
    try {
      await term.start(`cd ${ROOT} && ${process.execPath} ${BIN} demo --no-save; echo "EXIT=$?"; sleep 60`, 130, 50);
      // rows appear as copies arrive, in arrival order, before the run is over
      await term.waitFor(/seed1@gmail\.lab\.test\s+gmail\s+tab:promotions/, 90_000);
      const screen = await term.waitFor(/verdict: PASS/, 60_000);
      expect(screen).toMatch(/seed1@outlook\.lab\.test\s+outlook\s+inbox/);
      expect(screen).toMatch(/spf=pass dkim=pass dmarc=pass/);
      // the loop's last step in the dashboard: the lab receivers' aggregate reports, a bar per source IP
      const reports = await term.waitFor(/Receivers' DMARC reports for goodsender\.test[\s\S]*198\.51\.100\.25 +█+ +\d+ msg · DMARC 100%/, 60_000);
      expect(reports).toMatch(/\d+ report\(s\), 5 reporter\(s\) · \d+ msg from 1 IP\(s\) · DMARC pass 100%/);
      // d: the demo has its before/after pair (the broken domain, listed after the campaign)
      await term.keys('d');
      const changed = await term.waitFor(/What changed for brokensender\.test after the campaign/);
      expect(changed).toMatch(/\+ LISTED\s+203\.0\.113\.7 is listed on Spamhaus ZEN/);
      await term.keys('Escape');
      await term.waitFor(/verdict: PASS/);
      // q leaves the plain report behind, as `dashboard` does, then the broken domain's pair
      await term.keys('q');
      const after = await term.waitFor(/EXIT=0/, 120_000);
      expect(after).toMatch(/newly listed/);
      expect(after).not.toMatch(/┌─ Authentication/);
    } finally {
      await term.kill();
    }
  }, 300_000);
});
