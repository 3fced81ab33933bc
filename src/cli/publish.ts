// What happens to a finished report, the same for every command: print it (text
// or JSON), save it to history, write --junit / --markdown files, and compare it
// with --against / --baseline. Inputs are validated before the run starts, so a
// bad --db or baseline fails fast (exit 2) instead of after a long run.
import { writeFile } from 'node:fs/promises';
import { closeSync, openSync, statSync, unlinkSync, type Stats } from 'node:fs';
import path from 'node:path';
import { readInputFile, INPUT_LIMITS } from '../util/read-input.ts';
import type { Argv } from 'yargs';
import { HistoryStore, defaultDbPath } from '../history/store.ts';
import { diffReports, type ReportDiff } from '../history/diff.ts';
import type { Report } from '../report/json.ts';
import { renderJunit } from '../report/junit.ts';
import { renderMarkdown } from '../report/markdown.ts';
import { renderHtml } from '../report/html.ts';
import { renderDiff } from '../report/diff-text.ts';
import { makeStyle, wantColor } from '../report/style.ts';
import { UsageError } from './errors.ts';
import { out } from './common.ts';
import { EXIT } from '../engine.ts';
import { redact } from '../util/redact.ts';

export interface PublishArgs {
  json?: boolean;
  save: boolean;
  db?: string;
  label?: string;
  junit?: string;
  markdown?: string;
  'html-report'?: string;
  baseline?: string;
  against?: string;
  'fail-on'?: 'error' | 'warn';
  'export-dir'?: string;
}

export function withPublishOptions<T>(y: Argv<T>): Argv<T & PublishArgs> {
  return y
    .option('save', { type: 'boolean', default: true, describe: 'save this run to history (--no-save to skip)', group: 'History and CI:' })
    .option('db', { type: 'string', describe: `history database (default: $INBOXLENS_DB or ${defaultDbPath().replace(process.env.HOME ?? '\u0000', '~')})`, group: 'History and CI:' })
    .option('label', { type: 'string', describe: 'label this run, e.g. before / after', group: 'History and CI:' })
    .option('against', { type: 'string', describe: 'compare with a saved run: an id, "last", or "last:LABEL"', group: 'History and CI:' })
    .option('baseline', { type: 'string', describe: 'a saved run id or a JSON report file: exit 1 only on regressions against it', group: 'History and CI:' })
    .option('junit', { type: 'string', describe: 'also write JUnit XML to FILE', group: 'History and CI:' })
    .option('markdown', { type: 'string', describe: 'also append a Markdown summary to FILE (e.g. $GITHUB_STEP_SUMMARY)', group: 'History and CI:' })
    .option('html-report', { type: 'string', describe: 'also write a self-contained HTML report to FILE (verdict, fixes, placement chart, before/after)', group: 'History and CI:' })
    .option('export-dir', { type: 'string', describe: 'dashboard: `e` writes the JSON report into DIR without asking (otherwise it asks for a path)', group: 'History and CI:' }) as unknown as Argv<T & PublishArgs>;
}

export interface Publisher {
  /** print, save, write files, compare; returns the run's final exit code */
  finish(report: Report, renderText: (r: Report) => string): Promise<number>;
  /** save, write files, compare, without printing (the dashboard prints nothing while it is up) */
  record(report: Report): Promise<{ doc: Report; code: number; diff?: ReportDiff; runId?: string }>;
  close(): void;
  store?: HistoryStore;
}

/**
 * Can `file` be written (created, or appended to) where it is? Tried for real,
 * leaving nothing behind: an existing file is opened for append (not changed),
 * a new one is created and removed again. Pipes and devices (/dev/stdout) are
 * not opened: opening a FIFO for writing waits for its reader.
 */
