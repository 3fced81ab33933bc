// Input that is not what the user meant is refused, not rewritten: a domain, an
// address, a URL or a header value with a line break or another control
// character is exit 2 naming the flag and the character (before, `good\r\n.example`
// was checked as good.example, and a CR/LF in --list-unsubscribe was percent-encoded).
import { describe, expect, it } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runCli } from '../helpers/cli.ts';
import { parseDomain, refuseControl } from '../../src/cli/validate.ts';
import { parseMailbox } from '../../checks/smtp.ts';
import { validateUnsubscribe } from '../../src/placement/send.ts';
import { UsageError } from '../../src/cli/errors.ts';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'inboxlens-ctl-'));
const seeds = path.join(tmp, 's.yaml');
writeFileSync(seeds, 'seeds:\n  - address: a@example.com\n    imap: { host: 127.0.0.1, port: 1 }\n    auth: { user: u, pass: p }\n');
// nothing listens on port 9 of loopback: a run that got past validation fails differently
const SEND = ['placement', 'send', '--seeds', seeds, '--smtp', 'smtp://127.0.0.1:9', '--smtp-plaintext', '--no-save'];

describe('control characters in what the user typed: exit 2, naming the character', () => {
  it.each([
    ['check: a domain with CR LF', ['check', 'good\r\n.example', '--only', 'mx', '--no-save'], /domain: 'good\\r\\n\.example' contains a line break \(CR, U\+000D\) at position 5/],
    ['smtp --rcpt with CR LF', ['smtp', 'example.com', '--rcpt', 'a@inj.test\r\nDATA', '--no-save'], /--rcpt: 'a@inj\.test\\r\\nDATA' contains a line break \(CR, U\+000D\)/],
    ['--list-unsubscribe with CR LF', [...SEND, '--from', 'news@example.com', '--list-unsubscribe', 'https://u.example/x\r\nBcc: victim@example.net'], /--list-unsubscribe: .* contains a line break \(CR, U\+000D\)/],
    ['--from with LF', [...SEND, '--from', 'news@example.com\nBcc: x@example.net'], /--from: .* contains a line break \(LF, U\+000A\)/],
    ['--subject with CR', [...SEND, '--from', 'news@example.com', '--subject', 'Hi\rBcc: x@example.net'], /--subject: .* contains a line break \(CR, U\+000D\)/],
    ['a domain with a tab', ['check', 'good\t.example', '--only', 'mx', '--no-save'], /contains a tab \(U\+0009\)/],
  ])('%s', async (_name, args, re) => {
    const r = await runCli(args, { timeoutMs: 20_000 });
    expect(r.stderr).toMatch(re);
    expect(r.code).toBe(2);
  }, 25_000);

  it('the parsers refuse instead of rewriting', () => {
    expect(() => parseDomain('good\r\n.example')).toThrow(UsageError);
    expect(() => parseDomain('good\u0000.example')).toThrow(/a NUL character \(U\+0000\)/);
    expect(() => parseDomain('good\u2028.example')).toThrow(/LINE SEPARATOR, U\+2028/);
    expect(() => parseMailbox('a@inj.test\r\nDATA', '--rcpt')).toThrow(/--rcpt: .*line break \(CR, U\+000D\)/);
    expect(() => validateUnsubscribe(['https://u.example/\n'])).toThrow(/--list-unsubscribe: .*line break \(LF, U\+000A\)/);
    expect(() => refuseControl('x\u007fy', '--x')).toThrow(/a control character \(U\+007F\)/);
    // what was fine stays fine; surrounding whitespace is still trimmed from a domain
    expect(parseDomain(' Good.Example. ')).toBe('good.example');
    expect(parseMailbox('<a@inj.test>', '--rcpt')).toBe('a@inj.test');
    expect(validateUnsubscribe(['https://u.example/x?id=1'])).toEqual(['https://u.example/x?id=1']);
  });
});
