// The finding codes of the ptr check: stable API (renaming one breaks users' CI),
// each with its severity, what it means and the fix. The engine refuses, under test,
// a code that is not listed here; docs/checks/ is generated from this file.
import type { FindingCatalog } from '../types.ts';

export const PTR_FINDINGS: FindingCatalog = {
  "ptr.missing": { severity: ["error"], severityNote: "error", meaning: "the IP has no PTR record; Gmail rejects such mail (550 5.7.25)", fix: "ask whoever owns the IP (hosting provider, ESP) to set a PTR to a name of yours, e.g. `mail.example.com`" },
  "ptr.not-forward-confirmed": { severity: ["error"], severityNote: "error", meaning: "no PTR name has an A/AAAA record containing the IP (RFC 1912 \u00a72.1)", fix: "add the A/AAAA record for the PTR name, or change the PTR to a name that resolves to the IP" },
  "ptr.generic": { severity: ["warn"], severityNote: "warn", meaning: "the PTR name looks like an ISP's dynamic/residential pool name (heuristic below)", fix: "use a descriptive name in your own domain (`mail.`, `out1.` \u2026)" },
  "ptr.multiple": { severity: ["info"], severityNote: "info", meaning: "several PTR records; many receivers use only one of them", fix: "keep one PTR per IP" },
  "ptr.ok": { severity: ["pass"], severityNote: "pass", meaning: "forward-confirmed reverse DNS", fix: "" },
};
