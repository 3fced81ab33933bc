// Delivery status notifications (RFC 3464, multipart/report of RFC 6522) the lab
// MX sends back when it accepted a message and then could not deliver it to some
// recipient: how a relay reports refusals that happen after it said 250.
import { randomBytes } from 'node:crypto';

export interface DsnRecipient {
  rcpt: string;
  /** e.g. 550 */
  code: number;
  /** e.g. 5.7.26 */
  status: string;
  text: string;
}

export interface DsnInput {
  reportingMta: string;
  /** the envelope sender the report goes to */
  to: string;
  arrival: Date;
  recipients: DsnRecipient[];
  /** the original message; only its header goes into the report (text/rfc822-headers) */
  original: Buffer;
  originalMessageId?: string;
}

function headerBlock(raw: Buffer): string {
  const s = raw.toString('latin1');
  const end = s.search(/\r?\n\r?\n/);
  return (end >= 0 ? s.slice(0, end) : s).replace(/\r?\n/g, '\r\n');
}

/** The full DSN message, CRLF line endings, ready for delivery. */
export function buildDsn(d: DsnInput): Buffer {
  const boundary = `=_inboxlens-dsn-${randomBytes(8).toString('hex')}`;
  const id = `<${randomBytes(12).toString('hex')}@${d.reportingMta}>`;
  const human = d.recipients.map((r) => `<${r.rcpt}>: ${r.code} ${r.status} ${r.text}`).join('\r\n');
  const perRcpt = d.recipients
    .map((r) => [
      `Final-Recipient: rfc822; ${r.rcpt}`,
      `Action: failed`,
      `Status: ${r.status}`,
      `Remote-MTA: dns; ${d.reportingMta}`,
      `Diagnostic-Code: smtp; ${r.code} ${r.status} ${r.text}`,
    ].join('\r\n'))
    .join('\r\n\r\n');
  const lines = [
    `From: Mail Delivery System <MAILER-DAEMON@${d.reportingMta}>`,
    `To: <${d.to}>`,
    `Subject: Undelivered Mail Returned to Sender`,
    `Date: ${new Date().toUTCString().replace('GMT', '+0000')}`,
    `Message-ID: ${id}`,
    `Auto-Submitted: auto-replied`,
    `MIME-Version: 1.0`,
    `Content-Type: multipart/report; report-type=delivery-status; boundary="${boundary}"`,
    '',
    `This is a MIME-encapsulated delivery status notification.`,
    '',
    `--${boundary}`,
    `Content-Type: text/plain; charset=us-ascii`,
    '',
    `Your message${d.originalMessageId ? ` ${d.originalMessageId}` : ''} could not be delivered to one or more recipients:`,
    '',
    human,
    '',
    `--${boundary}`,
    `Content-Type: message/delivery-status`,
    '',
    `Reporting-MTA: dns; ${d.reportingMta}`,
    `Arrival-Date: ${d.arrival.toUTCString().replace('GMT', '+0000')}`,
    '',
    perRcpt,
    '',
    `--${boundary}`,
    `Content-Type: text/rfc822-headers`,
    '',
    headerBlock(d.original),
    '',
    `--${boundary}--`,
    '',
  ];
  return Buffer.from(lines.join('\r\n'), 'latin1');
}
