// The ValiMail ARC validation suite (../shared/conformance/arc): its cases and key records.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import { ROOT } from './cli.ts';

const SUITE = path.resolve(ROOT, '../shared/conformance/arc/valimail-arc-draft-validation-tests.yml');

export interface ArcCase { id: string; scenario: string; message: Buffer; cv: 'pass' | 'fail' | 'none' }

/** The suite's cases and the union of its txt-records (the scenarios share keys: checked). */
export function loadArcSuite(): { cases: ArcCase[]; txt: Record<string, string> } {
  const docs = YAML.parseAllDocuments(readFileSync(SUITE, 'utf8')).map((d) => d.toJSON() as any);
  const txt: Record<string, string> = {};
  const cases: ArcCase[] = [];
  for (const d of docs) {
    for (const [name, value] of Object.entries<string>(d['txt-records'] ?? {})) {
      const k = name.toLowerCase();
      if (txt[k] !== undefined && txt[k] !== String(value)) throw new Error(`the scenarios disagree about ${k}`);
      txt[k] = String(value);
    }
    for (const [id, t] of Object.entries<any>(d.tests)) {
      // an empty cv (cv_fail_i1_as_cv_fail, cv_fail_i2_as1_fail: a seal says cv=fail) is what the
      // suite's dkimpy-based harness printed for dkimpy's None; RFC 8617 §5.2 step 2 says fail
      const cv = String(t.cv ?? '').trim().toLowerCase() || 'fail';
      cases.push({ id, scenario: String(d.description).trim(), message: Buffer.from(String(t.message ?? '').replace(/\r?\n/g, '\r\n')), cv: cv as ArcCase['cv'] });
    }
  }
  return { cases, txt };
}

