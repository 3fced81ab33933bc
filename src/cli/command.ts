// What a file in src/cli/commands/ exports as `command`.
import type { CommandModule } from 'yargs';

export interface Command<A = any> {
  /** the yargs command (its handler is ignored: `run` is called instead) */
  module(): Promise<CommandModule<object, A>> | CommandModule<object, A>;
  /** runs the command and returns its exit code (0, 1, 2, 3); throw UsageError for bad input */
  run(argv: A): Promise<number>;
  /** position in --help (lower first) */
  order?: number;
}
