// Seed-inbox placement end to end on the lab: the real CLI sends through the lab
// MX (which authenticates with mailauth against the lab DNS and files into the
// lab's Dovecot by provider policy), then finds every copy over IMAP and POP3.
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import nodemailer from 'nodemailer';
import YAML from 'yaml';
import { ImapFlow } from 'imapflow';
import { startLab, type Lab } from '../../src/lab/index.ts';
import { readLog } from '../../src/lab/dovecot.ts';
import { validateReport } from '../../src/report/validate.ts';
import { loadSeeds } from '../../src/placement/seeds.ts';
import { collectPlacement } from '../../src/placement/collect.ts';
import { runCli, ROOT, type CliResult } from '../helpers/cli.ts';
import { LAB_SENDER_IP } from '../../src/lab/index.ts';
import { whyLine } from '../../src/placement/verdicts.ts';
import { renderReport } from '../../src/report/text.ts';
import { makeStyle } from '../../src/report/style.ts';
import { loadChecks } from '../../checks/index.ts';

let lab: Lab;
const outputs: string[] = [];

beforeAll(async () => {
  // one IMAP seed at each provider (strict refuses what fails DMARC), two POP3 seeds
  lab = await startLab({ providers: ['gmail', 'outlook', 'yahoo', 'icloud', 'generic', 'strict'], imapSeeds: 6, pop3Seeds: 2 });
});
afterAll(async () => {
  await lab?.stop();
});

function common(): string[] {
  return ['--resolver', lab.dns.address, '--dns-timeout', '1s', '--retries', '1'];
}

function sendArgs(sender: 'good' | 'broken', extra: string[] = []): string[] {
  const s = lab.senders[sender];
  return [
    '--seeds', lab.seedsFile, '--from', s.from, '--envelope-from', s.envelopeFrom,
    '--smtp', lab.smtpUrl, '--smtp-ca', lab.caFile,
    ...(s.dkim ? ['--dkim-key', s.dkim.keyFile, '--dkim-selector', s.dkim.selector] : []),
    ...common(), ...extra,
  ];
}

async function cli(args: string[]): Promise<CliResult> {
  const r = await runCli(args, { timeoutMs: 90_000 });
  outputs.push(r.stdout, r.stderr);
  return r;
}

function doc(r: CliResult) {
  const d = r.json();
  expect(validateReport(d)).toEqual([]);
  const c = d.targets[0].checks[0];
  expect(c.check).toBe('placement');
  return { d, c, rows: Object.fromEntries((c.data.rows as any[]).map((x) => [x.seed, x])) as Record<string, any>, codes: (c.findings as any[]).map((f) => f.code) };
}

const GMAIL = 'seed1@gmail.lab.test';
const OUTLOOK = 'seed1@outlook.lab.test';
const YAHOO = 'seed1@yahoo.lab.test';
const ICLOUD = 'seed1@icloud.lab.test';
const GENERIC = 'seed1@mail.lab.test';

