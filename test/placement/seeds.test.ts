// Seeds file validation, ${VAR} references, secret registration, and the option
// checks of `inboxlens placement` (exit 2 with one line naming the problem).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseSeeds, loadSeeds } from '../../src/placement/seeds.ts';
import { buildMatcher, buildPlan, parseSince } from '../../src/placement/plan.ts';
import { parseSmtpUrl, makeToken, buildMessage, DKIM_HEADERS } from '../../src/placement/send.ts';
import { redact } from '../../src/util/redact.ts';
import { UsageError } from '../../src/cli/errors.ts';
import { runCli, ROOT } from '../helpers/cli.ts';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'inboxlens-seeds-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
function file(name: string, text: string): string {
  const p = path.join(tmp, name);
  writeFileSync(p, text);
  return p;
}

function err(yaml: string, env: NodeJS.ProcessEnv = {}): string {
  try {
    parseSeeds(yaml, 'seeds.yaml', { env, baseDir: tmp });
  } catch (e) {
    expect(e).toBeInstanceOf(UsageError);
    return (e as Error).message;
  }
  throw new Error('expected a UsageError');
}

const ok = `seeds:
  - address: a@example.com
    provider: gmail
    imap: { host: imap.example.com }
    auth: { user: a@example.com, pass: "\${A_PASS}" }
  - address: b@example.com
    pop3: { host: pop.example.com, secure: false, allowPlaintext: true }
    auth: { user: b, accessToken: literal-access-token-123 }
`;

