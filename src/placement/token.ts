// The run token inboxlens writes into every test copy (X-Inboxlens-Token, and the
// Subject unless --no-token-subject). Kept apart from the IMAP code so that
// validating a --token loads nothing heavy.

/** The form makeToken() writes: `il-` + base-36 time + `-` + 10 hex digits. */
export const RUN_TOKEN = /^il-[0-9a-z]{1,13}-[0-9a-f]{10}$/;
