// The finding codes of the dmarc check: stable API (renaming one breaks users' CI),
// each with its severity, what it means and the fix. The engine refuses, under test,
// a code that is not listed here; docs/checks/ is generated from this file.
import type { FindingCatalog } from '../types.ts';

export const DMARC_FINDINGS: FindingCatalog = {
  "dmarc.missing": { severity: ["error"], severityNote: "error", meaning: "no DMARC record on the whole Tree Walk", fix: "publish `v=DMARC1; p=none; rua=mailto:\u2026`, then enforce" },
  "dmarc.multiple-records": { severity: ["error"], severityNote: "error", meaning: "several `v=DMARC1` records at one name: all are discarded", fix: "keep one" },
  "dmarc.syntax": { severity: ["error", "warn"], severityNote: "error / warn", meaning: "the record is not read as DMARC (`v=dmarc1`, not first), or a tag is invalid: `p`/`sp`/`np` values, no `p=` (and no `rua=`: ignored), `adkim`/`aspf`/`t`/`psd`/`fo` values, `rua`/`ruf` not mailto URIs, duplicate, upper-case or unknown tags", fix: "rewrite the record as the finding shows" },
  "dmarc.policy-none": { severity: ["warn"], severityNote: "warn", meaning: "the policy that applies to the domain is `none` (RFC 9989: also `sp=none` inherited by a subdomain, `np=none` for a name that does not exist, or `quarantine` lowered by `t=y`; see docs/dmarc.md)", fix: "move to `quarantine`, then `reject`, once the reports are clean" },
  "dmarc.testing-mode": { severity: ["warn"], severityNote: "warn", meaning: "`t=y`: the policy is applied one step weaker", fix: "remove `t=y`" },
  "dmarc.deprecated-tag": { severity: ["warn", "info"], severityNote: "warn for `pct` < 100, else info", meaning: "`pct`, `rf`, `ri` are historic in RFC 9989 (RFC 9989 receivers ignore `pct`)", fix: "remove them; use `t=y` for a gradual roll-out" },
  "dmarc.no-rua": { severity: ["warn"], severityNote: "warn", meaning: "no valid aggregate report address", fix: "add `rua=mailto:\u2026`" },
  "dmarc.rua-unauthorized": { severity: ["warn"], severityNote: "warn", meaning: "an external `rua`/`ruf` domain has no `\u2026._report._dmarc.<dest>` TXT `v=DMARC1`: reports are dropped", fix: "have the destination publish it, or report to your own domain" },
  "dmarc.subdomain-policy-weaker": { severity: ["warn"], severityNote: "warn", meaning: "`sp=` or `np=` weaker than `p=`", fix: "raise them to `p=` or remove them" },
  "dmarc.org-domain-differs": { severity: ["info"], severityNote: "info", meaning: "the Tree Walk and the PSL give different organizational domains (and maybe records)", fix: "publish the policy at the domain itself so both methods agree" },
  "dmarc.org-domain-unknown": { severity: ["info"], severityNote: "info", meaning: "the record at the domain applies, but the walk above it failed", fix: "re-run" },
  "dmarc.ok": { severity: ["pass"], severityNote: "pass", meaning: "the applied policy, where it comes from, and where reports go", fix: "" },
};
