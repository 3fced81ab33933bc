// Secrets (passwords, tokens, DQS keys) registered here are masked in everything
// inboxlens writes: stdout, stderr, JSON, logs, error messages, history.
// A secret also travels encoded (IMAP-quoted, base64 inside SASL, URL-encoded,
// JSON-escaped), and a server may echo any of those forms back in an error, so
// each encoded form is registered with it.
const secrets = new Set<string>();
/** Encoded forms: masked like the secret, and long enough not to hit ordinary text. */
const MIN = 4;

const b64 = (s: string) => Buffer.from(s, 'utf8').toString('base64');

// Thousands of seeds bring thousands of secrets, and the output grows with them: masking by
// one scan per secret would be O(secrets × text). Past a few hundred, the text is scanned once,
// looking each position's first MIN characters up in an index of the secrets.
const INDEX_FROM = 256;
const byPrefix = new Map<number, string[]>();
let longestFirst: string[] | undefined;

function prefixHash(t: string, i: number): number {
  let h = 0;
  for (let k = 0; k < MIN; k++) h = (Math.imul(h, 31) + t.charCodeAt(i + k)) | 0;
  return h;
}

function add(s: string | undefined): void {
  if (!s || s.length < MIN || secrets.has(s)) return;
  secrets.add(s);
  longestFirst = undefined;
  const h = prefixHash(s, 0);
  const list = byPrefix.get(h);
  if (list) list.push(s);
  else byPrefix.set(h, [s]);
}

/** The forms one value takes on the wire and in our own output. */
function forms(secret: string): string[] {
  const quoted = secret.replace(/\\/g, '\\\\').replace(/"/g, '\\"'); // IMAP quoted string (RFC 9051 §4.3), also JSON's escaping of " and \
  const json = JSON.stringify(secret).slice(1, -1);
  return [secret, encodeURIComponent(secret), quoted, json, JSON.stringify(quoted).slice(1, -1), b64(secret)];
}

export function registerSecret(secret: string | undefined | null): void {
  // very short values would mask ordinary words; they are still never printed on purpose
  if (!secret || secret.length < MIN) return;
  for (const f of forms(secret)) add(f);
}

/**
 * A login's secret together with its user: besides the secret's own forms, the
 * SASL blobs that carry both (RFC 4616 PLAIN with and without an authzid, and
 * RFC 7628-style XOAUTH2), which a server may echo back whole.
 */
export function registerCredentials(user: string | undefined, secret: string | undefined | null): void {
  if (!secret || secret.length < MIN) return;
  registerSecret(secret);
  if (!user) return;
  for (const blob of [`\0${user}\0${secret}`, `${user}\0${user}\0${secret}`, `user=${user}\x01auth=Bearer ${secret}\x01\x01`]) add(b64(blob));
}

export function redact(text: string): string {
  if (!secrets.size || !text) return text;
  if (secrets.size > INDEX_FROM) return redactIndexed(text);
  let out = text;
  // longest first, so a form that contains another is masked whole
  longestFirst ??= [...secrets].sort((a, b) => b.length - a.length);
  for (const s of longestFirst) {
    if (out.includes(s)) out = out.split(s).join('[redacted]');
  }
  return out;
}

/** One pass: every occurrence of every secret is found, overlapping ones are masked as one. */
function redactIndexed(text: string): string {
  let out = '';
  let last = 0;
  let start = -1;
  let end = -1;
  for (let i = 0; i + MIN <= text.length; i++) {
    const list = byPrefix.get(prefixHash(text, i));
    if (!list) continue;
    for (const s of list) {
      if (!text.startsWith(s, i)) continue;
      if (i >= end) {
        // a new masked range: the previous one is done
        if (end > 0) {
          out += `${text.slice(last, start)}[redacted]`;
          last = end;
        }
        start = i;
      }
      end = Math.max(end, i + s.length);
    }
  }
  if (end < 0) return text;
  return `${out}${text.slice(last, start)}[redacted]${text.slice(end)}`;
}
