// The Public Suffix List's official test vectors (publicsuffix/list tests/tests.txt
// and tests/test_psl.txt, copied read-only into ../shared/conformance/dmarc/psl/)
// run through registrableDomain(), the RFC 7489 organizational-domain helper that
// DMARC, alignment and the domain blacklists share. tldts bundles its own copy of
// the PSL; every vector passes with it, so nothing is skipped.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { registrableDomain, relaxedAligned } from '../../src/dns/orgdomain.ts';
import { ROOT } from '../helpers/cli.ts';

const DIR = path.resolve(ROOT, '../shared/conformance/dmarc/psl');

interface Vector { input: string | null; expected: string | null; line: number }

/** tests.txt: "input expected" per line, "null" for null, // comments (commented-out vectors stay out). */
function plainVectors(): Vector[] {
  return readFileSync(path.join(DIR, 'tests.txt'), 'utf8').split('\n').flatMap((raw, i) => {
    const l = raw.trim();
    if (!l || l.startsWith('//')) return [];
    const [a, b] = l.split(/\s+/);
    return [{ input: a === 'null' ? null : a!, expected: b === 'null' ? null : b!, line: i + 1 }];
  });
}

/** test_psl.txt: checkPublicSuffix('input', 'expected'); lines. */
function jsVectors(): Vector[] {
  const re = /^checkPublicSuffix\((null|'[^']*'),\s*(null|'[^']*')\);/;
  return readFileSync(path.join(DIR, 'test_psl.txt'), 'utf8').split('\n').flatMap((raw, i) => {
    const m = re.exec(raw.trim());
    if (!m) return [];
    const un = (s: string) => (s === 'null' ? null : s.slice(1, -1));
    return [{ input: un(m[1]!), expected: un(m[2]!), line: i + 1 }];
  });
}

// the vectors' null input stands for "no name at all"
const run = (v: Vector) => (v.input === null ? null : registrableDomain(v.input));

describe('PSL conformance (publicsuffix/list test vectors)', () => {
  const plain = plainVectors();
  const js = jsVectors();

  it('reads both vector files completely', () => {
    // 78 active vectors in each file at the pinned commit (4 are commented out: the .local ones)
    expect(plain.length).toBe(78);
    expect(js.length).toBe(78);
    expect(js.map((v) => [v.input, v.expected])).toEqual(plain.map((v) => [v.input, v.expected]));
  });

  it.each(plain.map((v) => [`${v.input} → ${v.expected} (tests.txt:${v.line})`, v] as const))('%s', (_name, v) => {
    expect(run(v)).toBe(v.expected);
  });

  it('covers the cases DMARC depends on: wildcard rules, exceptions, private suffixes, IDNs', () => {
    // wildcard *.mm with no exception, and *.ck with the !www.ck exception
    expect(registrableDomain('a.b.c.mm')).toBe('b.c.mm');
    expect(registrableDomain('www.www.ck')).toBe('www.ck');
    // the private section counts (allowPrivateDomains): each github.io site is its own organization
    expect(registrableDomain('mail.someone.github.io')).toBe('someone.github.io');
    // a trailing dot and upper case are normalised; empty labels are not names
    expect(registrableDomain('Mail.Example.CO.UK.')).toBe('example.co.uk');
    expect(registrableDomain('a..example.com')).toBeNull();
    // U-labels and A-labels of the same suffix give the same answer
    expect(registrableDomain('www.食狮.公司.cn')).toBe('食狮.公司.cn');
    expect(registrableDomain('www.xn--85x722f.xn--55qx5d.cn')).toBe('xn--85x722f.xn--55qx5d.cn');
  });

  it('relaxed alignment (RFC 7489 §3.1) follows the registrable domain', () => {
    expect(relaxedAligned('bounce.example.co.uk', 'news.example.co.uk')).toBe(true);
    expect(relaxedAligned('a.someone.github.io', 'b.other.github.io')).toBe(false);
    expect(relaxedAligned('co.uk', 'co.uk')).toBe(false);
  });
});
