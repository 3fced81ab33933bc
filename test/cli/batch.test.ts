// `check --domains-file`: NDJSON, one versioned document per domain as each finishes,
// bad lines reported in place, exit codes combined; run through the real CLI
// (which runs a batch in a child process with a bounded heap).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, writeFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { FixtureDns } from '../../src/dns/fixture-server.ts';
import { runCli } from '../helpers/cli.ts';
import { dnsArgs, startDns } from '../helpers/dns.ts';
import { validateReport } from '../../src/report/validate.ts';
import { BATCH_SELECTORS } from '../../src/dkim/selectors.ts';

let dns: FixtureDns;
let dir: string;
beforeAll(async () => {
  dns = await startDns();
  dir = await mkdtemp(path.join(os.tmpdir(), 'inboxlens-batch-'));
});
afterAll(async () => {
  await dns?.stop();
  await rm(dir, { recursive: true, force: true });
});

describe('check --domains-file', () => {
  it('streams one valid JSON document per domain and reports a bad line in its place', async () => {
    const file = path.join(dir, 'domains.txt');
    await writeFile(file, '# customer domains\ngood.example\n\nnullmx.example   # a comment\nnot a domain\nnomx.example\n');
    const r = await runCli(['check', '--domains-file', file, '--only', 'mx,dkim', '--no-save', '--jobs', '2', ...dnsArgs(dns)]);
    const lines = r.stdout.trim().split('\n');
    expect(lines).toHaveLength(4);
    const docs = lines.map((l) => JSON.parse(l));
    for (const d of docs) expect(validateReport(d)).toEqual([]);
    const by = new Map(docs.map((d) => [d.targets[0].target, d]));
    expect(by.get('good.example').summary.exitCode).toBe(3); // dkim: no key among the guessed selectors is unknown
    expect(by.get('nullmx.example').targets[0].checks.find((c: any) => c.check === 'mx').findings[0].code).toBe('mx.null');
    const bad = by.get('not a domain');
    expect(bad.summary.exitCode).toBe(2);
    expect(bad.targets[0].error).toMatch(/line 5/);
    // a batch guesses the short selector list unless --dkim-guess is given
    const dkim = by.get('good.example').targets[0].checks.find((c: any) => c.check === 'dkim');
    expect(dkim.reason).toContain(`${BATCH_SELECTORS.length} guessed selectors`);
    expect(r.code).toBe(2); // input error outranks findings and unknowns
  });

  it('--dkim-guess in a batch guesses the full list; an unreadable file is exit 2', async () => {
    const file = path.join(dir, 'one.txt');
    await writeFile(file, 'good.example\n');
    const r = await runCli(['check', '--domains-file', file, '--only', 'dkim', '--dkim-guess', '--no-save', ...dnsArgs(dns)]);
    const doc = JSON.parse(r.stdout.trim());
    expect(doc.targets[0].checks[0].reason).not.toContain(`${BATCH_SELECTORS.length} guessed`);
    const missing = await runCli(['check', '--domains-file', path.join(dir, 'nope.txt'), '--no-save', ...dnsArgs(dns)]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/--domains-file: cannot read/);
  });
});
