// Runs the checks of one domain with the dashboard subscribed to the result
// stream: `inboxlens dashboard`, and `--dashboard` on check / placement run.
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { ResultStream, exitCodeFor } from '../engine.ts';
import { buildReport, type Report } from '../report/json.ts';
import { renderReport } from '../report/text.ts';
import { renderDiff } from '../report/diff-text.ts';
import { makeStyle, wantColor } from '../report/style.ts';
import { openDashboard } from '../tui/dashboard.ts';
import type { Check, Detail, RunOptions } from '../types.ts';
import { checkDomain } from '../engine/run.ts';
import { out, type DnsSetup } from './common.ts';
import type { Publisher } from './publish.ts';
import { redact } from '../util/redact.ts';

export interface DashboardRun {
  domain: string;
  checks: Check[];
  registry: Map<string, Check>;
  opts: RunOptions;
  setup: DnsSetup;
  publisher: Publisher;
  failOn: 'error' | 'warn';
  title?: string;
  verbose?: boolean;
  /** options for each run (a re-run may need fresh ones, e.g. a new placement token) */
  freshOpts?: () => Promise<RunOptions>;
  /** --export-dir: where `e` writes without asking */
  exportDir?: string;
  /** what `d` shows when the run itself is compared with nothing (the demo's before/after pair) */
  diffText?: string;
  /** print the last run's text report once the dashboard is closed (default true) */
  printAfter?: boolean;
  /** an extra panel (the receivers' reports), loaded after each finished run */
  panel?: { label: string; placeholder: string; load: () => Promise<Detail[]> };
}

export async function runWithDashboard(r: DashboardRun): Promise<number> {
  let last: { report: Report; code: number; runId?: string } | undefined;
  let generation = 0;
  const dash = openDashboard({
    target: r.domain,
    title: r.title,
    views: r.registry,
    ...(r.panel ? { extraPanel: { label: r.panel.label, placeholder: r.panel.placeholder } } : {}),
    onRerun: () => void runOnce(),
    ...(r.exportDir ? { exportDir: r.exportDir } : {}),
    exportPath: () => path.join(r.exportDir ?? process.cwd(), `inboxlens-${r.domain}-${last?.runId ?? Date.now()}.json`),
    onExport: async (file: string) => {
      if (!last) throw new Error('no finished run to export yet');
      const target = path.resolve(file);
      // never overwrite: a file that exists is the user's
      await writeFile(target, redact(JSON.stringify(last.report, null, 2)), { flag: 'wx' });
      return target;
    },
  });
  const runOnce = async () => {
    const gen = ++generation;
    if (gen > 1) dash.reset();
    const stream = new ResultStream();
    stream.on('event', (ev) => {
      if (gen === generation) dash.onEvent(ev);
    });
    const t0 = performance.now();
    try {
      const opts = r.freshOpts ? await r.freshOpts() : r.opts;
      const { result, skipped } = await checkDomain(r.domain, r.checks, r.registry, opts, r.setup, stream);
      const code = exitCodeFor(result.checks, r.failOn);
      const report = buildReport({ command: r.title ?? 'check', targets: [result], skipped, durationMs: Math.round(performance.now() - t0), exitCode: code });
      const rec = await r.publisher.record(report);
      if (gen !== generation) return;
      last = { report: rec.doc, code: rec.code, runId: rec.runId };
      dash.finished({ runId: rec.runId, ...(rec.doc.label ? { label: String(rec.doc.label) } : {}), diffText: rec.diff ? renderDiff(rec.diff, makeStyle(false)) : r.diffText, note: rec.diff ? `compared with ${rec.diff.before.id ?? 'baseline'}: ${rec.diff.regressions.length} regression(s), ${rec.diff.improvements.length} improvement(s)` : undefined });
      if (r.panel) {
        try {
          const details = await r.panel.load();
          if (gen === generation) dash.setExtra(details);
        } catch (e) {
          if (gen === generation) dash.setExtra([{ kind: 'list', items: [[{ text: `could not read the reports: ${(e as Error).message}`, tone: 'unknown' }]] }]);
        }
      }
    } catch (e) {
      dash.log(`run failed: ${(e as Error).message}`);
    }
  };
  void runOnce();
  await dash.closed;
  r.publisher.close();
  // the terminal is restored: leave the last run's text behind, as a plain run would
  if (last) {
    if (r.printAfter === false) return last.code;
    await out(renderReport(last.report, makeStyle(wantColor()), r.registry, r.verbose));
    if (last.runId) process.stderr.write(`saved as run ${last.runId}\n`);
    return last.code;
  }
  process.stderr.write('inboxlens: quit before the run finished; nothing was saved\n');
  return 3;
}
