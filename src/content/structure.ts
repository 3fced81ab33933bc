// Judging a message as a mailbox provider's filters see it, without any
// network: header fields (RFC 5322 §3.6), MIME structure, size, images, links,
// the unsubscribe headers' syntax (RFC 2369, RFC 8058) and test strings.
import type { Evidence, Finding } from '../types.ts';
import { finder } from '../findings.ts';
import { registrableDomain } from '../dns/orgdomain.ts';
import { headerValues, type LoadedMessage } from './parse.ts';
import { linkify, linksFromBodies, type Link } from './links.ts';
import { shortenerOf } from './shorteners.ts';
import { UNSUBSCRIBE_WORDS } from './linkcheck.ts';

const f = finder('content');

/** Gmail clips a message whose HTML is larger than this ("[Message clipped] View entire message"). */
export const GMAIL_CLIP_BYTES = 102 * 1024;
/** Less visible text than this next to images reads as an image-only message (SpamAssassin HTML_IMAGE_ONLY_*). */
export const IMAGE_TEXT_MIN_CHARS = 400;
/** Fewer characters of text per image than this is image-heavy. */
export const TEXT_PER_IMAGE_MIN_CHARS = 150;

export const GMAIL_GUIDELINES = 'Gmail email sender guidelines, https://support.google.com/a/answer/81126';
const YAHOO_GUIDELINES = 'Yahoo sender best practices, https://senders.yahooinc.com/best-practices/';

/** RFC 5322 §3.6: fields that may appear at most once. */
const SINGLE_FIELDS = ['date', 'from', 'sender', 'reply-to', 'to', 'cc', 'bcc', 'message-id', 'in-reply-to', 'references', 'subject'];

const FIELD_NAME: Record<string, string> = {
  date: 'Date', from: 'From', sender: 'Sender', 'reply-to': 'Reply-To', to: 'To', cc: 'Cc', bcc: 'Bcc',
  'message-id': 'Message-ID', 'in-reply-to': 'In-Reply-To', references: 'References', subject: 'Subject',
};

/** Strings that exist only to trigger filters: a message carrying one is scored as spam or malware on purpose. */
const TEST_STRINGS: { name: string; needle: string; what: string }[] = [
  { name: 'GTUBE', needle: 'GTUBE-STANDARD-ANTI-UBE-TEST-', what: 'the Generic Test for Unsolicited Bulk Email: every spam filter scores it as spam (SpamAssassin: 1000 points; rspamd: reject)' },
  { name: 'EICAR', needle: 'EICAR-STANDARD-ANTIVIRUS-TEST-FILE', what: 'the EICAR anti-virus test file: virus scanners reject or quarantine the message' },
];

/** Template leftovers: placeholder copy and merge tags the sending tool did not fill in. */
const PLACEHOLDERS: { name: string; re: RegExp }[] = [
  { name: 'lorem ipsum placeholder text', re: /\blorem ipsum\b/i },
  { name: 'unrendered {{merge tag}}', re: /\{\{\s*[A-Za-z_][\w.]*\s*\}\}/ },
  { name: 'unrendered *|MERGE|* tag (Mailchimp)', re: /\*\|[A-Z][A-Z0-9_:]*\|\*/ },
  { name: 'unrendered %%merge%% tag', re: /%%[A-Za-z_][\w]*%%/ },
  { name: 'unrendered [FIRSTNAME]-style tag', re: /\[(?:FIRST_?NAME|LAST_?NAME|FNAME|LNAME|NAME|EMAIL)\]/ },
];

export interface ListUnsubscribe {
  present: boolean;
  https: string[];
  http: string[];
  mailto: string[];
  /** List-Unsubscribe-Post: List-Unsubscribe=One-Click is present and exact */
  oneClickPost: boolean;
}

export interface StructureData {
  from: string | null;
  fromDomains: string[];
  subject: string | null;
  date: string | null;
  messageId: string | null;
  sizeBytes: number;
  htmlBytes: number;
  textBytes: number;
  images: number;
  textChars: number;
  links: Link[];
  linkDomains: string[];
  listUnsubscribe: ListUnsubscribe;
  visibleUnsubscribe: boolean;
}

function clip(s: string, n = 160): string {
  return s.length > n ? `${s.slice(0, n - 1)}…` : s;
}

