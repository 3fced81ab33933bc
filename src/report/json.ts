// The versioned JSON document every command emits with --json (schema/report.schema.json).
import { createRequire } from 'node:module';
import type { CheckResult, Severity, Status } from '../types.ts';
import type { TargetResult } from '../engine.ts';
import { overallStatus } from '../engine.ts';
import type { TraceEntry } from '../dns/resolver.ts';

const require = createRequire(import.meta.url);
// src/report/ in a clone, dist/src/report/ in the installed package
const pkg = (() => {
  try {
    return require('../../package.json') as { name: string; version: string };
  } catch {
    return require('../../../package.json') as { name: string; version: string };
  }
})();

export const SCHEMA_VERSION = '1.0';

export interface Report {
  schemaVersion: typeof SCHEMA_VERSION;
  tool: { name: string; version: string };
  command: string;
  generatedAt: string;
  durationMs: number;
  targets: TargetResult[];
  skipped?: { check: string; reason: string }[];
  summary: {
    status: Status;
    exitCode: number;
    findings: Record<Severity, number>;
    checks: Record<Status, number>;
  };
  trace?: TraceEntry[];
  [extra: string]: unknown;
}

export function summarize(targets: TargetResult[]): Omit<Report['summary'], 'exitCode'> {
  const findings: Record<Severity, number> = { error: 0, warn: 0, info: 0, pass: 0 };
  const checks: Record<Status, number> = { pass: 0, warn: 0, fail: 0, unknown: 0 };
  const all: CheckResult[] = targets.flatMap((t) => t.checks);
  for (const c of all) {
    checks[c.status]++;
    for (const f of c.findings) findings[f.severity]++;
  }
  return { status: overallStatus(all), findings, checks };
}

export function buildReport(p: {
  command: string;
  targets: TargetResult[];
  durationMs: number;
  exitCode: number;
  skipped?: Report['skipped'];
  trace?: TraceEntry[];
  extra?: Record<string, unknown>;
}): Report {
  return {
    schemaVersion: SCHEMA_VERSION,
    tool: { name: pkg.name, version: pkg.version },
    command: p.command,
    generatedAt: new Date().toISOString(),
    durationMs: p.durationMs,
    targets: p.targets,
    ...(p.skipped?.length ? { skipped: p.skipped } : {}),
    summary: { ...summarize(p.targets), exitCode: p.exitCode },
    ...(p.trace ? { trace: p.trace } : {}),
    ...(p.extra ?? {}),
  };
}
