// Secrets (passwords, tokens, DQS keys) registered here are masked in everything
// inboxlens writes: stdout, stderr, JSON, logs, error messages, history.
const secrets = new Set<string>();

export function registerSecret(secret: string | undefined | null): void {
  // very short values would mask ordinary words; they are still never printed on purpose
  if (secret && secret.length >= 4) secrets.add(secret);
}

export function redact(text: string): string {
  if (!secrets.size || !text) return text;
  let out = text;
  for (const s of secrets) {
    if (out.includes(s)) out = out.split(s).join('[redacted]');
    const enc = encodeURIComponent(s);
    if (enc !== s && out.includes(enc)) out = out.split(enc).join('[redacted]');
  }
  return out;
}
