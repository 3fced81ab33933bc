// The finding codes of the bimi check: stable API (renaming one breaks users' CI),
// each with its severity, what it means and the fix. The engine refuses, under test,
// a code that is not listed here; docs/checks/ is generated from this file.
import type { FindingCatalog } from '../types.ts';

export const BIMI_FINDINGS: FindingCatalog = {
  "bimi.missing": { severity: ["info"], severityNote: "info", meaning: "no BIMI record (optional)", fix: "publish `v=BIMI1; l=https://\u2026/logo.svg; a=https://\u2026/vmc.pem`" },
  "bimi.declined": { severity: ["info"], severityNote: "info", meaning: "empty `l=` and no `a=`: the domain declines to show a logo", fix: "" },
  "bimi.syntax": { severity: ["error"], severityNote: "error", meaning: "not `v=BIMI1`, no `l=`, `l=`/`a=` not https, several records", fix: "fix the record" },
  "bimi.logo-unreachable": { severity: ["error"], severityNote: "error", meaning: "the logo cannot be fetched (no address, TLS error, non-200)", fix: "serve it over HTTPS with a public-CA certificate" },
  "bimi.logo-invalid": { severity: ["error", "warn"], severityNote: "error (not SVG Tiny PS) / warn (not image/svg+xml, over 32 KB, not square, version not 1.2)", meaning: "receivers refuse the logo, or may", fix: "export as SVG Tiny PS, square, \u2264 32 KB" },
  "bimi.no-certificate": { severity: ["warn"], severityNote: "warn", meaning: "no `a=`: Gmail and Apple Mail show no logo without a VMC or CMC (a provider requirement, not a syntax error)", fix: "get a VMC/CMC and add `a=`" },
  "bimi.certificate-invalid": { severity: ["warn"], severityNote: "warn", meaning: "`a=` unreachable, not a PEM certificate, expired, or not naming the domain", fix: "serve the current VMC/CMC PEM chain" },
  "bimi.dmarc-not-enforced": { severity: ["warn"], severityNote: "warn", meaning: "DMARC not at enforcement at the author or organizational domain: `p=none`, `sp=none`, `t=y`, `pct` below 100, or no DMARC record", fix: "move DMARC to quarantine/reject for all mail" },
  "bimi.ok": { severity: ["pass"], severityNote: "pass", meaning: "logo valid, certificate present, DMARC enforced", fix: "" },
};