export function parseListUnsubscribe(msg: LoadedMessage): ListUnsubscribe {
  const values = headerValues(msg, 'list-unsubscribe');
  // RFC 2369 §2: a list of <URI>s separated by commas
  const uris = values.flatMap((v) => [...v.matchAll(/<([^>]*)>/g)].map((m) => m[1]!.replace(/\s+/g, '')));
  const post = headerValues(msg, 'list-unsubscribe-post');
  return {
    present: values.length > 0,
    https: uris.filter((u) => /^https:/i.test(u)),
    http: uris.filter((u) => /^http:/i.test(u)),
    mailto: uris.filter((u) => /^mailto:/i.test(u)),
    // RFC 8058 §3.1: exactly the key/value pair "List-Unsubscribe=One-Click"
    oneClickPost: post.length === 1 && post[0]!.trim() === 'List-Unsubscribe=One-Click',
  };
}

function headerFindings(msg: LoadedMessage, out: Finding[]): { fromDomains: string[] } {
  const counts = new Map<string, number>();
  for (const h of msg.headers) counts.set(h.name, (counts.get(h.name) ?? 0) + 1);
  for (const name of SINGLE_FIELDS) {
    const n = counts.get(name) ?? 0;
    if (n > 1) {
      out.push(f('content.duplicate-header', 'error', `The message has ${n} ${FIELD_NAME[name]} header fields; RFC 5322 allows one`, {
        evidence: headerValues(msg, name).map((v) => ({ record: `${FIELD_NAME[name]}: ${clip(v)}` })),
        detail: 'Receivers reject or distrust messages with repeated singleton fields: a second From is a classic spoofing trick (which one does the reader see, which one does DMARC check?). Gmail rejects them.',
        fix: `Keep exactly one ${FIELD_NAME[name]} field: fix the template or the code that adds headers, so it replaces the field instead of appending another.`,
        ref: 'RFC 5322 §3.6',
      }));
    }
  }
  let fromDomains: string[] = [];
  if (!counts.get('from')) {
    out.push(f('content.missing-from', 'error', 'The message has no From header field', {
      detail: 'From is one of the two fields every message must carry; DMARC, DKIM alignment and the reader all depend on it.',
      fix: 'Add a From field with the sending address of your domain, e.g. "From: Example News <news@example.com>".',
      ref: 'RFC 5322 §3.6 (From and Date are required)',
    }));
  } else {
    const addrs = (msg.parsed.from?.value ?? []).map((a) => a.address ?? '').filter((a) => a.includes('@'));
    fromDomains = [...new Set(addrs.map((a) => a.slice(a.lastIndexOf('@') + 1).toLowerCase()))];
    if (!addrs.length) {
      out.push(f('content.invalid-from', 'error', 'The From field holds no valid address', {
        evidence: headerValues(msg, 'from').map((v) => ({ record: `From: ${clip(v)}` })),
        fix: 'Write From as "Display Name <local@your-domain>"; quote display names that contain commas or other specials.',
        ref: 'RFC 5322 §3.4, §3.6.2',
      }));
    }
  }
  const dates = headerValues(msg, 'date');
  if (!dates.length) {
    out.push(f('content.missing-date', 'error', 'The message has no Date header field', {
      detail: 'Date is required in every message; receivers add their own or score its absence (SpamAssassin MISSING_DATE).',
      fix: 'Set Date when the message is sent, in RFC 5322 format, e.g. "Date: Tue, 1 Jul 2025 09:30:00 +0000" (most mail libraries do this when you leave it unset).',
      ref: 'RFC 5322 §3.6 (From and Date are required), §3.3',
    }));
  } else if (dates.length === 1 && Number.isNaN(Date.parse(dates[0]!.replace(/\s*\([^)]*\)\s*$/, '')))) {
    out.push(f('content.invalid-date', 'error', `The Date field is not a valid date: "${clip(dates[0]!, 80)}"`, {
      fix: 'Write Date in RFC 5322 format, e.g. "Date: Tue, 1 Jul 2025 09:30:00 +0000".',
      ref: 'RFC 5322 §3.3',
    }));
  }
  if (!counts.get('message-id')) {
    out.push(f('content.missing-message-id', 'warn', 'The message has no Message-ID header field', {
      detail: 'RFC 5322 only recommends Message-ID, but Gmail refuses mail without one ("550 5.7.1 Messages missing a valid Message-ID header are not accepted") unless a relay adds it on the way.',
      fix: 'Give every message a unique Message-ID under your domain, e.g. "Message-ID: <20250701093000.4f2a@mail.example.com>" (nodemailer and most ESPs set one when you leave it unset).',
      ref: `${GMAIL_GUIDELINES}; RFC 5322 §3.6.4`,
    }));
  }
  return { fromDomains };
}

