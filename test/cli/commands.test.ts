// The static metadata that --help, unknown words and completion use instead of
// loading every command module (src/cli/command-list.ts), and the checks'
// manifest (src/check-manifest.ts), must match the modules they describe.
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { COMMANDS } from '../../src/cli/command-list.ts';
import { CHECK_MANIFEST } from '../../src/check-manifest.ts';
import { generateManifest } from '../../scripts/gen-check-manifest.ts';
import { ROOT } from '../helpers/cli.ts';

describe('static command metadata', () => {
  it('has one entry per command module, equal to what the module declares', async () => {
    const files = readdirSync(path.join(ROOT, 'src/cli/commands')).filter((f) => f.endsWith('.ts')).map((f) => f.slice(0, -3)).sort();
    expect(COMMANDS.map((c) => c.name).sort()).toEqual(files);
    for (const meta of COMMANDS) {
      const { command } = await import(`../../src/cli/commands/${meta.name}.ts`);
      const m = await command.module();
      expect({ command: m.command, describe: m.describe, order: command.order ?? 50 }, meta.name).toEqual({ command: meta.command, describe: meta.describe, order: meta.order });
    }
  });
});

describe('check manifest', () => {
  it('is what scripts/gen-check-manifest.ts generates from checks/ (run it after changing a check)', async () => {
    const { readFileSync } = await import('node:fs');
    expect(readFileSync(path.join(ROOT, 'src/check-manifest.ts'), 'utf8')).toBe(await generateManifest());
    expect(CHECK_MANIFEST.length).toBeGreaterThan(10);
  });
});
