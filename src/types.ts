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

export interface CheckContext<S = unknown> {
  /** the domain (or other target) this run is about */
  target: string;
  opts: RunOptions;
  /** what this check's `parse` made of the options, once per run (undefined for a check without one) */
  settings: S;
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

export interface Check<S = unknown> {
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
  /**
   * What this check's data shows beyond its findings (the SPF tree, the blacklist
   * grid, the seed table), as generic detail blocks every renderer draws: the text
   * report, the dashboard, Markdown. Pure, no I/O; it may be given live partial
   * data (placement rows as copies arrive), so it must cope with fields missing.
   */
  details?(result: Pick<CheckResult, 'check' | 'target' | 'status' | 'data'>): Detail[];
  /** One short line that sums the result up where space is tight (the dashboard): "3/10 lookups", "p=reject". Pure. */
  headline?(result: CheckResult): string | undefined;
  run(ctx: CheckContext<S>): Promise<CheckOutput>;
  /**
   * Command-line options this check adds to `inboxlens check` (yargs option
   * specs; values arrive in RunOptions under their camelCase name).
   */
  cliOptions?: Record<string, OptionSpec>;
  /**
   * Parse this check's options once per run, before any target: the typed settings
   * its `run` reads as `ctx.settings`. Throw UsageError (src/util/errors.ts) for bad
   * input, naming the option and the value. Nothing is stored on RunOptions.
   */
  parse?(opts: RunOptions): S | Promise<S>;
}

/**
 * How a piece of detail text reads. Renderers choose what each looks like (colours
 * on a terminal, a class in HTML, nothing in plain text): checks never pick colours.
 */
export type Tone = 'good' | 'bad' | 'alarm' | 'warn' | 'unknown' | 'info' | 'muted' | 'strong';
export interface Span {
  text: string;
  tone?: Tone;
}
/** Text with parts in tones: a plain string, or spans in order. */
export type Rich = string | Span[];

export interface TreeNode {
  label: Rich;
  /** lines under the label, before the children (an SPF record under its include) */
  lines?: Rich[];
  children?: TreeNode[];
}

/**
 * The generic kinds of detail a check fills and renderers draw:
 * - list: one line an item;
 * - table: aligned columns under a header row (the seed table);
 * - grid: a ruled matrix of row labels × columns (targets × blacklists);
 * - tree: nested nodes (the SPF include tree);
 * - bars: one horizontal bar a row, in stacked parts (placement per provider, a
 *   histogram of arrival times); each part has its own glyph as well as its tone,
 *   so the picture reads without colour too.
 */
export type Detail =
  | { kind: 'list'; title?: Rich; items: Rich[] }
  | { kind: 'table'; title?: Rich; columns: string[]; rows: Rich[][]; align?: ('left' | 'right')[]; note?: Rich }
  | { kind: 'grid'; title?: Rich; columns: Rich[]; rows: Rich[][]; note?: Rich }
  | { kind: 'tree'; title?: Rich; root: TreeNode }
  | { kind: 'bars'; title?: Rich; rows: BarRow[]; legend?: boolean; note?: Rich };

export interface BarPart {
  name: string;
  value: number;
  tone?: Tone;
}
export interface BarRow {
  label: string;
  parts: BarPart[];
  /** what the row's bar is out of (default: the sum of its parts); rows with one scale compare */
  of?: number;
  /** the text after the bar (default: each part's share) */
  text?: string;
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
