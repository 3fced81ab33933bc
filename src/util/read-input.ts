// Reading a file the user named on the command line (or in a seeds/config file),
// bounded. Hand-written: the npm packages that bound a read (get-stream, raw-body)
// work on an already-open stream, asynchronously, and neither looks at what the
// path is; the call sites here are synchronous (option parsing) and the point is
// to refuse a device (/dev/zero, /dev/urandom, a tty) or a directory before
// opening it, and to stop reading a pipe or a growing file at a cap, which
// fs.readFileSync does not do (it read /dev/zero until 15.7 GB).
import { closeSync, fstatSync, openSync, readSync, statSync, type Stats } from 'node:fs';
import { UsageError } from './errors.ts';

/** Caps per kind of input: what a real one of that kind is, with room to spare. */
export const INPUT_LIMITS = {
  /** a seeds file or a config file (YAML) */
  yaml: 4 * 1024 * 1024,
  /** a PEM CA bundle */
  pem: 1024 * 1024,
  /** a DKIM private key (PEM) */
  key: 64 * 1024,
  /** a message (.eml) or an HTML body: more than any mailbox provider accepts */
  message: 25 * 1024 * 1024,
  /** a saved JSON report (a batch of many domains) */
  report: 256 * 1024 * 1024,
} as const;

export interface ReadInputOptions {
  /** the option or key that named the file, first in every error (e.g. '--seeds') */
  what: string;
  maxBytes: number;
  /** accept '-' as standard input */
  stdin?: boolean;
  /** a hint appended to "cannot read" errors (e.g. "give a PEM file") */
  hint?: string;
}

function mb(n: number): string {
  return n >= 1024 * 1024 ? `${+(n / 1048576).toFixed(1)} MB` : `${+(n / 1024).toFixed(1)} KB`;
}

function kindOf(st: Stats, stdin: boolean): string | undefined {
  if (st.isCharacterDevice()) return 'a character device';
  if (st.isBlockDevice()) return 'a block device';
  if (st.isDirectory()) return 'a directory';
  // standard input may be a socket (a parent that spawned us with a socketpair): a stream like a pipe
  if (st.isSocket() && !stdin) return 'a socket';
  return undefined;
}

function sleepMs(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/**
 * Read a regular file, a pipe/FIFO or (with `stdin`) standard input as `-`, at
 * most `maxBytes`; refuse devices, directories and sockets at once. Every
 * failure is a UsageError (exit 2) that names `what` and says why.
 */
export function readInputFile(file: string, opts: ReadInputOptions & { encoding: 'utf8' }): string;
export function readInputFile(file: string, opts: ReadInputOptions & { encoding?: undefined }): Buffer;
export function readInputFile(file: string, opts: ReadInputOptions & { encoding?: 'utf8' }): string | Buffer {
  const { what, maxBytes } = opts;
  const hint = opts.hint ? `; ${opts.hint}` : '';
  const isStdin = file === '-' && opts.stdin === true;
  const name = isStdin ? 'standard input' : `'${file}'`;
  const cannot = (e: unknown) => new UsageError(`${what}: cannot read ${name} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})${hint}`);
  const refuse = (st: Stats) => {
    const kind = kindOf(st, isStdin);
    if (kind) {
      const why = kind === 'a directory' ? 'a directory, not a file' : `${kind}, which is not read: it may never end (like /dev/zero) or wait for input forever`;
      throw new UsageError(`${what}: ${name} is ${why}; give a regular file, a pipe${opts.stdin ? ' or - for standard input' : ''}`);
    }
  };
  let fd: number;
  let owned = true;
  if (isStdin) {
    fd = 0;
    owned = false;
  } else {
    // look before opening: opening a device can itself block or have effects (a tty, a tape)
    let st: Stats;
    try {
      st = statSync(file);
    } catch (e) {
      throw cannot(e);
    }
    refuse(st);
    if (st.isFile() && st.size > maxBytes) throw new UsageError(`${what}: ${name} is ${st.size} bytes, more than the ${mb(maxBytes)} this input may be`);
    try {
      fd = openSync(file, 'r');
    } catch (e) {
      throw cannot(e);
    }
  }
  try {
    // again on what was opened: the path may have changed in between, and stdin may be anything
    let st: Stats;
    try {
      st = fstatSync(fd);
    } catch (e) {
      throw cannot(e);
    }
    refuse(st);
    const chunks: Buffer[] = [];
    let total = 0;
    const buf = Buffer.allocUnsafe(64 * 1024);
    let idle = 0;
    for (;;) {
      let n: number;
      try {
        n = readSync(fd, buf, 0, buf.length, null);
      } catch (e) {
        // a non-blocking pipe (stdin inherited that way) with nothing yet: wait a little, bounded by the writer
        if ((e as NodeJS.ErrnoException).code === 'EAGAIN') {
          sleepMs(Math.min(50, 1 + idle++));
          continue;
        }
        throw cannot(e);
      }
      idle = 0;
      if (n === 0) break;
      total += n;
      if (total > maxBytes) throw new UsageError(`${what}: ${name} holds more than the ${mb(maxBytes)} this input may be; stopped reading there`);
      chunks.push(Buffer.from(buf.subarray(0, n)));
    }
    const out = Buffer.concat(chunks, total);
    return opts.encoding === 'utf8' ? out.toString('utf8') : out;
  } finally {
    if (owned) {
      try {
        closeSync(fd);
      } catch {
        /* already gone */
      }
    }
  }
}
