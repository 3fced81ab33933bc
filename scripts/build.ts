// `npm run build` (also run by `prepack`): src/check-manifest.ts is regenerated,
// tsc emits dist/ (see tsconfig.build.json),
// then the non-code files the code reads relative to itself are copied next to it:
// schema/ (report and config validation), fixtures/ (the lab and the demo) and
// checks/*.yaml (the built-in DNSBL zones).
import { cpSync, readdirSync, rmSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const dist = path.join(ROOT, 'dist');
rmSync(dist, { recursive: true, force: true });
// the checks' static metadata, so the installed CLI never runs with a stale one
execFileSync(process.execPath, [path.join(ROOT, 'scripts/gen-check-manifest.ts')], { stdio: 'inherit' });
execFileSync(process.execPath, [path.join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', path.join(ROOT, 'tsconfig.build.json')], { stdio: 'inherit' });
for (const dir of ['schema', 'fixtures']) cpSync(path.join(ROOT, dir), path.join(dist, dir), { recursive: true });
for (const f of readdirSync(path.join(ROOT, 'checks')).filter((f) => /\.(ya?ml|json)$/.test(f))) {
  cpSync(path.join(ROOT, 'checks', f), path.join(dist, 'checks', f));
}
