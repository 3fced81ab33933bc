// The CLI's view of input errors: the one class lives below the CLI (src/util/errors.ts).
export { UsageError } from '../util/errors.ts';
