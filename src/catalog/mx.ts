// The finding codes of the mx check: stable API (renaming one breaks users' CI),
// each with its severity, what it means and the fix. The engine refuses, under test,
// a code that is not listed here; docs/checks/ is generated from this file.
import type { FindingCatalog } from '../types.ts';

export const MX_FINDINGS: FindingCatalog = {
  "mx.missing": { severity: ["warn"], severityNote: "warn", meaning: "no MX record (mail falls back to A/AAAA, or nowhere)", fix: "publish MX records" },
  "mx.null": { severity: ["error"], severityNote: "error", meaning: "null MX (RFC 7505): the domain declares it accepts no mail, so receivers may reject its mail (5.7.27)", fix: "do not send from it, or publish real MX hosts" },
  "mx.unresolvable": { severity: ["error"], severityNote: "error", meaning: "an MX host has no A/AAAA", fix: "give it an address or drop it" },
  "mx.cname-target": { severity: ["warn"], severityNote: "warn", meaning: "an MX host is a CNAME (RFC 2181 \u00a710.3)", fix: "point the MX at the canonical name" },
  "mx.ip-literal": { severity: ["error"], severityNote: "error", meaning: "an MX target is an IP address", fix: "use a host name" },
  "mx.ok": { severity: ["pass"], severityNote: "pass", meaning: "the MX hosts resolve", fix: "" },
};
