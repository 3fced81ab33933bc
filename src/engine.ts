// The engine: runs the checks of one target concurrently, shares gathered facts
// between them, and streams each result the moment it is ready.
import { EventEmitter } from 'node:events';
import type { Check, CheckContext, CheckOutput, CheckResult, EngineEvent, Finding, RunOptions, Severity, Status } from './types.ts';
import type { DnsClient } from './dns/resolver.ts';

export const SEVERITY_RANK: Record<Severity, number> = { pass: 0, info: 1, warn: 2, error: 3 };

export function statusFromFindings(findings: Finding[]): Status {
  let worst = 0;
  for (const f of findings) worst = Math.max(worst, SEVERITY_RANK[f.severity]);
  return worst >= 3 ? 'fail' : worst === 2 ? 'warn' : 'pass';
}

export interface TargetResult {
  target: string;
  status: Status;
  checks: CheckResult[];
  ms: number;
  /** one line that comes before every check's advice: "example.test does not exist: NXDOMAIN" */
  headline?: string;
}

/** A stream of engine events; the dashboard and the progress line subscribe to it. */
export class ResultStream extends EventEmitter {
  emitEvent(ev: EngineEvent): void {
    this.emit('event', ev);
    this.emit(ev.type, ev);
  }
}

export function overallStatus(results: { status: Status }[]): Status {
  if (results.some((r) => r.status === 'fail')) return 'fail';
  if (results.some((r) => r.status === 'unknown')) return 'unknown';
  if (results.some((r) => r.status === 'warn')) return 'warn';
  return 'pass';
}

export interface RunTargetOptions {
  target: string;
  checks: Check[];
  /** every registered check, so dependencies that were not selected can still run */
  registry: Map<string, Check>;
  opts: RunOptions;
  dns: DnsClient;
  stream?: ResultStream;
  signal?: AbortSignal;
}

/**
 * Run the selected checks of one target, all at once. Dependencies named in
 * `dependsOn` run too (once), but only the selected checks are reported.
 */
const parsedSettings = new WeakMap<RunOptions, Map<string, Promise<unknown>>>();

/**
 * A check's settings for a run: its `parse` of these options, called once per
 * RunOptions object whoever asks first (prepareChecks before any work, or the run).
 */
export function checkSettings<S>(check: Pick<Check<S>, 'id' | 'parse'>, opts: RunOptions): Promise<S> {
  let byCheck = parsedSettings.get(opts);
  if (!byCheck) parsedSettings.set(opts, (byCheck = new Map()));
  let p = byCheck.get(check.id) as Promise<S> | undefined;
  if (!p) {
    p = check.parse ? Promise.resolve().then(() => check.parse!(opts)) : Promise.resolve(undefined as S);
    byCheck.set(check.id, p);
  }
  return p;
}

export async function runTarget(o: RunTargetOptions): Promise<TargetResult> {
  const started = performance.now();
  const memo = new Map<string, Promise<unknown>>();
  const running = new Map<string, Promise<CheckResult>>();
  const selected = new Set(o.checks.map((c) => c.id));
  const signal = o.signal ?? new AbortController().signal;

  const start = (check: Check): Promise<CheckResult> => {
    let p = running.get(check.id);
    if (p) return p;
    p = (async () => {
      const t0 = performance.now();
      if (selected.has(check.id)) o.stream?.emitEvent({ type: 'check-start', target: o.target, check: check.id });
      const ctx: Omit<CheckContext, 'settings'> = {
        target: o.target,
        opts: o.opts,
        dns: o.dns,
        signal,
        memo: <T>(key: string, fn: () => Promise<T>): Promise<T> => {
          let m = memo.get(key) as Promise<T> | undefined;
          if (!m) {
            m = fn();
            memo.set(key, m);
          }
          return m;
        },
        result: (id: string) => {
          const dep = o.registry.get(id);
          if (!dep) return Promise.reject(new Error(`unknown check '${id}'`));
          if (!check.dependsOn?.includes(id)) return Promise.reject(new Error(`check '${check.id}' reads '${id}' without declaring it in dependsOn`));
          return start(dep);
        },
        progress: (message, done, total) => o.stream?.emitEvent({ type: 'progress', target: o.target, check: check.id, message, done, total }),
        log: (message) => o.stream?.emitEvent({ type: 'log', target: o.target, check: check.id, message }),
        partial: (data) => o.stream?.emitEvent({ type: 'partial', target: o.target, check: check.id, data }),
      };
      let out: CheckOutput;
      const applies = check.applies ? check.applies(o.opts) : true;
      if (applies !== true) {
        out = { status: 'unknown', reason: `not run: ${applies}`, findings: [] };
      } else {
        try {
          out = await check.run({ ...ctx, settings: await checkSettings(check, o.opts) });
        } catch (e) {
          // a bug or an unexpected failure is reported, never turned into a pass
          out = { status: 'unknown', reason: `internal error in ${check.id}: ${(e as Error).message}`, findings: [] };
        }
      }
      const status = out.status ?? statusFromFindings(out.findings);
      // finding codes are stable API: under test, a code missing from the check's catalogue is a bug
      if (check.findings && process.env.INBOXLENS_STRICT_CATALOG) {
        const stray = [...new Set(out.findings.map((f) => f.code).filter((c) => !check.findings![c]))];
        if (stray.length) throw new Error(`check '${check.id}' emitted ${stray.join(', ')}, not in its catalogue (src/catalog/${check.id}.ts)`);
      }
      const result: CheckResult = {
        check: check.id,
        title: check.title,
        target: o.target,
        status,
        ...(out.reason ? { reason: out.reason } : {}),
        findings: out.findings,
        ...(out.data ? { data: out.data } : {}),
        ms: Math.round(performance.now() - t0),
      };
      if (selected.has(check.id)) o.stream?.emitEvent({ type: 'check-done', target: o.target, result });
      return result;
    })();
    running.set(check.id, p);
    return p;
  };

  const results = await Promise.all(o.checks.map(start));
  return { target: o.target, status: overallStatus(results), checks: results, ms: Math.round(performance.now() - started) };
}

/** Exit codes, the same for every command. */
export const EXIT = { ok: 0, findings: 1, usage: 2, unknown: 3 } as const;

export function exitCodeFor(checks: CheckResult[], failOn: 'error' | 'warn'): number {
  const threshold = SEVERITY_RANK[failOn];
  if (checks.some((c) => c.findings.some((f) => SEVERITY_RANK[f.severity] >= threshold))) return EXIT.findings;
  if (checks.some((c) => c.status === 'unknown')) return EXIT.unknown;
  return EXIT.ok;
}

/** Several exit codes into one: input error, then findings, then unknown, then ok. */
export function combineExit(codes: number[]): number {
  for (const c of [EXIT.usage, EXIT.findings, EXIT.unknown]) if (codes.includes(c)) return c;
  return EXIT.ok;
}
