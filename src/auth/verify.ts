// One pass of mailauth's DKIM verifier over a message, with the rules where
// inboxlens reads the RFCs more strictly than mailauth's lenient mode, and one
// where ARC differs from DKIM. Both the content check and placement's local
// re-check verify through here, so a message gets the same verdict everywhere.
//
// - k= defaults to rsa (RFC 6376 §3.6.1): a key record without k=ed25519 whose
//   p= is an Ed25519 key is unusable. mailauth's lenient mode infers the type
//   from the key data and lets the signature pass (it marks it with the warning
//   'key-type-inferred'); here such a signature is a permerror.
// - The newest ARC-Message-Signature is verified even when its h= does not name
//   From. DKIM's "From MUST be signed" (RFC 6376 §5.4, §6.1.1) protects the
//   author identity DMARC judges; an AMS asserts no author identity, its i= is
//   the ARC instance (RFC 8617 §4.1.2). The ValiMail ARC suite (ams_fields_h_empty:
//   pass) and dkimpy's arc_verify accept it; mailauth refuses it in every mode.
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
// mailauth is CommonJS without types for these internals; loaded on first use (commands
// that never read a message do not carry it), and only the DKIM verifier (the package
// root also loads BIMI/VMC and an HTTP client)
type Lib = {
  Verifier: new (o: Record<string, unknown>) => any;
  writeToStream(stream: unknown, input: Buffer): Promise<void>;
  formatAuthHeaderRow(method: string, status: unknown): string;
};
let lib: Lib | undefined;
function load(): Lib {
  if (lib) return lib;
  const { DkimVerifier } = require('mailauth/lib/dkim/dkim-verifier.js') as { DkimVerifier: new (o: Record<string, unknown>) => any };
  const tools = require('mailauth/lib/tools.js') as Pick<Lib, 'writeToStream' | 'formatAuthHeaderRow'>;
  class Verifier extends DkimVerifier {
    prepareSignature(sig: any): void {
      super.prepareSignature(sig);
      // see the top of the file: an AMS need not sign From
      if (sig.type === 'ARC' && sig.invalid === 'From field not signed') delete sig.invalid;
    }
  }
  lib = { Verifier, writeToStream: tools.writeToStream, formatAuthHeaderRow: tools.formatAuthHeaderRow };
  return lib;
}

/** A resolver in mailauth's shape: TXT answers as arrays of strings; errors carry ENOTFOUND/ENODATA/… codes. */
export type MailauthResolver = (name: string, type: string) => Promise<any>;

/** mailauth's warning for a key whose type was read from p= because the record has no k= */
export const KEY_TYPE_INFERRED = 'key-type-inferred';
export const KEY_TYPE_COMMENT = 'inappropriate key algorithm: the key record has no k=, which means k=rsa (RFC 6376 §3.6.1), but p= is an Ed25519 key';

/** A mailauth signature status: a pass on a key whose type was only inferred becomes a permerror (in place). */
export function applyKeyTypeRule(status: any): boolean {
  if (status?.result !== 'pass' || !Array.isArray(status.warnings) || !status.warnings.includes(KEY_TYPE_INFERRED)) return false;
  status.result = 'permerror';
  status.comment = KEY_TYPE_COMMENT;
  return true;
}

export interface VerifiedMessage {
  /** mailauth's DKIM-Signature results (an unsigned message: one result "none" without a domain) */
  results: any[];
  /** mailauth's ARC chain data for arc() (the chain, its newest set and that set's AMS result), if the message has ARC header fields */
  arc?: any;
  /** the parsed header block: rows of { key (lower case), line (the raw field, a Buffer) } */
  headers?: { parsed: { key: string; line: Buffer }[] };
  /** as mailauth's dkimVerify() gives them: the From addresses' domains, the From fields, the envelope sender */
  headerFrom?: string[];
  fromFields?: unknown;
  envelopeFrom?: unknown;
}

/** Verify the DKIM signatures and the newest ARC-Message-Signature of a message. Throws only on a broken resolver contract. */
export async function verifyMessage(raw: Buffer, resolver: MailauthResolver): Promise<VerifiedMessage> {
  const { Verifier, writeToStream, formatAuthHeaderRow } = load();
  const v = new Verifier({ resolver });
  await writeToStream(v, raw);
  const results: any[] = v.results ?? [];
  for (const r of results) {
    if (applyKeyTypeRule(r.status)) r.info = formatAuthHeaderRow('dkim', r.status);
  }
  if (v.arc?.lastEntry?.messageSignature) applyKeyTypeRule(v.arc.lastEntry.messageSignature.status);
  return {
    results,
    ...(v.arc ? { arc: v.arc } : {}),
    ...(v.headers ? { headers: v.headers } : {}),
    ...(v.headerFrom ? { headerFrom: v.headerFrom } : {}),
    ...(v.fromFields ? { fromFields: v.fromFields } : {}),
    ...(v.envelopeFrom !== undefined ? { envelopeFrom: v.envelopeFrom } : {}),
  };
}
