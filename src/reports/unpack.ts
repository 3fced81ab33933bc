// Finding the reports in what the user gives: plain XML or JSON, gzip, zip
// (yauzl: it reads the central directory first, so the entry count and
// declared sizes are known before anything is inflated, and it stops an entry
// that inflates past its declared size), report e-mails (.eml) and mailboxes
// (mbox). Every layer draws on one decompression budget per input file, so a
// bomb — a small archive that inflates to gigabytes, thousands of entries,
// archives inside archives — is refused with its name instead of filling memory.
import zlib from 'node:zlib';
import { createRequire } from 'node:module';
import { parseAggregate } from './aggregate.ts';
import { parseTlsReport } from './tlsrpt.ts';
import { looksLikeFailureReport, parseFailureReport, type MailView } from './failure.ts';
import { ReportError, type FoundReport, type ImportProblem, type ReportAuth } from './types.ts';

export interface UnpackLimits {
  /** bytes all decompression of one input file may produce together */
  maxDecompressed: number;
  /** entries one zip archive may hold */
  maxEntries: number;
  /** archives and e-mails inside each other */
  maxDepth: number;
}

export const DEFAULT_LIMITS: UnpackLimits = {
  // the largest real aggregate reports (a big sender's day at Google) are tens of MB of XML
  maxDecompressed: 128 * 1024 * 1024,
  // a report zip holds one XML file; some hold a few
  maxEntries: 64,
  maxDepth: 4,
};

/** How a report e-mail is authenticated: DKIM-verified by the caller (it needs DNS). */
export type MailVerifier = (raw: Buffer, fromDomain: string) => Promise<Pick<ReportAuth, 'dkim' | 'domain' | 'authenticated'>>;

export interface UnpackContext {
  limits: UnpackLimits;
  verify?: MailVerifier;
  /** on a worker thread: an e-mail (which needs the DKIM verifier) throws MailNeedsMainThread */
  mailOnMainThread?: boolean;
  /** where the input came from (a file path, an IMAP message) */
  source: string;
}

export interface UnpackResult {
  found: FoundReport[];
  problems: ImportProblem[];
  /** mail messages seen (an mbox holds many); each one's outcome */
  messages: { where: string; reports: number; problem?: ImportProblem }[];
}

/** Thrown on a worker thread when the input holds an e-mail: the main thread parses that file. */
export class MailNeedsMainThread extends Error {}

interface Budget {
  left: number;
}

type Yauzl = {
  fromBufferPromise(b: Buffer, o: object): Promise<{
    entryCount: number;
    eachEntry(): AsyncIterable<{ fileName: string; uncompressedSize: number; compressedSize: number }>;
    openReadStreamPromise(e: unknown): Promise<NodeJS.ReadableStream & { destroy(e?: Error): void }>;
    close(): void;
  }>;
};
let yauzl: Yauzl | undefined;

const FILE_AUTH = (source: string): ReportAuth => ({ dkim: 'none', authenticated: false, source });

export function sniff(b: Buffer): 'gzip' | 'zip' | 'xml' | 'json' | 'mbox' | 'mail' | 'empty' | 'unknown' {
  if (!b.length) return 'empty';
  if (b[0] === 0x1f && b[1] === 0x8b) return 'gzip';
  if (b[0] === 0x50 && b[1] === 0x4b && (b[2] === 0x03 || b[2] === 0x05) && (b[3] === 0x04 || b[3] === 0x06)) return 'zip';
  let i = b[0] === 0xef && b[1] === 0xbb && b[2] === 0xbf ? 3 : 0;
  if ((b[0] === 0xff && b[1] === 0xfe) || (b[0] === 0xfe && b[1] === 0xff)) return 'xml';
  while (i < b.length && (b[i] === 0x20 || b[i] === 0x0a || b[i] === 0x0d || b[i] === 0x09)) i++;
  if (i >= b.length) return 'empty';
  if (b[i] === 0x3c) return 'xml';
  if (b[i] === 0x7b) return 'json';
  const head = b.subarray(i, i + 200).toString('latin1');
  if (head.startsWith('From ')) return 'mbox';
  if (/^[\x21-\x39\x3b-\x7e]+[ \t]*:/.test(head)) return 'mail';
  return 'unknown';
}

/** Find every report in one input's bytes. Never throws for bad input: problems are returned, named. */
export async function unpack(bytes: Buffer, where: string, ctx: UnpackContext): Promise<UnpackResult> {
  const res: UnpackResult = { found: [], problems: [], messages: [] };
  await walk(bytes, where, ctx, { left: ctx.limits.maxDecompressed }, FILE_AUTH(ctx.source), 0, res);
  return res;
}

