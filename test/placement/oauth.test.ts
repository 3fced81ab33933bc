// OAuth2 seeds (Outlook.com refuses passwords over IMAP and POP): a refresh token
// is exchanged for a fresh access token at the seed's tokenUrl on every run
// (RFC 6749 §6), which then logs in with SASL (OAUTHBEARER/XOAUTH2) to a real
// Dovecot. A tiny local HTTP token endpoint plays Microsoft's.
import http from 'node:http';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import YAML from 'yaml';
import { startDovecot, type Dovecot } from '../../src/lab/dovecot.ts';
import { validateReport } from '../../src/report/validate.ts';
import { runCli } from '../helpers/cli.ts';

const ACCESS_IMAP = 'ya29.access-token-for-imap-7f3e';
const ACCESS_POP = 'ya29.access-token-for-pop-91ac';
const REFRESH_IMAP = 'M.refresh-token-imap-2b8d';
const REFRESH_POP = 'M.refresh-token-pop-55e1';
const REFRESH_EXPIRED = 'M.refresh-token-expired-0c4a';
const CLIENT = 'client-id-3f1b';

let d: Dovecot;
let server: http.Server;
let tokenUrl = '';
const requests: URLSearchParams[] = [];

beforeAll(async () => {
  // in the lab a user's password doubles as its OAuth2 token: Dovecot checks a
  // SASL bearer token against the passdb like a password
  d = await startDovecot({
    users: [{ user: 'o@outlook.lab.test', pass: ACCESS_IMAP, layout: 'outlook' }, { user: 'p@outlook.lab.test', pass: ACCESS_POP, layout: 'outlook' }],
    authMechanisms: ['plain', 'login', 'xoauth2', 'oauthbearer'],
  });
  server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c) => { body += c; });
    req.on('end', () => {
      const form = new URLSearchParams(body);
      requests.push(form);
      res.setHeader('content-type', 'application/json');
      const grant = form.get('grant_type') === 'refresh_token' && form.get('client_id') === CLIENT && req.method === 'POST' && req.url === '/oauth2/v2.0/token';
      const token = grant && { [REFRESH_IMAP]: ACCESS_IMAP, [REFRESH_POP]: ACCESS_POP }[form.get('refresh_token') ?? ''];
      if (token) return res.end(JSON.stringify({ token_type: 'Bearer', access_token: token, expires_in: 3600, refresh_token: `${form.get('refresh_token')}-rotated` }));
      res.statusCode = 400;
      res.end(JSON.stringify({ error: 'invalid_grant', error_description: 'AADSTS70000: The provided grant has expired' }));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  tokenUrl = `http://127.0.0.1:${(server.address() as any).port}/oauth2/v2.0/token`;
  const token = 'il-oauthtest-0000000001';
  for (const u of ['o@outlook.lab.test', 'p@outlook.lab.test']) {
    await d.deliver(u, 'INBOX', `From: a@goodsender.test\r\nTo: ${u}\r\nSubject: oauth [${token}]\r\nX-Inboxlens-Token: ${token}\r\n\r\nhello\r\n`);
  }
});
afterAll(async () => {
  await d?.stop();
  await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
});

describe('OAuth2 seeds', () => {
  it('refreshes a token per seed, logs in with it over IMAP and POP3, and never prints a token', async () => {
    const caFile = path.join(d.dir, 'ca.pem');
    writeFileSync(caFile, d.caPem);
    const oauth = (refresh: string) => ({ user: '', refreshToken: refresh, clientId: CLIENT, tokenUrl, scope: 'https://outlook.office.com/IMAP.AccessAsUser.All offline_access' });
    const seeds = {
      seeds: [
        { address: 'o@outlook.lab.test', provider: 'outlook', imap: { host: '127.0.0.1', port: d.imapPort, secure: false }, ca: caFile, auth: { ...oauth('${IMAP_REFRESH}'), user: 'o@outlook.lab.test' } },
        { address: 'p@outlook.lab.test', provider: 'outlook', pop3: { host: '127.0.0.1', port: d.pop3sPort, secure: true }, ca: caFile, auth: { ...oauth(REFRESH_POP), user: 'p@outlook.lab.test' } },
        { address: 'x@outlook.lab.test', provider: 'outlook', imap: { host: '127.0.0.1', port: d.imapPort, secure: false }, ca: caFile, auth: { ...oauth(REFRESH_EXPIRED), user: 'x@outlook.lab.test' } },
      ],
    };
    const file = path.join(d.dir, 'oauth-seeds.yaml');
    writeFileSync(file, YAML.stringify(seeds));
    const r = await runCli(['placement', 'collect', '--seeds', file, '--token', 'il-oauthtest-0000000001', '--timeout', '10s', '--json'], { env: { IMAP_REFRESH: REFRESH_IMAP } });
    const doc = r.json();
    expect(validateReport(doc)).toEqual([]);
    const rows = Object.fromEntries(doc.targets[0].checks[0].data.rows.map((x: any) => [x.seed, x]));
    expect(rows['o@outlook.lab.test'].placement).toBe('inbox');
    expect(rows['p@outlook.lab.test'].placement).toBe('inbox');
    expect(rows['x@outlook.lab.test'].placement).toBe('error');
    expect(rows['x@outlook.lab.test'].error).toMatch(/OAuth2 token refresh at http:\/\/127\.0\.0\.1:\d+\/oauth2\/v2\.0\/token was refused: HTTP 400 invalid_grant: AADSTS70000/);
    // one refresh per seed, each a proper RFC 6749 §6 request
    expect(requests.map((q) => q.get('refresh_token')).sort()).toEqual([REFRESH_EXPIRED, REFRESH_IMAP, REFRESH_POP].sort());
    for (const q of requests) {
      expect(q.get('grant_type')).toBe('refresh_token');
      expect(q.get('client_id')).toBe(CLIENT);
      expect(q.get('scope')).toBe('https://outlook.office.com/IMAP.AccessAsUser.All offline_access');
    }
    const all = r.stdout + r.stderr;
    for (const secret of [ACCESS_IMAP, ACCESS_POP, REFRESH_IMAP, REFRESH_POP, REFRESH_EXPIRED, `${REFRESH_IMAP}-rotated`]) expect(all).not.toContain(secret);
    // Dovecot saw bearer-token logins, not passwords
    const log = readFileSync(path.join(d.dir, 'dovecot.log'), 'utf8');
    expect(log).toMatch(/Login: user=<o@outlook\.lab\.test>, method=(OAUTHBEARER|XOAUTH2)/);
    expect(log).toMatch(/pop3-login: Info: Login: user=<p@outlook\.lab\.test>, method=XOAUTH2/);
  });
});
