// The checks' static metadata (src/check-manifest.ts, generated from checks/*.ts)
// and a loader that imports only the check modules a run needs, with their
// dependencies: `check --only mx` does not pay for mailauth, undici or the DNSBL code.
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

import type { Check, OptionSpec } from './types.ts';
import { CHECK_MANIFEST } from './check-manifest.ts';
import { loadChecks } from '../checks/index.ts';

/** What is known of a check without loading its module. */
export interface CheckMeta {
  id: string;
  /** the module's name in checks/, without extension */
  file: string;
  title: string;
  optIn?: boolean;
  optInWith?: string[];
  dependsOn?: string[];
  cliOptions?: Record<string, OptionSpec>;
}

const ext = path.extname(fileURLToPath(import.meta.url));
const checksDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../checks');
let fresh: boolean | undefined;

/**
 * Whether the manifest names exactly the files in checks/ (in a clone a check
 * may have been added since it was generated; then everything is loaded, as before).
 */
function manifestFresh(): boolean {
  if (fresh === undefined) {
    const files = readdirSync(checksDir)
      .filter((f) => f.endsWith(ext) && !f.endsWith(`.d${ext}`) && f !== `index${ext}` && !f.startsWith('_'))
      .map((f) => f.slice(0, -ext.length))
      .sort();
    const listed = CHECK_MANIFEST.map((m) => m.file).sort();
    fresh = files.length === listed.length && files.every((f, i) => f === listed[i]);
  }
  return fresh;
}

/** Every check's metadata, by id (the loaded modules themselves when the manifest is stale). */
export async function checkMetadata(): Promise<Map<string, CheckMeta | Check>> {
  if (!manifestFresh()) return loadChecks();
  return new Map(CHECK_MANIFEST.map((m) => [m.id, m]));
}

/** Load the named checks and, transitively, the checks they depend on. */
export async function loadChecksById(ids: string[]): Promise<Map<string, Check>> {
  if (!manifestFresh()) return loadChecks();
  const byId = new Map(CHECK_MANIFEST.map((m) => [m.id, m]));
  const want = new Set<string>();
  const add = (id: string) => {
    const m = byId.get(id);
    if (!m || want.has(id)) return;
    want.add(id);
    for (const d of m.dependsOn ?? []) add(d);
  };
  ids.forEach(add);
  const out = new Map<string, Check>();
  const mods = await Promise.all([...want].map((id) => import(pathToFileURL(path.join(checksDir, `${byId.get(id)!.file}${ext}`)).href)));
  for (const mod of mods) {
    const c = mod.default as Check;
    out.set(c.id, c);
  }
  return out;
}
