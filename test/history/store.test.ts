// History, diff, baselines, JUnit/Markdown and the config file, end to end
// through the real CLI against the fixture DNS server.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, writeFile, readFile, rm } from 'node:fs/promises';
import { DatabaseSync } from 'node:sqlite';
import os from 'node:os';
import path from 'node:path';
import type { FixtureDns } from '../../src/dns/fixture-server.ts';
import { runCli } from '../helpers/cli.ts';
import { dnsArgs, startDns } from '../helpers/dns.ts';
import { validateReport } from '../../src/report/validate.ts';

let dns: FixtureDns;
let dir: string;
beforeAll(async () => {
  dns = await startDns({ 'hist.example': { MX: ['10 mx.hist.example'] }, 'mx.hist.example': { A: ['192.0.2.80'] } });
  dir = await mkdtemp(path.join(os.tmpdir(), 'inboxlens-hist-'));
});
afterAll(async () => {
  await dns?.stop();
  await rm(dir, { recursive: true, force: true });
});

const check = (db: string, ...extra: string[]) => runCli(['check', 'hist.example', '--only', 'mx', '--db', db, ...dnsArgs(dns), ...extra]);

describe('history and diff', () => {
  it('saves runs, lists them, and diffs before/after', async () => {
    const db = path.join(dir, 'h1.db');
    dns.set('hist.example', 'MX', ['10 mx.hist.example']);
    const before = await check(db, '--label', 'before', '--json');
    expect(before.code).toBe(0);
    const b = before.json();
    expect(b.runId).toBeTruthy();
    expect(b.label).toBe('before');

    // the MX host loses its address: a new error appears after the "send"
    dns.set('hist.example', 'MX', ['10 gone.hist.example']);
    const after = await check(db, '--label', 'after', '--json', '--against', 'last:before');
    expect(after.code).toBe(1);
    const a = after.json();
    expect(validateReport(a)).toEqual([]);
    expect(a.comparison.regressions.join('\n')).toMatch(/mx\.unresolvable/);
    expect(a.comparison.targets[0].added.map((f: any) => f.code)).toContain('mx.unresolvable');
    expect(a.comparison.targets[0].resolved.map((f: any) => f.code)).toEqual([]);

    const hist = await runCli(['history', '--db', db, '--json']);
    expect(hist.code).toBe(0);
    const runs = hist.json().runs;
    expect(runs.map((r: any) => r.label)).toEqual(['after', 'before']);

    const d = await runCli(['diff', b.runId, a.runId, '--db', db, '--json']);
    expect(d.code).toBe(0);
    expect(d.json().targets[0].added[0].code).toBe('mx.unresolvable');
    const dr = await runCli(['diff', 'last:before', 'last:after', '--db', db, '--fail-on-regression']);
    expect(dr.code).toBe(1);
    expect(dr.stdout).toMatch(/regression/);
    expect(dr.stdout).toMatch(/gone\.hist\.example/);
    const human = await runCli(['history', '--db', db]);
    expect(human.stdout).toMatch(/before/);
  });

  it('--baseline fails only on regressions, and --no-save writes nothing', async () => {
    const db = path.join(dir, 'h2.db');
    dns.set('hist.example', 'MX', ['10 gone.hist.example']);
    const base = await check(db, '--json');
    expect(base.code).toBe(1); // the error exists already
    const again = await check(db, '--json', '--baseline', base.json().runId);
    expect(again.code).toBe(0); // ... but it is no regression against the baseline
    expect(again.json().summary.exitCode).toBe(0);
    const file = path.join(dir, 'baseline.json');
    dns.set('hist.example', 'MX', ['10 mx.hist.example']);
    const good = await check(db, '--json', '--no-save');
    expect(good.json().runId).toBeUndefined();
    await writeFile(file, good.stdout);
    dns.set('hist.example', 'MX', ['10 gone.hist.example']);
    const worse = await check(db, '--json', '--baseline', file);
    expect(worse.code).toBe(1);
    const list = (await runCli(['history', '--db', db, '--json'])).json().runs;
    expect(list).toHaveLength(3); // base, again, worse: the --no-save run is not there
  });

  it('--baseline without the current target: every finding of the target is new', async () => {
    const db = path.join(dir, 'h-base-other.db');
    // a baseline of another domain only, with nothing wrong in it
    dns.set('hist.example', 'MX', ['10 mx.hist.example']);
    const good = await check(db, '--json', '--no-save');
    expect(good.code).toBe(0);
    const doc = good.json();
    doc.targets = doc.targets.map((t: any) => ({ ...t, target: 'other.example' }));
    const file = path.join(dir, 'baseline-other.json');
    await writeFile(file, JSON.stringify(doc));
    dns.set('hist.example', 'MX', ['10 gone.hist.example']);
    const r = await check(db, '--json', '--no-save', '--baseline', file);
    // before: nothing "ran both times", so nothing was new and the error passed as exit 0
    expect(r.code, r.stderr).toBe(1);
    const cmp = r.json().comparison;
    const t = cmp.targets.find((x: any) => x.target === 'hist.example');
    expect(t.statusBefore).toBe('absent');
    expect(t.added.map((f: any) => f.code)).toContain('mx.unresolvable');
    expect(cmp.regressions.join('\n')).toMatch(/hist\.example: new error mx\.unresolvable/);
    // and the baseline's own target, absent now, resolves nothing: it was not looked at
    expect(cmp.targets.find((x: any) => x.target === 'other.example').resolved).toEqual([]);
  });

  it('--against last and diff last~1 last pick the last run of the same command and target', async () => {
    const db = path.join(dir, 'h-last.db');
    dns.set('hist.example', 'MX', ['10 mx.hist.example']);
    const first = await check(db, '--json', '--label', 'first');
    expect(first.code).toBe(0);
    // a run of another command for the same target, saved after it (an smtp probe of hist.example)
    const { HistoryStore } = await import('../../src/history/store.ts');
    const store = HistoryStore.open(db);
    const other = { ...first.json(), command: 'smtp', generatedAt: new Date(Date.parse(first.json().generatedAt) + 1).toISOString() };
    delete other.runId;
    const smtpId = store.save(other, 'smtp-run');
    store.close();
    const again = await check(db, '--json', '--against', 'last');
    expect(again.code).toBe(0);
    // before: the smtp run, the newest of any command
    expect(again.json().comparison.before.id).toBe(first.json().runId);
    expect(again.json().comparison.before.id).not.toBe(smtpId);
    const d = await runCli(['diff', 'last~1', 'last', '--db', db, '--json']);
    expect(d.code, d.stderr).toBe(0);
    expect(d.json().before.id).toBe(first.json().runId);
    expect(d.json().after.id).toBe(again.json().runId);
    // no earlier run of the kind: said so, naming the kind
    const none = await runCli(['blacklist', '192.0.2.1', '--no-save', '--db', db, '--against', 'last', ...dnsArgs(dns)]);
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/no saved run matches 'last' among blacklist runs for 192\.0\.2\.1/);
  });

  it('concurrent runs writing one database lose nothing', async () => {
    const db = path.join(dir, 'h3.db');
    dns.set('hist.example', 'MX', ['10 mx.hist.example']);
    const results = await Promise.all(Array.from({ length: 6 }, (_, i) => check(db, '--label', `p${i}`, '--json')));
    expect(results.map((r) => r.code)).toEqual([0, 0, 0, 0, 0, 0]);
    const runs = (await runCli(['history', '--db', db, '--json', '--limit', '100'])).json().runs;
    expect(runs.map((r: any) => r.label).sort()).toEqual(['p0', 'p1', 'p2', 'p3', 'p4', 'p5']);
  });

  it('a corrupt or foreign database is a clear input error', async () => {
    const junk = path.join(dir, 'junk.db');
    await writeFile(junk, 'this is not a database at all, just text\n'.repeat(10));
    const r = await check(junk);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/not an SQLite database/);
    expect(r.stderr).not.toMatch(/at .*\.ts:\d+/); // no stack trace
    const foreign = path.join(dir, 'foreign.db');
    const fdb = new DatabaseSync(foreign);
    fdb.exec('CREATE TABLE invoices (id INTEGER PRIMARY KEY, total REAL)');
    fdb.close();
    const f = await check(foreign);
    expect(f.code).toBe(2);
    expect(f.stderr).toMatch(/another program/);
    // the default location cannot be created (HOME is a file): the check still runs, unsaved, with a warning
    const noHome = await runCli(['check', 'hist.example', '--only', 'mx', ...dnsArgs(dns)], { env: { HOME: junk, XDG_DATA_HOME: '', INBOXLENS_DB: '' } });
    expect(noHome.code).toBe(0);
    expect(noHome.stderr).toMatch(/warning: runs are not saved/);
    const missing = await runCli(['diff', 'nope', 'last', '--db', path.join(dir, 'h1.db')]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/no saved run with id 'nope'/);
  });

  it('history and diff only read: without a database they say so and create none', async () => {
    const none = path.join(dir, 'never-written.db');
    const list = await runCli(['history', '--db', none]);
    expect(list.code).toBe(0);
    expect(list.stdout).toMatch(/No saved runs: there is no history database at .*never-written\.db yet/);
    const json = await runCli(['history', '--db', none, '--json']);
    expect(json.json()).toEqual({ schemaVersion: '1.0', db: none, runs: [] });
    const d = await runCli(['diff', 'last~1', 'last', '--db', none]);
    expect(d.code).toBe(2);
    expect(d.stderr).toMatch(/there is no history database at .*never-written\.db yet/);
    await expect(readFile(none)).rejects.toMatchObject({ code: 'ENOENT' });
  });
});

