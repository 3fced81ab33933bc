// ARC chain validation (RFC 8617 §5.2) of a received message: the verification
// behind placement's local re-check, usable by any command that reads a message.
// mailauth validates the chain and the signatures; this layer first holds every
// ARC-Seal, and the newest ARC-Message-Signature, to the tag-list grammar of
// RFC 6376 §3.2 that RFC 8617 §4.1 imports, which mailauth's lenient mode reads
// loosely (its strict mode does, but then refuses an AMS without c=, which the
// ValiMail suite's ams_fields_c_na, like every other validator, accepts):
//   - tag-name = ALPHA *ALNUMPUNC ("_=" is not a tag),
//   - "tags with duplicate names MUST NOT occur ... the entire tag-list is invalid",
//   - tag-spec *( ";" tag-spec ) [ ";" ]: one optional trailing ";", no empty tag-spec (";;"),
//   - tags are case-sensitive ("S=" is an unknown tag, so s= is missing),
// and an ARC set with a malformed seal or signature fails the chain (§5.2 step 3).
// The grammar itself is mailauth's parser (parseTagList, strict); only the rules
// above are applied here.
import { createRequire } from 'node:module';
import { KEY_TYPE_COMMENT, KEY_TYPE_INFERRED, verifyMessage, type MailauthResolver, type VerifiedMessage } from './verify.ts';

const require = createRequire(import.meta.url);
// loaded on first use, like the verifier
const parseTagList = (value: string, opts: { strict: boolean }) => (require('mailauth/lib/parse-dkim-headers.js') as {
  parseTagList(value: string, opts?: { strict?: boolean }): { tags: { name: string; value: string }[]; syntaxErrors: string[] };
}).parseTagList(value, opts);
const mailauthArc = (data: unknown, opts: { resolver: MailauthResolver }) =>
  (require('mailauth/lib/arc/index.js') as { arc(data: unknown, opts: { resolver: MailauthResolver }): Promise<any> }).arc(data, opts);

export interface ArcVerdict {
  /** chain validation status (RFC 8617 §4.4): none (no ARC header fields), pass or fail */
  result: 'none' | 'pass' | 'fail';
  /** the newest instance (i=); 0 without a chain */
  instance: number;
  /** why it failed, or what the newest ARC-Authentication-Results said when it passed */
  comment?: string;
}

// RFC 8617 §4.1.3 (ARC-Seal) and §4.1.2 (ARC-Message-Signature: the DKIM-Signature tags
// of RFC 6376 §3.5 without v=, with the instance i=), named exactly, as tags are case-sensitive
const REQUIRED: Record<string, string[]> = {
  'arc-seal': ['a', 'b', 'cv', 'd', 'i', 's'],
  'arc-message-signature': ['a', 'b', 'bh', 'd', 'h', 'i', 's'],
};
const SHORT: Record<string, string> = { 'arc-seal': 'as', 'arc-message-signature': 'ams' };

/** The first tag-list problem of one ARC-Seal or ARC-Message-Signature value, or null. */
export function arcTagListProblem(field: 'arc-seal' | 'arc-message-signature', value: string): string | null {
  const tl = parseTagList(value, { strict: true });
  if (tl.syntaxErrors.length) return tl.syntaxErrors[0]!;
  const names = new Set(tl.tags.map((t) => t.name));
  const missing = REQUIRED[field]!.filter((t) => !names.has(t));
  return missing.length ? `missing ${missing.map((t) => `${t}=`).join(', ')}` : null;
}

/** The first malformed ARC-Seal (any instance) or newest ARC-Message-Signature of a header block, as a comment, or null. */
export function arcSyntaxProblem(rows: { key: string; line: Buffer }[]): string | null {
  const fields = rows
    .filter((r) => r.key === 'arc-seal' || r.key === 'arc-message-signature')
    .map((r) => {
      const text = r.line.toString('binary');
      const value = text.slice(text.indexOf(':') + 1);
      const i = /(?:^|;)[ \t\r\n]*i[ \t\r\n]*=[ \t\r\n]*([0-9]+)/.exec(value)?.[1];
      return { key: r.key as 'arc-seal' | 'arc-message-signature', value, instance: i === undefined ? null : Number(i) };
    });
  if (!fields.length) return null;
  const newest = Math.max(0, ...fields.map((x) => x.instance ?? 0));
  for (const x of fields) {
    // only the newest AMS is validated (§5.2 step 4): older ones are sealed data
    if (x.key === 'arc-message-signature' && x.instance !== null && x.instance !== newest) continue;
    const problem = arcTagListProblem(x.key, x.value);
    if (problem) return `${x.instance !== null ? `i=${x.instance} ` : ''}${SHORT[x.key]} tag-list: ${problem.replace(/"/g, '')}`;
  }
  return null;
}

/** The ARC verdict for a message already verified by verifyMessage (its key lookups are reused). */
export async function arcOf(v: VerifiedMessage, resolver: MailauthResolver): Promise<ArcVerdict> {
  if (!v.arc || (!v.arc.chain && !v.arc.error)) return { result: 'none', instance: 0 };
  const newest = Number(v.arc.lastEntry?.i) || 0;
  const problem = arcSyntaxProblem(v.headers?.parsed ?? []);
  if (problem) return { result: 'fail', instance: newest, comment: problem };
  const a = await mailauthArc(v.arc, { resolver });
  const result = String(a?.status?.result ?? 'none') as ArcVerdict['result'];
  // the seal keys: mailauth reports a key whose type it inferred as a warning of the whole chain
  if (result === 'pass' && Array.isArray(a.warnings) && a.warnings.includes(KEY_TYPE_INFERRED)) {
    return { result: 'fail', instance: Number(a.i) || newest, comment: `a key of the chain: ${KEY_TYPE_COMMENT}` };
  }
  return { result, instance: Number(a?.i) || newest, ...(a?.status?.comment ? { comment: String(a.status.comment) } : {}) };
}

/** Validate the ARC chain of a message (RFC 8617 §5.2) against the key records `resolver` finds. */
export async function verifyArc(raw: Buffer, resolver: MailauthResolver): Promise<ArcVerdict> {
  return arcOf(await verifyMessage(raw, resolver), resolver);
}

