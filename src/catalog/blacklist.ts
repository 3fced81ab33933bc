// The finding codes of the blacklist check: stable API (renaming one breaks users' CI),
// each with its severity, what it means and the fix. The engine refuses, under test,
// a code that is not listed here; docs/checks/ is generated from this file.
import type { FindingCatalog } from '../types.ts';

export const BLACKLIST_FINDINGS: FindingCatalog = {
  "dnsbl.listed": { severity: ["error", "warn"], severityNote: "error (warn for soft codes: URIBL grey/red, SURBL DM/CT, Mailspike L1\u2013L2)", meaning: "the IP or domain is on a block list: the zone, the code's meaning, the list's TXT reason, why it was checked, the delist URL", fix: "stop the cause, then request removal at the URL given" },
  "dnsbl.allowlisted": { severity: ["pass"], severityNote: "pass", meaning: "on an allow-list (DNSWL): reputation, not a listing", fix: "\u2014" },
  "dnsbl.zone-error": { severity: ["warn"], severityNote: "warn", meaning: "a list gave no usable answer (an error code, refusal, rate limit, answer outside 127/8, timeout, SERVFAIL): not a listing, not clean", fix: "use your own recursive resolver (`--resolver`) or a DQS key for lists that refuse public resolvers; retry; or leave the list out with `--zone`" },
  "dnsbl.zone-unreliable": { severity: ["warn"], severityNote: "warn", meaning: "the zone failed its RFC 5782 self-test: its answers were not used", fix: "register your resolver (Barracuda), check the key, or leave the list out" },
  "dnsbl.budget-exceeded": { severity: ["warn"], severityNote: "warn", meaning: "`--max-queries` was reached: these targets (and this many lookups) were not checked", fix: "raise `--max-queries` or check fewer ranges" },
  "dnsbl.shared-skipped": { severity: ["info"], severityNote: "info", meaning: "SPF ranges of shared infrastructure (ESP/mailbox provider includes) were not checked", fix: "`--include-shared` to check them" },
  "dnsbl.range-not-expanded": { severity: ["info"], severityNote: "info", meaning: "an SPF range wider than /24 (or an IPv6 prefix) was not expanded", fix: "pass the addresses you send from with `--ip`" },
  "dnsbl.spf-unavailable": { severity: ["warn", "info"], severityNote: "warn (info when no SPF check ran)", meaning: "the domain's own sending IPs could not be gathered (the SPF lookup failed)", fix: "fix the SPF lookup, or pass `--ip`" },
  "dnsbl.not-listable": { severity: ["info"], severityNote: "info", meaning: "an address no blacklist can judge: loopback, private (RFC 1918), link-local, CGNAT, documentation and other special-purpose ranges (RFC 6890); it was not looked up, and it is not called clean (127.0.0.2, the RFC 5782 test point, is still looked up)", fix: "check the public address your mail leaves from (the connecting IP a receiver sees), not an internal one" },
  "dnsbl.not-checked": { severity: ["info"], severityNote: "info", meaning: "a target no selected list takes (an IPv6 address with only IPv4 lists chosen by `--zone`)", fix: "add lists of that kind with `--zone`" },
  "dnsbl.zone-skipped": { severity: ["info"], severityNote: "info", meaning: "a default zone that needs a key was not queried", fix: "set its key variable" },
  "dnsbl.clean": { severity: ["pass"], severityNote: "pass", meaning: "targets listed on none of the answering lists", fix: "\u2014" },
};
