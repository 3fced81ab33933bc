// Differential test of the Authentication-Results parser (src/analyze/auth-results.ts)
// against python3-authres, an independent RFC 8601 implementation from Debian's packages
// (installed by scripts/setup.sh), over every Authentication-Results value in the
// mailauth fixtures (real Gmail, ethereal, Postfix/OpenDKIM copies) and in the receiver
// tests' RFC 8601, iCloud and OpenDKIM/OpenDMARC fixtures. Zero disagreements, except
// where authres itself cannot read a value the RFC allows, each listed with why.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseAuthResults } from '../../src/analyze/auth-results.ts';
import { headerFields } from '../../src/analyze/headers.ts';
import { ROOT } from '../helpers/cli.ts';

const PYTHON = '/usr/bin/python3';
const ORACLE = path.join(ROOT, 'test/analyze/oracle/parse_authres.py');

function corpus(): { where: string; value: string }[] {
  const out: { where: string; value: string }[] = [];
  const dir = path.join(ROOT, '../shared/conformance/mailauth-fixtures');
  for (const f of readdirSync(dir).filter((x) => x.endsWith('.eml')).sort()) {
    for (const h of headerFields(readFileSync(path.join(dir, f)))) if (h.name === 'authentication-results') out.push({ where: f, value: h.value });
  }
  // the receiver tests' fixtures, as written there
  const src = readFileSync(path.join(ROOT, 'test/analyze/receiver.test.ts'), 'utf8');
  const lines = [...src.matchAll(/^\s+'((?:[^'\\]|\\.)*)',?$/gm)].map((m) => m[1]!.replace(/\\'/g, "'").replace(/\\t/g, '\t'));
  let cur: string | undefined;
  const flush = () => {
    if (cur !== undefined) out.push({ where: 'receiver.test.ts', value: cur.trim() });
    cur = undefined;
  };
  for (const l of lines) {
    if (/^Authentication-Results:/i.test(l)) {
      flush();
      cur = l.replace(/^Authentication-Results:\s*/i, '');
    } else if (cur !== undefined && /^[ \t]/.test(l)) cur += ` ${l.trim()}`;
    else flush();
  }
  flush();
  // RFC 8601 B.7 and the quoting case, which the receiver tests give as bare values
  out.push({ where: 'RFC 8601 B.7', value: "foo.example.net (foobar) 1 (baz); dkim (Because I like it) / 1 (One yay) = (wait for it) fail policy (A dot can go here) . (like that) expired (this surprised me) = (as I wasn't expecting it) 1362471462" });
  out.push({ where: 'quoting', value: '"mx.google.com"; dkim=pass header.i=@e.example header.b="URn9MW+F" (c (nested; with ; semicolons)); spf=pass smtp.mailfrom=sender@e.example;' });
  return out;
}

// values authres 1.2.0 cannot read, and why inboxlens's reading is the RFC's
const AUTHRES_CANNOT: { match: RegExp; why: string }[] = [
  { match: /^foo\.example\.net \(foobar\) 1 \(baz\);/, why: 'RFC 8601 B.7: CFWS is allowed inside methodspec and propspec (§2.2); authres expects "=" right after the method' },
  { match: /^"/, why: 'an authserv-id may be a quoted-string (RFC 8601 §2.2: value, RFC 2045 §5.1); authres accepts only a token' },
  { match: /^[a-z-]+=/i, why: 'Exchange Online writes no authserv-id; authres requires one (§2.2 does too: inboxlens reads this form on purpose, for the outlook profile)' },
];

const usable = existsSync(PYTHON) && (() => {
  try {
    execFileSync(PYTHON, ['-c', 'import authres'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

describe('Authentication-Results: inboxlens against python3-authres', () => {
  it('the same authserv-id, version, methods, results, reasons and properties for every value', () => {
    expect(usable, 'python3-authres is not installed: run scripts/setup.sh').toBe(true);
    const values = corpus();
    expect(values.length).toBeGreaterThan(25);
    const theirs = JSON.parse(execFileSync(PYTHON, [ORACLE], { input: values.map((v) => v.value).join('\n\x00\n'), encoding: 'utf8' })) as any[];
    expect(theirs).toHaveLength(values.length);
    const disagreements: string[] = [];
    const excused: string[] = [];
    values.forEach((v, i) => {
      const t = theirs[i];
      const ours = parseAuthResults(v.value);
      if (t.error) {
        const known = AUTHRES_CANNOT.find((k) => k.match.test(v.value));
        if (known) excused.push(known.why);
        else disagreements.push(`${v.where}: authres cannot read "${v.value.slice(0, 80)}": ${t.error}`);
        return;
      }
      const norm = (x: { authservId?: string | null; version?: string | number | null; results: any[] }) => JSON.stringify({
        id: (x.authservId ?? '').toLowerCase(),
        version: x.version === null || x.version === undefined ? null : String(x.version),
        results: x.results.map((r: any) => ({
          method: String(r.method).toLowerCase(),
          version: r.methodVersion ?? r.version ?? null,
          result: String(r.result).toLowerCase(),
          reason: r.reason ?? null,
          props: (r.properties as any[]).map((p) => (Array.isArray(p) ? p : [p.ptype, p.property, p.value])).map(([a, b, c]) => [String(a).toLowerCase(), String(b).toLowerCase(), String(c)]),
        })),
      });
      // authres keeps OpenDKIM's "host/JOBID" as the id; inboxlens keeps the job id apart
      const a = norm({ authservId: `${ours.authservId ?? ''}${ours.jobId ? `/${ours.jobId}` : ''}`, version: ours.version, results: ours.results });
      const b = norm(t);
      if (a !== b) disagreements.push(`${v.where}: "${v.value.slice(0, 80)}"\n  inboxlens ${a}\n  authres   ${b}`);
    });
    expect(disagreements).toEqual([]);
    // each excuse is used: a list that names nothing would hide a new failure
    for (const k of AUTHRES_CANNOT) expect(excused, k.why).toContain(k.why);
  });
});
