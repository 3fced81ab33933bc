// The dashboard, for real: under tmux at a fixed size, driven with send-keys.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { FixtureDns } from '../../src/dns/fixture-server.ts';
import { BIN, ROOT, runCli } from '../helpers/cli.ts';
import { startDns } from '../helpers/dns.ts';
import { Tmux } from '../helpers/tmux.ts';

let dns: FixtureDns;
let dir: string;
const term = new Tmux();

beforeAll(async () => {
  dns = await startDns({ 'dash.example': { MX: ['10 gone.dash.example'] } });
  dir = await mkdtemp(path.join(os.tmpdir(), 'inboxlens-dash-'));
});
afterAll(async () => {
  await term.kill();
  await dns?.stop();
  await rm(dir, { recursive: true, force: true });
});

describe('dashboard', () => {
  it('shows the panels live, opens a finding, resizes, and restores the terminal on q', async () => {
    const db = path.join(dir, 'h.db');
    const cmd = `cd ${ROOT} && ${process.execPath} ${BIN} dashboard dash.example --only mx,dkim --resolver ${dns.address} --timeout 500ms --db ${db}; echo "EXIT=$?"; sleep 30`;
    await term.start(cmd);
    const screen = await term.waitFor(/verdict: FAIL/);
    for (const panel of ['Authentication', 'Blacklists', 'Placement', 'Findings', 'Log']) expect(screen).toContain(panel);
    // no reports about the domain imported: no receivers' panel taking room (test/tui/reports-panel.test.ts has one)
    expect(screen).not.toContain("Receivers' DMARC reports");
    expect(screen).toMatch(/MX\s+FAIL\s+gone\.dash\.example/);
    expect(screen).toMatch(/ERROR MX gone\.dash\.example has no A or AAAA record/);
    expect(screen).toMatch(/┌─ Authentication/); // Unicode lines, not the alternate charset

    await term.keys('Enter');
    const detail = await term.waitFor(/fix: Give gone\.dash\.example an A/);
    expect(detail).toMatch(/ref: RFC 5321/);
    await term.keys('Escape');
    await term.waitFor(/Findings/);

    await term.resize(90, 30);
    const small = await term.waitFor(/Findings/);
    expect(small.split('\n')[0]!.length).toBeLessThanOrEqual(90);
    expect(small).toMatch(/verdict: FAIL/);

    await term.keys('q');
    const after = await term.waitFor(/EXIT=1/);
    // the full-screen view is gone and the plain report is left behind
    expect(after).not.toMatch(/┌─ Authentication/);
    expect(after).toMatch(/Summary: FAIL/);
    const hist = await runCli(['history', '--db', db, '--json']);
    expect(hist.json().runs).toHaveLength(1);

    // the diff in dashboard form: a second run against the first, `d` shows what changed
    dns.set('gone.dash.example', 'A', ['192.0.2.77']);
    const t2 = new Tmux();
    try {
      await t2.start(`cd ${ROOT} && ${process.execPath} ${BIN} dashboard dash.example --only mx,dkim --resolver ${dns.address} --timeout 500ms --db ${db} --against last; sleep 30`);
      // the run is over (its diff against the saved run is ready) once the status line says done
      await t2.waitFor(/done in [0-9.]+ s/);
      await t2.keys('d');
      const changed = await t2.waitFor(/What changed/);
      expect(changed).toMatch(/Before: \S+/);
      expect(changed).toMatch(/resolved mx\.unresolvable/);
      await t2.keys('Escape');
      await t2.keys('q');
    } finally {
      await t2.kill();
      dns.zone.delete('gone.dash.example');
    }
  });

  it('shows a blacklist listing in the grid, apart from list errors', async () => {
    // 192.0.2.99 is listed on ZEN and SpamCop in fixtures/zones/dnsbl.yaml
    const t2 = new Tmux();
    try {
      await t2.start(`cd ${ROOT} && ${process.execPath} ${BIN} dashboard dash.example --ip 192.0.2.99 --only blacklist --resolver ${dns.address} --timeout 500ms --no-save; sleep 30`);
      const screen = await t2.waitFor(/verdict: FAIL/);
      expect(screen).toMatch(/192\.0\.2\.99\s+listed on [1-9]\d* of \d+ answering/);
      expect(screen).toMatch(/✗ zen\.spamhaus\.org/);
      await t2.keys('q');
    } finally {
      await t2.kill();
    }
  });

  it('at 80×24 keeps the verdict and the keys, says what is out of view, scrolls the focused panel, and never draws in black', async () => {
    const t2 = new Tmux();
    try {
      // tmux's default TERM (screen: 8 colours), where blessed draws "gray" as SGR 30, black
      await t2.start(`cd ${ROOT} && TERM=screen ${process.execPath} ${BIN} dashboard dash.example --ip 192.0.2.99 --only blacklist,mx,dkim --resolver ${dns.address} --timeout 500ms --no-save; sleep 30`, 80, 24);
      const screen = await t2.waitFor(/verdict: FAIL[\s\S]*q: quit/);
      const lines = screen.split('\n');
      expect(lines[0]).toMatch(/^ verdict: FAIL/);
      expect(screen).toMatch(/q: quit · Tab: panel/);
      // the blacklist panel holds the grid of 20-odd lists: more than it shows, and it says so
      expect(screen).toMatch(/Blacklists \(\+\d+ more, Tab\)/);
      expect(await t2.captureEscapes()).not.toMatch(/\x1b\[(?:\d+;)*30m/);
      // Tab to the blacklist panel (findings → authentication → blacklists), End scrolls it to the bottom
      await t2.keys('Tab');
      await t2.keys('Tab');
      await t2.keys('End');
      const scrolled = await t2.waitFor(/Blacklists \(\d+ above\)/);
      expect(scrolled).toMatch(/LISTED = on the list/);
      await t2.keys('Home');
      await t2.waitFor(/Blacklists \(\+\d+ more\)/);
      // too small to be of use: say so, with the size needed
      await t2.resize(60, 15);
      await t2.waitFor(/terminal too small \(need 80×20, have 60×15\)/);
      await t2.resize(80, 24);
      await t2.waitFor(/verdict: FAIL/);
      // e asks where to write (never silently into the working directory); the file is written there once
      const file = path.join(dir, 'export.json');
      await t2.keys('e');
      await t2.waitFor(/Export the JSON report to/);
      await t2.keys('C-u');
      await t2.keys('-l', file);
      await t2.keys('Enter');
      await t2.waitFor(/exported JSON to/);
      const doc = JSON.parse(await readFile(file, 'utf8'));
      expect(doc.schemaVersion).toBe('1.0');
      // a second export to the same path leaves the first alone
      await t2.keys('e');
      await t2.waitFor(/Export the JSON report to/);
      await t2.keys('C-u');
      await t2.keys('-l', file);
      await t2.keys('Enter');
      await t2.waitFor(/export failed: .*EEXIST/);
      await t2.keys('q');
    } finally {
      await t2.kill();
    }
  });

  it('falls back to plain text without a TTY', async () => {
    const r = await runCli(['dashboard', 'dash.example', '--only', 'mx', '--resolver', dns.address, '--no-save']);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/Summary: FAIL/);
    expect(r.stdout).not.toMatch(/\x1b\[/); // no escape codes
  });
});
