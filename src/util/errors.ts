// Errors that are the user's to fix: raised where a value is judged, naming the
// value; the CLI prints them as one clear line with exit code 2, no stack, and
// the library lets them reach the caller.
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}