function mimeFindings(msg: LoadedMessage, out: Finding[]): { htmlBytes: number; textBytes: number; images: number; textChars: number } {
  const htmlBytes = msg.html ? Buffer.byteLength(msg.html) : 0;
  const textBytes = msg.text ? Buffer.byteLength(msg.text) : 0;
  if (msg.html && !msg.text) {
    out.push(f('content.no-text-part', 'warn', 'The message is HTML only: no text/plain alternative', {
      detail: 'HTML-only mail scores as spam at most filters (SpamAssassin MIME_HTML_ONLY) and cannot be read by plain-text clients and screen readers configured for text.',
      fix: 'Send multipart/alternative with a text/plain part carrying the same words and links as the HTML (most ESPs and mail libraries can generate it from the HTML).',
      ref: 'RFC 2046 §5.1.4 (multipart/alternative); SpamAssassin MIME_HTML_ONLY',
    }));
  }
  if (htmlBytes > GMAIL_CLIP_BYTES) {
    out.push(f('content.clipped', 'warn', `The HTML is ${(htmlBytes / 1024).toFixed(1)} KB: Gmail clips messages over 102 KB`, {
      detail: 'Gmail shows only the first 102 KB of HTML and hides the rest behind "[Message clipped] View entire message": the footer with the unsubscribe link and the open-tracking pixel usually fall in the hidden part.',
      fix: 'Bring the HTML under 102 KB: inline less CSS, remove comments and unused styles, minify, move long content to a web page.',
      ref: 'Gmail "[Message clipped]" behaviour (HTML over 102 KB)',
    }));
  }
  let images = 0;
  let textChars = msg.text ? msg.text.replace(/\s+/g, ' ').trim().length : 0;
  if (msg.htmlInfo?.limited) {
    const l = msg.htmlInfo.limited;
    const pct = Math.floor((l.analysedChars / l.totalChars) * 100);
    out.push(f('content.html-too-complex', 'warn', `The HTML is too ${l.reason === 'depth' ? 'deeply nested' : 'complex'} to analyse: ${l.detail}; only its first ${(l.analysedChars / 1024).toFixed(0)} KB of ${(l.totalChars / 1024).toFixed(0)} KB (${pct}%) were analysed`, {
      detail: 'Links, images and text past that point were not looked at, so the findings about them cover only the start of the HTML. No real mail nests elements that deep; mail clients and filters give up on such markup too (and filters may treat it as an attempt to evade them).',
      fix: 'Generate flatter HTML: close the elements you open, and nest tables a few levels deep at most.',
      ref: 'inboxlens content limits (src/content/html.ts HTML_LIMITS)',
    }));
  }
  if (msg.htmlInfo) {
    images = msg.htmlInfo.images.filter((i) => !i.pixel).length;
    textChars = msg.htmlInfo.visibleText.length;
    if (images > 0 && (textChars < IMAGE_TEXT_MIN_CHARS || textChars / images < TEXT_PER_IMAGE_MIN_CHARS)) {
      out.push(f('content.image-heavy', 'warn', `The HTML is mostly images: ${images} image(s) and ${textChars} characters of text`, {
        detail: `Filters cannot read images, so spammers hide their text in them; an image-heavy message with little text scores as spam (SpamAssassin HTML_IMAGE_ONLY_*, HTML_IMAGE_RATIO_*), and it shows as blank where images are blocked. This check flags under ${IMAGE_TEXT_MIN_CHARS} characters of text, or under ${TEXT_PER_IMAGE_MIN_CHARS} per image.`,
        fix: 'Put the message in live HTML text and use images for illustration only; give every image an alt text.',
        ref: 'SpamAssassin HTML_IMAGE_ONLY_* and HTML_IMAGE_RATIO_* rules (20_html_tests.cf)',
      }));
    }
  }
  return { htmlBytes, textBytes, images, textChars };
}

