// Reading a message for the content check (and the blacklist check's link
// domains): mailparser for the MIME tree and decoded bodies, plus the raw
// top-level header lines, which a parsed header map hides (a second From or
// Date field is only visible there).
import { readInputFile } from '../util/read-input.ts';
import type { ParsedMail } from 'mailparser';
import { analyzeHtml, type HtmlInfo } from './html.ts';
import type { CheckContext, RunOptions } from '../types.ts';
import { UsageError } from '../util/errors.ts';

/** Bigger than any mailbox provider accepts (Gmail: 25 MB, Microsoft 365: 35 MB by default as encoded). */
export const MAX_MESSAGE_BYTES = 50 * 1024 * 1024;

export interface HeaderField {
  /** lower-case field name */
  name: string;
  /** the value, unfolded (RFC 5322 §2.2.3), leading space trimmed */
  value: string;
}

export interface LoadedMessage {
  raw: Buffer;
  parsed: ParsedMail;
  /** the top-level header fields, in order, duplicates kept */
  headers: HeaderField[];
  /** decoded HTML body, when the message has one */
  html?: string;
  /** the text/plain parts' content (never text generated from the HTML) */
  text?: string;
  htmlInfo?: HtmlInfo;
}

export function headerValues(msg: LoadedMessage, name: string): string[] {
  const n = name.toLowerCase();
  return msg.headers.filter((h) => h.name === n).map((h) => h.value);
}

export async function parseMessage(raw: Buffer): Promise<LoadedMessage> {
  // skipHtmlToText: `text` must mean a real text/plain part, not one mailparser made from the HTML
  // mailparser loads only when a message is read (every `check` start loads this module)
  const { simpleParser } = await import('mailparser');
  const parsed = await simpleParser(raw, { skipHtmlToText: true, keepCidLinks: true });
  const headers: HeaderField[] = (parsed.headerLines ?? []).map((l) => {
    const line = l.line.replace(/\r?\n(?=[ \t])/g, '');
    const colon = line.indexOf(':');
    return { name: l.key.toLowerCase(), value: colon === -1 ? '' : line.slice(colon + 1).trim() };
  });
  const html = typeof parsed.html === 'string' && parsed.html ? parsed.html : undefined;
  const text = typeof parsed.text === 'string' && parsed.text.trim() ? parsed.text : undefined;
  return { raw, parsed, headers, ...(html ? { html, htmlInfo: analyzeHtml(html) } : {}), ...(text ? { text } : {}) };
}

/** Read an .eml file named on the command line; every failure is the user's to fix. */
const readOnce = new Map<string, Buffer>();
/** How the message was given, for errors: `--message` in check, `content` for `inboxlens content FILE`. */
export function messageFlag(opts: RunOptions): string {
  return typeof opts.messageFlag === 'string' ? opts.messageFlag : '--message';
}

export async function readMessageFile(file: string, flag = '--message'): Promise<Buffer> {
  // read once per process: a pipe or standard input cannot be read a second time
  const key = `${flag}\0${file}`;
  const seen = readOnce.get(key);
  if (seen) return seen;
  const raw = readInputFile(file, { what: flag, maxBytes: MAX_MESSAGE_BYTES, stdin: true, hint: 'give the path of an .eml message file' });
  if (raw.length === 0) throw new UsageError(`${flag}: '${file}' is empty; give an .eml message file (headers, a blank line, the body)`);
  readOnce.set(key, raw);
  return raw;
}

/**
 * The message of a run, parsed once and shared between checks (content,
 * blacklist): `opts.messageRaw` (a Buffer, e.g. the message `placement send`
 * is about to send) or the file `opts.message`.
 */
export function messageFor(ctx: Pick<CheckContext, 'memo' | 'opts'>): Promise<LoadedMessage> {
  return ctx.memo('content:message', async () => parseMessage(await rawMessageOf(ctx.opts)));
}

export async function rawMessageOf(opts: RunOptions): Promise<Buffer> {
  if (Buffer.isBuffer(opts.messageRaw)) return opts.messageRaw;
  if (typeof opts.message === 'string' && opts.message) return readMessageFile(opts.message, messageFlag(opts));
  throw new Error('no message: give --message FILE');
}
