// `inboxlens reports import|show` end to end: the real CLI, a real history
// database, the fixture DNS server for DKIM keys and PTR names. The conformance
// folder is imported whole (counts and totals as Python's xml.etree computes
// them over the same files), again (nothing changes), shown as text, JSON
// (validated against schema/reports.schema.json) and NDJSON rows; authenticated
// and unauthenticated copies of one report id; broken files; --around.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtemp, rm, writeFile, mkdir } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { createRequire } from 'node:module';
import { dkimSign } from 'mailauth';
import { ROOT, runCli } from '../helpers/cli.ts';
import { dnsArgs, startDns } from '../helpers/dns.ts';
import type { FixtureDns } from '../../src/dns/fixture-server.ts';
import { HistoryStore } from '../../src/history/store.ts';

const require = createRequire(import.meta.url);
const Ajv2020 = require('ajv/dist/2020').default;
const addFormats = require('ajv-formats');
const ajv = new Ajv2020({ allErrors: true, strict: false });
addFormats(ajv);
const schema = JSON.parse(readFileSync(path.join(ROOT, 'schema/reports.schema.json'), 'utf8'));
const validateDoc = ajv.compile(schema);
const validateRow = ajv.compile({ ...schema, $id: 'rows', oneOf: undefined, $ref: '#/$defs/row' });
function valid(doc: unknown, v = validateDoc): void {
  const ok = v(doc);
  expect(ok ? [] : v.errors.map((e: any) => `${e.instancePath} ${e.message}`)).toEqual([]);
}

const CONF = path.join(ROOT, '../shared/conformance/dmarc-reports');
const PD = path.join(CONF, 'parsedmarc/samples');
let dns: FixtureDns;
let tmp: string;
let key: string;
const REPORTER = 'reporter.reports-test.example';

