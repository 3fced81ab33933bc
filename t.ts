import { unpack, DEFAULT_LIMITS } from './src/reports/unpack.ts';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
const root = '/work/shared/conformance/dmarc-reports';
const files: string[] = [];
const w = (d: string) => { for (const f of readdirSync(d)) { const p = path.join(d, f); statSync(p).isDirectory() ? w(p) : files.push(p); } };
w(root);
for (const f of files) {
  const r = await unpack(readFileSync(f), f, { limits: DEFAULT_LIMITS, source: f });
  console.log(path.basename(f).slice(0, 50), r.found.map((x) => `${x.report.kind}:${(x.report as any).reportId ?? (x.report as any).dedupeKey?.slice(0,8)}:${(x.report as any).domain ?? ''} ${x.where.split('›').slice(1).join('›')}`), r.problems.map((p) => `${p.kind}: ${p.message}`));
}
