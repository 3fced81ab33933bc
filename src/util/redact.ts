// Secrets (passwords, tokens, DQS keys) registered here are masked in everything
// inboxlens writes: stdout, stderr, JSON, logs, error messages, history.
// A secret also travels encoded (IMAP-quoted, base64 inside SASL, URL-encoded,
// JSON-escaped), and a server may echo any of those forms back in an error, so
// each encoded form is registered with it.
const secrets = new Set<string>();
/** Encoded forms: masked like the secret, and long enough not to hit ordinary text. */
const MIN = 4;

const b64 = (s: string) => Buffer.from(s, 'utf8').toString('base64');

function add(s: string | undefined): void {
  if (s && s.length >= MIN) secrets.add(s);
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
  let out = text;
  // longest first, so a form that contains another is masked whole
  for (const s of [...secrets].sort((a, b) => b.length - a.length)) {
    if (out.includes(s)) out = out.split(s).join('[redacted]');
  }
  return out;
}
