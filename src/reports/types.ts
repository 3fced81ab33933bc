// The reports receivers mail back after a send, as inboxlens stores them: DMARC
// aggregate reports (RFC 7489 Appendix C, RFC 9990), DMARC failure reports
// (RFC 6591 ARF / RFC 9991, and the plain-text forms some receivers send) and
// SMTP TLS reports (RFC 8460). Parsers return these; the store keeps them.

/** How the e-mail a report arrived in was authenticated (files on disk: 'none'). */
export interface ReportAuth {
  /** the best DKIM result of the report e-mail: pass, fail, neutral, temperror, permerror, none */
  dkim: string;
  /** d= of the passing signature (or of the first one when none passed) */
  domain?: string;
  /** a DKIM signature passed and its d= is aligned with the e-mail's From domain */
  authenticated: boolean;
  /** where the report came from: a file path, "imap://host/Folder UID n" */
  source: string;
}

export interface AggregatePolicy {
  domain: string;
  adkim?: string;
  aspf?: string;
  p?: string;
  sp?: string;
  np?: string;
  pct?: number;
  fo?: string;
  testing?: string;
  discoveryMethod?: string;
}

export interface AuthResultDkim {
  domain: string;
  selector?: string;
  result: string;
  humanResult?: string;
}

export interface AuthResultSpf {
  domain: string;
  scope?: string;
  result: string;
  humanResult?: string;
}

export interface AggregateRecord {
  sourceIp: string;
  count: number;
  /** policy_evaluated/disposition: none, quarantine, reject (RFC 9990 also: pass) */
  disposition: string;
  /** policy_evaluated/dkim and /spf: the DMARC-aligned results */
  dkimAligned: boolean;
  spfAligned: boolean;
  /** some auth_results/dkim (spf) passed, aligned or not */
  dkimPass: boolean;
  spfPass: boolean;
  reasons: { type: string; comment?: string }[];
  headerFrom: string;
  envelopeFrom?: string;
  envelopeTo?: string;
  dkim: AuthResultDkim[];
  spf: AuthResultSpf[];
}

export interface AggregateReport {
  kind: 'aggregate';
  /** which schema the document follows: the pre-RFC draft, RFC 7489 Appendix C, RFC 9990 */
  schema: 'draft' | 'rfc7489' | 'rfc9990';
  version?: string;
  /** report_metadata/org_name (the e-mail's domain when the reporter left it empty) */
  org: string;
  email?: string;
  extraContactInfo?: string;
  reportId: string;
  /** date_range, Unix seconds */
  begin: number;
  end: number;
  generator?: string;
  errors: string[];
  policy: AggregatePolicy;
  records: AggregateRecord[];
  /** what was odd but readable (values in the wrong case, a stray wrapper), said once each */
  warnings: string[];
}

export interface FailureReport {
  kind: 'failure';
  /** 'arf': a message/feedback-report part (RFC 6591 / RFC 9991); 'text': a receiver's own plain-text form */
  format: 'arf' | 'text';
  /** failure reports carry no report id: this hash of what identifies the incident stands in for one */
  dedupeKey: string;
  /** the domain the report is about (Reported-Domain, else the original From domain) */
  domain: string;
  /** who sent the report (the report e-mail's From domain) */
  reporter: string;
  feedbackType?: string;
  sourceIp?: string;
  /** Arrival-Date as ISO time, when readable */
  arrival?: string;
  authFailure?: string;
  deliveryResult?: string;
  originalMailFrom?: string;
  originalRcptTo?: string;
  authenticationResults?: string;
  dkimDomain?: string;
  identityAlignment?: string;
  /** of the original message */
  messageId?: string;
  subject?: string;
  from?: string;
  warnings: string[];
}

export interface TlsFailureDetail {
  resultType: string;
  sendingMtaIp?: string;
  receivingMxHostname?: string;
  receivingMxHelo?: string;
  receivingIp?: string;
  failedSessionCount: number;
  additionalInformation?: string;
  failureReasonCode?: string;
}

export interface TlsPolicy {
  policyType: string;
  policyDomain: string;
  policyString?: string[];
  mxHost?: string[];
  successful: number;
  failed: number;
  failureDetails: TlsFailureDetail[];
}

export interface TlsReport {
  kind: 'tls';
  org: string;
  reportId: string;
  contactInfo?: string;
  /** Unix seconds */
  begin: number;
  end: number;
  policies: TlsPolicy[];
  warnings: string[];
}

export type ParsedReport = AggregateReport | FailureReport | TlsReport;

/** A report as found in the input, with where it came from and how it was authenticated. */
export interface FoundReport {
  report: ParsedReport;
  /** the file (and the path inside it: "mail.eml › a.zip › a.xml") */
  where: string;
  auth: ReportAuth;
}

/** A piece of input that could not be read as a report, with why. */
export interface ImportProblem {
  where: string;
  /** invalid-xml, invalid-utf8, doctype, truncated-gzip, too-large, too-many-entries, not-a-report, unreadable, … */
  kind: string;
  message: string;
}

/** Count problems by kind, for the summary line ("2 invalid-xml, 1 truncated-gzip"). */
export function problemCounts(p: ImportProblem[]): Record<string, number> {
  const c: Record<string, number> = {};
  for (const x of p) c[x.kind] = (c[x.kind] ?? 0) + 1;
  return c;
}

/** Thrown by the parsers: the caller adds the file's name. */
export class ReportError extends Error {
  readonly kind: string;
  constructor(kind: string, message: string) {
    super(message);
    this.name = 'ReportError';
    this.kind = kind;
  }
}
