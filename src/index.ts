// The library entry point (`import … from 'inboxlens'`): the check contract and
// report types, the engine, and the run API the `check` command is built on.
// A minimal surface for now (issue 11 moves the run API into src/engine/).
//
//   import { loadChecks, selectChecks, prepareChecks, checkDomain, dnsSetup, buildReport } from 'inboxlens';
//   const registry = await loadChecks();
//   const checks = selectChecks(registry, ['mx']);
//   const opts = { ips: [], selectors: [] };
//   await prepareChecks(checks, registry, opts);
//   const setup = await dnsSetup({ resolver: ['1.1.1.1'], concurrency: 64, timeout: '5s', retries: 1, trace: false, json: true, 'fail-on': 'error', verbose: false });
//   const { result } = await checkDomain('example.com', checks, registry, opts, setup);
export type * from './types.ts';
export { EXIT, ResultStream, combineExit, exitCodeFor, overallStatus, runTarget, statusFromFindings, type RunTargetOptions, type TargetResult } from './engine.ts';
export { SCHEMA_VERSION, buildReport, type Report } from './report/json.ts';
export { loadChecks } from '../checks/index.ts';
export { checkMetadata, loadChecksById, type CheckMeta } from './check-registry.ts';
export { CHECK_ORDER, buildRunOptions, checkDomain, orderChecks, prepareChecks, selectChecks, type CheckArgs } from './cli/commands/check.ts';
export { dnsSetup, makeDns, type CommonArgs, type DnsSetup } from './cli/common.ts';
export { UsageError } from './cli/errors.ts';
