// The README is a first contact of at most ~300 lines, and every relative link in
// it and under docs/ leads somewhere that exists (files, folders, #anchors to headings).
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../helpers/cli.ts';

function mdFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = path.join(dir, f);
    return statSync(p).isDirectory() ? mdFiles(p) : f.endsWith('.md') ? [p] : [];
  });
}

/** GitHub's heading anchors: lower case, punctuation dropped, spaces to hyphens. */
function anchors(md: string): Set<string> {
  const out = new Set<string>();
  for (const m of md.matchAll(/^#{1,6} (.+)$/gm)) out.add(m[1]!.trim().toLowerCase().replace(/[^\p{L}\p{N} _-]/gu, '').replace(/ /g, '-'));
  return out;
}

describe('documentation', () => {
  it('README.md stays a first contact: at most 320 lines', () => {
    expect(readFileSync(path.join(ROOT, 'README.md'), 'utf8').split('\n').length).toBeLessThanOrEqual(320);
  });

  it('every relative link in README.md and docs/ points at a file, folder or heading that exists', () => {
    const broken: string[] = [];
    for (const file of [path.join(ROOT, 'README.md'), ...mdFiles(path.join(ROOT, 'docs'))]) {
      // links outside code blocks
      const md = readFileSync(file, 'utf8').replace(/```[\s\S]*?```/g, '');
      for (const m of md.matchAll(/\]\(([^)\s]+)\)/g)) {
        const link = m[1]!;
        if (/^[a-z]+:/i.test(link)) continue;
        const [p, anchor] = link.split('#');
        const target = p ? path.resolve(path.dirname(file), p) : file;
        if (!existsSync(target)) {
          broken.push(`${path.relative(ROOT, file)}: ${link}`);
          continue;
        }
        if (anchor && target.endsWith('.md') && !anchors(readFileSync(target, 'utf8')).has(anchor)) broken.push(`${path.relative(ROOT, file)}: ${link} (no such heading)`);
      }
    }
    expect(broken).toEqual([]);
  });
});