describe('seeds file', () => {
  it('reads imap and pop3 seeds with defaults (implicit TLS ports, generic provider)', () => {
    const sf = parseSeeds(ok, 'seeds.yaml', { env: { A_PASS: 'app-password-from-env' } });
    expect(sf.seeds).toHaveLength(2);
    const [a, b] = sf.seeds;
    expect(a!.access).toMatchObject({ protocol: 'imap', host: 'imap.example.com', port: 993, secure: true, insecure: false });
    expect(a!.auth.pass).toBe('app-password-from-env');
    expect(b!.provider).toBe('generic');
    expect(b!.access).toMatchObject({ protocol: 'pop3', port: 110, secure: false, allowPlaintext: true });
    // a plaintext-capable seed is named in a warning
    expect(sf.warnings.join('\n')).toMatch(/b@example\.com: allowPlaintext/);
  });

  it('registers passwords and tokens (from the environment and literal) for redaction', () => {
    parseSeeds(ok, 'seeds.yaml', { env: { A_PASS: 'another-app-password-xyz' } });
    expect(redact('login with another-app-password-xyz and literal-access-token-123')).toBe('login with [redacted] and [redacted]');
  });

  it('names the seed and the field in every error', () => {
    expect(err('seeds:\n  - address: a@example.com\n    imap: { host: h, port: 99999 }\n    auth: { user: u, pass: p }\n')).toMatch(/seeds\.yaml: seed 1 \(a@example\.com\) imap\.port: must be a port number/);
    expect(err('seeds:\n  - address: a@example.com\n    imap: { port: 993 }\n    auth: { user: u, pass: p }\n')).toMatch(/seed 1 \(a@example\.com\) imap\.host: is required/);
    expect(err('seeds:\n  - address: a@example.com\n    imap: { host: h, hots: x }\n    auth: { user: u, pass: p }\n')).toMatch(/imap\.hots: is not a known field \(did you mean 'host'\?\)/);
    expect(err('seeds:\n  - address: a@example.com\n    provider: hotmail\n    imap: { host: h }\n    auth: { user: u, pass: p }\n')).toMatch(/seed 1 \(a@example\.com\) provider: must be one of gmail, outlook, yahoo, icloud, generic/);
    expect(err('seeds:\n  - address: not-an-address\n    imap: { host: h }\n    auth: { user: u, pass: p }\n')).toMatch(/seed 1 \(not-an-address\) address: 'not-an-address' is not an email address/);
    expect(err('seeds:\n  - address: a@example.com\n    auth: { user: u, pass: p }\n')).toMatch(/seed 1 \(a@example\.com\): missing access: add imap:/);
    expect(err('seeds:\n  - address: a@example.com\n    imap: { host: h }\n    pop3: { host: h }\n    auth: { user: u, pass: p }\n')).toMatch(/either imap: or pop3:, not both/);
    expect(err('seeds:\n  - address: a@example.com\n    imap: { host: h }\n    auth: { user: u }\n')).toMatch(/seed 1 \(a@example\.com\) auth: give pass/);
    expect(err('seeds:\n  - address: a@example.com\n    imap: { host: h }\n    auth: { user: u, pass: p, accessToken: t }\n')).toMatch(/only one of pass, accessToken, refreshToken/);
    expect(err('seeds:\n  - address: a@example.com\n    imap: { host: h }\n    auth: { user: u, refreshToken: r, tokenUrl: "https://t.example/token" }\n')).toMatch(/auth\.clientId: is required with auth\.refreshToken/);
    expect(err('seeds:\n  - address: a@example.com\n    imap: { host: h }\n    auth: { user: u, refreshToken: r, clientId: c, tokenUrl: "http://t.example/token" }\n')).toMatch(/auth\.tokenUrl: must be an https:\/\/ URL/);
    expect(err('seeds:\n  - address: a@example.com\n    imap: { host: h }\n    auth: { user: u, pass: p }\n  - address: A@example.com\n    imap: { host: h }\n    auth: { user: u, pass: p }\n')).toMatch(/seed 2 \(A@example\.com\): the same address as seed 1/);
    expect(err('seeds: []\n')).toMatch(/seeds: must list at least one seed/);
    expect(err('seeds:\n  - address: a@example.com\n    imap: { host: h, ca: missing-ca.pem }\n    auth: { user: u, pass: p }\n')).toMatch(/imap\.ca: cannot read '[^']*missing-ca\.pem' \(ENOENT\)/);
    expect(err('seeds:\n  - [oops\n')).toMatch(/not valid YAML at line/);
  });

  it('says which environment variable is missing, and never prints a literal secret in an error', () => {
    expect(err(ok, {})).toMatch(/seed 1 \(a@example\.com\) auth\.pass: environment variable A_PASS is not set/);
    const msg = err('seeds:\n  - address: a@example.com\n    imap: { host: h, port: 0 }\n    auth: { user: u, pass: "very-secret-literal" }\n');
    expect(redact(msg)).not.toContain('very-secret-literal');
  });

  it('reads the documented example file, its CA file relative to the seeds file', () => {
    const env = Object.fromEntries(['GMAIL_SEED1_APP_PASSWORD', 'GMAIL_SEED2_APP_PASSWORD', 'OUTLOOK_SEED1_REFRESH', 'OUTLOOK_CLIENT_ID', 'YAHOO_SEED1_APP_PASSWORD', 'ICLOUD_SEED1_APP_PASSWORD', 'EXAMPLE_NET_QA_PASSWORD', 'BOUNCES_PASSWORD'].map((k) => [k, `value-of-${k}`]));
    const sf = loadSeeds(path.join(ROOT, 'fixtures/seeds/example.yaml'), { env });
    expect(sf.seeds.map((s) => `${s.provider}/${s.access.protocol}`)).toEqual(['gmail/imap', 'gmail/pop3', 'outlook/imap', 'yahoo/imap', 'icloud/imap', 'generic/imap']);
    expect(sf.seeds[2]!.auth).toMatchObject({ refreshToken: 'value-of-OUTLOOK_SEED1_REFRESH', tokenUrl: expect.stringMatching(/^https:/) });
    expect(sf.seeds[5]!.access.ca).toMatch(/BEGIN CERTIFICATE/);
    expect(sf.seeds[5]!.folders).toEqual({ junk: 'Quarantine', skip: ['Archive/2019'] });
    expect(sf.bounces?.address).toBe('bounces@example.com');
    expect(sf.warnings).toEqual([]);
  });
});

