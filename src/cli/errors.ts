// Errors that are the user's to fix: printed as one clear line, exit code 2, no stack.
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}