describe('CI outputs', () => {
  it('writes JUnit (errors as failures) and Markdown', async () => {
    dns.set('hist.example', 'MX', ['10 gone.hist.example']);
    const junit = path.join(dir, 'r.xml');
    const md = path.join(dir, 'r.md');
    const r = await check(path.join(dir, 'ci.db'), '--junit', junit, '--markdown', md);
    expect(r.code).toBe(1);
    const xml = await readFile(junit, 'utf8');
    expect(xml).toMatch(/<testsuites[^>]*failures="1"/);
    expect(xml).toMatch(/<failure message="MX gone\.hist\.example has no A or AAAA record" type="mx\.unresolvable">/);
    const m = await readFile(md, 'utf8');
    expect(m).toMatch(/## inboxlens check: ❌ fail/);
    expect(m).toMatch(/`mx\.unresolvable`/);
  });

  it('--markdown appends (as to $GITHUB_STEP_SUMMARY) and escapes what CommonMark would take for HTML; every JUnit testcase has a time', async () => {
    dns.set('nospf.hist.example', 'MX', ['10 mx.hist.example']);
    const md = path.join(dir, 'summary.md');
    const junit = path.join(dir, 't.xml');
    await writeFile(md, '# an earlier step wrote this\n');
    const args = ['check', 'nospf.hist.example', '--only', 'spf,mx', '--no-save', '--markdown', md, '--junit', junit, ...dnsArgs(dns)];
    expect((await runCli(args)).code).toBe(1);
    expect((await runCli(args)).code).toBe(1);
    const m = await readFile(md, 'utf8');
    expect(m.startsWith('# an earlier step wrote this\n')).toBe(true);
    expect(m.match(/## inboxlens check/g)).toHaveLength(2);
    expect(m).toContain('ip4:&lt;your sending IPs&gt;');
    expect(m).not.toMatch(/<your sending IPs>/);
    const xml = await readFile(junit, 'utf8');
    const cases = xml.match(/<testcase [^>]*>/g)!;
    expect(cases.length).toBeGreaterThan(1);
    for (const c of cases) expect(c).toMatch(/ time="\d+\.\d{3}"/);
  });

  it('reports an unknown check as a JUnit error, not a pass', async () => {
    const junit = path.join(dir, 'u.xml');
    const r = await runCli(['check', 'slowmx.example', '--only', 'mx', '--no-save', '--junit', junit, ...dnsArgs(dns, '200ms')]);
    expect(r.code).toBe(3);
    expect(await readFile(junit, 'utf8')).toMatch(/<error message="[^"]*TIMEOUT[^"]*" type="unknown"\/>/);
  });
});

describe('config file', () => {
  it('supplies the domain and options; flags override; errors name the key', async () => {
    const cfgDir = await mkdtemp(path.join(dir, 'cfg-'));
    dns.set('hist.example', 'MX', ['10 mx.hist.example']);
    await writeFile(path.join(cfgDir, 'inboxlens.config.yaml'), `domain: hist.example\nonly: [mx]\nresolver: ${dns.address}\ntimeout: 400ms\nfailOn: warn\ndb: ./h.db\nlabel: from-config\n`);
    const sub = path.join(cfgDir, 'a', 'b');
    await (await import('node:fs/promises')).mkdir(sub, { recursive: true });
    const r = await runCli(['check', '--json'], { cwd: sub });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const doc = r.json();
    expect(doc.targets[0].target).toBe('hist.example');
    expect(doc.label).toBe('from-config');
    const over = await runCli(['check', '--json', '--label', 'flag'], { cwd: sub });
    expect(over.json().label).toBe('flag');

    await writeFile(path.join(cfgDir, 'bad.yaml'), 'domain: hist.example\nips: [192.0.2.1, not-an-ip]\n');
    const bad = await runCli(['check', '--config', path.join(cfgDir, 'bad.yaml')]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/ips\[1\]: 'not-an-ip' is not an IPv4 or IPv6 address/);
    await writeFile(path.join(cfgDir, 'typo.yaml'), 'domian: hist.example\n');
    const typo = await runCli(['check', '--config', path.join(cfgDir, 'typo.yaml')]);
    expect(typo.code).toBe(2);
    expect(typo.stderr).toMatch(/unknown key 'domian'/);
    await writeFile(path.join(cfgDir, 'secret.yaml'), 'domain: hist.example\nsecrets:\n  INBOXLENS_SMTP_PASS: hunter2-literal\n');
    const lit = await runCli(['check', '--config', path.join(cfgDir, 'secret.yaml')]);
    expect(lit.code).toBe(2);
    expect(lit.stderr).toMatch(/environment reference/);
    expect(lit.stderr).not.toMatch(/hunter2/);
  });
});
