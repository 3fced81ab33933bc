// The options every command shares, stdout and the progress line: what a
// command needs before it does any work, without the DNS client
// (src/cli/common.ts builds that, and re-exports all of this).
import type { Argv } from 'yargs';
import { DEFAULT_CONCURRENCY } from '../dns/defaults.ts';
import { redact } from '../util/redact.ts';

export interface CommonArgs {
  resolver?: string[];
  concurrency: number;
  /** the DNS wait per query; `--timeout` is its old spelling where it meant that */
  'dns-timeout': string;
  timeout?: string;
  retries: number;
  json: boolean;
  trace: boolean;
  'fail-on': 'error' | 'warn';
  verbose: boolean;
}

/**
 * The options every command shares. `--timeout` meant two things: the DNS wait per
 * query (check, blacklist, content, smtp, reports) and the wait for seed copies
 * (placement, demo). Each has a name of its own now, --dns-timeout and
 * --placement-timeout, and `--timeout` stays an alias of the one it meant in that
 * command (`timeoutIsDns: false` for the placement commands).
 */
export function withCommonOptions<T>(y: Argv<T>, o: { timeoutIsDns?: boolean } = {}): Argv<T & CommonArgs> {
  return y
    .option('resolver', { type: 'string', array: true, describe: 'DNS resolver HOST[:PORT] or DoH https:// URL (repeatable; failover in order). Default: /etc/resolv.conf', group: 'DNS:' })
    .option('concurrency', { type: 'number', default: DEFAULT_CONCURRENCY, describe: 'the one global cap on DNS queries in flight', group: 'DNS:' })
    .option('dns-timeout', { type: 'string', default: '2500ms', ...(o.timeoutIsDns === false ? {} : { alias: 'timeout' }), describe: `how long to wait for each DNS answer (e.g. 2s, 800ms)${o.timeoutIsDns === false ? '' : '; --timeout is the old spelling'}`, group: 'DNS:' })
    .option('retries', { type: 'number', default: 2, describe: 'extra attempts per query, spread over the resolvers', group: 'DNS:' })
    .option('json', { type: 'boolean', default: false, describe: 'print one versioned JSON document (schema/report.schema.json)', group: 'Output:' })
    .option('trace', { type: 'boolean', default: false, describe: 'add every DNS query (name, type, rcode, answers, ms) to the JSON', group: 'Output:' })
    .option('verbose', { alias: 'v', type: 'boolean', default: false, describe: 'also list passing findings', group: 'Output:' })
    .option('fail-on', { choices: ['error', 'warn'] as const, default: 'error' as const, describe: 'exit 1 when a finding is at or above this severity', group: 'Output:' }) as unknown as Argv<T & CommonArgs>;
}

let writing: Promise<void> = Promise.resolve();

/**
 * Write to stdout and wait for it to drain, so piping to `head` or a file never
 * loses the end. Writes are queued: concurrent batch jobs wait for one drain, not one each.
 */
export function out(text: string): Promise<void> {
  const t = redact(text);
  const line = t.endsWith('\n') ? t : `${t}\n`;
  writing = writing.then(
    () =>
      new Promise<void>((resolve) => {
        if (process.stdout.write(line)) resolve();
        else process.stdout.once('drain', () => resolve());
      }),
  );
  return writing;
}

/**
 * out() for a long text in pieces (prettyJsonParts): each piece written as it is, no one string
 * of the whole (a rope of 18 MB costs as much to flatten as to build). Each piece is redacted on
 * its own: the pieces of a JSON document end between elements, where no secret is cut in two.
 */
export function outParts(parts: string[]): Promise<void> {
  const last = parts.length - 1;
  writing = writing.then(
    () =>
      new Promise<void>((resolve) => {
        let ok = true;
        for (let i = 0; i <= last; i++) {
          const t = redact(parts[i]!);
          ok = process.stdout.write(i === last && !t.endsWith('\n') ? `${t}\n` : t);
        }
        if (ok) resolve();
        else process.stdout.once('drain', () => resolve());
      }),
  );
  return writing;
}

/**
 * Progress for humans goes to stderr, only on a TTY, never into stdout (so --json
 * still shows it on a terminal: the document goes to stdout). `update` takes a line,
 * or a function that draws one: that is drawn again every `tickMs` until the next
 * update or done(), so a countdown moves while nothing else happens.
 */
export function progressLine(enabled = Boolean(process.stderr.isTTY), tickMs = 1000): { update(s: string | (() => string)): void; clear(): void; done(): void } {
  let last = '';
  let timer: NodeJS.Timeout | undefined;
  let source: (() => string) | undefined;
  const draw = (s: string) => {
    const line = s.slice(0, (process.stderr.columns || 80) - 1);
    if (line === last) return;
    process.stderr.write(`\r${line.padEnd(last.length)}`);
    last = line;
  };
  const clear = () => {
    if (enabled && last) process.stderr.write(`\r${' '.repeat(last.length)}\r`);
    last = '';
  };
  return {
    update(s) {
      if (!enabled) return;
      if (typeof s === 'function') {
        source = s;
        if (!timer) {
          timer = setInterval(() => source && draw(source()), tickMs);
          timer.unref();
        }
        draw(s());
      } else {
        source = undefined;
        draw(s);
      }
    },
    /** Erase the line for a moment (a log line is printed): a countdown comes back at its next tick. */
    clear,
    done() {
      clearInterval(timer);
      timer = undefined;
      source = undefined;
      clear();
    },
  };
}
