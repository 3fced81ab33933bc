// The inboxlens command line: parses arguments, runs a command, maps every
// outcome to the documented exit codes (0 ok, 1 findings, 2 input error, 3 unknown).
import yargs, { type Argv, type CommandModule } from 'yargs';
import { hideBin } from 'yargs/helpers';
import { UsageError } from './errors.ts';
import { loadChecks } from '../../checks/index.ts';
import { checkCommand, runCheck, type CheckArgs } from './commands/check.ts';
import { EXIT } from '../engine.ts';

/** Each command: its yargs module and the function that runs it, returning the exit code. */
export interface Command<A = any> {
  module: CommandModule<object, A>;
  run(argv: A): Promise<number>;
}

async function commands(): Promise<Command[]> {
  const registry = await loadChecks();
  // the options checks declare for themselves join `check`'s own
  const check: Command<CheckArgs> = {
    module: {
      ...checkCommand,
      builder: (y: Argv) => {
        let b = (checkCommand.builder as (y: Argv) => Argv)(y);
        for (const c of registry.values()) {
          for (const [name, spec] of Object.entries(c.cliOptions ?? {})) b = b.option(name, { group: `${c.title}:`, ...spec });
        }
        return b as Argv<CheckArgs>;
      },
    },
    run: runCheck,
  };
  const list: Command[] = [check];
  // further commands register here
  return list;
}

export async function main(argv = hideBin(process.argv)): Promise<number> {
  let code: number = EXIT.ok;
  let usage: string | undefined;
  const cmds = await commands();
  let y = yargs(argv)
    .scriptName('inboxlens')
    .strict()
    .help()
    .alias('h', 'help')
    .version()
    .wrap(Math.min(110, process.stdout.columns || 100))
    .demandCommand(1, 'Give a command, e.g. `inboxlens check example.com` (see --help).')
    .fail((msg, err) => {
      if (err && !(err instanceof UsageError)) throw err;
      usage = err?.message ?? msg;
    });
  for (const c of cmds) {
    y = y.command({
      ...c.module,
      handler: async (a: any) => {
        code = await c.run(a);
      },
    });
  }
  try {
    await y.parseAsync();
  } catch (e) {
    if (e instanceof UsageError) usage = e.message;
    else throw e;
  }
  if (usage) {
    process.stderr.write(`inboxlens: ${usage}\n`);
    return EXIT.usage;
  }
  return code;
}
