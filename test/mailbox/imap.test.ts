// Read-only IMAP on the lab's real Dovecot: folders found by special-use first
// and by provider names as a fallback, EXAMINE + BODY.PEEK searches that leave
// every flag as it was, and login/TLS failures sorted into what the user must fix.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ListResponse } from 'imapflow';
import { startDovecot, type Dovecot } from '../../src/lab/dovecot.ts';
import { connectImap, discoverFolders, examine, headerMatches, mapFolders, searchSelected, MailboxError } from '../../src/mailbox/imap.ts';
import type { Access } from '../../src/placement/types.ts';

let d: Dovecot;
const PASS = 'imap-test-password-7';
const users = [
  { user: 'g@gmail.lab.test', pass: PASS, layout: 'gmail' as const },
  { user: 'o@outlook.lab.test', pass: PASS, layout: 'outlook' as const },
  { user: 'y@yahoo.lab.test', pass: PASS, layout: 'yahoo' as const },
  { user: 'i@icloud.lab.test', pass: PASS, layout: 'icloud' as const },
  { user: 'n@mail.lab.test', pass: PASS, layout: 'generic' as const },
];

beforeAll(async () => {
  d = await startDovecot({ users });
});
afterAll(async () => {
  await d?.stop();
});

const access = (extra: Partial<Access> = {}): Access => ({ protocol: 'imap', host: d.host, port: d.imapPort, secure: false, insecure: false, allowPlaintext: false, ca: d.caPem, ...extra });

describe('folders of each provider layout (real LIST from Dovecot)', () => {
  const expected: Record<string, { junk: string; all?: string; tabs?: Record<string, string>; skipped: string[] }> = {
    gmail: { junk: '[Gmail]/Spam', all: '[Gmail]/All Mail', tabs: { 'Categories/Promotions': 'promotions', 'Categories/Social': 'social', 'Categories/Updates': 'updates', 'Categories/Forums': 'forums' }, skipped: ['[Gmail]/Sent Mail', '[Gmail]/Drafts'] },
    outlook: { junk: 'Junk Email', skipped: ['Sent Items'] },
    yahoo: { junk: 'Bulk Mail', skipped: ['Sent'] },
    icloud: { junk: 'Junk', skipped: ['Sent Messages'] },
    generic: { junk: 'Junk', skipped: ['Sent'] },
  };
  for (const u of users) {
    it(u.layout, async () => {
      const c = await connectImap(access(), { user: u.user, pass: PASS });
      try {
        const fm = await discoverFolders(c, u.layout, {});
        const e = expected[u.layout]!;
        expect(fm.inbox.path).toBe('INBOX');
        expect(fm.junk?.path).toBe(e.junk);
        expect(fm.all?.path).toBe(e.all);
        const tabs = Object.fromEntries(fm.folders.filter((f) => f.role === 'tab').map((f) => [f.path, f.tab]));
        expect(tabs).toEqual(e.tabs ?? {});
        for (const s of e.skipped) expect(fm.skipped.map((x) => x.path)).toContain(s);
        expect(fm.folders.map((f) => f.path)).not.toContain(e.skipped[0]);
        expect(fm.gmail).toBe(false);
      } finally {
        await c.logout();
      }
    });
  }
});

function list(paths: [string, string[]?][]): ListResponse[] {
  return paths.map(([p, flags]) => ({ path: p, pathAsListed: p, name: p.split('/').pop()!, delimiter: '/', parent: [], parentPath: '', flags: new Set(flags ?? []), listed: true, subscribed: true } as unknown as ListResponse));
}

