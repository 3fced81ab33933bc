// The report parsers over parsedmarc's and OpenDMARC's samples (../shared/conformance/dmarc-reports):
// record counts and message totals as Python's xml.etree counts them (the
// oracle: an independent parser), the malformed samples refused with the reason
// and the place, and the containers (gzip, zip, eml, mbox) unpacked.
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { ROOT } from '../helpers/cli.ts';
import { parseAggregate } from '../../src/reports/aggregate.ts';
import { parseTlsReport } from '../../src/reports/tlsrpt.ts';
import { unpack, splitMbox, DEFAULT_LIMITS } from '../../src/reports/unpack.ts';
import type { AggregateReport, FailureReport, TlsReport } from '../../src/reports/types.ts';
import { makeZip } from '../helpers/zip.ts';

const CONF = path.join(ROOT, '../shared/conformance/dmarc-reports');
const PD = path.join(CONF, 'parsedmarc/samples');
const read = (p: string) => readFileSync(p);
const agg = (p: string) => parseAggregate(read(p));
const total = (r: AggregateReport) => r.records.reduce((a, x) => a + x.count, 0);
const un = (b: Buffer, where = 'test') => unpack(b, where, { limits: DEFAULT_LIMITS, source: where });

describe('aggregate reports: counts and totals (oracle: Python xml.etree over the same files)', () => {
  const cases: [string, string, number, number][] = [
    ['opendmarc/163.com!example.com!1337270400!1337356799.20120518163.xml', 'draft', 50, 92],
    ['opendmarc/good.com!example.com!1337270400!1337356799.xml', 'draft', 754, 183934],
    ['opendmarc/yeah.net!example.com!1337270400!1337356799.20120518.xml', 'draft', 254, 21679],
    ['parsedmarc/samples/aggregate/!large-example.com!1711897200!1711983600.xml', 'draft', 2286, 2286],
    ['parsedmarc/samples/aggregate/empty_reason.xml', 'rfc7489', 1, 2],
    ['parsedmarc/samples/aggregate/old_draft_from_wiki.xml', 'draft', 1, 2],
    ['parsedmarc/samples/aggregate/rfc9990-example.net!example.com!1700000000!1700086399.xml', 'rfc9990', 2, 7],
    ['parsedmarc/samples/aggregate/rfc9990-sample.xml', 'rfc9990', 1, 123],
    ['parsedmarc/samples/aggregate/usssa.com!example.com!1538784000!1538870399.xml', 'rfc7489', 2, 2],
    ['parsedmarc/samples/extract_report/nice-input.xml', 'draft', 20, 3047],
  ];
  for (const [file, schema, records, messages] of cases) {
    it(`${path.basename(file)}: ${records} records, ${messages} messages, ${schema}`, () => {
      const r = agg(path.join(CONF, file));
      expect(r.schema).toBe(schema);
      expect(r.records.length).toBe(records);
      expect(total(r)).toBe(messages);
    });
  }

  it('good.com (126.com): SPF/DKIM pass and aligned totals and dispositions match the oracle', () => {
    const r = agg(path.join(CONF, 'opendmarc/good.com!example.com!1337270400!1337356799.xml'));
    const sum = (f: (x: AggregateReport['records'][number]) => boolean) => r.records.filter(f).reduce((a, x) => a + x.count, 0);
    expect(r.org).toBe('126.com');
    expect(r.policy).toMatchObject({ domain: 'example.com', p: 'reject', adkim: 'r' });
    // 1337270400.0: a Unix time written as a float
    expect(r.begin).toBe(1337270400);
    expect(sum((x) => x.dkimAligned)).toBe(182489);
    expect(sum((x) => x.spfAligned)).toBe(182330);
    expect(sum((x) => x.dkimAligned || x.spfAligned)).toBe(182497);
    expect(sum((x) => x.dkimPass)).toBe(182489);
    expect(sum((x) => x.spfPass)).toBe(182363);
    expect(sum((x) => x.disposition === 'reject')).toBe(1445);
    expect(new Set(r.records.map((x) => x.sourceIp)).size).toBe(749);
  });

  it('RFC 9990: the namespace, np, testing, discovery_method and the "pass" disposition are read', () => {
    const r = agg(path.join(PD, 'aggregate/rfc9990-sample.xml'));
    expect(r.policy).toMatchObject({ domain: 'example.com', p: 'quarantine', np: 'none', testing: 'n', discoveryMethod: 'treewalk' });
    expect(r.generator).toBe('Example DMARC Aggregate Reporter v1.2');
    expect(r.records[0]).toMatchObject({ sourceIp: '192.0.2.123', disposition: 'pass', dkimAligned: true, spfAligned: false });
    const e = agg(path.join(PD, 'aggregate/rfc9990-example.net!example.com!1700000000!1700086399.xml'));
    expect(e.records[1]!.reasons).toEqual([expect.objectContaining({ type: 'other' })]);
  });

  it('odd forms: an empty org_name (taken from <email>), an <xs:schema> wrapper, upper-case values, empty <reason>', () => {
    const noOrg = agg(path.join(PD, 'aggregate/!example.com!1538204542!1538463818.xml'));
    expect(noOrg.org).toBe('accurateplastics.com');
    expect(noOrg.warnings.join()).toMatch(/org_name/);
    const ikea = agg(path.join(PD, 'aggregate/ikea.com!example.de!1538690400!1538776800.xml'));
    expect(ikea.policy.domain).toBe('example.de');
    expect(ikea.records[0]!.spf[0]).toEqual({ domain: 'mailrelay.com', scope: 'helo', result: 'none' });
    const upper = agg(path.join(PD, 'aggregate_invalid/report_with_upper_cased_pass.xml'));
    expect(upper.records[0]).toMatchObject({ disposition: 'none', dkimAligned: true, spfAligned: true, dkimPass: true, spfPass: true });
    expect(upper.warnings.join()).toMatch(/upper case/);
    expect(agg(path.join(PD, 'aggregate/empty_reason.xml')).records[0]!.reasons).toEqual([]);
  });

  it('OpenDMARC bad.com: a prefixed namespace and windows-1252 decode, then the broken element is refused with its place', () => {
    expect(() => agg(path.join(CONF, 'opendmarc/bad.com!example.com!1337140800!1337227200.xml'))).toThrow(/invalid XML at line 6, column \d+/);
  });

  it('the malformed samples are refused with the reason: invalid XML, invalid UTF-8 (with its offset), empty', () => {
    expect(() => agg(path.join(PD, 'aggregate/invalid_xml.xml'))).toThrow(expect.objectContaining({ kind: 'invalid-xml', message: expect.stringMatching(/line 5/) }));
    expect(() => agg(path.join(PD, 'aggregate/invalid_utf_8.xml'))).toThrow(expect.objectContaining({ kind: 'invalid-utf8', message: expect.stringMatching(/0x91 at offset 706 \(line 31\)/) }));
    expect(() => agg(path.join(PD, 'empty.xml'))).toThrow(expect.objectContaining({ kind: 'empty' }));
  });

  it('a DOCTYPE or entity declaration is refused before parsing (no entity is ever expanded)', () => {
    const bomb = `<?xml version="1.0"?>\n<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;">]>\n<feedback><report_metadata><org_name>&lol2;</org_name></report_metadata></feedback>`;
    expect(() => parseAggregate(Buffer.from(bomb))).toThrow(expect.objectContaining({ kind: 'doctype' }));
    const xxe = `<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]><feedback/>`;
    expect(() => parseAggregate(Buffer.from(xxe))).toThrow(/DOCTYPE/);
  });

  it('the predefined entities and character references are decoded (entities off does not mean &amp; stays)', () => {
    const x = readFileSync(path.join(PD, 'aggregate/example.net!example.com!1529366400!1529452799.xml'), 'utf8').replace(/<org_name>[^<]*</, '<org_name>A&amp;B &#x263A;<');
    expect(parseAggregate(Buffer.from(x)).org).toBe('A&B ☺');
  });

  it('element names that are Object properties are only names (__proto__, constructor, toString)', () => {
    const x = readFileSync(path.join(PD, 'aggregate/example.net!example.com!1529366400!1529452799.xml'), 'utf8').replace('<report_metadata>', '<report_metadata><__proto__><report_id>forged</report_id></__proto__><constructor>x</constructor><toString>y</toString>');
    const r = parseAggregate(Buffer.from(x));
    expect(r.reportId).toBe('b043f0e264cf4ea995e93765242f6dfb');
    expect(({} as any).report_id).toBeUndefined();
    const noId = x.replace(/<report_id>b043f0e264cf4ea995e93765242f6dfb<\/report_id>/, '');
    // the forged id inside <__proto__> must not stand in for the missing one
    expect(() => parseAggregate(Buffer.from(noId))).toThrow(/has no <report_id>/);
  });

  it('a document that is no aggregate report says what its root is', () => {
    expect(() => parseAggregate(Buffer.from('<?xml version="1.0"?><svg/>'))).toThrow(/root element is <svg>/);
  });
});

