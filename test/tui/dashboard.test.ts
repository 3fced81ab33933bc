// The dashboard, for real: under tmux at a fixed size, driven with send-keys.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, rm } from 'node:fs/promises';
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
      await t2.waitFor(/d: what changed/);
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

  it('falls back to plain text without a TTY', async () => {
    const r = await runCli(['dashboard', 'dash.example', '--only', 'mx', '--resolver', dns.address, '--no-save']);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/Summary: FAIL/);
    expect(r.stdout).not.toMatch(/\x1b\[/); // no escape codes
  });
});