beforeAll(async () => {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  key = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  dns = await startDns({
    [`s1._domainkey.${REPORTER}`]: { TXT: [`v=DKIM1; k=rsa; p=${publicKey.export({ type: 'spki', format: 'der' }).toString('base64')}`] },
    // PTR names of two source IPs in the samples: a Google host and one without a service
    '69.220.85.209.in-addr.arpa': { PTR: ['mail-sor-f69.google.com'] },
    '123.2.0.192.in-addr.arpa': { PTR: ['mx.sample-reporter.example'] },
    // spf.reports-test.example sends through an ESP whose include authorizes 198.51.100.0/24, and from its own 192.0.2.25
    'spf.reports-test.example': { TXT: ['v=spf1 ip4:192.0.2.25 include:_spf.esp.reports-test.example -all'] },
    '_spf.esp.reports-test.example': { TXT: ['v=spf1 ip4:198.51.100.0/24 -all'] },
    'walkfails.reports-test.example': { behavior: 'servfail' },
  });
  tmp = await mkdtemp(path.join(tmpdir(), 'inboxlens-reports-test-'));
});
afterAll(async () => {
  await dns?.stop();
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

const db = (name: string) => ({ INBOXLENS_DB: path.join(tmp, `${name}.db`) });
const imp = (name: string, args: string[], env: NodeJS.ProcessEnv = {}) => runCli(['reports', 'import', ...args, ...dnsArgs(dns)], { env: { ...db(name), ...env }, timeoutMs: 120_000 });
const show = (name: string, args: string[]) => runCli(['reports', 'show', ...args], { env: db(name) });

function aggregateXml(o: { org: string; id: string; domain?: string; ip?: string; count: number; begin?: number }): string {
  const b = o.begin ?? 1700000000;
  return `<?xml version="1.0" encoding="UTF-8"?>
<feedback><version>1.0</version>
<report_metadata><org_name>${o.org}</org_name><email>noreply@${REPORTER}</email><report_id>${o.id}</report_id><date_range><begin>${b}</begin><end>${b + 86399}</end></date_range></report_metadata>
<policy_published><domain>${o.domain ?? 'shop.reports-test.example'}</domain><adkim>r</adkim><aspf>r</aspf><p>none</p><pct>100</pct></policy_published>
<record><row><source_ip>${o.ip ?? '198.51.100.7'}</source_ip><count>${o.count}</count><policy_evaluated><disposition>none</disposition><dkim>pass</dkim><spf>fail</spf></policy_evaluated></row>
<identifiers><header_from>${o.domain ?? 'shop.reports-test.example'}</header_from></identifiers>
<auth_results><dkim><domain>${o.domain ?? 'shop.reports-test.example'}</domain><result>pass</result></dkim><spf><domain>bounce.example</domain><result>pass</result></spf></auth_results></record>
</feedback>
`;
}

/** A report e-mail with the XML gzipped as an attachment, DKIM-signed by `d` (or not signed). */
async function reportMail(xml: string, o: { from?: string; d?: string } = {}): Promise<string> {
  const gz = zlib.gzipSync(Buffer.from(xml)).toString('base64').replace(/.{76}/g, '$&\r\n');
  const raw = [
    `From: noreply@${o.from ?? REPORTER}`,
    'To: dmarc@shop.reports-test.example',
    'Subject: Report domain: shop.reports-test.example',
    'Date: Tue, 14 Nov 2023 22:13:20 +0000',
    'Message-ID: <r1@reporter>',
    'MIME-Version: 1.0',
    'Content-Type: multipart/mixed; boundary="b1"',
    '',
    '--b1',
    'Content-Type: application/gzip; name="r.xml.gz"',
    'Content-Disposition: attachment; filename="r.xml.gz"',
    'Content-Transfer-Encoding: base64',
    '',
    gz,
    '--b1--',
    '',
  ].join('\r\n');
  if (!o.d) return raw;
  const s = await dkimSign(raw, { signatureData: [{ signingDomain: o.d, selector: 's1', privateKey: key }] } as any);
  expect(s.errors).toEqual([]);
  return s.signatures + raw;
}

describe('reports import + show over the conformance samples', () => {
  it('imports every readable report once, names each broken file, exits 1 with the counts', async () => {
    const r = await imp('conf', [CONF, '--json', '--no-resolve']);
    expect(r.code, r.stderr).toBe(1);
    const d = r.json();
    valid(d);
    expect(d.files).toBe(38);
    expect(d.reports).toEqual({ aggregate: 25, failure: 5, tls: 4 });
    // nice-input.xml .gz and .zip are the same report; the LF and CRLF LinkedIn failure reports one incident
    expect(d.outcomes).toEqual({ imported: 31, duplicate: 3, 'auth-upgraded': 0, replaced: 0, conflict: 0 });
    expect(d.failed).toBe(4);
    expect(d.problemKinds).toEqual({ 'invalid-xml': 2, 'invalid-utf8': 1, empty: 1 });
    expect(d.problems.map((p: any) => path.basename(p.where)).sort()).toEqual(['bad.com!example.com!1337140800!1337227200.xml', 'empty.xml', 'invalid_utf_8.xml', 'invalid_xml.xml']);
    expect(d.unauthenticated).toBe(34);
    expect(r.stderr).not.toMatch(/at .*\.ts:\d+/);
  });

  it('a second import stores nothing new (org + report id, the failure dedupe key)', async () => {
    const r = await imp('conf', [CONF, '--json', '--no-resolve']);
    expect(r.code).toBe(1);
    expect(r.json().outcomes).toEqual({ imported: 0, duplicate: 34, 'auth-upgraded': 0, replaced: 0, conflict: 0 });
    const h = HistoryStore.openReadOnly(path.join(tmp, 'conf.db'));
    try {
      const n = (t: string) => (h.sqlite.prepare(`SELECT count(*) AS n FROM ${t}`).get() as { n: number }).n;
      expect([n('dmarc_reports'), n('failure_reports'), n('tls_reports')]).toEqual([23, 4, 4]);
      expect(n('dmarc_records')).toBe(50 + 754 + 254 + 1 + 2286 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 2 + 1 + 2 + 1 + 1 + 20 + 20 + 1 + 1 + 1 + 1);
    } finally {
      h.close();
    }
  });

  it('show --json: the domain total, per source and per reporter, as the oracle counts them', async () => {
    const r = await show('conf', ['--domain', 'example.com', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const d = r.json();
    valid(d);
    expect(d.aggregate.reports).toBe(18);
    expect(d.aggregate.unauthenticated).toBe(18);
    expect(d.aggregate.total).toMatchObject({ messages: 214228, dkimAligned: 210217, spfAligned: 209146, dmarcPass: 210276, dkimPass: 210218, spfPass: 209953, sources: 3131, dispositions: { none: 212438, reject: 1667, pass: 123 } });
    expect(d.aggregate.sources.length).toBe(3131);
    expect(d.aggregate.sources.reduce((a: number, s: any) => a + s.messages, 0)).toBe(214228);
    const top = d.aggregate.sources[0];
    // 209.85.220.69 is in both copies of the Google report (org google.com and fred.com)
    expect(top).toMatchObject({ ip: '209.85.220.69', messages: 4506, ptrStatus: null, spoofing: false });
    expect(top.reporters).toEqual(['fred.com', 'google.com']);
    const r126 = d.aggregate.reporters.find((x: any) => x.org === '126.com');
    expect(r126).toMatchObject({ reports: 1, messages: 183934, dmarcPass: 182497 });
    // sources that never pass and are no known service: spoofing candidates
    expect(d.aggregate.spoofing.length).toBe(d.aggregate.sources.filter((s: any) => s.dmarcPass === 0).length);
    expect(d.aggregate.spoofing.every((s: any) => s.messages > 0)).toBe(true);
    expect(d.failure.reports).toBe(2);
    expect(d.failure.items.map((f: any) => [f.format, f.sourceIp]).sort()).toEqual([['arf', '10.10.10.10'], ['text', '203.0.113.68']]);
    expect(d.tls).toMatchObject({ reports: 2, total: { successful: 0, failed: 4 } });
    expect(d.tls.failures).toEqual(expect.arrayContaining([expect.objectContaining({ org: 'Example Inc.', resultType: 'validation-failure', receivingMx: 'example.com', failed: 3 })]));
    const y = (await show('conf', ['--domain', 'company-y.example', '--json'])).json();
    expect(y.tls).toMatchObject({ reports: 1, total: { successful: 5326, failed: 303 } });
    expect(y.aggregate.reports).toBe(0);
  });

  it('--since/--until: only reports whose date range overlaps the window', async () => {
    const d = (await show('conf', ['--domain', 'example.com', '--since', '2012-05-17', '--until', '2012-05-19', '--json'])).json();
    valid(d);
    expect(d.window).toEqual({ since: '2012-05-17T00:00:00.000Z', until: '2012-05-19T00:00:00.000Z' });
    expect(d.aggregate.reporters.map((x: any) => x.org).sort()).toEqual(['126.com', '163.com', 'yeah.net']);
    expect(d.aggregate.total.messages).toBe(183934 + 21679 + 92);
  });

  it('text and NDJSON views of the same data', async () => {
    const t = await show('conf', ['--domain', 'example.com', '--max-sources', '3']);
    expect(t.code).toBe(0);
    expect(t.stdout).toMatch(/DMARC aggregate: 18 report\(s\) from 16 reporter\(s\), 214228 message\(s\) from 3131 source IP\(s\)/);
    expect(t.stdout).toMatch(/209\.85\.220\.69/);
    expect(t.stdout).toMatch(/… 3128 more source\(s\)/);
    expect(t.stdout).toMatch(/Failing sources that are not yours/);
    expect(t.stdout).toMatch(/SMTP TLS reports \(mail delivered to example\.com's MX hosts\): 2 report\(s\)/);
    const n = await show('conf', ['--domain', 'example.com', '--ndjson']);
    const rows = n.stdout.trim().split('\n').map((l) => JSON.parse(l));
    for (const row of rows.slice(0, 50)) valid(row, validateRow);
    for (const row of rows.filter((x) => x.type !== 'source')) valid(row, validateRow);
    expect(rows.filter((x) => x.type === 'source').length).toBe(3131);
    expect(rows.at(-1)).toMatchObject({ type: 'total', messages: 214228, reports: 18, failureReports: 2, tlsReports: 2 });
  });
});

describe('authentication of report e-mails', () => {
  it('an authenticated copy replaces an unauthenticated one; a later unauthenticated one never shadows it', async () => {
    const dir = path.join(tmp, 'auth');
    await mkdir(dir, { recursive: true });
    await writeFile(path.join(dir, 'forged.xml'), aggregateXml({ org: 'Reporter', id: 'R-1', count: 999 }));
    await writeFile(path.join(dir, 'real.eml'), await reportMail(aggregateXml({ org: 'Reporter', id: 'R-1', count: 5 }), { d: REPORTER }));
    await writeFile(path.join(dir, 'forged-again.eml'), await reportMail(aggregateXml({ org: 'reporter', id: 'R-1', count: 777 })));
    const a = await imp('auth', [path.join(dir, 'forged.xml'), '--json', '--no-resolve']);
    expect(a.json().outcomes.imported).toBe(1);
    const b = await imp('auth', [path.join(dir, 'real.eml'), '--json', '--no-resolve']);
    expect(b.code, b.stderr).toBe(0);
    expect(b.json().outcomes).toMatchObject({ replaced: 1, imported: 0 });
    expect(b.json().notes.join()).toMatch(/DKIM-authenticated copy \(d=reporter\.reports-test\.example\)/);
    const c = await imp('auth', [path.join(dir, 'forged-again.eml'), '--json', '--no-resolve']);
    expect(c.json().outcomes).toMatchObject({ conflict: 1, imported: 0, replaced: 0 });
    expect(c.json().notes.join()).toMatch(/stored copy is DKIM-authenticated, so it is kept/);
    const t = await imp('auth', [path.join(dir, 'forged-again.eml'), '--no-resolve']);
    expect(t.stdout).toMatch(/1 conflict/);
    const d = (await show('auth', ['--domain', 'shop.reports-test.example', '--json'])).json();
    valid(d);
    // the authenticated copy's numbers, not the forged ones
    expect(d.aggregate).toMatchObject({ reports: 1, unauthenticated: 0, total: expect.objectContaining({ messages: 5 }) });
    expect(d.conflicts.map((x: any) => [x.outcome, x.offeredAuthenticated])).toEqual([['replaced', true], ['kept', false], ['kept', false]]);
  });

  it('the same content authenticated later upgrades the stored record; a signature not aligned with From does not count', async () => {
    const dir = path.join(tmp, 'auth2');
    await mkdir(dir, { recursive: true });
    const xml = aggregateXml({ org: 'Reporter', id: 'R-2', count: 3 });
    await writeFile(path.join(dir, 'a.xml'), xml);
    // signed by the reporter's domain, but sent From another domain: no alignment, no authentication
    await writeFile(path.join(dir, 'b.eml'), await reportMail(xml, { d: REPORTER, from: 'elsewhere.example' }));
    await writeFile(path.join(dir, 'c.eml'), await reportMail(xml, { d: REPORTER }));
    expect((await imp('auth2', [path.join(dir, 'a.xml'), '--json', '--no-resolve'])).json().outcomes.imported).toBe(1);
    const b = (await imp('auth2', [path.join(dir, 'b.eml'), '--json', '--no-resolve'])).json();
    expect(b.outcomes).toMatchObject({ duplicate: 1, 'auth-upgraded': 0 });
    expect(b.unauthenticated).toBe(1);
    const c = (await imp('auth2', [path.join(dir, 'c.eml'), '--json', '--no-resolve'])).json();
    expect(c.outcomes).toMatchObject({ 'auth-upgraded': 1 });
    expect(c.unauthenticated).toBe(0);
    const h = HistoryStore.openReadOnly(path.join(tmp, 'auth2.db'));
    try {
      expect(h.sqlite.prepare("SELECT dkim, dkim_domain, authenticated FROM dmarc_reports WHERE report_id = 'R-2'").get()).toEqual({ dkim: 'pass', dkim_domain: REPORTER, authenticated: 1 });
    } finally {
      h.close();
    }
  });
});

describe('broken input and bad arguments', () => {
  it('a DOCTYPE and a truncated gzip fail by name; the good file imports', async () => {
    const dir = path.join(tmp, 'broken');
    await mkdir(dir, { recursive: true });
    const good = aggregateXml({ org: 'Good', id: 'G-1', count: 2, domain: 'broken.reports-test.example' });
    await writeFile(path.join(dir, 'good.xml'), good);
    await writeFile(path.join(dir, 'doctype.xml'), good.replace('<feedback>', '<!DOCTYPE feedback [<!ENTITY x "y">]><feedback>'));
    const gz = zlib.gzipSync(Buffer.from(good));
    await writeFile(path.join(dir, 'cut.xml.gz'), gz.subarray(0, gz.length - 10));
    const r = await imp('broken', [dir, '--no-resolve']);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/1 new/);
    expect(r.stdout).toMatch(/doctype\.xml: refused: the document contains a <!DOCTYPE> declaration/);
    expect(r.stdout).toMatch(/cut\.xml\.gz: truncated gzip/);
    expect(r.stderr).toMatch(/2 input\(s\) could not be imported \((1 doctype, 1 truncated-gzip|1 truncated-gzip, 1 doctype)\); the others were imported/);
    const d = (await show('broken', ['--domain', 'broken.reports-test.example', '--json'])).json();
    expect(d.aggregate.total.messages).toBe(2);
    // --ndjson: one line a problem, then the summary
    const n = await imp('broken', [dir, '--no-resolve', '--ndjson']);
    expect(n.code).toBe(1);
    const rows = n.stdout.trim().split('\n').map((l) => JSON.parse(l));
    for (const row of rows) valid(row, validateRow);
    expect(rows.map((x) => x.type)).toEqual(['problem', 'problem', 'summary']);
    expect(rows[2]).toMatchObject({ failed: 2, outcomes: expect.objectContaining({ duplicate: 1 }) });
  });

  it('bad arguments exit 2 with one line and no work done', async () => {
    const cases: [string[], RegExp][] = [
      [['reports', 'show'], /--domain D is required/],
      [['reports', 'show', '--domain', 'example.com', '--around', 'last', '--since', '7d'], /either --around RUN or --since\/--until/],
      [['reports', 'show', '--domain', 'example.com', '--since', 'yesterday'], /--since: 'yesterday' is not a time/],
      [['reports', 'import', path.join(tmp, 'nope.xml')], /cannot read .*nope\.xml/],
      [['reports', 'import'], /give report files or folders, or --imap/],
      [['reports', 'import', '--imap', 'imaps://u:secret-pw@127.0.0.1/INBOX'], /do not put the password in the URL/],
      [['reports', 'import', '--imap', 'imap://u@mail.example.com/INBOX', '--imap-plaintext'], /not on loopback/],
      [['reports', 'import', '--imap', 'imaps://u@127.0.0.1/INBOX'], /INBOXLENS_IMAP_PASS is not set/],
      [['reports', 'import', CONF, '--move', 'Done'], /use it with --imap/],
    ];
    for (const [args, re] of cases) {
      const r = await runCli(args, { env: db('bad') });
      expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(2);
      expect(r.stderr).toMatch(re);
      expect(r.stderr).not.toMatch(/secret-pw/);
    }
  });
});

describe('PTR names and services: looked up after the import, cached, never during show', () => {
  it('import resolves new source IPs once; show reads the cache', async () => {
    const f = path.join(PD, 'extract_report/nice-input.xml');
    dns.counts.clear();
    const r = await imp('ptr', [f, path.join(PD, 'aggregate/rfc9990-sample.xml'), '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.json().resolved).toMatchObject({ resolved: 2 });
    expect(dns.counts.get('PTR 69.220.85.209.in-addr.arpa')).toBe(1);
    dns.counts.clear();
    const d = (await show('ptr', ['--domain', 'example.com', '--json'])).json();
    valid(d);
    expect(d.aggregate.sources.find((s: any) => s.ip === '209.85.220.69')).toMatchObject({ ptr: 'mail-sor-f69.google.com', service: 'Google', ptrStatus: 'ok' });
    expect(d.aggregate.sources.find((s: any) => s.ip === '192.0.2.123')).toMatchObject({ ptr: 'mx.sample-reporter.example', service: null });
    // show takes no DNS options and asks nothing
    expect([...dns.counts.keys()].filter((k) => k.startsWith('PTR'))).toEqual([]);
    // a second import looks up nothing again
    const again = await imp('ptr', [f, '--json']);
    expect(again.json().resolved).toEqual({ resolved: 0, noPtr: 0, failed: 0, left: 0 });
    expect(dns.counts.get('PTR 69.220.85.209.in-addr.arpa')).toBeUndefined();
  });
});

describe('sources the domain\'s SPF authorizes are the user\'s, even when they fail DMARC', () => {
  it('only the unauthorized failing source is spoofing; a failed SPF walk decides nothing', async () => {
    const dir = path.join(tmp, 'spf');
    await mkdir(dir, { recursive: true });
    const rec = (ip: string, n: number) => `<record><row><source_ip>${ip}</source_ip><count>${n}</count><policy_evaluated><disposition>none</disposition><dkim>fail</dkim><spf>fail</spf></policy_evaluated></row><identifiers><header_from>D</header_from></identifiers><auth_results><spf><domain>D</domain><result>fail</result></spf></auth_results></record>`;
    const xml = (domain: string, id: string) => `<?xml version="1.0"?><feedback><report_metadata><org_name>Rep</org_name><email>r@rep.example</email><report_id>${id}</report_id><date_range><begin>1700000000</begin><end>1700086399</end></date_range></report_metadata><policy_published><domain>${domain}</domain><p>none</p></policy_published>${[rec('198.51.100.7', 4), rec('192.0.2.25', 2), rec('203.0.113.9', 3)].join('').replaceAll('>D<', `>${domain}<`)}</feedback>`;
    await writeFile(path.join(dir, 'a.xml'), xml('spf.reports-test.example', 'S-1'));
    await writeFile(path.join(dir, 'b.xml'), xml('walkfails.reports-test.example', 'S-2'));
    const r = await imp('spf', [dir, '--json']);
    expect(r.code, r.stderr).toBe(0);
    valid(r.json());
    expect(r.json().spf).toEqual({ domains: 1, authorized: 2, unknown: ['walkfails.reports-test.example'] });
    const d = (await show('spf', ['--domain', 'spf.reports-test.example', '--json'])).json();
    valid(d);
    const by = Object.fromEntries(d.aggregate.sources.map((s: any) => [s.ip, s]));
    expect(by['198.51.100.7']).toMatchObject({ spfAuthorizedBy: '_spf.esp.reports-test.example', spoofing: false });
    expect(by['192.0.2.25']).toMatchObject({ spfAuthorizedBy: 'spf.reports-test.example', spoofing: false });
    expect(by['203.0.113.9']).toMatchObject({ spfAuthorizedBy: null, spoofing: true });
    expect(d.aggregate.spoofing.map((s: any) => s.ip)).toEqual(['203.0.113.9']);
    // unknown is not "authorizes nothing": nothing was recorded for the domain whose walk failed, so nothing is cleared either
    const w = (await show('spf', ['--domain', 'walkfails.reports-test.example', '--json'])).json();
    expect(w.aggregate.sources.every((s: any) => s.spfAuthorizedBy === null)).toBe(true);
  });

  it('a service is recognised from the PTR name or the SPF include name', async () => {
    const { serviceFor } = await import('../../src/reports/resolve.ts');
    expect([serviceFor('mail-sor-f69.google.com'), serviceFor('_spf.google.com'), serviceFor('spf.protection.outlook.com'), serviceFor('o1.ptr1234.sendgrid.net'), serviceFor('mx.sample-reporter.example')]).toEqual(['Google', 'Google', 'Microsoft', 'SendGrid', undefined]);
  });
});

describe('--around: the window of a saved before/after pair', () => {
  it('takes the span between the before and after runs', async () => {
    const file = path.join(tmp, 'around.db');
    expect((await imp('around', [CONF, '--no-resolve'])).code).toBe(1);
    const h = HistoryStore.open(file);
    const run = (at: string) => ({ schemaVersion: '1.0', tool: { name: 'inboxlens', version: 't' }, command: 'check', generatedAt: at, durationMs: 1, targets: [{ target: 'example.com', checks: [] }], summary: { status: 'pass', exitCode: 0, findings: { error: 0, warn: 0, info: 0 }, checks: 0 } }) as any;
    const before = h.save(run('2012-05-18T06:00:00.000Z'), 'before');
    const after = h.save(run('2012-05-18T18:00:00.000Z'), 'after');
    h.close();
    const d = (await show('around', ['--domain', 'example.com', '--around', 'last:after', '--json'])).json();
    valid(d);
    expect(d.window.around.before.id).toBe(before);
    expect(d.window.around.after.id).toBe(after);
    expect(d.window.since).toBe('2012-05-18T06:00:00.000Z');
    // the three reports of 2012-05-18 (126.com, yeah.net, 163.com) and none other
    expect(d.aggregate.total.messages).toBe(183934 + 21679 + 92);
    const same = (await show('around', ['--domain', 'example.com', '--around', `${before}..${after}`, '--json'])).json();
    expect(same.aggregate.total.messages).toBe(d.aggregate.total.messages);
    const fromBefore = (await show('around', ['--domain', 'example.com', '--around', before, '--json'])).json();
    expect(fromBefore.window.around.after.id).toBe(after);
  });
});
