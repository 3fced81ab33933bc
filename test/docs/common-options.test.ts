// The README's paragraph on the options the commands share (and docs/reference.md's
// "Common options") must be true (issue 14 QA: "Every command takes --resolver,
// --against, --junit …" was false for demo, history, diff and reports). Each clause
// "`a`, `b` take `--x`, `--y` …" is read off the page, and every option it names is
// checked against that command's real --help.
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { COMMANDS } from '../../src/cli/command-list.ts';
import { ROOT, runCli } from '../helpers/cli.ts';

const ALL = COMMANDS.map((c) => c.name);
const DNS_OPTIONS = ['resolver', 'concurrency', 'dns-timeout', 'retries'];

/** Split at `;` and `. ` outside parentheses. */
function clauses(text: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let cur = '';
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (ch === '(') depth++;
    if (ch === ')') depth--;
    if (depth === 0 && (ch === ';' || (ch === '.' && /\s/.test(text[i + 1] ?? ' ')))) {
      out.push(cur.trim());
      cur = '';
      continue;
    }
    cur += ch;
  }
  if (cur.trim()) out.push(cur.trim());
  return out;
}

/** What a paragraph claims: which commands take which options. */
function claims(paragraph: string): { commands: string[]; options: string[]; text: string }[] {
  const out: { commands: string[]; options: string[]; text: string }[] = [];
  for (const c of clauses(paragraph.replace(/\s+/g, ' '))) {
    const m = /\btakes?\b/.exec(c);
    if (!m) continue;
    const before = c.slice(0, m.index);
    // what a parenthesis says in passing (an alias of another command's option) is not a claim
    let after = c.slice(m.index);
    while (/\([^()]*\)/.test(after)) after = after.replace(/\([^()]*\)/g, '');
    const commands = /^every command/i.test(before.trim()) ? ALL : [...before.matchAll(/`([a-z]+)`/g)].map((x) => x[1]!);
    const options = [...after.matchAll(/`(--[a-z-]+)[^`]*`/g)].map((x) => x[1]!.replace(/^--(no-)?/, ''));
    if (/the DNS options/.test(after)) options.push(...DNS_OPTIONS);
    out.push({ commands, options: [...new Set(options)], text: c });
  }
  return out;
}

function paragraph(file: string, start: RegExp): string {
  const text = readFileSync(path.join(ROOT, file), 'utf8');
  const m = start.exec(text);
  if (!m) throw new Error(`${file}: no paragraph matching ${start}`);
  return text.slice(m.index).split(/\n\n/)[0]!;
}

const helpCache = new Map<string, Set<string>>();
/** The long option names a command's --help lists (aliases too). */
async function optionsOf(command: string): Promise<Set<string>> {
  let s = helpCache.get(command);
  if (s) return s;
  const r = await runCli([command, '--help']);
  expect(r.code, r.stderr).toBe(0);
  s = new Set<string>();
  for (const line of r.stdout.split('\n')) {
    const m = /^\s+(?:-[a-zA-Z], )?((?:--[a-z-]+(?:, )?)+)/.exec(line);
    if (m) for (const o of m[1]!.split(', ')) s.add(o.replace(/^--/, '').trim());
  }
  helpCache.set(command, s);
  return s;
}

describe('the shared options, as the docs state them', () => {
  for (const [file, start] of [['README.md', /^The commands that check something/m], ['docs/reference.md', /^The commands that check something/m]] as const) {
    it(`${file}: every command named takes every option named`, async () => {
      const cs = claims(paragraph(file, start));
      expect(cs.length).toBeGreaterThanOrEqual(3);
      // every command is spoken for by a clause of its own
      const named = new Set(cs.filter((c) => c.commands !== ALL).flatMap((c) => c.commands));
      expect([...ALL].filter((c) => !named.has(c))).toEqual([]);
      const wrong: string[] = [];
      for (const c of cs) {
        expect(c.options.length, c.text).toBeGreaterThan(0);
        for (const cmd of c.commands) {
          const has = await optionsOf(cmd);
          for (const o of c.options) if (!has.has(o)) wrong.push(`${cmd} --${o} (${file}: "${c.text.slice(0, 60)}…")`);
        }
      }
      expect(wrong).toEqual([]);
    }, 120_000);
  }

  it('the old paragraph\'s claim would have been caught', async () => {
    const old = claims('Every command takes `--json`, `--resolver HOST[:PORT]`, `--against`, `--junit FILE`.');
    const wrong: string[] = [];
    for (const cmd of old[0]!.commands) for (const o of old[0]!.options) if (!(await optionsOf(cmd)).has(o)) wrong.push(`${cmd} --${o}`);
    expect(wrong).toEqual(expect.arrayContaining(['demo --resolver', 'history --resolver', 'diff --against', 'reports --junit']));
  }, 120_000);
});