describe('folder names when the server marks no special use', () => {
  it('finds localised and provider names, and honours seed overrides', () => {
    expect(mapFolders(list([['INBOX'], ['[Google Mail]/Spam'], ['[Google Mail]/All Mail'], ['[Google Mail]/Sent Mail']]), 'gmail').junk?.path).toBe('[Google Mail]/Spam');
    expect(mapFolders(list([['INBOX'], ['[Google Mail]/All Mail']]), 'gmail').all?.path).toBe('[Google Mail]/All Mail');
    expect(mapFolders(list([['INBOX'], ['Junk E-mail']]), 'outlook').junk?.path).toBe('Junk E-mail');
    expect(mapFolders(list([['INBOX'], ['Bulk Mail']]), 'yahoo').junk?.path).toBe('Bulk Mail');
    expect(mapFolders(list([['INBOX'], ['Spam']]), 'generic').junk?.path).toBe('Spam');
    // a \Junk attribute wins over a name
    expect(mapFolders(list([['INBOX'], ['Spam'], ['Quarantäne', ['\\Junk']]]), 'generic').junk?.path).toBe('Quarantäne');
    const o = mapFolders(list([['INBOX'], ['Junk'], ['Quarantine'], ['Promo'], ['Old']]), 'generic', { junk: 'Quarantine', tabs: { promotions: 'Promo' }, skip: ['Old'] });
    expect(o.junk?.path).toBe('Quarantine');
    expect(o.folders.find((f) => f.path === 'Promo')).toMatchObject({ role: 'tab', tab: 'promotions' });
    expect(o.folders.find((f) => f.path === 'Junk')?.role).toBe('other');
    expect(o.skipped).toContainEqual({ path: 'Old', why: 'skipped by the seed (folders.skip)' });
    expect(mapFolders(list([['INBOX'], ['Parent', ['\\Noselect']]]), 'generic').skipped).toContainEqual({ path: 'Parent', why: 'not selectable' });
  });

  it('a localized spam folder without \\Junk under a dotted INBOX. namespace (German: INBOX.Unerwünscht)', () => {
    const dotted = (paths: [string, string[]?][]) => paths.map(([p, flags]) => ({ path: p, pathAsListed: p, name: p.split('.').pop()!, delimiter: '.', parent: [], parentPath: '', flags: new Set(flags ?? []), listed: true, subscribed: true } as unknown as ListResponse));
    // before the fix: no junk folder at all, so every spam copy was "missing" or other:INBOX.Unerwünscht
    expect(mapFolders(dotted([['INBOX'], ['INBOX.Unerwünscht'], ['INBOX.Gesendet', ['\\Sent']]]), 'generic').junk?.path).toBe('INBOX.Unerwünscht');
    expect(mapFolders(list([['INBOX'], ['Spamverdacht']]), 'generic').junk?.path).toBe('Spamverdacht');
    // imapflow's localized names (its name-derived special use) count too: a French server
    expect(mapFolders(dotted([['INBOX'], ['INBOX.Courrier indésirable']]).map((l) => Object.assign(l, { specialUse: '\\Junk', specialUseSource: 'name' })), 'generic').junk?.path).toBe('INBOX.Courrier indésirable');
    // a user's own folder deeper down is not the spam folder
    expect(mapFolders(dotted([['INBOX'], ['INBOX.Projekte'], ['INBOX.Projekte.Spam']]), 'generic').junk).toBeUndefined();
    // a name is only a fallback: \Junk still wins
    expect(mapFolders(dotted([['INBOX'], ['INBOX.Unerwünscht'], ['INBOX.Quarantäne', ['\\Junk']]]), 'generic').junk?.path).toBe('INBOX.Quarantäne');
  });
});

describe('the dotted INBOX. layout on a real Dovecot (mdbox, localized Junk without \\Junk)', () => {
  it('LIST shows INBOX.Unerw&APw-nscht without a special use, and the spam folder is found by name', async () => {
    const de = await startDovecot({ users: [{ user: 'd@web.lab.test', pass: PASS, layout: 'dotted-de' }] });
    try {
      const c = await connectImap({ ...access(), port: de.imapPort }, { user: 'd@web.lab.test', pass: PASS });
      try {
        const raw: string[] = [];
        c.on('log', () => {});
        const listed = await c.list();
        for (const l of listed) raw.push(`${(l as any).pathAsListed ?? l.path}|${l.delimiter}|${l.specialUse ?? ''}`);
        // the wire name is modified UTF-7 (RFC 3501 §5.1.3); imapflow decodes it
        expect(listed.find((l) => l.path === 'INBOX.Unerwünscht')).toMatchObject({ delimiter: '.' });
        expect(listed.find((l) => l.path === 'INBOX.Unerwünscht')?.specialUse).toBeUndefined();
        expect(raw).toContain('INBOX.Unerw&APw-nscht|.|');
        const fm = await discoverFolders(c, 'generic', {});
        expect(fm.junk?.path).toBe('INBOX.Unerwünscht');
        expect(fm.skipped.map((x) => x.path)).toContain('INBOX.Gesendet');
      } finally {
        await c.logout();
      }
    } finally {
      await de.stop();
    }
  }, 60_000);
});