export function checkOutputPath(flag: string, file: string): void {
  const why = (e: unknown) => {
    const code = (e as NodeJS.ErrnoException).code;
    const reason = code === 'ENOENT' ? `the folder '${path.dirname(file)}' does not exist` : code === 'ENOTDIR' ? `'${path.dirname(file)}' is not a folder` : code === 'EACCES' || code === 'EPERM' ? 'permission denied' : code === 'EROFS' ? 'the file system is read-only' : code === 'EISDIR' ? 'it is a directory' : (code ?? (e as Error).message);
    return new UsageError(`${flag}: cannot write '${file}': ${reason}; nothing was done`);
  };
  let st: Stats | undefined;
  try {
    st = statSync(file);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw why(e);
  }
  if (st?.isDirectory()) throw new UsageError(`${flag}: cannot write '${file}': it is a directory; give a file name`);
  if (st && !st.isFile()) return;
  try {
    if (st) closeSync(openSync(file, 'a'));
    else {
      closeSync(openSync(file, 'wx'));
      unlinkSync(file);
    }
  } catch (e) {
    throw why(e);
  }
}

/** --export-dir: an existing folder this user can create files in, checked before any work. */
export function checkExportDir(flag: string, dir: string): string {
  const abs = path.resolve(dir);
  let st: Stats;
  try {
    st = statSync(abs);
  } catch {
    throw new UsageError(`${flag}: the folder '${dir}' does not exist; create it or give another`);
  }
  if (!st.isDirectory()) throw new UsageError(`${flag}: '${dir}' is not a folder`);
  checkOutputPath(flag, path.join(abs, `.inboxlens-write-test-${process.pid}`));
  return abs;
}

/**
 * A document with every registered secret masked, for the renderers: masking their
 * output is not enough, because each escapes text its own way (XML and HTML
 * entities, a Markdown cell's \|), and an escaped secret is no longer the secret.
 */
export function masked<T>(value: T): T {
  return JSON.parse(redact(JSON.stringify(value))) as T;
}

/** Every report file named on the command line, checked before any work (placement sends copies): a path that cannot be written fails now, not at the end. */
export function checkOutputPaths(files: Record<string, string | undefined>): void {
  for (const [flag, file] of Object.entries(files)) {
    if (file !== undefined && !String(file).trim()) throw new UsageError(`${flag}: give a file name`);
    if (file) checkOutputPath(flag, String(file));
  }
}

async function loadBaseline(ref: string, store: HistoryStore | undefined, target: string | undefined, command: string): Promise<{ report: Report; id?: string; label?: string | null }> {
  if (/\.json$/i.test(ref) || ref.includes('/')) {
    const text = readInputFile(ref, { what: '--baseline', maxBytes: INPUT_LIMITS.report, encoding: 'utf8', hint: 'a saved run id or a JSON report written with --json' });
    try {
      const report = JSON.parse(text) as Report;
      if (report?.schemaVersion !== '1.0' || !Array.isArray(report.targets)) throw new Error('not a report');
      return { report };
    } catch {
      throw new UsageError(`--baseline: '${ref}' is not an inboxlens JSON report (schemaVersion 1.0)`);
    }
  }
  if (!store) throw new UsageError(`--baseline ${ref}: a run id needs the history database (drop --no-save or give a JSON file)`);
  const rec = store.get(ref, target, undefined, command);
  return { report: rec.report, id: rec.id, label: rec.label };
}

/** The receivers' view on a comparison (read only; the history database is not created for it). */
async function addReceiversTo(diff: ReportDiff, open: HistoryStore | undefined, db: string | undefined): Promise<void> {
  const { addReceivers } = await import('../reports/receivers.ts');
  try {
    HistoryStore.readIfExists(db ?? defaultDbPath(), open, (h) => addReceivers(diff, h));
  } catch (e) {
    // the comparison itself stands; the receivers' part says it could not be read
    process.stderr.write(`inboxlens: warning: the receivers' reports could not be read for the comparison: ${redact((e as Error).message)}\n`);
  }
}

