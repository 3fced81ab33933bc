// The parsers live below the CLI (src/util/validate.ts): they judge a value and
// name it; the CLI passes the flag's name as `what`.
export * from '../util/validate.ts';
