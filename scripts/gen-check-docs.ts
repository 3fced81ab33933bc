// Writes docs/checks/<id>.md from each check's catalogue (src/catalog/*.ts).
import { writeFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadChecks } from '../checks/index.ts';
import { checkDoc } from '../src/catalog/docs.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
mkdirSync(path.join(root, 'docs/checks'), { recursive: true });
for (const c of (await loadChecks()).values()) {
  writeFileSync(path.join(root, 'docs/checks', `${c.id}.md`), checkDoc(c));
  console.log(`docs/checks/${c.id}.md`);
}
