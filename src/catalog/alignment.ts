// The finding codes of the alignment check: stable API (renaming one breaks users' CI),
// each with its severity, what it means and the fix. The engine refuses, under test,
// a code that is not listed here; docs/checks/ is generated from this file.
import type { FindingCatalog } from '../types.ts';

export const ALIGNMENT_FINDINGS: FindingCatalog = {
  "alignment.spf-unaligned": { severity: ["warn"], severityNote: "warn", meaning: "the envelope domain cannot align (other organization, or only relaxed under `aspf=s`)", fix: "a custom Return-Path under your domain, or `aspf=r`" },
  "alignment.dkim-unaligned": { severity: ["warn"], severityNote: "warn", meaning: "the `d=` domain cannot align", fix: "sign with `d=` your domain (or a subdomain), or `adkim=r`" },
  "alignment.none": { severity: ["error"], severityNote: "error", meaning: "neither can align: DMARC fails for every message", fix: "DKIM-sign with your own domain at your ESP" },
  "alignment.psl-differs": { severity: ["info"], severityNote: "info", meaning: "the Tree Walk and the PSL disagree about relaxed alignment of an identifier", fix: "use the From domain itself" },
  "alignment.assumed": { severity: ["info"], severityNote: "info", meaning: "`--mail-from`/`--dkim-domain` not given: assumed to be the From domain", fix: "give the real ones, read from a message's headers" },
  "alignment.no-policy": { severity: ["info"], severityNote: "info", meaning: "no DMARC record: computed with the default relaxed modes", fix: "publish DMARC" },
  "alignment.ok": { severity: ["pass"], severityNote: "pass", meaning: "which identifiers align, strictly or relaxed", fix: "" },
};
