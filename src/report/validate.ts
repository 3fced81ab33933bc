// Validates the JSON documents inboxlens prints against the committed JSON Schemas:
// a report (schema/report.schema.json, and each check's `data` against
// schema/checks/<check>.schema.json where one exists), `history --json`
// (schema/history.schema.json) and `diff --json` (schema/diff.schema.json).
// Used by tests and CI.
import { readFileSync, readdirSync, existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const Ajv2020 = require('ajv/dist/2020').default;
const addFormats = require('ajv-formats');
const schemaDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../schema');

/** The top-level documents, by the name of their schema file (schema/<name>.schema.json). */
export type DocumentKind = 'report' | 'history' | 'diff';
const KINDS: DocumentKind[] = ['report', 'history', 'diff'];

let compiled: { docs: Map<DocumentKind, any>; checks: Map<string, any> } | undefined;

function compile() {
  if (compiled) return compiled;
  const ajv = new Ajv2020({ allErrors: true, strict: false });
  addFormats(ajv);
  const read = (f: string) => JSON.parse(readFileSync(f, 'utf8'));
  // added first, so that one may $ref another (a report's comparison is a diff; a diff's findings are a report's)
  for (const k of KINDS) ajv.addSchema(read(path.join(schemaDir, `${k}.schema.json`)));
  const docs = new Map(KINDS.map((k) => [k, ajv.getSchema(`https://inboxlens.dev/schema/${k}.schema.json`)] as const));
  const checks = new Map<string, any>();
  const dir = path.join(schemaDir, 'checks');
  if (existsSync(dir)) {
    for (const f of readdirSync(dir).filter((f) => f.endsWith('.schema.json'))) {
      checks.set(f.replace('.schema.json', ''), ajv.compile(read(path.join(dir, f))));
    }
  }
  compiled = { docs, checks };
  return compiled;
}

function problemsOf(v: any, doc: unknown, prefix = ''): string[] {
  return v(doc) ? [] : v.errors.map((e: any) => `${prefix}${e.instancePath || (prefix ? '' : '/')} ${e.message}`);
}

/** Does schema/checks/<id>.schema.json exist (every check with data should have one)? */
export function hasCheckSchema(id: string): boolean {
  return compile().checks.has(id);
}

/** Returns a list of problems; empty when the document is valid. */
export function validateReport(doc: unknown): string[] {
  const { docs, checks } = compile();
  const problems = problemsOf(docs.get('report'), doc);
  for (const [ti, t] of ((doc as any)?.targets ?? []).entries()) {
    for (const [ci, c] of (t?.checks ?? []).entries()) {
      const v = checks.get(c?.check);
      if (v && c.data !== undefined) problems.push(...problemsOf(v, c.data, `/targets/${ti}/checks/${ci}/data`).map((p) => `${p} (check ${c.check})`));
    }
  }
  return problems;
}

/** `inboxlens history --json` and `inboxlens diff --json` against their schemas; empty when valid. */
export function validateDocument(kind: DocumentKind, doc: unknown): string[] {
  return kind === 'report' ? validateReport(doc) : problemsOf(compile().docs.get(kind), doc);
}