function linkFindings(links: Link[], out: Finding[]): void {
  const shortened = new Map<string, Link[]>();
  for (const l of links) {
    const s = shortenerOf(l.domain);
    if (s) shortened.set(s, [...(shortened.get(s) ?? []), l]);
  }
  for (const [s, ls] of shortened) {
    out.push(f('content.url-shortener', 'warn', `${ls.length} link(s) go through the public URL shortener ${s}`, {
      evidence: [...new Set(ls.map((l) => l.url))].slice(0, 10).map((u) => ({ record: u })),
      detail: 'Anyone can create links on public shorteners, so spammers use them to hide destinations; filters score them and blocklists list their domains, so your message shares the reputation of every spammer who uses the same service.',
      fix: 'Link to your own domain directly, or use a branded short domain of your own (and your ESP\'s custom click-tracking domain).',
      ref: `${GMAIL_GUIDELINES} (avoid URL shorteners); SpamAssassin URL_SHORTENER`,
      subject: s,
    }));
  }

  const mismatched: { link: Link; shown: string }[] = [];
  for (const l of links) {
    if (l.kind !== 'anchor' || !l.text) continue;
    for (const m of linkify.match(l.text) ?? []) {
      if (m.schema === 'mailto:') continue;
      let host: string;
      try {
        host = new URL(m.url).hostname.replace(/^\[|\]$/g, '').toLowerCase();
      } catch {
        continue;
      }
      const shownOrg = registrableDomain(host) ?? host;
      const targetOrg = l.registrableDomain ?? l.domain;
      if (shownOrg !== targetOrg) {
        mismatched.push({ link: l, shown: host });
        break;
      }
    }
  }
  if (mismatched.length) {
    out.push(f('content.link-mismatch', 'warn', `${mismatched.length} link(s) show one domain and lead to another`, {
      evidence: mismatched.slice(0, 10).map(({ link, shown }) => ({ record: `shows "${clip(link.text, 80)}" (${shown}) → ${link.url}` })),
      detail: 'A link whose visible text is a URL or domain that differs from its real target is the signature of phishing: filters score it (SpamAssassin HTTPS_HTTP_MISMATCH, rspamd PHISHING) and clients warn the reader. Click tracking through a third-party domain causes it too.',
      fix: 'Make the visible text of each link either plain words ("View your order") or the exact domain it leads to; for click tracking, set up your ESP\'s branded tracking domain under your own domain.',
      ref: 'rspamd PHISHING symbol; SpamAssassin HTTPS_HTTP_MISMATCH; RFC 3986 (URI host)',
    }));
  }

  const ipLinks = [...new Set(links.filter((l) => l.ip).map((l) => l.url))];
  if (ipLinks.length) {
    out.push(f('content.ip-link', 'warn', `${ipLinks.length} link(s) point at a bare IP address`, {
      evidence: ipLinks.slice(0, 10).map((u) => ({ record: u })),
      detail: 'Legitimate senders link to names; links to raw IP addresses are scored as spam (SpamAssassin NUMERIC_HTTP_ADDR) and look like phishing.',
      fix: 'Link to a host name under your domain instead of its IP address.',
      ref: 'SpamAssassin NUMERIC_HTTP_ADDR',
    }));
  }
}

function unsubscribeFindings(msg: LoadedMessage, links: Link[], lu: ListUnsubscribe, out: Finding[]): boolean {
  if (!lu.present) {
    out.push(f('content.no-list-unsubscribe', 'warn', 'The message has no List-Unsubscribe header', {
      detail: 'Gmail and Yahoo require List-Unsubscribe with one-click unsubscribe (RFC 8058) on marketing and subscribed mail from bulk senders (5,000+ messages a day); without it, users hit "Report spam" instead. Transactional mail (receipts, password resets) does not need it.',
      fix: 'Add "List-Unsubscribe: <https://example.com/unsub?u=TOKEN>, <mailto:unsub@example.com?subject=unsub-TOKEN>" and "List-Unsubscribe-Post: List-Unsubscribe=One-Click", and sign both with DKIM.',
      ref: `RFC 2369 §3.2; RFC 8058; ${GMAIL_GUIDELINES}; ${YAHOO_GUIDELINES}`,
    }));
  } else {
    const problems: string[] = [];
    if (!lu.https.length) problems.push(lu.http.length ? 'its only web URI is http://, not https://' : 'it has no https:// URI (mailto: alone is not one-click)');
    if (!lu.oneClickPost) {
      const post = headerValues(msg, 'list-unsubscribe-post');
      problems.push(post.length ? `List-Unsubscribe-Post is "${clip(post.join(' | '), 80)}", not exactly "List-Unsubscribe=One-Click"` : 'there is no List-Unsubscribe-Post header');
    }
    const evidence: Evidence[] = [
      ...headerValues(msg, 'list-unsubscribe').map((v) => ({ record: `List-Unsubscribe: ${clip(v)}` })),
      ...headerValues(msg, 'list-unsubscribe-post').map((v) => ({ record: `List-Unsubscribe-Post: ${clip(v)}` })),
    ];
    if (problems.length) {
      out.push(f('content.no-one-click', 'warn', `List-Unsubscribe is not one-click (RFC 8058): ${problems.join('; ')}`, {
        evidence,
        detail: 'Gmail and Yahoo require one-click unsubscribe for bulk senders: an https URI in List-Unsubscribe that accepts a POST with the body "List-Unsubscribe=One-Click", announced by the List-Unsubscribe-Post header.',
        fix: 'Include an https:// URI in List-Unsubscribe and add the header "List-Unsubscribe-Post: List-Unsubscribe=One-Click"; the URI must unsubscribe on POST without further steps (no login, no confirmation page).',
        ref: `RFC 8058 §3.1; ${GMAIL_GUIDELINES}; ${YAHOO_GUIDELINES}`,
      }));
    } else {
      out.push(f('content.one-click', 'pass', 'List-Unsubscribe offers one-click unsubscribe (https URI and List-Unsubscribe-Post)', { evidence, ref: 'RFC 8058' }));
    }
  }
  const visible = links.some((l) => (l.kind === 'anchor' || l.kind === 'text') && (UNSUBSCRIBE_WORDS.test(l.text) || UNSUBSCRIBE_WORDS.test(l.url)))
    || Boolean(msg.text && UNSUBSCRIBE_WORDS.test(msg.text) && /https?:\/\/|mailto:/i.test(msg.text));
  if (!visible) {
    out.push(f('content.no-visible-unsubscribe', 'warn', 'The body has no visible unsubscribe link', {
      detail: 'Gmail requires marketing and subscribed messages to carry a clearly visible unsubscribe link in the body as well as the List-Unsubscribe header; readers who cannot find one report the message as spam. Not needed for transactional mail.',
      fix: 'Add a link with the word "Unsubscribe" (or "Manage preferences") to the footer of the HTML and text parts, leading to a page that unsubscribes in one step.',
      ref: `${GMAIL_GUIDELINES}; CAN-SPAM Act §5(a)(3)`,
    }));
  }
  return visible;
}