describe('placement options', () => {
  it('builds matchers and refuses ambiguous ones', () => {
    expect(buildMatcher({ token: 'il-abc123-00000000ff' }, 'collect', undefined)).toEqual({ token: 'il-abc123-00000000ff' });
    expect(() => buildMatcher({}, 'collect', undefined)).toThrow(/say how to find the copies/);
    expect(() => buildMatcher({ token: 'il-abc123', 'match-subject': 'x' }, 'collect', undefined)).toThrow(/do not combine/);
    expect(() => buildMatcher({ 'match-subject': 'Spring sale' }, 'collect', undefined)).toThrow(/need --since/);
    expect(() => buildMatcher({ 'match-header': 'nonsense' }, 'collect', undefined)).toThrow(/must be NAME=VALUE/);
    const m = buildMatcher({ 'match-header': 'X-Campaign=spring', 'match-from': 'news@example.com', since: '2025-06-01T10:00:00Z' }, 'collect', undefined);
    expect(m).toEqual({ header: { name: 'X-Campaign', value: 'spring' }, from: 'news@example.com', since: new Date('2025-06-01T10:00:00Z') });
    expect(Date.now() - parseSince('2h').getTime()).toBeGreaterThanOrEqual(2 * 3600_000 - 5000);
    expect(() => parseSince('yesterday-ish')).toThrow(/is not a time/);
  });

  it('reads the SMTP URL, takes the password from the environment only', () => {
    expect(parseSmtpUrl('smtps://news@smtp.example.com', { INBOXLENS_SMTP_PASS: 'smtp-password-1' })).toMatchObject({ host: 'smtp.example.com', port: 465, secure: true, user: 'news', pass: 'smtp-password-1' });
    expect(parseSmtpUrl('smtp://127.0.0.1:2525', {})).toMatchObject({ host: '127.0.0.1', port: 2525, secure: false });
    expect(() => parseSmtpUrl('smtp://news@smtp.example.com', {})).toThrow(/INBOXLENS_SMTP_PASS is not set/);
    expect(() => parseSmtpUrl('http://smtp.example.com', {})).toThrow(/use smtp:\/\/ \(STARTTLS\) or smtps:\/\//);
    let msg = '';
    try {
      parseSmtpUrl('smtp://news:pw-in-url-123@smtp.example.com', {});
    } catch (e) {
      msg = (e as Error).message;
    }
    expect(msg).toMatch(/do not put the password in the URL/);
    expect(msg).not.toContain('pw-in-url-123');
    expect(redact('x pw-in-url-123 y')).toBe('x [redacted] y');
  });

  it('puts the token in a header, the subject and the body, with its own Message-ID', () => {
    const token = makeToken();
    expect(token).toMatch(/^il-[a-z0-9]+-[0-9a-f]{10}$/);
    const seed = parseSeeds(ok, 's.yaml', { env: { A_PASS: 'x-pass-1' } }).seeds[0]!;
    const m = buildMessage({ from: 'News <news@example.com>', subject: 'Hello', text: 'Hi', tokenInSubject: true, listUnsubscribe: ['https://example.com/u?x=1', 'mailto:unsub@example.com'] }, seed, token, 3);
    expect(m.subject).toBe(`Hello [${token}]`);
    expect(String(m.text)).toContain(token);
    expect(m.messageId).toMatch(new RegExp(`^<${token}\\.3\\.[0-9a-f]{8}@example\\.com>$`));
    expect(m.headers).toMatchObject({ 'X-Inboxlens-Token': token, 'List-Unsubscribe': '<https://example.com/u?x=1>, <mailto:unsub@example.com>', 'List-Unsubscribe-Post': 'List-Unsubscribe=One-Click' });
    expect(m.envelope).toEqual({ from: 'News <news@example.com>', to: [seed.address] });
    const noSubj = buildMessage({ from: 'news@example.com', subject: 'Hello', html: '<p>x</p>', tokenInSubject: false }, seed, token, 1);
    expect(noSubj.subject).toBe('Hello');
    expect(String(noSubj.html)).toContain(token);
    expect(DKIM_HEADERS.split(':')).toEqual(expect.arrayContaining(['List-Unsubscribe', 'List-Unsubscribe-Post']));
  });
});

describe('placement send: the certificate opt-out is loud', () => {
  it('--smtp-insecure adds a warning naming the host and the user whose password is at stake', async () => {
    const seeds = file('w.yaml', 'seeds:\n  - address: a@example.com\n    imap: { host: 127.0.0.1, port: 1 }\n    auth: { user: u, pass: p }\n');
    const args = { seeds, from: 'news@example.com', smtp: 'smtp://news@smtp.example.com:587' };
    const env = { INBOXLENS_SMTP_PASS: 'x' };
    expect((await buildPlan(args, 'send', env)).seedsFile.warnings).toEqual([]);
    const plan = await buildPlan({ ...args, 'smtp-insecure': true }, 'send', env);
    expect(plan.seedsFile.warnings.join('\n')).toMatch(/--smtp-insecure: the certificate of smtp\.example\.com is not verified, so the password of news goes to whoever answers/);
  });
});

describe('placement command input errors (exit 2, one line)', () => {
  const seeds = file('s.yaml', 'seeds:\n  - address: a@example.com\n    imap: { host: 127.0.0.1, port: 1 }\n    auth: { user: u, pass: "cli-secret-pass-9" }\n');
  const cases: [string, string[], RegExp][] = [
    ['no seeds', ['placement', 'collect', '--token', 'il-abcdef-0123456789'], /--seeds FILE is required/],
    ['unreadable seeds', ['placement', 'collect', '--seeds', path.join(tmp, 'nope.yaml'), '--token', 'il-abcdef-0123456789'], /--seeds: cannot read .*nope\.yaml.*ENOENT/],
    ['bad seeds', ['placement', 'collect', '--seeds', file('bad.yaml', 'seeds:\n  - address: a@example.com\n    imap: { host: h, port: x }\n    auth: { user: u, pass: p }\n'), '--token', 'il-abcdef-0123456789'], /seed 1 \(a@example\.com\) imap\.port: must be a whole number/],
    ['no matcher', ['placement', 'collect', '--seeds', seeds], /say how to find the copies/],
    ['send options on collect', ['placement', 'collect', '--seeds', seeds, '--token', 'il-abcdef-0123456789', '--from', 'a@example.com'], /--from is for sending/],
    ['send without --from', ['placement', 'send', '--seeds', seeds, '--smtp', 'smtp://127.0.0.1:25'], /--from ADDR is required/],
    ['send without --smtp', ['placement', 'send', '--seeds', seeds, '--from', 'a@example.com'], /--smtp URL is required/],
    ['bad --from', ['placement', 'send', '--seeds', seeds, '--from', 'not-an-address', '--smtp', 'smtp://127.0.0.1:25'], /--from: 'not-an-address' is not an email address/],
    ['bad timeout', ['placement', 'collect', '--seeds', seeds, '--token', 'il-abcdef-0123456789', '--timeout', 'soon'], /--timeout: 'soon' is not a duration/],
    ['cleanup on watch', ['placement', 'watch', '--seeds', seeds, '--match-header', 'X-A=b', '--cleanup'], /placement watch never deletes/],
    ['cleanup without token', ['placement', 'collect', '--seeds', seeds, '--match-header', 'X-A=b', '--cleanup'], /--cleanup deletes only copies carrying this run's token/],
    ['a word as token', ['placement', 'collect', '--seeds', seeds, '--token', 'newsletter', '--cleanup'], /--token: 'newsletter' is not an inboxlens run token/],
    ['bad unsubscribe', ['placement', 'send', '--seeds', seeds, '--from', 'a@example.com', '--smtp', 'smtp://127.0.0.1:25', '--list-unsubscribe', 'ftp://x'], /--list-unsubscribe: 'ftp:\/\/x\/?' must be https:/],
    ['dkim without selector', ['placement', 'send', '--seeds', seeds, '--from', 'a@example.com', '--smtp', 'smtp://127.0.0.1:25', '--dkim-key', path.join(ROOT, 'fixtures/lab/dkim/goodsender.test.lab.key')], /--dkim-key needs --dkim-selector/],
    ['password in the SMTP URL', ['placement', 'send', '--seeds', seeds, '--from', 'a@example.com', '--smtp', 'smtp://u:argv-pass-77@127.0.0.1:25'], /do not put the password in the URL/],
  ];
  for (const [name, args, re] of cases) {
    it(name, async () => {
      const r = await runCli(args);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(re);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).not.toMatch(/\n\s+at /);
      expect(r.stderr + r.stdout).not.toContain('cli-secret-pass-9');
      expect(r.stderr + r.stdout).not.toContain('argv-pass-77');
    });
  }
});
