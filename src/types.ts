// The contract between the engine, the checks and the renderers.
// Checks gather facts through the context and return findings; renderers only render.
import type { DnsClient } from './dns/resolver.ts';

export type Severity = 'error' | 'warn' | 'info' | 'pass';
export type Status = 'pass' | 'warn' | 'fail' | 'unknown';
export type Need = 'dns' | 'smtp' | 'seeds' | 'message' | 'https';

/** One piece of proof: a DNS query and what it returned, or a record as seen. */
export interface Evidence {
  query?: string;
  type?: string;
  rcode?: string;
  answers?: string[];
  record?: string;
  note?: string;
}

export interface Finding {
  check: string;
  code: string;
  severity: Severity;
  summary: string;
  detail?: string;
  evidence?: Evidence[];
  fix?: string;
  ref?: string;
  /** the domain, IP or seed this finding is about, when not the run's target */
  subject?: string;
}

export interface CheckOutput {
  /** derived from the findings when absent; `unknown` must carry a reason */
  status?: Status;
  reason?: string;
  findings: Finding[];
  data?: Record<string, unknown>;
}

export interface CheckResult {
  check: string;
  title: string;
  target: string;
  status: Status;
  reason?: string;
  findings: Finding[];
  data?: Record<string, unknown>;
  ms: number;
}

/** Options a run was started with; commands add their own keys. */
export interface RunOptions {
  ips: string[];
  selectors: string[];
  /** the envelope (MAIL FROM) domain */
  mailFrom?: string;
  /** the envelope sender address, when --mail-from named one (local@domain, domain = mailFrom) */
  mailFromAddress?: string;
  dkimDomain?: string;
  [key: string]: unknown;
}

export type EngineEvent =
  | { type: 'check-start'; target: string; check: string }
  | { type: 'check-done'; target: string; result: CheckResult }
  | { type: 'progress'; target: string; check: string; message: string; done?: number; total?: number }
  | { type: 'log'; target: string; check: string; message: string }
  | { type: 'partial'; target: string; check: string; data: Record<string, unknown> };

export interface CheckContext {
  /** the domain (or other target) this run is about */
  target: string;
  opts: RunOptions;
  dns: DnsClient;
  /** Share a gathered fact between checks of the same target: computed once. */
  memo<T>(key: string, fn: () => Promise<T>): Promise<T>;
  /** The result of another check on the same target (must be in `dependsOn`). */
  result(checkId: string): Promise<CheckResult>;
  progress(message: string, done?: number, total?: number): void;
  /** Live partial data before the check finishes (placement rows as copies arrive), for the dashboard. */
  partial(data: Record<string, unknown>): void;
  log(message: string): void;
  signal: AbortSignal;
}

/** What the catalogue says of one finding code: stable API, documented in docs/checks/. */
export interface FindingSpec {
  /** the severities the code is emitted with */
  severity: Severity[];
  /** when the severity depends on the case, how */
  severityNote?: string;
  meaning: string;
  fix: string;
}

/** Every finding code a check may emit, by code. */
export type FindingCatalog = Record<string, FindingSpec>;

export interface Check {
  /** stable id, the prefix of every finding code */
  id: string;
  title: string;
  /** the catalogue of the finding codes this check emits (a code not listed is a bug) */
  findings?: FindingCatalog;
  /** where the check is documented, relative to the package root */
  docs?: string;
  needs: Need[];
  /** checks whose results this one reads through ctx.result() */
  dependsOn?: string[];
  /** false, or a reason string, when the check has nothing to do for these options */
  applies?(opts: RunOptions): true | string;
  /** not part of a plain `check` run: only with --only (e.g. checks that talk to remote servers) */
  optIn?: boolean;
  /** an opt-in check also joins a plain `check` run when one of these options (yargs names, e.g. 'rcpt') is given */
  optInWith?: string[];
  /** extra human-readable lines for this check's data (the SPF tree, a grid); pure, no I/O */
  view?(result: CheckResult, style: ViewStyle): string[];
  run(ctx: CheckContext): Promise<CheckOutput>;
  /**
   * Command-line options this check adds to `inboxlens check` (yargs option
   * specs; values arrive in RunOptions under their camelCase name).
   */
  cliOptions?: Record<string, OptionSpec>;
  /**
   * Validate and normalise this check's options once per run, before any target:
   * throw UsageError (src/util/errors.ts) for bad input.
   */
  prepare?(opts: RunOptions): Promise<void> | void;
}

/** What a check's view may use to colour its lines; plain strings when colour is off. */
export interface ViewStyle {
  color: boolean;
  red(s: string): string;
  green(s: string): string;
  yellow(s: string): string;
  dim(s: string): string;
  bold(s: string): string;
  cyan(s: string): string;
  status(s: Status): string;
}

/**
 * An option a check adds to `inboxlens check`: plain data (the CLI hands it to its
 * argument parser; help, completion and the docs read it), so the check contract
 * does not depend on a command-line library.
 */
export interface OptionSpec {
  type: 'string' | 'number' | 'boolean';
  describe: string;
  array?: boolean;
  default?: string | number | boolean;
  choices?: readonly (string | number)[];
  group?: string;
  hidden?: boolean;
}
