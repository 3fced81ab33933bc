// The finding codes of the placement check: stable API (renaming one breaks users' CI),
// each with its severity, what it means and the fix. The engine refuses, under test,
// a code that is not listed here; docs/checks/ is generated from this file.
import type { FindingCatalog } from '../types.ts';

export const PLACEMENT_FINDINGS: FindingCatalog = {
  "placement.spam": { severity: ["error"], severityNote: "error", meaning: "copies in spam at a provider (per provider, with each seed's folder, auth verdicts and spam headers)", fix: "when the receiver's auth failed, fix SPF/DKIM/DMARC first; else reputation and content: warm up, blacklists, content check, List-Unsubscribe" },
  "placement.tab": { severity: ["info"], severityNote: "info", meaning: "copies under a Gmail tab (Promotions\u2026): delivered, outside Primary", fix: "transactional mail: a separate stream without bulk signals; marketing: expected" },
  "placement.missing": { severity: ["warn"], severityNote: "warn", meaning: "copies in no folder by the deadline", fix: "wait longer (`--timeout`), check the sending queue for deferrals, watch `--bounces`" },
  "placement.none-arrived": { severity: ["error"], severityNote: "error", meaning: "no seed that could be checked saw a copy: nothing was measured (exit 1, never a green CI)", fix: "check the send went to these seeds, wait longer, watch `--bounces`" },
  "placement.not-in-inbox": { severity: ["warn"], severityNote: "warn", meaning: "POP3 seeds without the copy (spam or missing)", fix: "read the mailbox over IMAP to see its spam folder" },
  "placement.bounced": { severity: ["error"], severityNote: "error", meaning: "copies refused (SMTP 5xx at send, or a DSN) with status and remote text", fix: "5.7.26/5.7.515: pass SPF or DKIM aligned with From; 5.1.1: fix the seed address" },
  "placement.auth-fail-at-receiver": { severity: ["error", "warn"], severityNote: "error (dmarc=fail) / warn", meaning: "the receiver's Authentication-Results show spf/dkim/dmarc failures", fix: "add the sending IP to SPF, sign with a published DKIM key, align with the From domain" },
  "placement.seed-error": { severity: ["warn"], severityNote: "warn", meaning: "seeds that could not be checked (the result is `unknown`, exit 3, unless something fails)", fix: "fix host/port/secure, the (app) password, OAuth2 token, or `ca:`" },
  "placement.insecure-access": { severity: ["warn"], severityNote: "warn", meaning: "a seed allows a plaintext login or skips certificate checks", fix: "`secure: true` or STARTTLS with a verified certificate" },
  "placement.deferred": { severity: ["warn"], severityNote: "warn", meaning: "the submission server answered 4xx to some copies (452 at RCPT, 451 after DATA): they were never queued, nothing retries them; those seeds are `deferred`, not waited for", fix: "read the reply (452: a recipient or rate limit, 451: a local problem on the submission server) and send again once it is fixed" },
  "placement.sent": { severity: ["info", "pass"], severityNote: "pass / info", meaning: "`placement send`: copies accepted by the SMTP server, and the token to collect them with", fix: "" },
  "placement.cleanup": { severity: ["warn", "info"], severityNote: "info / warn", meaning: "`--cleanup`: how many copies were deleted, and which were left and why", fix: "" },
  "placement.inbox": { severity: ["pass"], severityNote: "pass", meaning: "share of the seeds that received the copy in the inbox", fix: "" },
  "placement.none-sent": { severity: ["error"], meaning: "placement send or run: the SMTP server accepted none of the copies (untrusted certificate, refused login, tarpit, every recipient refused): nothing was sent, so exit 1", fix: "check --smtp, INBOXLENS_SMTP_PASS and --smtp-ca, then send again" },
};
