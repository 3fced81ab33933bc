// The finding codes of the tls-rpt check: stable API (renaming one breaks users' CI),
// each with its severity, what it means and the fix. The engine refuses, under test,
// a code that is not listed here; docs/checks/ is generated from this file.
import type { FindingCatalog } from '../types.ts';

export const TLSRPT_FINDINGS: FindingCatalog = {
  "tls-rpt.missing": { severity: ["warn", "info"], severityNote: "info, warn when MTA-STS is enforced", meaning: "no TLS-RPT record: nobody tells you when senders cannot deliver over TLS", fix: "publish `v=TLSRPTv1; rua=mailto:tlsrpt@<domain>`" },
  "tls-rpt.syntax": { severity: ["error"], severityNote: "error", meaning: "not exactly `v=TLSRPTv1`, no `rua=`, a scheme other than mailto/https, not an address", fix: "fix the record" },
  "tls-rpt.multiple-records": { severity: ["error"], severityNote: "error", meaning: "several TLS-RPT records: senders use none", fix: "one record, destinations comma-separated" },
  "tls-rpt.rua-unresolvable": { severity: ["warn"], severityNote: "warn", meaning: "a destination domain cannot receive reports (no MX/address)", fix: "use a destination that receives mail" },
  "tls-rpt.ok": { severity: ["pass"], severityNote: "pass", meaning: "valid record, destinations resolve", fix: "" },
};
