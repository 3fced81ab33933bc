// Reading a file the user named on the command line (or in a seeds/config file),
// bounded. Hand-written: the npm packages that bound a read (get-stream, raw-body)
// work on an already-open stream, asynchronously, and neither looks at what the
// path is; the call sites here are synchronous (option parsing) and the point is
// to refuse a device (/dev/zero, /dev/urandom, a tty) or a directory before
// opening it, and to stop reading a pipe or a growing file at a cap, which
// fs.readFileSync does not do (it read /dev/zero until 15.7 GB).
import { closeSync, constants, fstatSync, openSync, readSync, statSync, type Stats } from 'node:fs';
import { UsageError } from './errors.ts';
import { parseDuration } from './validate.ts';

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
  /** a list of domains, one a line (--domains-file): read as a stream, 50 million lines or so */
  lines: 1024 * 1024 * 1024,
  /** one line of such a list: a domain is at most 253 characters, with room for a comment */
  line: 4096,
} as const;

/**
 * How long a pipe may send nothing before the read gives up: a FIFO nobody writes
 * to, or a writer that holds it open and stays silent, would otherwise wait forever.
 */
export const PIPE_IDLE_MS = 10_000;
/**
 * The same for standard input, longer: a pipeline's first command may be waiting for
 * its user (`ssh host cat copy.eml | inboxlens analyze -` asking for a password).
 */
export const STDIN_IDLE_MS = 60_000;

/**
 * The idle limit of a read: `INBOXLENS_PIPE_IDLE` (a duration: 30s, 2m, 500ms), when set,
 * replaces both defaults — for a producer slower than 10 s between writes, or a CI job
 * that would rather give up sooner.
 */
export function defaultIdleMs(stdin: boolean): number {
  const v = process.env.INBOXLENS_PIPE_IDLE;
  if (v === undefined || v.trim() === '') return stdin ? STDIN_IDLE_MS : PIPE_IDLE_MS;
  const ms = parseDuration(v, 'INBOXLENS_PIPE_IDLE');
  if (ms < 100 || ms > 86_400_000) throw new UsageError(`INBOXLENS_PIPE_IDLE: '${v}' must be from 100ms to 24h (how long a pipe may send nothing before inboxlens stops waiting)`);
  return ms;
}

