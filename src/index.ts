// The library entry point (`import … from 'inboxlens'`): typed options in, the
// versioned report out (what `--json` prints, valid against schema/report.schema.json),
// plus the engine's result stream for live consumers. Nothing here writes to
// stdout, exits the process or reads argv. Examples: docs/library.md.
//
//   import { check, blacklist } from 'inboxlens';
//   const report = await check('example.com', { only: ['spf', 'dmarc'] });
//   if (report.summary.status === 'fail') …
export type * from './types.ts';
export { check, blacklist, content, placement, type CheckOptions, type BlacklistOptions, type ContentOptions, type PlacementOptions, type RunCommon } from './engine/api.ts';
export type { PlacementAction } from './placement/plan.ts';
export { drawDetails, layoutDetails, lineTone, plain } from './report/details.ts';
export { renderReport } from './report/text.ts';
export { makeStyle, type ViewStyle } from './report/style.ts';
export { EXIT, ResultStream, combineExit, exitCodeFor, overallStatus, runTarget, statusFromFindings, type RunTargetOptions, type TargetResult } from './engine.ts';
export { SCHEMA_VERSION, buildReport, type Report } from './report/json.ts';
export { validateReport, validateDocument } from './report/validate.ts';
export { loadChecks } from '../checks/index.ts';
export { checkMetadata, loadChecksById, type CheckMeta } from './check-registry.ts';
export { CHECK_ORDER, baseRunOptions, checkDomain, createDnsSetup, makeDns, orderChecks, prepareChecks, selectChecks, type BaseRunInput, type DnsSetup, type DnsSetupOptions } from './engine/run.ts';
export { UsageError } from './util/errors.ts';
export { analyze, prepareAnalysis, receiverView, parseAuthResults, receiverAuthOf, decodeSpamHeaders, verifyArc, type AnalyzeOptions, type PreparedAnalysis, type ReceiverView, type ReceiverViewOptions, type ParsedAuthResults, type AuthResult, type SpamFilterVerdict, type ArcVerdict } from './analyze/index.ts';