describe('containers', () => {
  it('gzip, zip and plain XML of the same report give the same report', async () => {
    const plain = agg(path.join(PD, 'extract_report/nice-input.xml'));
    for (const f of ['nice-input.xml.gz', 'nice-input.xml.zip']) {
      const r = await un(read(path.join(PD, 'extract_report', f)));
      expect(r.problems).toEqual([]);
      expect(r.found.map((x) => x.report)).toEqual([plain]);
    }
  });

  it('report e-mails: zip and gzip attachments (Mimecast\'s gzip with a trailing line break), a zip file', async () => {
    for (const [f, id, n] of [
      ['aggregate/twilight.eml', '1627703331531660819', 'google.com'],
      ['aggregate/Report domain- borschow.com Submitter- google.com Report-ID- 949348866075514174.eml', '949348866075514174', 'google.com'],
      ['aggregate/mimecast-weird-gzip.eml', '157a5fe30ec76f4bc0d8bccfc96c118a167a1280fee7c7465af5115e73082e5e', 'mimecast'],
      ['aggregate/estadocuenta1.infonacot.gob.mx!example.com!1536853302!1536939702!2940.xml.zip', '2940', 'xyz corporation'],
      ['aggregate/fastmail.com!example.com!1516060800!1516147199!102675056.xml.gz', '102675056', 'fastmail pty ltd'],
    ] as const) {
      const r = await un(read(path.join(PD, f)));
      expect(r.problems, f).toEqual([]);
      expect(r.found.length, f).toBe(1);
      expect((r.found[0]!.report as AggregateReport).reportId).toBe(id);
      expect((r.found[0]!.report as AggregateReport).org.toLowerCase()).toBe(n);
      // files and e-mails without a verifier are unauthenticated
      expect(r.found[0]!.auth.authenticated).toBe(false);
    }
  });

  it('failure reports: ARF (with its fields), plain-text (Exim), and one dedupe key for the CRLF and LF copies', async () => {
    const f = async (name: string) => {
      const r = await un(read(path.join(PD, 'failure', name)));
      expect(r.problems, name).toEqual([]);
      expect(r.found.length, name).toBe(1);
      return r.found[0]!.report as FailureReport;
    };
    const de = await f('DMARC Failure Report for domain.de (mail-from=sharepoint@domain.de, ip=10.10.10.10).eml');
    expect(de).toMatchObject({ kind: 'failure', format: 'arf', domain: 'domain.de', sourceIp: '10.10.10.10', feedbackType: 'auth-failure', authFailure: 'dmarc', originalMailFrom: 'sharepoint@domain.de', deliveryResult: 'smg-policy-action', reporter: 'domain.de' });
    const netease = await f('[Netease DMARC Failure Report] Rent Reminder.eml');
    expect(netease).toMatchObject({ format: 'arf', domain: 'cardinal.com', sourceIp: '167.89.69.24', reporter: '163.com', subject: 'Rent Reminder', dkimDomain: 'entrata.com' });
    const lf = await f('dmarc_ruf_report_linkedin.eml');
    const crlf = await f('dmarc_ruf_report_linkedin.crlf.eml');
    expect(lf).toMatchObject({ format: 'arf', domain: 'example.com', sourceIp: '10.10.10.10', arrival: '2019-04-30T02:09:00.000Z', reporter: 'linkedin.com', originalRcptTo: 'recipient@linkedin.com' });
    expect(crlf.dedupeKey).toBe(lf.dedupeKey);
    expect(netease.dedupeKey).not.toBe(lf.dedupeKey);
    const exim = await f('exim_plain_text_only_no_arf_part.eml');
    expect(exim).toMatchObject({ format: 'text', domain: 'example.com', sourceIp: '203.0.113.68', arrival: '2025-04-07T21:16:09.000Z', messageId: '<134117F8-2145-AECE-9CCA-25FC98731341@example.com>', identityAlignment: 'none' });
  });

  it('SMTP TLS reports: RFC 8460\'s example, the gzip attachment of a report e-mail, counts per policy', async () => {
    const rfc = parseTlsReport(read(path.join(PD, 'smtp_tls/rfc8460.json')));
    expect(rfc).toMatchObject({ org: 'Company-X', reportId: '5065427c-23d3-47ca-b6e0-946ea0e8c4be', begin: 1459468800 });
    expect(rfc.policies[0]).toMatchObject({ policyType: 'sts', policyDomain: 'company-y.example', successful: 5326, failed: 303 });
    expect(rfc.policies[0]!.failureDetails.map((d) => [d.resultType, d.failedSessionCount])).toEqual([['certificate-expired', 100], ['starttls-not-supported', 200], ['validation-failure', 3]]);
    const mailru = parseTlsReport(read(path.join(PD, 'smtp_tls/mail.ru.json')));
    // its details add up to 2 sessions against a summary of 1: read, and said
    expect(mailru.warnings.join()).toMatch(/add up to 2 sessions, more than the summary's 1/);
    const eml = await un(read(path.join(PD, 'smtp_tls/google.com_smtp_tls_report.eml')));
    expect(eml.problems).toEqual([]);
    const g = eml.found[0]!.report as TlsReport;
    expect(g).toMatchObject({ kind: 'tls', org: 'Google Inc.', reportId: '2024-09-03T00:00:00Z_cardinalhealth.ca' });
    expect(g.policies.length).toBeGreaterThan(0);
  });

  it('truncated gzip, a gzip bomb, a zip with too many entries, a zip bomb, nesting: refused with the reason', async () => {
    const xml = read(path.join(PD, 'extract_report/nice-input.xml'));
    const gz = zlib.gzipSync(xml);
    const trunc = await un(gz.subarray(0, gz.length - 20));
    expect(trunc.problems).toEqual([expect.objectContaining({ kind: 'truncated-gzip' })]);
    const small = { ...DEFAULT_LIMITS, maxDecompressed: 1024 * 1024 };
    const bomb = zlib.gzipSync(Buffer.alloc(8 * 1024 * 1024, 0x20));
    const b = await unpack(bomb, 'bomb.xml.gz', { limits: small, source: 'bomb.xml.gz' });
    expect(b.problems).toEqual([expect.objectContaining({ where: 'bomb.xml.gz', kind: 'too-large', message: expect.stringMatching(/inflates past 1 MB/) })]);
    const nested = zlib.gzipSync(zlib.gzipSync(zlib.gzipSync(zlib.gzipSync(zlib.gzipSync(gz)))));
    expect((await un(nested)).problems).toEqual([expect.objectContaining({ kind: 'too-deep' })]);
    const many = makeZip(Array.from({ length: 100 }, (_, i) => [`r${i}.xml`, xml]));
    expect((await un(many)).problems).toEqual([expect.objectContaining({ kind: 'too-many-entries', message: expect.stringMatching(/100 entries/) })]);
    const zbomb = makeZip([['big.xml', Buffer.alloc(4 * 1024 * 1024, 0x20)]]);
    expect((await unpack(zbomb, 'z.zip', { limits: small, source: 'z.zip' })).problems).toEqual([expect.objectContaining({ kind: 'too-large' })]);
    // an entry that inflates past the size it declares: yauzl stops it
    const liar = makeZip([['a.xml', xml]], { lieSize: 100 });
    expect((await un(liar)).problems).toEqual([expect.objectContaining({ kind: 'invalid-zip' })]);
    // a plain document larger than the budget is not parsed at all
    const big = await unpack(Buffer.concat([xml, Buffer.alloc(2 * 1024 * 1024, 0x20)]), 'big.xml', { limits: small, source: 'big.xml' });
    expect(big.problems).toEqual([expect.objectContaining({ kind: 'too-large', message: expect.stringMatching(/the document is 2 MB, more than the 1 MB/) })]);
    // and the good zip still reads
    expect((await un(makeZip([['a.xml', xml]]))).found.length).toBe(1);
  });

  it('mbox: messages split at From lines, >From unquoted', async () => {
    const a = read(path.join(PD, 'aggregate/twilight.eml'));
    const f = read(path.join(PD, 'failure/exim_plain_text_only_no_arf_part.eml'));
    const box = Buffer.concat([Buffer.from('From a@b Mon Jan  1 00:00:00 2024\n'), a, Buffer.from('\n\nFrom c@d Mon Jan  1 00:00:00 2024\n'), f, Buffer.from('\n>From here\n')]);
    expect(splitMbox(box).length).toBe(2);
    expect(splitMbox(box)[1]!.toString()).toMatch(/\nFrom here\n$/);
    const r = await un(box, 'reports.mbox');
    expect(r.problems).toEqual([]);
    expect(r.found.map((x) => x.report.kind)).toEqual(['aggregate', 'failure']);
    expect(r.found[1]!.where).toBe('reports.mbox › message 2');
  });

  it('an e-mail that holds no report, and bytes that are nothing we read, are named problems', async () => {
    const r = await un(Buffer.from('From: a@example.com\r\nSubject: hello\r\n\r\nhi\r\n'));
    expect(r.problems).toEqual([expect.objectContaining({ kind: 'not-a-report' })]);
    expect((await un(Buffer.from([0x00, 0x01, 0x02]))).problems).toEqual([expect.objectContaining({ kind: 'not-a-report' })]);
  });
});

describe('the parse pool (worker threads)', () => {
  it('gives the same import as the main thread, e-mails parsed on the main thread', async () => {
    const { HistoryStore } = await import('../../src/history/store.ts');
    const { ReportStore } = await import('../../src/reports/store.ts');
    const { expandInputs, importFiles } = await import('../../src/reports/import.ts');
    const { ParsePool } = await import('../../src/reports/parse-pool.ts');
    const { mkdtempSync, rmSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const dir = mkdtempSync(path.join(tmpdir(), 'inboxlens-pool-'));
    try {
      const files = expandInputs([CONF]);
      const run = async (workers: number) => {
        const h = HistoryStore.open(path.join(dir, `w${workers}.db`));
        try {
          const sum = await importFiles(files, { store: new ReportStore(h), workers });
          const rows = h.sqlite.prepare('SELECT org, report_id, sha256, records, messages FROM dmarc_reports ORDER BY org, report_id').all();
          return { sum, rows };
        } finally {
          h.close();
        }
      };
      const main = await run(0);
      const pooled = await run(2);
      expect(pooled.sum).toEqual(main.sum);
      expect(pooled.rows).toEqual(main.rows);
      expect(main.sum.outcomes.imported).toBe(31);
      expect([ParsePool.sizeFor(10, 8), ParsePool.sizeFor(1000, 2), ParsePool.sizeFor(1000, 8)]).toEqual([0, 0, 3]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