function testStringFindings(msg: LoadedMessage, out: Finding[]): void {
  const subject = msg.parsed.subject ?? '';
  const attachments = (msg.parsed.attachments ?? []).filter((a) => a.size < 5 * 1024 * 1024).map((a) => a.content.toString('latin1'));
  const bodies = [msg.raw.toString('latin1'), msg.text ?? '', msg.html ?? '', ...attachments];
  for (const t of TEST_STRINGS) {
    if (bodies.some((b) => b.includes(t.needle))) {
      out.push(f('content.test-string', 'error', `The message contains the ${t.name} test string`, {
        evidence: [{ record: t.needle }],
        detail: `${t.name} is ${t.what}. It belongs in filter tests only.`,
        fix: `Remove the ${t.name} string from the template before sending real mail.`,
        ref: t.name === 'GTUBE' ? 'GTUBE, https://spamassassin.apache.org/gtube/' : 'EICAR test file, https://www.eicar.org/download-anti-malware-testfile/',
      }));
    }
  }
  const visible = [subject, msg.text ?? '', msg.htmlInfo?.visibleText ?? '', ...(msg.htmlInfo?.anchors.map((a) => a.href) ?? [])];
  const hits = PLACEHOLDERS.map((p) => {
    for (const v of visible) {
      const m = p.re.exec(v);
      if (m) return { name: p.name, sample: m[0] };
    }
    return undefined;
  }).filter((x): x is { name: string; sample: string } => Boolean(x));
  if (hits.length) {
    out.push(f('content.placeholder', 'warn', `The message contains template leftovers: ${hits.map((h) => h.name).join(', ')}`, {
      evidence: hits.map((h) => ({ record: h.sample })),
      detail: 'Placeholder copy and unfilled merge tags tell the reader (and filters trained on complaints) that the mail is a careless mass mailing.',
      fix: 'Fill every merge tag (check the field names against your list\'s fields and give them defaults) and replace placeholder copy before sending.',
    }));
  }
}

export function structureFindings(msg: LoadedMessage): { findings: Finding[]; data: StructureData } {
  const findings: Finding[] = [];
  const { fromDomains } = headerFindings(msg, findings);
  const mime = mimeFindings(msg, findings);
  const links = linksFromBodies({ html: msg.html, text: msg.text });
  linkFindings(links, findings);
  const listUnsubscribe = parseListUnsubscribe(msg);
  const visibleUnsubscribe = unsubscribeFindings(msg, links, listUnsubscribe, findings);
  testStringFindings(msg, findings);
  const linkDomains = [...new Set(links.map((l) => l.registrableDomain ?? l.ip ?? l.domain))].sort();
  const from = headerValues(msg, 'from')[0] ?? null;
  return {
    findings,
    data: {
      from,
      fromDomains,
      subject: msg.parsed.subject ?? null,
      date: headerValues(msg, 'date')[0] ?? null,
      messageId: headerValues(msg, 'message-id')[0] ?? null,
      sizeBytes: msg.raw.length,
      ...mime,
      links,
      linkDomains,
      listUnsubscribe,
      visibleUnsubscribe,
    },
  };
}