async function walk(b: Buffer, where: string, ctx: UnpackContext, budget: Budget, auth: ReportAuth, depth: number, res: UnpackResult): Promise<void> {
  const fail = (kind: string, message: string) => res.problems.push({ where, kind, message });
  if (depth > ctx.limits.maxDepth) return void fail('too-deep', `archives or messages nested more than ${ctx.limits.maxDepth} deep: refused (a bomb-like archive?)`);
  const kind = sniff(b);
  try {
    switch (kind) {
      case 'empty':
        return void fail('empty', 'the file is empty');
      case 'gzip':
        return await walk(gunzip(b, budget, ctx.limits), `${where} › (gunzipped)`, ctx, budget, auth, depth + 1, res);
      case 'zip':
        return await unzip(b, where, ctx, budget, auth, depth, res);
      case 'xml':
      case 'json':
        // one document is parsed whole: no larger than all decompression of an input may be
        if (b.length > ctx.limits.maxDecompressed) return void fail('too-large', `refused: the document is ${mb(b.length)}, more than the ${mb(ctx.limits.maxDecompressed)} one report may be`);
        if (kind === 'json') {
          res.found.push({ report: parseTlsReport(b), where, auth });
          return;
        }
        res.found.push({ report: parseAggregate(b), where, auth });
        return;
      case 'mbox':
      case 'mail':
        if (ctx.mailOnMainThread) throw new MailNeedsMainThread();
        return kind === 'mbox' ? await mbox(b, where, ctx, budget, depth, res) : await mail(b, where, ctx, budget, depth, res);
      default:
        return void fail('not-a-report', 'not a report: neither XML, JSON, gzip, zip nor an e-mail (give DMARC aggregate .xml/.xml.gz/.zip, TLS-RPT .json/.json.gz, report e-mails .eml or an mbox)');
    }
  } catch (e) {
    if (e instanceof ReportError) return void fail(e.kind, e.message);
    throw e;
  }
}

function gunzip(b: Buffer, budget: Budget, limits: UnpackLimits): Buffer {
  const once = (input: Buffer) => zlib.gunzipSync(input, { maxOutputLength: Math.max(1, budget.left) });
  let out: Buffer;
  try {
    out = once(b);
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    if (err.code === 'ERR_BUFFER_TOO_LARGE') throw new ReportError('too-large', `refused: the gzip data inflates past ${mb(limits.maxDecompressed)} (a gzip bomb?)`);
    if (/unexpected end of file/i.test(err.message)) throw new ReportError('truncated-gzip', 'truncated gzip: the compressed data ends before the end of the stream (an incomplete download or attachment)');
    // some reporters (Mimecast) append a line break after the gzip member: a gzip reader takes it for a second member
    const trimmed = trimTrailingWhitespace(b);
    if (trimmed.length < b.length && /incorrect header check/i.test(err.message)) {
      try {
        out = once(trimmed);
      } catch {
        throw new ReportError('invalid-gzip', `invalid gzip data: ${err.message}`);
      }
    } else throw new ReportError('invalid-gzip', `invalid gzip data: ${err.message}`);
  }
  budget.left -= out.length;
  return out;
}

function trimTrailingWhitespace(b: Buffer): Buffer {
  let end = b.length;
  while (end > 0 && (b[end - 1] === 0x0a || b[end - 1] === 0x0d || b[end - 1] === 0x20 || b[end - 1] === 0x09)) end--;
  return b.subarray(0, end);
}

async function unzip(b: Buffer, where: string, ctx: UnpackContext, budget: Budget, auth: ReportAuth, depth: number, res: UnpackResult): Promise<void> {
  yauzl ??= createRequire(import.meta.url)('yauzl') as Yauzl;
  let zip;
  try {
    zip = await yauzl.fromBufferPromise(b, { validateEntrySizes: true, strictFileNames: false, decodeStrings: true });
  } catch (e) {
    throw new ReportError('invalid-zip', `invalid zip archive: ${(e as Error).message}`);
  }
  try {
    if (zip.entryCount > ctx.limits.maxEntries) throw new ReportError('too-many-entries', `refused: the zip archive holds ${zip.entryCount} entries, more than the ${ctx.limits.maxEntries} a report archive ever needs (a bomb-like archive?)`);
    let files = 0;
    for await (const entry of zip.eachEntry()) {
      if (entry.fileName.endsWith('/')) continue;
      files++;
      const name = `${where} › ${entry.fileName}`;
      if (entry.uncompressedSize > budget.left) throw new ReportError('too-large', `refused: ${entry.fileName} inflates to ${mb(entry.uncompressedSize)}, past the ${mb(ctx.limits.maxDecompressed)} allowed per input (a zip bomb?)`);
      let data: Buffer;
      try {
        data = await readAll(await zip.openReadStreamPromise(entry), budget, ctx.limits);
      } catch (e) {
        if (e instanceof ReportError) throw e;
        // yauzl: "too many bytes in the stream" (an entry larger than it declares), a bad CRC or deflate data
        throw new ReportError('invalid-zip', `${entry.fileName}: ${(e as Error).message}`);
      }
      await walk(data, name, ctx, budget, auth, depth + 1, res);
    }
    if (!files) throw new ReportError('not-a-report', 'the zip archive holds no file');
  } finally {
    zip.close();
  }
}

