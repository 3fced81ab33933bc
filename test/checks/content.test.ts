// The content check through the real CLI: fixture messages, DKIM signatures made
// here with mailauth and verified against keys on the fixture DNS, and
// --check-links against real HTTP(S) servers on loopback.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { dkimSign } from 'mailauth';
import type { FixtureDns } from '../../src/dns/fixture-server.ts';
import { validateReport } from '../../src/report/validate.ts';
import { extractLinks, linkTargets } from '../../src/content/links.ts';
import { parseMessage } from '../../src/content/parse.ts';
import { ratingOf } from '../../src/content/analyze.ts';
import { ROOT, runCli } from '../helpers/cli.ts';
import { dnsArgs, startDns } from '../helpers/dns.ts';
import { startHttpsLab, type HttpsLab } from '../helpers/https-lab.ts';

const FIX = path.join(ROOT, 'fixtures/messages');
const fx = (name: string) => path.join(FIX, `content-${name}.eml`);
const L = (s: string) => `${s}.links.content.example`;

let dns: FixtureDns;
let tmp: string;
let shopKey: string;
let espKey: string;

function keypair() {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return { pem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(), p: publicKey.export({ type: 'spki', format: 'der' }).toString('base64') };
}

beforeAll(async () => {
  const shop = keypair();
  const esp = keypair();
  shopKey = shop.pem;
  espKey = esp.pem;
  dns = await startDns({
    's1._domainkey.shop.content.example': { TXT: [`v=DKIM1; k=rsa; p=${shop.p}`] },
    's1._domainkey.esp-mail.example': { TXT: [`v=DKIM1; k=rsa; p=${esp.p}`] },
    'slow._domainkey.shop.content.example': { behavior: 'timeout' },
    [L('ok')]: { A: ['127.0.0.1'] },
    [L('self')]: { A: ['127.0.0.1'] },
  });
  tmp = await mkdtemp(path.join(tmpdir(), 'inboxlens-content-test-'));
});
afterAll(async () => {
  await dns?.stop();
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

async function content(file: string, extra: string[] = [], env?: NodeJS.ProcessEnv) {
  const r = await runCli(['content', file, '--json', ...dnsArgs(dns), ...extra], { env });
  let doc: any;
  try {
    doc = r.json();
  } catch {
    throw new Error(`no JSON (exit ${r.code}): ${r.stderr}`);
  }
  expect(validateReport(doc)).toEqual([]);
  const res = doc.targets[0].checks[0];
  return { r, doc, res, codes: res.findings.map((x: any) => x.code) as string[], find: (code: string) => res.findings.find((x: any) => x.code === code) };
}

/** Sign a message with mailauth; `headers` is the h= list. */
async function sign(raw: string, o: { domain: string; key: string; selector?: string; headers: string[] }): Promise<string> {
  const s = await dkimSign(raw, { signatureData: [{ signingDomain: o.domain, selector: o.selector ?? 's1', privateKey: o.key }], headerList: o.headers } as any);
  expect(s.errors).toEqual([]);
  expect(s.signatures).toMatch(/^DKIM-Signature:/);
  return s.signatures + raw;
}

async function writeMsg(name: string, raw: string): Promise<string> {
  const file = path.join(tmp, name);
  await writeFile(file, raw);
  return file;
}

const ALL_HEADERS = ['from', 'to', 'subject', 'date', 'message-id', 'mime-version', 'content-type', 'list-unsubscribe', 'list-unsubscribe-post'];

describe('content check: structure of the fixture messages', () => {
  it('a good message: only the unsigned-unsubscribe warning, links and their domains in data', async () => {
    const { r, res, codes } = await content(fx('good'));
    expect(codes).toEqual(['content.one-click', 'content.not-signed', 'content.unsubscribe-not-signed', 'content.no-filter']);
    expect(res.status).toBe('warn');
    expect(r.code).toBe(0);
    expect(res.data.fromDomains).toEqual(['shop.content.example']);
    expect(res.data.textBytes).toBeGreaterThan(0);
    expect(res.data.images).toBe(1); // the logo; the 1×1 pixel is not content
    expect(res.data.visibleUnsubscribe).toBe(true);
    expect(res.data.listUnsubscribe).toEqual({
      present: true,
      https: ['https://shop.content.example/unsubscribe?u=8f2c1e'],
      http: [],
      mailto: ['mailto:unsubscribe@shop.content.example?subject=unsubscribe-8f2c1e'],
      oneClickPost: true,
    });
    const anchors = res.data.links.filter((l: any) => l.kind === 'anchor');
    expect(anchors).toContainEqual({ url: 'https://shop.content.example/june', domain: 'shop.content.example', registrableDomain: 'content.example', text: 'See the June picks', kind: 'anchor' });
    expect(res.data.linkDomains).toEqual(['content.example']);
    expect(res.data.spam).toEqual([]);
  });
  it('flags a duplicate From as an RFC 5322 error, with both fields as evidence (exit 1)', async () => {
    const { r, find } = await content(fx('duplicate-from'));
    const d = find('content.duplicate-header');
    expect(d.severity).toBe('error');
    expect(d.ref).toMatch(/RFC 5322 §3\.6/);
    expect(d.evidence.map((e: any) => e.record)).toEqual(['From: Shop News <news@shop.content.example>', 'From: Billing <billing@pay.other.example>']);
    expect(r.code).toBe(1);
  });
  it('missing Date is an error; missing Message-ID is a warning citing Gmail, not the RFC', async () => {
    const { find } = await content(fx('missing-headers'));
    expect(find('content.missing-date').severity).toBe('error');
    const mid = find('content.missing-message-id');
    expect(mid.severity).toBe('warn');
    expect(mid.ref).toMatch(/support\.google\.com/);
    expect(mid.fix).toMatch(/Message-ID: </);
  });
  it('a message without From is an error', async () => {
    const raw = (await readFile(fx('good'), 'utf8')).replace(/^From: .*\r\n/m, '');
    const { codes, r } = await content(await writeMsg('nofrom.eml', raw));
    expect(codes).toContain('content.missing-from');
    expect(r.code).toBe(1);
  });
  it('HTML without a text/plain alternative', async () => {
    const { res, find } = await content(fx('no-text-part'));
    expect(find('content.no-text-part').severity).toBe('warn');
    expect(res.data.textBytes).toBe(0);
  });
  it('HTML over 102 KB is clipped by Gmail', async () => {
    const { res, find } = await content(fx('clipped'));
    expect(find('content.clipped').summary).toMatch(/KB: Gmail clips messages over 102 KB/);
    expect(res.data.htmlBytes).toBeGreaterThan(102 * 1024);
    const good = await content(fx('good'));
    expect(good.codes).not.toContain('content.clipped');
  });
  it('no List-Unsubscribe and no visible unsubscribe link', async () => {
    const { codes, res } = await content(fx('no-unsubscribe'));
    expect(codes).toContain('content.no-list-unsubscribe');
    expect(codes).toContain('content.no-visible-unsubscribe');
    expect(codes).not.toContain('content.unsubscribe-not-signed');
    expect(res.data.listUnsubscribe.present).toBe(false);
  });
  it('GTUBE is a test string (error)', async () => {
    const { find, r } = await content(fx('gtube'));
    expect(find('content.test-string').summary).toMatch(/GTUBE/);
    expect(r.code).toBe(1);
  });
  it('the conformance GTUBE message too', async () => {
    const { find } = await content(path.join(ROOT, '../shared/conformance/spam/gtube.eml'));
    expect(find('content.test-string').severity).toBe('error');
  });
  it('URL shorteners', async () => {
    const { find } = await content(fx('shortener'));
    const s = find('content.url-shortener');
    expect(s.subject).toBe('bit.ly');
    expect(s.evidence).toEqual([{ record: 'https://bit.ly/3xJune' }]);
  });
  it('a link whose text shows another domain than its target', async () => {
    const { find, res } = await content(fx('mismatched-link'));
    const m = find('content.link-mismatch');
    expect(m.summary).toMatch(/^1 link/);
    expect(m.evidence[0].record).toContain('www.shop.content.example');
    expect(m.evidence[0].record).toContain('http://login.account-verify.example/shop');
    // the honest links of the same message are not flagged: same registrable domain
    expect(res.data.links.filter((l: any) => l.kind === 'anchor' && l.registrableDomain === 'content.example').length).toBeGreaterThan(1);
  });
  it('image-heavy HTML and template leftovers', async () => {
    const img = await content(fx('image-heavy'));
    expect(img.find('content.image-heavy').summary).toMatch(/3 image\(s\)/);
    const tpl = await content(fx('placeholder'));
    const p = tpl.find('content.placeholder');
    expect(p.evidence.map((e: any) => e.record)).toEqual(expect.arrayContaining(['Lorem ipsum', '{{first_name}}', '*|FNAME|*']));
  });
  it('List-Unsubscribe with mailto only, or a wrong List-Unsubscribe-Post, is not one-click', async () => {
    const good = await readFile(fx('good'), 'utf8');
    const mailtoOnly = good.replace(/^List-Unsubscribe: .*$/m, 'List-Unsubscribe: <mailto:unsubscribe@shop.content.example>');
    const a = await content(await writeMsg('mailto-only.eml', mailtoOnly));
    expect(a.find('content.no-one-click').summary).toMatch(/no https:\/\/ URI/);
    const badPost = good.replace(/^List-Unsubscribe-Post: .*$/m, 'List-Unsubscribe-Post: One-Click');
    const b = await content(await writeMsg('bad-post.eml', badPost));
    expect(b.find('content.no-one-click').summary).toMatch(/not exactly "List-Unsubscribe=One-Click"/);
  });
});

describe('content check: DKIM (signed here, keys on the fixture DNS)', () => {
  it('signed by the From domain over both unsubscribe headers: pass, aligned, RFC 8058 §4 satisfied', async () => {
    const raw = await sign(await readFile(fx('good'), 'utf8'), { domain: 'shop.content.example', key: shopKey, headers: ALL_HEADERS });
    const { res, codes, r } = await content(await writeMsg('signed-full.eml', raw));
    expect(codes).toEqual(['content.one-click', 'content.dkim-aligned', 'content.unsubscribe-signed', 'content.no-filter']);
    expect(res.status).toBe('pass');
    expect(r.code).toBe(0);
    expect(res.data.dkim).toHaveLength(1);
    expect(res.data.dkim[0]).toMatchObject({ domain: 'shop.content.example', selector: 's1', result: 'pass', aligned: true });
    // mailauth writes h= in its own order
    expect([...res.data.dkim[0].headers].sort()).toEqual([...ALL_HEADERS].sort());
  });
  it('a valid signature whose h= lacks List-Unsubscribe(-Post): unsubscribe-not-signed, with the h= as evidence', async () => {
    const raw = await sign(await readFile(fx('good'), 'utf8'), { domain: 'shop.content.example', key: shopKey, headers: ['from', 'to', 'subject', 'date'] });
    const { find, codes } = await content(await writeMsg('signed-partial.eml', raw));
    expect(codes).toContain('content.dkim-aligned');
    const u = find('content.unsubscribe-not-signed');
    expect(u.severity).toBe('warn');
    expect(u.ref).toBe('RFC 8058 §4');
    expect(u.evidence).toHaveLength(1);
    const h = /^d=shop\.content\.example; s=s1; h=(.*)$/.exec(u.evidence[0].record)![1]!.split(':').sort();
    expect(h).toEqual(['date', 'from', 'subject', 'to']);
  });
  it('signed only by the ESP domain: DKIM passes but is not aligned with From', async () => {
    const raw = await sign(await readFile(fx('good'), 'utf8'), { domain: 'esp-mail.example', key: espKey, headers: ALL_HEADERS });
    const { find, codes } = await content(await writeMsg('signed-esp.eml', raw));
    expect(find('content.dkim-unaligned').summary).toMatch(/shop\.content\.example.*esp-mail\.example/);
    expect(codes).toContain('content.unsubscribe-signed');
  });
  it('a message changed after signing: the signature fails (error)', async () => {
    const raw = await sign(await readFile(fx('good'), 'utf8'), { domain: 'shop.content.example', key: shopKey, headers: ALL_HEADERS });
    const { find, r, res } = await content(await writeMsg('signed-tampered.eml', raw.replace('Summer is here', 'Winter is here')));
    expect(find('content.dkim-fail').summary).toMatch(/does not verify: (fail|neutral)/);
    expect(res.data.dkim[0].result).not.toBe('pass');
    expect(r.code).toBe(1);
  });
  it('a key lookup that times out is unknown, never a pass or a fail (exit 3)', async () => {
    const raw = await sign(await readFile(fx('good'), 'utf8'), { domain: 'shop.content.example', key: shopKey, selector: 'slow', headers: ALL_HEADERS });
    const { res, r, codes } = await content(await writeMsg('signed-slow.eml', raw));
    expect(res.status).toBe('unknown');
    expect(res.reason).toMatch(/slow\._domainkey\.shop\.content\.example/);
    expect(codes).not.toContain('content.dkim-fail');
    expect(codes).not.toContain('content.unsubscribe-not-signed');
    expect(r.code).toBe(3);
  });
});

describe('content check: --check-links against real servers', () => {
  let lab: HttpsLab;
  let plain: http.Server;
  let plainPort: number;
  const plainHits: string[] = [];
  beforeAll(async () => {
    lab = await startHttpsLab({ hosts: [L('ok')], selfSigned: [L('self')] });
    lab.route(L('ok'), '/page', { type: 'text/html', body: '<p>hi</p>' });
    lab.route(L('ok'), '/to-http', { status: 302, headers: { location: 'http://localhost/x' } });
    lab.route(L('ok'), '/slow', { hang: true });
    lab.route(L('ok'), '/unsubscribe', { type: 'text/plain', body: 'you are unsubscribed' });
    lab.route(L('self'), '/page', { type: 'text/html', body: 'x' });
    plain = http.createServer((req, res) => {
      plainHits.push(`${req.method} ${req.url}`);
      // like many servers: no HEAD, GET works
      if (req.method === 'HEAD') res.writeHead(405).end();
      else res.writeHead(200, { 'content-type': 'text/html' }).end('<p>plain</p>');
    });
    await new Promise<void>((r) => plain.listen(0, '127.0.0.1', r));
    plainPort = (plain.address() as AddressInfo).port;
  });
  afterAll(async () => {
    await lab?.stop();
    plain?.closeAllConnections();
    await new Promise<void>((r) => (plain ? plain.close(() => r()) : r()));
  });

  it('finds broken, non-HTTPS and unanswered links, and never requests unsubscribe links', async () => {
    const html = [
      `<a href="https://${L('ok')}/page">Our page</a>`,
      `<a href="https://${L('ok')}/missing">Old offer</a>`,
      `<a href="https://${L('self')}/page">Partner</a>`,
      `<a href="https://${L('gone')}/page">Gone</a>`,
      `<a href="https://${L('ok')}/to-http">Tracked</a>`,
      `<a href="https://${L('ok')}/slow">Slow</a>`,
      `<a href="http://localhost:${plainPort}/plain">Plain</a>`,
      `<a href="https://${L('ok')}/unsubscribe">Unsubscribe</a>`,
    ].join('\n');
    const raw = (await readFile(fx('no-text-part'), 'utf8')).replace(/<body>[\s\S]*<\/body>/, `<body>\n${html}\n</body>`);
    const file = await writeMsg('links.eml', raw);
    const { res, find, codes } = await content(file, ['--check-links', '--ca-file', lab.caFile, '--https-timeout', '1500ms'], { INBOXLENS_HTTPS_PORT_MAP: lab.portMap });
    const broken = res.findings.filter((x: any) => x.code === 'content.broken-link').map((x: any) => x.subject).sort();
    expect(broken).toEqual([`https://${L('gone')}/page`, `https://${L('ok')}/missing`, `https://${L('self')}/page`].sort());
    expect(res.findings.find((x: any) => x.subject === `https://${L('ok')}/missing`).summary).toMatch(/HTTP 404/);
    expect(res.findings.find((x: any) => x.subject === `https://${L('self')}/page`).summary).toMatch(/TLS|SELF_SIGNED/);
    const insecure = find('content.insecure-link');
    expect(insecure.evidence.map((e: any) => e.record)).toEqual(expect.arrayContaining([`https://${L('ok')}/to-http → http://localhost/x`, `http://localhost:${plainPort}/plain`]));
    expect(find('content.link-unverified').evidence[0].record).toContain(`https://${L('ok')}/slow`);
    // the plain server refused HEAD and was asked again with GET
    expect(plainHits).toEqual(['HEAD /plain', 'GET /plain']);
    // the unsubscribe link was skipped, not requested
    expect(lab.hits).not.toContain(`${L('ok')} /unsubscribe`);
    expect(lab.hits).toContain(`${L('ok')} /page`);
    expect(res.data.linksSkipped).toEqual([{ url: `https://${L('ok')}/unsubscribe`, reason: 'unsubscribe link: never requested' }]);
    expect(codes).not.toContain('content.links-ok');
  });
  it('without --check-links no link is requested', async () => {
    const before = lab.hits.length;
    const { res } = await content(fx('good'));
    expect(res.data.linkChecks).toBeUndefined();
    expect(lab.hits.length).toBe(before);
  });
});

describe('content check: options and the check command', () => {
  it('runs inside `inboxlens check` with --message, and is skipped (with the reason) without it', async () => {
    const r = await runCli(['check', 'shop.content.example', '--only', 'content', '--message', fx('shortener'), '--json', '--no-save', ...dnsArgs(dns)]);
    const doc = r.json();
    expect(validateReport(doc)).toEqual([]);
    const c = doc.targets[0].checks.find((x: any) => x.check === 'content');
    expect(c.findings.map((x: any) => x.code)).toContain('content.url-shortener');
    expect(c.data.links.some((l: any) => l.domain === 'bit.ly')).toBe(true);
    const without = await runCli(['check', 'shop.content.example', '--only', 'content', '--json', '--no-save', ...dnsArgs(dns)]);
    expect(without.json().skipped).toEqual([{ check: 'content', reason: 'needs --message FILE.eml (the message to judge)' }]);
  });
  it.each([
    [['content', '/nonexistent/message.eml'], /cannot read '\/nonexistent\/message\.eml'/],
    [['content', ROOT], /is a directory, not a file/],
    [['content', 'MSG', '--spamd', 'localhost:spam'], /--spamd: .*port 'spam' is not a number/],
    [['content', 'MSG', '--spamd', '127.0.0.1:70000'], /--spamd: .*out of range/],
    [['content', 'MSG', '--rspamd', 'ftp://127.0.0.1/'], /--rspamd: .*http:\/\/ or https:\/\//],
    [['check', 'shop.content.example', '--only', 'content', '--spamd', '127.0.0.1:783', '--no-save'], /--spamd judge a message: give it with --message FILE\.eml/],
  ])('bad input %j is a usage error (exit 2, one line)', async (args, re) => {
    const r = await runCli([...args.map((a) => (a === 'MSG' ? fx('good') : a)), ...dnsArgs(dns)]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(re);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
  });
  it('an empty file is a usage error', async () => {
    const r = await runCli(['content', await writeMsg('empty.eml', ''), ...dnsArgs(dns)]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/is empty/);
  });
  it('human output shows the summary lines and the fixes', async () => {
    const r = await runCli(['content', fx('shortener'), ...dnsArgs(dns)]);
    expect(r.stdout).toMatch(/From Shop News <news@shop\.content\.example>/);
    expect(r.stdout).toMatch(/link\(s\) to \d+ domain\(s\)/);
    expect(r.stdout).toMatch(/fix: Link to your own domain directly/);
  });
});

describe('extractLinks (the blacklist check\'s entry point)', () => {
  it('reads links from a raw message, a loaded message and a string, with registrable domains and IPs', async () => {
    const raw = await readFile(fx('mismatched-link'));
    const fromBuffer = await extractLinks(raw);
    const fromLoaded = await extractLinks(await parseMessage(raw));
    const fromString = await extractLinks(raw.toString('utf8'));
    expect(fromLoaded).toEqual(fromBuffer);
    expect(fromString).toEqual(fromBuffer);
    expect(linkTargets(fromBuffer).domains).toEqual(['account-verify.example', 'content.example']);
    const ipMsg = 'From: a@b.example\r\nContent-Type: text/html\r\n\r\n<a href="http://192.0.2.7/x">x</a> <a href="http://[2001:db8::1]/y">y</a> <a href="mailto:a@b.example">m</a>\r\n';
    const ipLinks = await extractLinks(ipMsg);
    expect(ipLinks.map((l) => l.ip)).toEqual(['192.0.2.7', '2001:db8::1']);
    expect(ipLinks.every((l) => l.registrableDomain === null)).toBe(true);
    expect(linkTargets(ipLinks)).toEqual({ domains: [], ips: ['192.0.2.7', '2001:db8::1'] });
  });
});

describe('ratingOf', () => {
  it('is 10 at or below 0, 5 at the threshold, 0 at twice the threshold or more', () => {
    expect(ratingOf(-1.2, 5)).toBe(10);
    expect(ratingOf(0, 5)).toBe(10);
    expect(ratingOf(5, 5)).toBe(5);
    expect(ratingOf(2.5, 5)).toBe(7.5);
    expect(ratingOf(1000, 5)).toBe(0);
    expect(ratingOf(3, 0)).toBeUndefined();
  });
});
