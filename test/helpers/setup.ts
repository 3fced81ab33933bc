// Runs around every test file: removes the scratch history database the CLI runs wrote.
import { afterAll } from 'vitest';
import { removeTestDb } from './cli.ts';

afterAll(() => removeTestDb());