function readAll(stream: NodeJS.ReadableStream & { destroy(e?: Error): void }, budget: Budget, limits: UnpackLimits): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    stream.on('data', (c: Buffer) => {
      budget.left -= c.length;
      if (budget.left < 0) {
        stream.destroy();
        reject(new ReportError('too-large', `refused: the archive inflates past ${mb(limits.maxDecompressed)} (a zip bomb?)`));
        return;
      }
      chunks.push(c);
    });
    stream.on('error', reject);
    stream.on('end', () => resolve(Buffer.concat(chunks)));
  });
}

/** mbox (mboxrd/mboxo): messages start at "From " lines after a blank line; ">From " lines are unquoted. */
export function splitMbox(b: Buffer): Buffer[] {
  const text = b.toString('latin1');
  const starts: number[] = [];
  const re = /(^|\n)From [^\n]*\n/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(text))) {
    const at = m.index + m[1]!.length;
    if (at === 0 || text[at - 2] === '\n' || (text[at - 2] === '\r' && text[at - 3] === '\n') || starts.length === 0) starts.push(at);
  }
  const out: Buffer[] = [];
  for (let i = 0; i < starts.length; i++) {
    const s = starts[i]!;
    const body = text.slice(text.indexOf('\n', s) + 1, starts[i + 1] ?? text.length);
    out.push(Buffer.from(body.replace(/^>(>*From )/gm, '$1'), 'latin1'));
  }
  return out;
}

async function mbox(b: Buffer, where: string, ctx: UnpackContext, budget: Budget, depth: number, res: UnpackResult): Promise<void> {
  const msgs = splitMbox(b);
  if (msgs.length === 1) return mail(msgs[0]!, where, ctx, budget, depth, res);
  for (const [i, m] of msgs.entries()) await mail(m, `${where} › message ${i + 1}`, ctx, budget, depth, res);
}

async function mail(raw: Buffer, where: string, ctx: UnpackContext, budget: Budget, depth: number, res: UnpackResult): Promise<void> {
  const before = res.found.length;
  const problemsBefore = res.problems.length;
  const { simpleParser } = await import('mailparser');
  let parsed;
  try {
    // ignoreEmbedded: a failure report's original message stays a part of its own
    parsed = await simpleParser(raw, { skipHtmlToText: true, skipTextToHtml: true, skipImageLinks: true, ignoreEmbedded: true } as object);
  } catch (e) {
    res.problems.push({ where, kind: 'invalid-mail', message: `not a readable e-mail: ${(e as Error).message}` });
    res.messages.push({ where, reports: 0, problem: res.problems.at(-1) });
    return;
  }
  const fromAddr = parsed.from?.value?.[0]?.address ?? '';
  const fromDomain = fromAddr.split('@').pop()?.toLowerCase() ?? '';
  const verdict = ctx.verify ? await ctx.verify(raw, fromDomain) : { dkim: 'none', authenticated: false };
  const auth: ReportAuth = { ...verdict, source: ctx.source };
  const view: MailView = {
    fromDomain,
    subject: parsed.subject ?? '',
    text: typeof parsed.text === 'string' ? parsed.text : '',
    parts: parsed.attachments.map((a) => ({ contentType: (a.contentType ?? '').toLowerCase(), content: a.content })),
  };
  if (looksLikeFailureReport(view)) {
    res.found.push({ report: parseFailureReport(view), where, auth });
  } else {
    for (const a of parsed.attachments) {
      const ct = (a.contentType ?? '').toLowerCase();
      // the explanation, a logo, a signature: not reports
      if (/^(image|audio|video)\//.test(ct) || ct === 'application/pkcs7-signature' || ct === 'application/pgp-signature') continue;
      if (ct.startsWith('text/') && !/\.(xml|json)$/i.test(a.filename ?? '') && ct !== 'text/xml' && ct !== 'text/json') continue;
      await walk(a.content, `${where} › ${a.filename ?? ct}`, ctx, budget, auth, depth + 1, res);
    }
  }
  const n = res.found.length - before;
  if (!n && res.problems.length === problemsBefore) {
    res.problems.push({ where, kind: 'not-a-report', message: 'the e-mail holds no report (no aggregate XML, TLS JSON or failure report attached)' });
  }
  res.messages.push({ where, reports: n, ...(res.problems.length > problemsBefore ? { problem: res.problems[problemsBefore] } : {}) });
}

function mb(n: number): string {
  return n >= 1024 * 1024 ? `${+(n / 1048576).toFixed(1)} MB` : `${+(n / 1024).toFixed(1)} KB`;
}
