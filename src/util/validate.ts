// TEMPORARY: the parsers move here from src/cli/validate.ts (issue 11).
export * from '../cli/validate.ts';
