// `reports import`: files and folders (or IMAP messages, src/reports/imap.ts)
// → reports in the history database. A broken file is a problem named with its
// path and kind; the rest are imported, and the summary counts each outcome.
// No DNS lookup about the reports' contents happens here: PTR names and
// sending services are resolved afterwards (src/reports/resolve.ts).
import { readdirSync, statSync, openSync, readSync, closeSync, fstatSync } from 'node:fs';
import path from 'node:path';
import { UsageError } from '../util/errors.ts';
import { unpack, sniff, DEFAULT_LIMITS, type MailVerifier, type UnpackLimits, type UnpackResult } from './unpack.ts';
import { ParsePool } from './parse-pool.ts';
import type { ReportStore, SaveOutcome, SaveResult } from './store.ts';
import type { ImportProblem } from './types.ts';

/** The largest single input file read (an mbox of years of reports is the big case). */
export const MAX_INPUT_BYTES = 512 * 1024 * 1024;

export interface ImportSummary {
  files: number;
  messages: number;
  reports: { aggregate: number; failure: number; tls: number };
  outcomes: Record<SaveOutcome, number>;
  /** reports stored (or found again) from unauthenticated input */
  unauthenticated: number;
  problems: ImportProblem[];
  /** conflicts, replacements and upgrades, in words */
  notes: string[];
  /** mailbox messages that hold no report (left alone; not a failure) */
  skipped: ImportProblem[];
  /** the domains reports were imported for */
  domains: string[];
}

export function emptySummary(): ImportSummary {
  return { files: 0, messages: 0, reports: { aggregate: 0, failure: 0, tls: 0 }, outcomes: { imported: 0, duplicate: 0, 'auth-upgraded': 0, replaced: 0, conflict: 0 }, unauthenticated: 0, problems: [], notes: [], skipped: [], domains: [] };
}

/** Add b's counts to a (an IMAP import and a file import in one run). */
export function mergeSummary(a: ImportSummary, b: ImportSummary): void {
  a.files += b.files;
  a.messages += b.messages;
  for (const k of ['aggregate', 'failure', 'tls'] as const) a.reports[k] += b.reports[k];
  for (const k of Object.keys(a.outcomes) as (keyof ImportSummary['outcomes'])[]) a.outcomes[k] += b.outcomes[k];
  a.unauthenticated += b.unauthenticated;
  a.problems.push(...b.problems);
  a.notes.push(...b.notes);
  a.skipped.push(...b.skipped);
  for (const d of b.domains) if (!a.domains.includes(d)) a.domains.push(d);
}

export interface ImportOptions {
  store: ReportStore;
  verify?: MailVerifier;
  limits?: UnpackLimits;
  /** commit after this many reports (default 500) */
  batch?: number;
  /** parse on this many worker threads (default: one per core for 16 files or more; 0: on the main thread) */
  workers?: number;
  progress?: (done: number, total: number, file: string) => void;
}

/** Every regular file the arguments name (folders walked, hidden entries skipped); a missing path is bad input. */
export function expandInputs(args: string[]): string[] {
  const out: string[] = [];
  const walk = (p: string, named: boolean) => {
    let st;
    try {
      st = statSync(p);
    } catch (e) {
      if (named) throw new UsageError(`reports import: cannot read '${p}' (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}); give report files or folders`);
      return;
    }
    if (st.isDirectory()) {
      for (const name of readdirSync(p).sort()) if (!name.startsWith('.')) walk(path.join(p, name), false);
    } else if (st.isFile()) out.push(p);
    else if (named) throw new UsageError(`reports import: '${p}' is not a regular file or folder`);
  };
  for (const a of args) walk(a, true);
  return out;
}

function readBounded(file: string): Buffer {
  const fd = openSync(file, 'r');
  try {
    const size = fstatSync(fd).size;
    if (size > MAX_INPUT_BYTES) throw Object.assign(new Error(`the file is ${Math.round(size / 1048576)} MB, more than the ${MAX_INPUT_BYTES / 1048576} MB read at once; split the mailbox`), { kind: 'too-large' });
    const buf = Buffer.allocUnsafe(size);
    let off = 0;
    while (off < size) {
      const n = readSync(fd, buf, off, size - off, off);
      if (n === 0) break;
      off += n;
    }
    return buf.subarray(0, off);
  } finally {
    closeSync(fd);
  }
}

/** Store what one input held; add to the summary. Returns the save results (the IMAP importer moves by them). */
export function record(res: UnpackResult, store: ReportStore, sum: ImportSummary): SaveResult[] {
  const saved: SaveResult[] = [];
  for (const f of res.found) {
    const s = store.save(f);
    saved.push(s);
    sum.reports[s.kind]++;
    sum.outcomes[s.outcome]++;
    if (!f.auth.authenticated) sum.unauthenticated++;
    if (s.note) sum.notes.push(`${f.where}: ${s.note}`);
    if (s.domain && !sum.domains.includes(s.domain)) sum.domains.push(s.domain);
  }
  sum.problems.push(...res.problems);
  sum.messages += res.messages.length;
  return saved;
}


export async function importFiles(files: string[], o: ImportOptions): Promise<ImportSummary> {
  const sum = emptySummary();
  const limits = o.limits ?? DEFAULT_LIMITS;
  const batch = o.batch ?? 500;
  const poolSize = o.workers ?? ParsePool.sizeFor(files.length);
  const pool = poolSize ? new ParsePool(poolSize) : undefined;
  // files read and parsed ahead of the one being stored
  const IN_FLIGHT = pool ? pool.size * 4 : 4;
  const load = async (file: string): Promise<UnpackResult> => {
    let bytes: Buffer;
    try {
      bytes = readBounded(file);
    } catch (e) {
      return { found: [], messages: [], problems: [{ where: file, kind: (e as { kind?: string }).kind ?? 'unreadable', message: `cannot read: ${(e as Error).message}` }] };
    }
    const local = () => unpack(bytes, file, { limits, source: file, ...(o.verify ? { verify: o.verify } : {}) });
    const kind = sniff(bytes);
    if (!pool || kind === 'mail' || kind === 'mbox') return local();
    return (await pool.parse(bytes, file, limits)) ?? local();
  };
  // a few files ahead, stored strictly in order (the first copy of a report id is the first file named)
  const ahead: Promise<UnpackResult>[] = [];
  let next = 0;
  const fill = () => {
    while (ahead.length < IN_FLIGHT && next < files.length) ahead.push(load(files[next++]!));
  };
  let pending = 0;
  o.store.begin();
  try {
    for (let i = 0; i < files.length; i++) {
      fill();
      const res = await ahead.shift()!;
      o.progress?.(i, files.length, files[i]!);
      sum.files++;
      pending += record(res, o.store, sum).length;
      if (pending >= batch) {
        o.store.commit();
        o.store.begin();
        pending = 0;
      }
    }
    o.store.commit();
  } catch (e) {
    o.store.rollback();
    await Promise.allSettled(ahead);
    throw e;
  } finally {
    await pool?.close();
  }
  return sum;
}

export { problemCounts } from './types.ts';
