// The finding codes of the mta-sts check: stable API (renaming one breaks users' CI),
// each with its severity, what it means and the fix. The engine refuses, under test,
// a code that is not listed here; docs/checks/ is generated from this file.
import type { FindingCatalog } from '../types.ts';

export const MTASTS_FINDINGS: FindingCatalog = {
  "mta-sts.missing": { severity: ["info"], severityNote: "info", meaning: "no MTA-STS record (MTA-STS is optional)", fix: "serve a policy and publish `_mta-sts` TXT `v=STSv1; id=\u2026`" },
  "mta-sts.syntax": { severity: ["error"], severityNote: "error", meaning: "the TXT record is invalid, not exactly `v=STSv1;`, or there are several: senders act as if there were none", fix: "publish exactly one valid record" },
  "mta-sts.policy-unreachable": { severity: ["error"], severityNote: "error", meaning: "the policy cannot be fetched: no address, connection refused, certificate not valid (the TLS error code is shown), a redirect, a non-200 status", fix: "serve the file itself over HTTPS with a public-CA certificate for `mta-sts.<domain>`" },
  "mta-sts.policy-invalid": { severity: ["error"], severityNote: "error", meaning: "wrong Content-Type, over 64 KB, or the file does not parse (version, mode, max_age, mx lines)", fix: "fix the file; the finding shows it line by line" },
  "mta-sts.mx-not-covered": { severity: ["error", "warn"], severityNote: "error (enforce) / warn (testing)", meaning: "an MX host matches no `mx:` line: under enforce, senders will not deliver to it", fix: "add the host (or a one-label wildcard) and change the id" },
  "mta-sts.testing-mode": { severity: ["info"], severityNote: "info", meaning: "`mode: testing`: failures are reported, not enforced", fix: "switch to enforce once TLS-RPT reports are clean" },
  "mta-sts.mode-none": { severity: ["info"], severityNote: "info", meaning: "`mode: none`: the policy withdraws MTA-STS", fix: "intended only when retiring MTA-STS" },
  "mta-sts.max-age": { severity: ["error", "warn"], severityNote: "warn (< 1 day under enforce) / error (> 31557600)", meaning: "too short to protect, or over the RFC maximum so senders reject the policy", fix: "a week or more, at most 31557600" },
  "mta-sts.ok": { severity: ["pass"], severityNote: "pass", meaning: "a valid policy that covers every MX", fix: "" },
};