describe('placement run on the lab', () => {
  it('reads the seeds file the lab wrote', () => {
    const seeds = loadSeeds(lab.seedsFile).seeds.map((s) => `${s.address}:${s.access.protocol}`);
    expect(seeds).toHaveLength(8);
    expect(seeds.filter((s) => s.endsWith(':pop3'))).toHaveLength(2);
  });

  it('good sender: inbox everywhere, Promotions tab at Gmail, the receiver saw SPF, DKIM and DMARC pass; nothing else touched', async () => {
    const strictAddr = lab.seeds.find((s) => s.labProvider === 'strict')!.address;
    // mail that was there before the run, and must be exactly the same after it
    await lab.dovecot.deliver(GENERIC, 'INBOX', 'From: friend@example.org\r\nSubject: an older message\r\n\r\nkeep me\r\n');
    await lab.dovecot.deliver(GENERIC, 'Junk', 'From: spammer@example.org\r\nSubject: old spam\r\n\r\nkeep me too\r\n');
    const before = await lab.dovecot.snapshot(GENERIC);
    const r = await cli(['placement', 'run', ...sendArgs('good', ['--list-unsubscribe', 'https://goodsender.test/unsubscribe?u=1', '--timeout', '30s', '--json'])]);
    const { c, rows } = doc(r);
    expect(r.code).toBe(0);
    expect(c.status).toBe('pass');
    expect(c.data.phase).toBe('run');
    expect(c.data.send).toHaveLength(8);
    expect(c.data.send.every((s: any) => s.status === 'accepted' && s.code === 250)).toBe(true);
    expect(rows[GMAIL].placement).toBe('tab:promotions');
    expect(rows[GMAIL].folder).toBe('Categories/Promotions');
    for (const a of [OUTLOOK, YAHOO, ICLOUD, GENERIC, strictAddr]) expect(rows[a].placement).toBe('inbox');
    for (const p of lab.seeds.filter((s) => s.protocol === 'pop3')) expect(rows[p.address]).toMatchObject({ protocol: 'pop3', placement: 'inbox' });
    const g = rows[GENERIC];
    expect(g.receiverAuth.authservId).toBe('mx.lab.test');
    expect(g.receiverAuth.spf).toMatchObject({ result: 'pass', domain: 'goodsender.test' });
    expect(g.receiverAuth.dkim[0]).toMatchObject({ result: 'pass', domain: 'goodsender.test', selector: 'lab' });
    expect(g.receiverAuth.dmarc).toMatchObject({ result: 'pass', domain: 'goodsender.test' });
    // ours on the same copy agree: SPF for the hop's IP, the signature verified with its 2048-bit key, DMARC aligned
    expect(g.ours.spf).toMatchObject({ result: 'pass', ip: '198.51.100.25', domain: 'goodsender.test' });
    expect(g.ours.dkim).toEqual([expect.objectContaining({ domain: 'goodsender.test', selector: 'lab', result: 'pass', aligned: true, key: expect.objectContaining({ state: 'found', bits: 2048, revoked: false }) })]);
    expect(g.ours.dmarc).toMatchObject({ result: 'pass', fromDomain: 'goodsender.test' });
    expect(g.ours.disagreements).toBeUndefined();
    expect(g.spam).toMatchObject({ spamFlag: 'NO', spamStatus: expect.stringMatching(/^No, score=/) });
    expect(rows[OUTLOOK].spam).toMatchObject({ scl: 1, verdicts: [expect.objectContaining({ filter: 'microsoft', verdict: 'not-spam', scl: 1, sfv: 'NSPM' })] });
    // the receiver's hop: the lab MX took the copy from the address SPF was evaluated for
    expect(g.receiverHop).toMatchObject({ by: 'mx.lab.test', ip: '198.51.100.25', helo: expect.any(String) });
    expect(g.receiverAuth.headers).toBe(1);
    // our own re-verification of the received bytes agrees with the receiver
    expect(g.localAuth.dkim[0]).toMatchObject({ result: 'pass', domain: 'goodsender.test', selector: 'lab' });
    expect(g.timeToArrivalMs).toBeGreaterThanOrEqual(0);
    expect(g.internalDate).toBeTruthy();
    expect(g.subject).toContain(c.data.token);
    expect(c.data.summary.rates.inbox + c.data.summary.rates.tab).toBe(1);
    expect(c.data.summary.providers.gmail.counts.tab).toBe(1);
    expect(c.data.summary.timeToInbox.n).toBe(8);

    // the copy itself: token header, List-Unsubscribe one-click, both covered by DKIM h= (RFC 8058 §4)
    const raw = await fetchCopy(GENERIC, 'INBOX', c.data.token);
    expect(raw).toMatch(new RegExp(`X-Inboxlens-Token: ${c.data.token}`));
    expect(raw).toMatch(/List-Unsubscribe: <https:\/\/goodsender\.test\/unsubscribe\?u=1>/);
    expect(raw).toMatch(/List-Unsubscribe-Post: List-Unsubscribe=One-Click/);
    const h = /DKIM-Signature:[\s\S]*?\bh=([^;]+);/i.exec(raw)![1]!.replace(/\s+/g, '').toLowerCase().split(':');
    expect(h).toEqual(expect.arrayContaining(['list-unsubscribe', 'list-unsubscribe-post', 'from', 'subject', 'message-id', 'date']));

    // the older mail is untouched (same UIDs, flags, bytes); the only new message is the copy, still unread
    const after = await lab.dovecot.snapshot(GENERIC);
    for (const [folder, msgs] of Object.entries(before)) {
      for (const m of msgs) expect(after[folder]).toContainEqual(m);
    }
    const added = Object.values(after).flat().length - Object.values(before).flat().length;
    expect(added).toBe(1);
    expect(Object.values(after).flat().every((m) => !m.flags.includes('\\Seen'))).toBe(true);
  });

  it('broken sender: spam at every IMAP provider, refused by the strict one, not-in-inbox over POP3, auth failures named', async () => {
    const strictAddr = lab.seeds.find((s) => s.labProvider === 'strict')!.address;
    const r = await cli(['placement', 'run', ...sendArgs('broken', ['--timeout', '6s', '--json'])]);
    const { c, rows, codes } = doc(r);
    expect(r.code).toBe(1);
    expect(c.status).toBe('fail');
    for (const a of [GMAIL, OUTLOOK, YAHOO, ICLOUD, GENERIC]) expect(rows[a].placement).toBe('spam');
    expect(rows[GMAIL].folder).toBe('[Gmail]/Spam');
    expect(rows[YAHOO].folder).toBe('Bulk Mail');
    expect(rows[strictAddr]).toMatchObject({ placement: 'bounced', bounce: { source: 'smtp', status: '550' }, smtp: { status: 'rejected', code: 550 } });
    expect(rows[strictAddr].bounce.diagnostic).toMatch(/5\.7\.26/);
    for (const p of lab.seeds.filter((s) => s.protocol === 'pop3')) expect(rows[p.address].placement).toBe('not-in-inbox');
    expect(rows[GENERIC].receiverAuth.spf).toMatchObject({ result: 'fail', domain: 'brokensender.test' });
    expect(rows[GENERIC].receiverAuth.dmarc).toMatchObject({ result: 'fail', domain: 'brokensender.test' });
    expect(rows[GENERIC].receiverAuth.dkim[0]).toMatchObject({ result: 'none' });
    expect(rows[GENERIC].spam.spamFlag).toBe('YES');
    expect(rows[OUTLOOK].spam.scl).toBe(5);
    expect(codes).toEqual(expect.arrayContaining(['placement.spam', 'placement.bounced', 'placement.not-in-inbox', 'placement.auth-fail-at-receiver']));
    const af = c.findings.find((f: any) => f.code === 'placement.auth-fail-at-receiver');
    expect(af.severity).toBe('error');
    expect(af.evidence.map((e: any) => e.note).join('\n')).toMatch(/dmarc=fail \(header\.from=brokensender\.test\)/);
    expect(c.data.summary.rates.spam).toBeGreaterThan(0.5);
    // our own verdicts on every copy found: the same analysis as `analyze` — SPF fails for the lab IP, no DKIM, DMARC fails
    for (const a of [GMAIL, OUTLOOK, YAHOO, ICLOUD, GENERIC]) {
      expect(rows[a].ours.dmarc).toMatchObject({ result: 'fail', fromDomain: 'brokensender.test' });
      expect(rows[a].ours.spf).toMatchObject({ result: 'fail', ip: LAB_SENDER_IP, domain: 'brokensender.test' });
      expect(rows[a].ours.dkim).toEqual([]);
    }
    expect(whyLine(rows[GENERIC])).toMatch(new RegExp(`^spam · receiver: spf=fail dkim=none dmarc=fail · (spamassassin spam [\\d.]+/[\\d.]+ · )?ours: spf=fail dkim=none dmarc=fail — DMARC fails for brokensender\\.test: SPF fail for ${LAB_SENDER_IP.replaceAll('.', '\\.')} at brokensender\\.test, no DKIM signature$`));
    expect(whyLine(rows[OUTLOOK])).toMatch(/^spam · receiver: spf=fail dkim=none dmarc=fail · .*ours: spf=fail dkim=none dmarc=fail — DMARC fails for brokensender\.test/);
    // a seed row without a copy has no why; a bounced one neither
    expect(whyLine(rows[strictAddr])).toBeUndefined();
    // the text view prints the line under the seed table
    const text = renderReport(r.json(), makeStyle(false), await loadChecks());
    expect(text).toMatch(/why each copy landed where it did/);
    expect(text).toContain(`${GENERIC}: spam · receiver: spf=fail`);
  });

  it('a seed with a wrong password is an error; the others carry on', async () => {
    const doc0 = YAML.parse(readFileSync(lab.seedsFile, 'utf8'));
    const bad = doc0.seeds.find((s: any) => s.address === YAHOO);
    bad.auth.pass = 'definitely-wrong-password-5';
    const file = path.join(lab.dir, 'seeds-wrong-pass.yaml');
    writeFileSync(file, YAML.stringify(doc0));
    const r = await cli(['placement', 'run', ...sendArgs('good', ['--timeout', '30s', '--json']).map((a) => (a === lab.seedsFile ? file : a))]);
    const { c, rows, codes } = doc(r);
    expect(rows[YAHOO].placement).toBe('error');
    expect(rows[YAHOO].error).toMatch(/login refused/);
    expect(rows[GENERIC].placement).toBe('inbox');
    expect(rows[GMAIL].placement).toBe('inbox');
    expect(codes).toContain('placement.seed-error');
    // one seed unknown and nothing failing: the run is "could not be determined" (exit 3)
    expect(c.status).toBe('unknown');
    expect(r.code).toBe(3);
    expect(r.stdout + r.stderr).not.toContain('definitely-wrong-password-5');
  });

  it('a copy that never arrives is missing (IMAP) or not-in-inbox (POP3) after the deadline', async () => {
    const r = await cli(['placement', 'collect', '--seeds', lab.seedsFile, '--token', 'il-neversent-0000000001', '--timeout', '3s', '--json', ...common()]);
    const { c, rows, codes } = doc(r);
    for (const s of lab.seeds) expect(rows[s.address].placement).toBe(s.protocol === 'pop3' ? 'not-in-inbox' : 'missing');
    expect(codes).toEqual(expect.arrayContaining(['placement.missing', 'placement.not-in-inbox', 'placement.none-arrived']));
    expect(c.data.summary.rates.missing).toBe(1);
    // nothing arrived anywhere: nothing was measured, so CI must not pass
    expect(c.findings.find((x: any) => x.code === 'placement.none-arrived').severity).toBe('error');
    expect(r.code).toBe(1);
    const w = await cli(['placement', 'collect', '--seeds', lab.seedsFile, '--token', 'il-neversent-0000000001', '--timeout', '2s', '--fail-on', 'warn', '--json', ...common()]);
    expect(w.code).toBe(1);
  });

  it('watch: finds the copies of the user\'s own campaign by header, and by subject and sender', async () => {
    const since = new Date(Date.now() - 1000).toISOString();
    const t = nodemailer.createTransport({ host: '127.0.0.1', port: lab.mx.port, secure: false, tls: { ca: lab.caPem } });
    for (const to of [GENERIC, OUTLOOK]) {
      await t.sendMail({ from: lab.senders.good.from, to, subject: 'Spring newsletter no. 7', text: 'hello', headers: { 'X-Campaign-Id': 'spring-7' }, dkim: { domainName: 'goodsender.test', keySelector: 'lab', privateKey: lab.senders.good.dkim!.privateKey } });
    }
    t.close();
    const r = await cli(['placement', 'watch', '--seeds', lab.seedsFile, '--match-header', 'X-Campaign-Id=spring-7', '--timeout', '3s', '--json', ...common()]);
    const { c, rows } = doc(r);
    expect(c.data.matcher).toEqual({ header: 'X-Campaign-Id=spring-7' });
    expect(rows[GENERIC].placement).toBe('inbox');
    expect(rows[OUTLOOK].placement).toBe('inbox');
    expect(rows[GMAIL].placement).toBe('missing');
    const s = await cli(['placement', 'watch', '--seeds', lab.seedsFile, '--match-subject', 'spring newsletter', '--match-from', lab.senders.good.from, '--since', since, '--timeout', '3s', '--json', ...common()]);
    expect(doc(s).rows[GENERIC].placement).toBe('inbox');
  });

  it('--cleanup deletes the run\'s copies and nothing else', async () => {
    const before = await lab.dovecot.snapshot(GENERIC);
    const r = await cli(['placement', 'run', ...sendArgs('good', ['--timeout', '30s', '--cleanup', '--json'])]);
    const { c, codes } = doc(r);
    const imapFound = (c.data.rows as any[]).filter((x) => x.protocol === 'imap' && x.folder).length;
    expect(imapFound).toBe(6);
    expect(c.data.cleanup.deleted).toBe(imapFound);
    expect(c.data.cleanup.skipped.map((s: any) => s.reason)).toEqual(['POP3 seed: inboxlens never deletes over POP3', 'POP3 seed: inboxlens never deletes over POP3']);
    expect(codes).toContain('placement.cleanup');
    const cleanup = c.findings.find((f: any) => f.code === 'placement.cleanup');
    expect(cleanup.summary).toMatch(/deleted 6 copies carrying il-/);
    // it says what it deleted: seed, folder, Message-ID
    expect(c.data.cleanup.removed).toHaveLength(6);
    expect(cleanup.evidence.map((e: any) => e.note)).toEqual(expect.arrayContaining([expect.stringMatching(new RegExp(`^deleted from ${GENERIC.replace(/\./g, '\\.')}, folder INBOX: <il-`))]));
    // the mailbox is back to what it was: same messages, same UIDs, same flags
    expect(await lab.dovecot.snapshot(GENERIC)).toEqual(before);
  });

  it('--cleanup never deletes the user\'s own mail: not on a subject match, not on a token that merely contains this one, never a token of another form', async () => {
    const token = 'il-mkq3x1a0-3f9c2e71d4';
    // the user's own messages: one repeats the token in its Subject only, one carries a longer token in the header
    await lab.dovecot.deliver(GENERIC, 'INBOX', `From: friend@example.org\r\nSubject: Weekly newsletter digest [${token}]\r\nMessage-ID: <own-1@example.org>\r\n\r\nkeep me\r\n`);
    await lab.dovecot.deliver(GENERIC, 'Junk', `From: friend@example.org\r\nSubject: another run\r\nX-Inboxlens-Token: ${token}-old\r\nMessage-ID: <own-2@example.org>\r\n\r\nkeep me\r\n`);
    await lab.dovecot.deliver(GENERIC, 'INBOX', 'From: friend@example.org\r\nSubject: Weekly newsletter digest\r\nX-Inboxlens-Token: il-old-run-000\r\n\r\nkeep me\r\n');
    const before = await lab.dovecot.snapshot(GENERIC);
    const r = await cli(['placement', 'collect', '--seeds', lab.seedsFile, '--token', token, '--timeout', '3s', '--cleanup', '--json', ...common()]);
    const { c } = doc(r);
    expect(c.data.cleanup.deleted).toBe(0);
    expect(c.data.cleanup.skipped.map((s: any) => s.reason).join('\n')).toMatch(/left in place/);
    expect(await lab.dovecot.snapshot(GENERIC)).toEqual(before);
    // words that are not a run token are refused before any mailbox is opened
    for (const t of ['newsletter', 'old-run', 'il-old-run-000', `${token}x`]) {
      const bad = await cli(['placement', 'collect', '--seeds', lab.seedsFile, '--token', t, '--cleanup', '--timeout', '3s', ...common()]);
      expect(bad.code).toBe(2);
      expect(bad.stderr).toMatch(/--token: .* is not an inboxlens run token/);
    }
    expect(await lab.dovecot.snapshot(GENERIC)).toEqual(before);
    // watch is a real campaign: never deletes
    const w = await cli(['placement', 'watch', '--seeds', lab.seedsFile, '--match-header', `X-Inboxlens-Token=${token}`, '--cleanup', '--timeout', '3s', ...common()]);
    expect(w.code).toBe(2);
    expect(w.stderr).toMatch(/placement watch never deletes/);
  });

  it('placement send where the SMTP server accepted no copy (its certificate is not trusted) is a failure: placement.none-sent, exit 1', async () => {
    const args = sendArgs('good', ['--json']);
    const i = args.indexOf('--smtp-ca');
    args.splice(i, 2);
    const r = await cli(['placement', 'send', ...args]);
    const { c, codes } = doc(r);
    expect(codes).toContain('placement.none-sent');
    expect(codes).not.toContain('placement.sent');
    expect(c.findings.find((x: any) => x.code === 'placement.none-sent').summary).toMatch(/None of the 8 copies was accepted/);
    expect(r.code).toBe(1);
  });

  it('check --only placement collects a run by token, and the human output is a table', async () => {
    const s = await cli(['placement', 'send', ...sendArgs('good', ['--message', path.join(ROOT, 'fixtures/messages/placement-newsletter.eml'), '--json'])]);
    const sent = doc(s);
    expect(sent.c.data.phase).toBe('send');
    expect(sent.c.data.rows).toEqual([]);
    expect(sent.codes).toContain('placement.sent');
    const token = sent.c.data.token;
    // the .eml's subject and both bodies went out, each carrying the token
    const copy = await fetchCopy(GENERIC, 'INBOX', token);
    expect(copy).toContain(`Subject: The June newsletter [${token}]`);
    expect(copy).toMatch(/Hello from the June newsletter\./);
    expect(copy).toMatch(/<b>June newsletter<\/b>/);
    expect(copy.split(token).length - 1).toBeGreaterThanOrEqual(4);
    const r = await cli(['check', 'goodsender.test', '--only', 'placement', '--seeds', lab.seedsFile, '--token', token, '--placement-timeout', '20s', '--resolver', lab.dns.address, '--json']);
    const { rows } = doc(r);
    expect(rows[GENERIC].placement).toBe('inbox');
    const h = await cli(['placement', 'collect', '--seeds', lab.seedsFile, '--token', token, '--timeout', '20s', ...common()]);
    expect(h.stdout).toMatch(/seed\s+provider\s+placement\s+arrival\s+receiver/);
    // no List-Unsubscribe this time: not bulk-looking, so Gmail's primary inbox
    expect(h.stdout).toMatch(/seed1@gmail\.lab\.test\s+gmail\s+inbox/);
    expect(h.stdout).toMatch(/seed1@mail\.lab\.test\s+generic\s+inbox\s+.*spf=pass dkim=pass dmarc=pass/);
    expect(h.stdout).toContain(`run token ${token}`);
    expect(h.stdout).not.toMatch(/\x1b\[/);
  });

  it('send --content judges the exact message being sent: signed, one-click unsubscribe inside h=', async () => {
    const r = await cli(['placement', 'send', '--content', ...sendArgs('good', ['--list-unsubscribe', 'https://goodsender.test/unsubscribe?u=2', '--json'])]);
    const d = r.json();
    const content = d.targets[0].checks.find((c: any) => c.check === 'content');
    expect(content).toBeTruthy();
    const codes = content.findings.map((f: any) => f.code);
    expect(codes).not.toContain('content.unsubscribe-not-signed');
    expect(codes).not.toContain('content.not-signed');
    expect(JSON.stringify(content.data)).toContain('list-unsubscribe-post');
    expect(d.targets[0].checks.find((c: any) => c.check === 'placement').data.send).toHaveLength(lab.seeds.length);
    const bad = await cli(['placement', 'collect', '--content', '--seeds', lab.seedsFile, '--token', 'il-x-0000000000', ...common()]);
    expect(bad.code).toBe(2);
  });

  it('never prints a seed password, the SMTP password or the DKIM key', () => {
    const all = outputs.join('\n');
    expect(all.length).toBeGreaterThan(1000);
    for (const s of lab.seeds) expect(all).not.toContain(s.pass);
    expect(all).not.toContain(lab.senders.good.dkim!.privateKey.split('\n')[1]!);
  });
});

describe('reconnecting', () => {
  it('finds the copies after Dovecot restarts in the middle of a collect', async () => {
    const seeds = loadSeeds(lab.seedsFile).seeds.filter((s) => [GENERIC, OUTLOOK].includes(s.address) || s.address === 'pop1@outlook.lab.test');
    const token = `il-reconnect-${Date.now().toString(36)}`;
    const logs: string[] = [];
    const loginsBefore = await imapLogins();
    const collecting = collectPlacement({ seeds, matcher: { token }, timeoutMs: 40_000, pollMs: 500, idle: true, log: (m) => logs.push(m) });
    // wait until both IMAP seeds have both connections logged in (Dovecot logs each), then pull the server away
    for (let i = 0; i < 300 && (await imapLogins()) - loginsBefore < 4; i++) await new Promise((r) => setTimeout(r, 100));
    await new Promise((r) => setTimeout(r, 300));
    await lab.dovecot.restart();
    for (const s of seeds) {
      await lab.dovecot.deliver(s.address, s.address === OUTLOOK ? 'Junk Email' : 'INBOX', `From: a@goodsender.test\r\nTo: ${s.address}\r\nSubject: after the restart [${token}]\r\nX-Inboxlens-Token: ${token}\r\nDate: ${new Date().toUTCString()}\r\n\r\nhello\r\n`);
    }
    const res = await collecting;
    const rows = Object.fromEntries(res.rows.map((r) => [r.seed, r]));
    expect(rows[GENERIC]!.placement).toBe('inbox');
    expect(rows[OUTLOOK]!.placement).toBe('spam');
    expect(rows['pop1@outlook.lab.test']!.error ?? rows['pop1@outlook.lab.test']!.placement).toBe('inbox');
    expect(rows[GENERIC]!.note).toMatch(/reconnected \d+ time/);
    expect(logs.join('\n')).toMatch(/dropped|reconnecting/);
  });
});

async function imapLogins(): Promise<number> {
  return ((await readLog(lab.dovecot)).match(/imap-login: Info: Login: /g) ?? []).length;
}

async function fetchCopy(user: string, folder: string, token: string): Promise<string> {
  const s = lab.seeds.find((x) => x.address === user)!;
  const c = new ImapFlow({ host: lab.dovecot.host, port: lab.dovecot.imapPort, secure: false, doSTARTTLS: true, tls: { ca: lab.caPem }, auth: { user: s.user, pass: s.pass }, logger: false });
  await c.connect();
  try {
    await c.mailboxOpen(folder, { readOnly: true });
    const uids = (await c.search({ header: { 'X-Inboxlens-Token': token } }, { uid: true })) || [];
    const m = await c.fetchOne(String(uids[0]), { source: true }, { uid: true });
    return m ? m.source!.toString() : '';
  } finally {
    await c.logout();
  }
}