export interface ReadInputOptions {
  /** the option or key that named the file, first in every error (e.g. '--seeds') */
  what: string;
  maxBytes: number;
  /** accept '-' as standard input */
  stdin?: boolean;
  /** a hint appended to "cannot read" errors (e.g. "give a PEM file") */
  hint?: string;
  /** how long a pipe may send nothing (default defaultIdleMs()) */
  idleMs?: number;
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
  // a named FIFO: opened non-blocking (a blocking open waits for a writer forever), and
  // read until its writer closes it; before the first byte, no writer is like a silent one
  let namedFifo = false;
  if (isStdin) {
    fd = 0;
    owned = false;
    // a pipe on standard input: read through a non-blocking description of its own
    // (/proc/self/fd/0 reopens the pipe; fd 0's flags, shared with the parent, stay as
    // they are), so a writer that never sends can be given up on
    try {
      if (fstatSync(0).isFIFO()) {
        fd = openSync('/proc/self/fd/0', constants.O_RDONLY | constants.O_NONBLOCK);
        owned = true;
      }
    } catch {
      /* no /proc (or not reopenable): fd 0 as it is */
    }
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
    namedFifo = st.isFIFO();
    try {
      fd = openSync(file, namedFifo ? constants.O_RDONLY | constants.O_NONBLOCK : 'r');
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
    const pipe = st.isFIFO() || st.isSocket();
    const idleMs = opts.idleMs ?? defaultIdleMs(isStdin);
    const chunks: Buffer[] = [];
    let total = 0;
    const buf = Buffer.allocUnsafe(64 * 1024);
    let idle = 0;
    let lastData = Date.now();
    const wait = () => {
      if (pipe && Date.now() - lastData > idleMs) {
        throw new UsageError(`${what}: ${name} is a pipe that sent ${total ? 'nothing more' : 'nothing'} for ${idleMs / 1000} s; stopped waiting (give a regular file, or a pipe whose writer sends the input and closes it)`);
      }
      sleepMs(Math.min(50, 1 + idle++));
    };
    for (;;) {
      let n: number;
      try {
        n = readSync(fd, buf, 0, buf.length, null);
      } catch (e) {
        // a non-blocking pipe with nothing yet: wait a little, bounded by the idle limit
        if ((e as NodeJS.ErrnoException).code === 'EAGAIN') {
          wait();
          continue;
        }
        throw cannot(e);
      }
      if (n === 0) {
        // a named FIFO no writer has opened yet reads as its end: wait for one
        if (namedFifo && total === 0) {
          wait();
          continue;
        }
        break;
      }
      idle = 0;
      lastData = Date.now();
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

/**
 * A file of lines read as a stream (--domains-file: too long to hold, one job a line),
 * with the same refusals as readInputFile (devices, directories, sockets) and caps on
 * the whole and on each line. Reads are non-blocking on a pipe and wait between them
 * without blocking the event loop (the jobs of earlier lines go on meanwhile); a pipe
 * silent for `idleMs` is given up on. Yields [lineNumber, line] without its newline.
 */
export async function* readInputLines(file: string, opts: ReadInputOptions & { maxLineBytes: number }): AsyncGenerator<[number, string]> {
  const { what, maxBytes, maxLineBytes } = opts;
  const name = `'${file}'`;
  const cannot = (e: unknown) => new UsageError(`${what}: cannot read ${name} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})${opts.hint ? `; ${opts.hint}` : ''}`);
  let st: Stats;
  try {
    st = statSync(file);
  } catch (e) {
    throw cannot(e);
  }
  const kind = kindOf(st, false);
  if (kind) throw new UsageError(`${what}: ${name} is ${kind === 'a directory' ? 'a directory, not a file' : `${kind}, which is not read: it may never end (like /dev/zero) or wait for input forever`}; give a regular file or a pipe`);
  const namedFifo = st.isFIFO();
  let fd: number;
  try {
    fd = openSync(file, namedFifo ? constants.O_RDONLY | constants.O_NONBLOCK : 'r');
  } catch (e) {
    throw cannot(e);
  }
  const idleMs = opts.idleMs ?? defaultIdleMs(false);
  try {
    const buf = Buffer.allocUnsafe(64 * 1024);
    let total = 0;
    let lineNo = 0;
    let partial: Buffer[] = [];
    let partialLen = 0;
    let lastData = Date.now();
    const wait = async () => {
      if (Date.now() - lastData > idleMs) throw new UsageError(`${what}: ${name} is a pipe that sent ${total ? 'nothing more' : 'nothing'} for ${idleMs / 1000} s; stopped waiting (give a regular file, or a pipe whose writer sends the lines and closes it)`);
      await new Promise((r) => setTimeout(r, 50));
    };
    for (;;) {
      let n: number;
      try {
        n = readSync(fd, buf, 0, buf.length, null);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'EAGAIN') {
          await wait();
          continue;
        }
        throw cannot(e);
      }
      if (n === 0) {
        if (namedFifo && total === 0) {
          await wait();
          continue;
        }
        break;
      }
      lastData = Date.now();
      total += n;
      if (total > maxBytes) throw new UsageError(`${what}: ${name} holds more than the ${mb(maxBytes)} this input may be; stopped reading there`);
      let start = 0;
      const chunk = buf.subarray(0, n);
      for (;;) {
        const nl = chunk.indexOf(10, start);
        const piece = chunk.subarray(start, nl === -1 ? n : nl);
        partialLen += piece.length;
        if (partialLen > maxLineBytes) throw new UsageError(`${what}: ${name} line ${lineNo + 1} is longer than ${mb(maxLineBytes)}; give one domain a line`);
        partial.push(Buffer.from(piece));
        if (nl === -1) break;
        lineNo++;
        const line = Buffer.concat(partial).toString('utf8').replace(/\r$/, '');
        partial = [];
        partialLen = 0;
        yield [lineNo, line];
        start = nl + 1;
      }
    }
    if (partialLen) yield [lineNo + 1, Buffer.concat(partial).toString('utf8').replace(/\r$/, '')];
  } finally {
    try {
      closeSync(fd);
    } catch {
      /* already gone */
    }
  }
}