export async function openPublisher(argv: PublishArgs, command: string, targets: string[] = []): Promise<Publisher> {
  if (argv['export-dir'] !== undefined) checkExportDir('--export-dir', argv['export-dir']);
  const comparing = Boolean(argv.against) || (argv.baseline !== undefined && !/\.json$/i.test(argv.baseline));
  let store: HistoryStore | undefined;
  if (argv.save || comparing) {
    try {
      store = HistoryStore.open(argv.db ?? defaultDbPath());
    } catch (e) {
      // saving to the default place is a convenience: a read-only home must not stop a check
      if (argv.db || process.env.INBOXLENS_DB || comparing) throw e;
      process.stderr.write(`inboxlens: warning: runs are not saved: ${redact((e as Error).message)} (pass --db PATH, or --no-save)\n`);
    }
  }
  const target = targets.length === 1 ? targets[0] : undefined;
  // resolve comparisons before the run: a typo fails now, and "last" means the run before this one
  const against = argv.against ? (() => {
    // "last" is the last run of this command (and target): a blacklist run is no baseline for a check
    const r = store!.get(argv.against!, target, undefined, command);
    return { report: r.report, id: r.id, label: r.label };
  })() : undefined;
  const baseline = argv.baseline ? await loadBaseline(argv.baseline, store, target, command) : undefined;
  checkOutputPaths({ '--junit': argv.junit, '--markdown': argv.markdown, '--html-report': argv['html-report'] });

  /** Compare, save, write CI files; no printing. */
  const record = async (report: Report): Promise<{ doc: Report; code: number; diff?: ReportDiff; runId?: string }> => {
    const failOn = argv['fail-on'] ?? 'error';
    let code = report.summary.exitCode;
    const cmp = baseline ?? against;
    let diff: ReportDiff | undefined;
    if (cmp) {
      diff = diffReports(cmp.report, report, { before: { id: cmp.id, label: cmp.label } }, failOn);
      // beside the checks, as `inboxlens diff` shows it: what receivers reported between that run and this one
      await addReceiversTo(diff, store, argv.db);
      if (baseline) {
        // against a baseline only regressions fail the run; what could not be determined still says so
        code = code === EXIT.usage ? code : diff.regressions.length ? EXIT.findings : report.summary.checks.unknown > 0 ? EXIT.unknown : EXIT.ok;
        report.summary.exitCode = code;
      }
    }
    let runId: string | undefined;
    if (store && argv.save) {
      try {
        runId = store.save(report, argv.label);
      } catch (e) {
        process.stderr.write(`inboxlens: warning: this run was not saved to ${store.file}: ${redact((e as Error).message)}\n`);
      }
    }
    const doc: Report = { ...report, ...(runId ? { runId } : {}), ...(argv.label ? { label: argv.label } : {}), ...(diff ? { comparison: diff } : {}) };
    try {
      const safe = argv.junit || argv.markdown || argv['html-report'] ? masked({ doc, diff }) : undefined;
      if (argv.junit) await writeFile(argv.junit, redact(renderJunit(safe!.doc)));
      // appended, as to $GITHUB_STEP_SUMMARY, where every command of a step writes with >>
      if (argv.markdown) await writeFile(argv.markdown, redact(renderMarkdown(safe!.doc, safe!.diff)), { flag: 'a' });
      if (argv['html-report']) await writeFile(argv['html-report'], redact(renderHtml(safe!.doc, safe!.diff)));
    } catch (e) {
      throw new UsageError(`cannot write the report file: ${(e as Error).message}`);
    }
    return { doc, code, diff, runId };
  };

  return {
    store,
    record,
    async finish(report, renderText) {
      const { doc, code, diff, runId } = await record(report);
      if (argv.json) await out(JSON.stringify(doc, null, 2));
      else {
        await out(renderText(doc));
        if (diff) await out(`\n${renderDiff(diff, makeStyle(wantColor()))}`);
        if (runId) process.stderr.write(`saved as run ${runId}${argv.label ? ` (${argv.label})` : ''} — compare later with: inboxlens diff ${runId} last\n`);
      }
      store?.close();
      return code;
    },
    close() {
      store?.close();
    },
  };
}
