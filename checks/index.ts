// The check registry. Every other .ts (or compiled .js) file in this folder is a
// check module whose default export implements Check: adding a check is adding a file.
import { readdirSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import path from 'node:path';
import type { Check } from '../src/types.ts';

const here = path.dirname(fileURLToPath(import.meta.url));
let loaded: Promise<Map<string, Check>> | undefined;

export function loadChecks(): Promise<Map<string, Check>> {
  loaded ??= (async () => {
    const ext = path.extname(fileURLToPath(import.meta.url));
    const files = readdirSync(here)
      .filter((f) => f.endsWith(ext) && !f.endsWith(`.d${ext}`) && f !== `index${ext}` && !f.startsWith('_'))
      .sort();
    const map = new Map<string, Check>();
    for (const f of files) {
      const mod = await import(pathToFileURL(path.join(here, f)).href);
      const check = mod.default as Check | undefined;
      if (!check?.id || typeof check.run !== 'function') continue; // a helper module, not a check
      if (map.has(check.id)) throw new Error(`two check modules claim the id '${check.id}'`);
      map.set(check.id, check);
    }
    return map;
  })();
  return loaded;
}
