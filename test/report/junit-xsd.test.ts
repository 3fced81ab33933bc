// --junit writes the Jenkins/GitLab dialect: every file inboxlens writes is
// validated by xmllint (libxml2, an independent implementation) against the
// Jenkins xUnit plugin's junit-10.xsd (fixtures/junit/), for runs with failures,
// warnings, an unknown check, skipped checks, placement rows and hostile text.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { FixtureDns } from '../../src/dns/fixture-server.ts';
import { ROOT, runCli } from '../helpers/cli.ts';
import { dnsArgs, startDns } from '../helpers/dns.ts';
import { renderJunit } from '../../src/report/junit.ts';
import type { Report } from '../../src/report/json.ts';

const XSD = path.join(ROOT, 'fixtures/junit/jenkins-junit-10.xsd');

/** xmllint's verdict on a file: '' when it validates, else what it said. */
function xmllint(file: string): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('xmllint', ['--noout', '--schema', XSD, file], (err, _out, stderr) => {
      if (err && (err as NodeJS.ErrnoException).code === 'ENOENT') reject(new Error('xmllint is missing: apt-get install libxml2-utils (scripts/setup.sh)'));
      else resolve(err ? stderr : stderr.includes('validates') ? '' : stderr);
    });
  });
}

let dns: FixtureDns;
let dir: string;
beforeAll(async () => {
  dns = await startDns({
    'junit.example': { MX: ['10 gone.junit.example'], TXT: ['v=spf1 ip4:192.0.2.1 ~all'] },
    // a record with a character XML 1.0 cannot carry (U+FFFE) and markup
    'hostile.junit.example': { MX: ['10 mx.hostile.junit.example'], TXT: ['v=spf1 include:\uFFFE<x>]]>"&.example -all'] },
    'mx.hostile.junit.example': { A: ['192.0.2.5'] },
  });
  dir = await mkdtemp(path.join(os.tmpdir(), 'inboxlens-junit-'));
});
afterAll(async () => {
  await dns?.stop();
  await rm(dir, { recursive: true, force: true });
});

describe('JUnit in the Jenkins/GitLab dialect', () => {
  it('the schema is the real one: xmllint rejects what it does not describe', async () => {
    const bad = path.join(dir, 'bad.xml');
    await writeFile(bad, '<?xml version="1.0"?>\n<testsuites><testsuite name="x" tests="1"><testcase classname="c"/></testsuite></testsuites>\n');
    const why = await xmllint(bad);
    expect(why).toMatch(/failures.*is required|errors.*is required/);
    expect(why).toMatch(/'name' is required/);
  });

  it('a check with failures, warnings, an unknown check and skipped checks validates; counts add up', async () => {
    const junit = path.join(dir, 'check.xml');
    const r = await runCli(['check', 'junit.example', 'slowmx.example', '--only', 'spf,mx,ptr', '--no-save', '--junit', junit, ...dnsArgs(dns, '300ms')]);
    expect(r.code).toBe(1);
    expect(await xmllint(junit)).toBe('');
    const xml = await readFile(junit, 'utf8');
    expect(xml).toMatch(/<failure message="MX gone\.junit\.example has no A or AAAA record" type="mx\.unresolvable">/);
    expect(xml).toMatch(/<error message="[^"]*" type="unknown"\/>/);
    // ptr needs --ip: a skipped testcase with the reason, not a silent gap
    expect(xml).toMatch(/<testcase classname="inboxlens\.ptr" name="ptr: skipped" time="0\.000">\s*<skipped message="[^"]+"\/>/);
    const root = /<testsuites [^>]*tests="(\d+)" failures="(\d+)" errors="(\d+)"/.exec(xml)!;
    expect(Number(root[1])).toBe(xml.match(/<testcase /g)!.length);
    expect(Number(root[2])).toBe(xml.match(/<failure /g)!.length);
    expect(Number(root[3])).toBe(xml.match(/<error /g)!.length);
    for (const c of xml.match(/<testcase [^>]*>/g)!) expect(c).toMatch(/ time="\d+\.\d{3}"/);
  }, 40_000);

  it('text XML cannot carry is replaced, so the file still validates (it did not)', async () => {
    const junit = path.join(dir, 'hostile.xml');
    const r = await runCli(['check', 'hostile.junit.example', '--only', 'spf', '--no-save', '--junit', junit, '--verbose', ...dnsArgs(dns)]);
    expect([0, 1, 3]).toContain(r.code);
    const xml = await readFile(junit, 'utf8');
    expect(xml).toContain('\uFFFD&lt;x&gt;]]&gt;&quot;&amp;.example');
    expect(xml).not.toContain('\uFFFE');
    expect(await xmllint(junit)).toBe('');
  }, 40_000);

  it('renderJunit replaces C0 controls, lone surrogates and U+FFFF; keeps tabs, line breaks and astral characters', async () => {
    const report = {
      schemaVersion: '1.0', tool: { name: 'inboxlens', version: '0' }, command: 'check', generatedAt: new Date().toISOString(), durationMs: 5,
      summary: { status: 'fail', exitCode: 1, findings: { error: 1, warn: 0, info: 0, pass: 0 }, checks: { pass: 0, warn: 0, fail: 1, unknown: 0 } },
      targets: [{ target: 'x.example', status: 'fail', ms: 5, checks: [{ check: 'spf', title: 'SPF', target: 'x.example', status: 'fail', ms: 5, findings: [
        { check: 'spf', code: 'spf.x', severity: 'error', summary: 'a\u0001b\uD800c\uFFFFd 📬', detail: 'tab\there\nnext line' },
      ] }] }],
    } as unknown as Report;
    const file = path.join(dir, 'unit.xml');
    const xml = renderJunit(report);
    await writeFile(file, xml);
    expect(await xmllint(file)).toBe('');
    expect(xml).toContain('message="a\uFFFDb\uFFFDc\uFFFDd 📬"');
    expect(xml).toContain('tab\there\nnext line');
  });

  it('placement rows (seeds that could not be reached) validate', async () => {
    const seeds = path.join(dir, 'seeds.yaml');
    await writeFile(seeds, 'seeds:\n  - address: a@example.com\n    imap: { host: 127.0.0.1, port: 1 }\n    auth: { user: u, pass: p }\n  - address: b@example.com\n    provider: gmail\n    pop3: { host: 127.0.0.1, port: 1 }\n    auth: { user: u, pass: p }\n');
    const junit = path.join(dir, 'placement.xml');
    const r = await runCli(['placement', 'collect', '--seeds', seeds, '--token', 'il-mkq3x1a0-3f9c2e71d4', '--timeout', '2s', '--no-save', '--junit', junit], { timeoutMs: 40_000 });
    expect([1, 3]).toContain(r.code);
    const xml = await readFile(junit, 'utf8');
    expect(xml).toMatch(/classname="inboxlens\.[^"]+\.placement"/);
    expect(await xmllint(junit)).toBe('');
  }, 50_000);
});