describe('read-only search', () => {
  it('finds a copy by token header, then subject, and changes no flag', async () => {
    const u = users[4]!;
    await d.deliver(u.user, 'INBOX', 'From: a@sender.test\r\nSubject: unrelated\r\n\r\nold mail\r\n');
    await d.deliver(u.user, 'Junk', 'From: a@sender.test\r\nSubject: hello [il-imap-read-1]\r\nX-Inboxlens-Token: il-imap-read-1\r\n\r\nbody\r\n');
    await d.deliver(u.user, 'INBOX', 'From: a@sender.test\r\nSubject: only the subject [il-imap-read-2]\r\n\r\nbody\r\n');
    const before = await d.snapshot(u.user);
    const c = await connectImap(access(), { user: u.user, pass: PASS });
    try {
      await examine(c, 'Junk');
      expect(c.mailbox && c.mailbox.readOnly).toBe(true);
      const a = await searchSelected(c, { token: 'il-imap-read-1' });
      expect(a?.copies).toBe(1);
      expect(a?.source?.toString()).toContain('X-Inboxlens-Token: il-imap-read-1');
      expect(a?.internalDate).toBeInstanceOf(Date);
      await examine(c, 'INBOX');
      expect(await searchSelected(c, { token: 'il-imap-read-1' })).toBeUndefined();
      const b = await searchSelected(c, { token: 'il-imap-read-2' });
      expect(b?.source?.toString()).toContain('only the subject');
    } finally {
      await c.logout();
    }
    const after = await d.snapshot(u.user);
    expect(after).toEqual(before);
    // unread stays unread: nothing gained \Seen
    expect(Object.values(after).flat().every((m) => !m.flags.includes('\\Seen'))).toBe(true);
  });

  it('matches watch-mode criteria precisely (IMAP SEARCH is substring and case-insensitive)', () => {
    const h = 'From: News <news@example.com>\r\nSubject: Spring sale\r\nX-Campaign: spring-2025\r\n';
    expect(headerMatches(h, { header: { name: 'X-Campaign', value: 'spring-2025' } })).toBe(true);
    expect(headerMatches(h, { header: { name: 'X-Campaign', value: 'autumn' } })).toBe(false);
    expect(headerMatches(h, { subject: 'spring SALE', from: 'news@example.com' })).toBe(true);
    expect(headerMatches(h, { subject: 'spring', since: new Date('2030-01-01') }, new Date('2025-01-01'))).toBe(false);
    expect(headerMatches('Subject: x\r\nX-Inboxlens-Token: il-a-1\r\n', { token: 'il-a' })).toBe(false);
  });
});

describe('connection failures', () => {
  it('a wrong password is an auth error that does not contain it', async () => {
    const e = await connectImap(access(), { user: users[0]!.user, pass: 'bad-password-123' }).catch((x) => x);
    expect(e).toBeInstanceOf(MailboxError);
    expect(e.kind).toBe('auth');
    expect(e.message).not.toContain('bad-password-123');
  });
  it('an unverifiable certificate is a TLS error (STARTTLS and implicit TLS)', async () => {
    const e = await connectImap(access({ ca: undefined }), { user: users[0]!.user, pass: PASS }).catch((x) => x);
    expect(e.kind).toBe('tls');
    const e2 = await connectImap(access({ ca: undefined, secure: true, port: d.imapsPort }), { user: users[0]!.user, pass: PASS }).catch((x) => x);
    expect(e2.kind).toBe('tls');
    const ok = await connectImap(access({ secure: true, port: d.imapsPort }), { user: users[0]!.user, pass: PASS });
    await ok.logout();
  });
  it('a closed port is a network error', async () => {
    const e = await connectImap(access({ port: 1 }), { user: 'x', pass: 'y' }).catch((x) => x);
    expect(e.kind).toBe('network');
  });
});

describe('a server without STARTTLS', () => {
  it('is refused before any credential is sent (secure: false means STARTTLS, required)', async () => {
    const net = await import('node:net');
    const received: string[] = [];
    const server = net.createServer((sock) => {
      sock.write('* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN] plain IMAP ready\r\n');
      sock.on('data', (d) => {
        for (const line of d.toString().split('\r\n').filter(Boolean)) {
          received.push(line);
          const tag = line.split(' ')[0];
          if (/ CAPABILITY$/i.test(line)) sock.write(`* CAPABILITY IMAP4rev1 AUTH=PLAIN\r\n${tag} OK done\r\n`);
          else if (/ LOGOUT$/i.test(line)) sock.end(`* BYE\r\n${tag} OK bye\r\n`);
          else sock.write(`${tag} OK\r\n`);
        }
      });
      sock.on('error', () => {});
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    try {
      const port = (server.address() as any).port;
      const e = await connectImap({ protocol: 'imap', host: '127.0.0.1', port, secure: false, insecure: false, allowPlaintext: false }, { user: 'u', pass: 'never-sent-pass' }).catch((x) => x);
      expect(e).toBeInstanceOf(MailboxError);
      expect(e.kind).toBe('tls');
      expect(received.join('\n')).not.toMatch(/LOGIN|AUTHENTICATE|never-sent-pass/i);
    } finally {
      await new Promise<void>((r) => server.close(() => r()));
    }
  });
});
