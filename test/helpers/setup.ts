// Runs around every test file: removes the scratch history database the CLI runs wrote.
import { afterAll } from 'vitest';
import { removeTestDb } from './cli.ts';

afterAll(() => removeTestDb());

// finding codes are stable API: every run under test (in-process and the CLI's
// children, which inherit this) refuses a code missing from its check's catalogue
process.env.INBOXLENS_STRICT_CATALOG = '1';
