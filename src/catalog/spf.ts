// The finding codes of the spf check: stable API (renaming one breaks users' CI),
// each with its severity, what it means and the fix. The engine refuses, under test,
// a code that is not listed here; docs/checks/ is generated from this file.
import type { FindingCatalog } from '../types.ts';

export const SPF_FINDINGS: FindingCatalog = {
  "spf.missing": { severity: ["error", "warn"], severityNote: "error (warn for a From domain when `--mail-from` names another envelope domain)", meaning: "no `v=spf1` TXT record at the domain; or an `include`/`redirect` points at a name without one (permerror, RFC 7208 \u00a75.2, \u00a76.1)", fix: "publish one record (`v=spf1 ip4:\u2026 include:\u2026 -all`); `v=spf1 -all` for a From domain never used as an envelope; fix or remove the include" },
  "spf.multiple-records": { severity: ["error"], severityNote: "error", meaning: "more than one `v=spf1` record at a name of the tree (permerror, \u00a74.5)", fix: "merge them into one" },
  "spf.syntax": { severity: ["error"], severityNote: "error", meaning: "a term that breaks the RFC 7208 grammar, named exactly (permerror wherever it is, \u00a74.6); also an include/redirect target that is not a valid DNS name", fix: "correct or remove the term" },
  "spf.too-many-lookups": { severity: ["error"], severityNote: "error", meaning: "more than 10 DNS-querying terms across the whole tree (\u00a74.6.4): receivers stop with permerror; the finding lists the costliest branches", fix: "drop unused includes, replace `a`/`mx` with `ip4`/`ip6`, move a heavy provider to its own envelope subdomain" },
  "spf.void-lookups": { severity: ["error"], severityNote: "error", meaning: "more than 2 lookups that return NXDOMAIN or no records (\u00a74.6.4); the terms are listed", fix: "remove or correct them" },
  "spf.mx-too-many-addresses": { severity: ["error"], severityNote: "error", meaning: "an `mx` term whose MX set has more than 10 hosts, i.e. needs more than 10 address lookups (\u00a74.6.4)", fix: "list the sending hosts with `ip4`/`ip6`/`a`" },
  "spf.include-loop": { severity: ["error"], severityNote: "error", meaning: "an include/redirect points back at a record being evaluated; the loop is shown", fix: "remove the looping term" },
  "spf.permissive-all": { severity: ["error", "warn"], severityNote: "error for `+all` (in the record, its redirect target, or an included record: then every IP passes); warn for `?all` or no `all` and no redirect (every other IP gets neutral)", meaning: "the policy does not deny anyone (\u00a74.7, \u00a75.1)", fix: "end with `-all` (or `~all` while checking)" },
  "spf.ptr-mechanism": { severity: ["warn"], severityNote: "warn", meaning: "`ptr` is used (\u00a75.5: SHOULD NOT)", fix: "replace with `ip4`/`ip6`/`a`" },
  "spf.record-too-long": { severity: ["warn", "info"], severityNote: "warn (info in a provider's record)", meaning: "the TXT answer at a name of the tree is too large for plain UDP (see below)", fix: "shorten: CIDR blocks, fewer terms, move other TXT records elsewhere, split with an include" },
  "spf.ip-not-authorized": { severity: ["error", "warn"], severityNote: "error for `fail` and `permerror`, warn for `softfail`/`neutral`", meaning: "an `--ip` is not authorized by the envelope domain's SPF; a term that explicitly denies it is named", fix: "add the IP or its provider's include, or fix the denying term" },
  "spf.ip-authorized": { severity: ["pass"], severityNote: "pass", meaning: "an `--ip` passes SPF", fix: "" },
  "spf.ok": { severity: ["pass"], severityNote: "pass", meaning: "one valid record: lookups, void lookups and the ending", fix: "" },
};
