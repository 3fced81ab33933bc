// The finding codes of the dkim check: stable API (renaming one breaks users' CI),
// each with its severity, what it means and the fix. The engine refuses, under test,
// a code that is not listed here; docs/checks/ is generated from this file.
import type { FindingCatalog } from '../types.ts';

export const DKIM_FINDINGS: FindingCatalog = {
  "dkim.no-key-found": { severity: ["warn"], severityNote: "warn", meaning: "a selector you named has no key: NXDOMAIN, no TXT, a TXT that is not a DKIM key, or a CNAME to a name without one", fix: "publish the key at `<selector>._domainkey.<domain>`, or fix the selector name" },
  "dkim.no-guessed-key": { severity: ["info"], severityNote: "info (status unknown)", meaning: "none of the guessed selectors has a usable key; that proves nothing", fix: "run again with `--selector <s= of a DKIM-Signature you sent>`" },
  "dkim.weak-key": { severity: ["error", "warn"], severityNote: "error < 1024 bits, warn < 2048", meaning: "RSA key too short (RFC 8301 \u00a73.2: verifiers must reject < 1024)", fix: "publish a 2048-bit key under a new selector, switch, revoke the old one" },
  "dkim.revoked": { severity: ["error", "info"], severityNote: "error for a selector you named, info for a guessed one", meaning: "empty `p=`: the key is revoked", fix: "sign with a published key, or nothing to do for a retired selector" },
  "dkim.testing-mode": { severity: ["warn"], severityNote: "warn", meaning: "`t=y`: receivers may give the signatures no weight", fix: "remove `t=y` once signing works" },
  "dkim.syntax": { severity: ["error", "warn"], severityNote: "error (unusable) / warn (strict verifiers only)", meaning: "the key record breaks RFC 6376 \u00a73.6.1: `v=` not `DKIM1` or not first, unknown `k=`, undecodable or truncated `p=`, no `p=`, duplicate or upper-case tags, several key records at one name", fix: "rewrite as `v=DKIM1; k=rsa; p=<key>`" },
  "dkim.ed25519-without-k": { severity: ["error"], severityNote: "error", meaning: "`p=` is an Ed25519 key but the record has no `k=`, which means `k=rsa` (RFC 6376 \u00a73.6.1): verifiers read it as an RSA key and fail every signature made with it", fix: "add `k=ed25519` to the record: `v=DKIM1; k=ed25519; p=<key>`" },
  "dkim.not-for-email": { severity: ["error"], severityNote: "error", meaning: "`s=` excludes `email`: mail verifiers ignore the key", fix: "drop `s=` or set `s=email`" },
  "dkim.sha1-only": { severity: ["error"], severityNote: "error", meaning: "`h=sha1`: only rsa-sha1, which verifiers must reject (RFC 8301 \u00a73.1)", fix: "drop `h=` or set `h=sha256`" },
  "dkim.dangling-cname": { severity: ["warn"], severityNote: "warn", meaning: "a guessed selector is a CNAME to an ESP name without a key (fails, and can be taken over)", fix: "remove the CNAME or finish the ESP set-up" },
  "dkim.wildcard": { severity: ["info"], severityNote: "info", meaning: "a wildcard TXT answers every selector under `_domainkey`", fix: "remove it unless it is a deliberate blanket revocation" },
  "dkim.lookup-failed": { severity: ["info"], severityNote: "info", meaning: "some guessed lookups failed while keys were found elsewhere", fix: "re-run, or try another `--resolver`" },
  "dkim.key-found": { severity: ["pass"], severityNote: "pass", meaning: "a usable key: type, size, CNAME chain", fix: "" },
};
