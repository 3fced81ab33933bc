// Validates a report against the committed JSON Schema, and each check's `data`
// against schema/checks/<check>.schema.json where one exists. Used by tests and CI.
import { readFileSync, readdirSync, existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const Ajv2020 = require('ajv/dist/2020').default;
const addFormats = require('ajv-formats');
const schemaDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../schema');

let compiled: { report: any; checks: Map<string, any> } | undefined;

function compile() {
  if (compiled) return compiled;
  const ajv = new Ajv2020({ allErrors: true, strict: false });
  addFormats(ajv);
  const report = ajv.compile(JSON.parse(readFileSync(path.join(schemaDir, 'report.schema.json'), 'utf8')));
  const checks = new Map<string, any>();
  const dir = path.join(schemaDir, 'checks');
  if (existsSync(dir)) {
    for (const f of readdirSync(dir).filter((f) => f.endsWith('.schema.json'))) {
      checks.set(f.replace('.schema.json', ''), ajv.compile(JSON.parse(readFileSync(path.join(dir, f), 'utf8'))));
    }
  }
  compiled = { report, checks };
  return compiled;
}

/** Returns a list of problems; empty when the document is valid. */
export function validateReport(doc: unknown): string[] {
  const { report, checks } = compile();
  const problems: string[] = [];
  if (!report(doc)) {
    for (const e of report.errors) problems.push(`${e.instancePath || '/'} ${e.message}`);
  }
  for (const [ti, t] of ((doc as any)?.targets ?? []).entries()) {
    for (const [ci, c] of (t?.checks ?? []).entries()) {
      const v = checks.get(c?.check);
      if (v && c.data !== undefined && !v(c.data)) {
        for (const e of v.errors) problems.push(`/targets/${ti}/checks/${ci}/data${e.instancePath} ${e.message} (check ${c.check})`);
      }
    }
  }
  return problems;
}
