// The layers of docs/ARCHITECTURE.md, enforced: the engine, the checks and the
// protocol code know nothing of the command line or the terminal. No file outside
// src/cli/ imports src/cli/, and the library's entry imports neither yargs nor blessed.
import { readFileSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from './helpers/cli.ts';

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = path.join(dir, f);
    return statSync(p).isDirectory() ? files(p) : p.endsWith('.ts') ? [p] : [];
  });
}

const IMPORT = /(?:^|\n)\s*(?:import|export)\b[^;]*?from\s+['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g;

function imports(file: string): string[] {
  return [...readFileSync(file, 'utf8').matchAll(IMPORT)].map((m) => m[1] ?? m[2]!);
}

describe('layering', () => {
  it('no file outside src/cli/ imports src/cli/', () => {
    const cli = path.join(ROOT, 'src/cli') + path.sep;
    const bad: string[] = [];
    for (const f of [...files(path.join(ROOT, 'src')), ...files(path.join(ROOT, 'checks'))]) {
      if (f.startsWith(cli)) continue;
      for (const spec of imports(f)) {
        if (spec.startsWith('.') && path.resolve(path.dirname(f), spec).startsWith(cli)) bad.push(`${path.relative(ROOT, f)} → ${spec}`);
      }
    }
    expect(bad).toEqual([]);
  });

  it('the engine, the checks and the protocol code import no yargs and no blessed', () => {
    const bad: string[] = [];
    for (const dir of ['src/engine', 'src/dns', 'src/smtp', 'src/mailbox', 'src/placement', 'src/dnsbl', 'src/spf', 'src/dkim', 'src/dmarc', 'src/content', 'src/catalog', 'checks']) {
      for (const f of files(path.join(ROOT, dir))) for (const spec of imports(f)) if (/^(yargs|blessed)(\/|$)/.test(spec)) bad.push(`${path.relative(ROOT, f)} → ${spec}`);
    }
    for (const f of ['src/engine.ts', 'src/types.ts', 'src/index.ts']) for (const spec of imports(path.join(ROOT, f))) if (/^(yargs|blessed)(\/|$)/.test(spec)) bad.push(`${f} → ${spec}`);
    expect(bad).toEqual([]);
  });
});
