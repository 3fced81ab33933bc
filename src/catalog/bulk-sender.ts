// The finding codes of the bulk-sender check: stable API (renaming one breaks users' CI),
// each with its severity, what it means and the fix. The engine refuses, under test,
// a code that is not listed here; docs/checks/ is generated from this file.
import type { FindingCatalog } from '../types.ts';

export const BULKSENDER_FINDINGS: FindingCatalog = {
  "bulk-sender.spf": { severity: ["error"], meaning: "SPF record for the envelope domain: not met (the detail says why)", fix: "see the spf check" },
  "bulk-sender.spf-pass": { severity: ["error"], meaning: "SPF passes for the sending IPs: not met", fix: "see the spf check (with --ip)" },
  "bulk-sender.dkim": { severity: ["error"], meaning: "DKIM key for the signing domain: not met", fix: "see the dkim check" },
  "bulk-sender.dmarc": { severity: ["error"], meaning: "DMARC policy, p=none or stronger: not met", fix: "see the dmarc check" },
  "bulk-sender.alignment": { severity: ["error"], meaning: "From aligned with SPF or DKIM: not met", fix: "see the alignment check (--mail-from, --dkim-domain)" },
  "bulk-sender.ptr": { severity: ["error"], meaning: "forward-confirmed reverse DNS: not met", fix: "see the ptr check (with --ip)" },
  "bulk-sender.unknown": { severity: ["info"], severityNote: "info (status unknown)", meaning: "a requirement could not be determined because its input was unknown", fix: "fix the input (e.g. name your DKIM selector)" },
  "bulk-sender.not-checkable": { severity: ["info"], severityNote: "info", meaning: "the requirements DNS cannot show, and what checks them", fix: "" },
  "bulk-sender.ok": { severity: ["pass"], severityNote: "pass", meaning: "a requirement is met", fix: "" },
};
