// Building findings: one helper so every check fills the same fields the same way.
import type { Evidence, Finding, Severity } from './types.ts';

export interface FindingExtra {
  detail?: string;
  evidence?: Evidence[];
  fix?: string;
  ref?: string;
  subject?: string;
}

/** `const f = finder('spf'); f('spf.missing', 'error', 'No SPF record', {fix, ref})` */
export function finder(check: string) {
  return (code: string, severity: Severity, summary: string, extra: FindingExtra = {}): Finding => {
    if (!code.startsWith(`${check}.`)) throw new Error(`finding code '${code}' must start with '${check}.'`);
    const f: Finding = { check, code, severity, summary };
    for (const k of ['detail', 'evidence', 'fix', 'ref', 'subject'] as const) {
      if (extra[k] !== undefined) (f as any)[k] = extra[k];
    }
    return f;
  };
}
