// `placement run --dashboard` against the lab, at 80×24: the header names the run once
// it is saved, with its label (issue 14 QA: after a placement run the header showed no
// run id: "inboxlens placement run  goodsender.test   2.7 s   run …" is 93 columns, and
// the id was the part cut off; the label was never passed to the dashboard at all).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startLab, type Lab } from '../../src/lab/index.ts';
import { BIN, ROOT } from '../helpers/cli.ts';
import { Tmux } from '../helpers/tmux.ts';

let lab: Lab;
let dir: string;
beforeAll(async () => {
  lab = await startLab({ providers: ['gmail', 'outlook'], imapSeeds: 2, pop3Seeds: 0 });
  dir = mkdtempSync(path.join(os.tmpdir(), 'inboxlens-placement-dash-'));
});
afterAll(async () => {
  await lab?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('placement run --dashboard', () => {
  it('shows the saved run id (and label) in the header once the run is over', async () => {
    const s = lab.senders.good;
    const db = path.join(dir, 'h.db');
    const args = [
      'placement', 'run', '--dashboard', '--seeds', lab.seedsFile, '--from', s.from, '--envelope-from', s.envelopeFrom, '--smtp', lab.smtpUrl, '--smtp-ca', lab.caFile,
      '--resolver', lab.dns.address, '--dns-timeout', '1s', '--retries', '1', '--timeout', '20s', '--db', db, '--label', 'campaign-a',
    ];
    const term = new Tmux();
    try {
      await term.start(`cd ${ROOT} && NO_COLOR=1 ${process.execPath} ${BIN} ${args.map((a) => `'${a}'`).join(' ')}; echo "EXIT=$?"; sleep 60`, 80, 24);
      const screen = await term.waitFor(/done in/, 90_000);
      const header = screen.split('\n').find((l) => /verdict:/.test(l)) ?? '';
      expect(header, screen).toMatch(/run \d{8}-\d{6}-[0-9a-f]{6} \(campaign-a\)/);
      await term.keys('q');
      const after = await term.waitFor(/EXIT=\d+/, 30_000);
      const id = /saved as run (\S+)/.exec(after)?.[1];
      expect(id, after).toBeTruthy();
      expect(header).toContain(id!);
    } finally {
      await term.kill();
    }
  }, 180_000);
});
