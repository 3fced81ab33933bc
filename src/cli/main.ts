// The inboxlens command line: parses arguments, runs a command, maps every
// outcome to the documented exit codes (0 ok, 1 findings, 2 input error, 3 unknown).
// Each file in src/cli/commands/ exports `command: Command`: adding a command is adding a file.
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { UsageError } from './errors.ts';
import { EXIT } from '../engine.ts';
import type { Command } from './command.ts';
import { redact } from '../util/redact.ts';
import { existsSync } from 'node:fs';
import { applyConfig, findConfig, loadConfig, type LoadedConfig } from '../config.ts';
import { COMMANDS } from './command-list.ts';

type Entry = { name: string; order: number; meta?: (typeof COMMANDS)[number]; load?: () => Promise<Command | undefined> };

/** Thrown by a command registered from its metadata only, when yargs turns out to run it. */
class LoadCommand extends Error {
  readonly command: string;
  constructor(command: string) {
    super(`command '${command}' is not loaded`);
    this.command = command;
  }
}

/**
 * The commands, each file in src/cli/commands/ named after its command. Only the
 * one being run is loaded (each pulls in its own libraries and checks, which
 * costs start-up time and memory); the others are registered from their static
 * metadata (src/cli/command-list.ts), which is all --help, an unknown word and
 * completion need. A command file the list does not know (in a clone) is loaded.
 */
function commands(argv: string[], force?: string): Entry[] {
  const here = path.join(path.dirname(fileURLToPath(import.meta.url)), 'commands');
  const ext = path.extname(fileURLToPath(import.meta.url));
  const files = readdirSync(here).filter((f) => f.endsWith(ext) && !f.endsWith(`.d${ext}`)).sort();
  const names = files.map((f) => f.slice(0, -ext.length));
  const wanted = force ?? argv.find((a) => !a.startsWith('-') && names.includes(a));
  const load = (name: string) => async () => (await import(pathToFileURL(path.join(here, `${name}${ext}`)).href)).command as Command | undefined;
  const list: Entry[] = names.map((name) => {
    const meta = COMMANDS.find((c) => c.name === name);
    return name === wanted || !meta ? { name, order: meta?.order ?? 50, load: load(name) } : { name, order: meta.order, meta };
  });
  return list.sort((a, b) => a.order - b.order);
}

export async function main(argv = hideBin(process.argv), force?: string): Promise<number> {
  let code: number = EXIT.ok;
  let usage: string | undefined;
  const cmds = commands(argv, force);
  // --config FILE, else inboxlens.config.yaml found upward from here
  let config: LoadedConfig | undefined;
  try {
    const i = argv.findIndex((a) => a === '--config' || a.startsWith('--config='));
    const explicit = i === -1 ? undefined : argv[i]!.includes('=') ? argv[i]!.split('=').slice(1).join('=') : argv[i + 1];
    if (i !== -1 && !explicit) throw new UsageError('--config: give the path of a YAML config file');
    if (explicit && !existsSync(explicit)) throw new UsageError(`--config: '${explicit}' does not exist`);
    const file = explicit ?? (process.env.INBOXLENS_NO_CONFIG ? undefined : findConfig());
    if (file) config = loadConfig(file);
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    process.stderr.write(`inboxlens: ${redact(e.message)}\n`);
    return EXIT.usage;
  }
  let y = yargs(argv)
    .scriptName('inboxlens')
    .strict()
    .help()
    .alias('h', 'help')
    .version()
    .option('config', { type: 'string', describe: 'a YAML config file (default: inboxlens.config.yaml found upward from here)', global: true })
    .wrap(Math.min(110, process.stdout.columns || 100))
    .demandCommand(1, 'Give a command, e.g. `inboxlens check example.com` (see --help).')
    .fail((msg, err) => {
      if (err && !(err instanceof UsageError)) throw err;
      usage = err?.message ?? msg;
    });
  // yargs renders the running command's whole help (cliui) right after calling an async
  // handler, in case it is shown later; it never is here (.fail() above takes every
  // error), and for `check` that is ~40 ms of start-up: skip it
  const usageInstance = (y as any).getInternalMethods?.().getUsageInstance?.();
  if (usageInstance && typeof usageInstance.cacheHelpMessage === 'function') usageInstance.cacheHelpMessage = () => {};
  for (const e of cmds) {
    if (e.meta) {
      const name = e.meta.name;
      y = y.command({
        command: e.meta.command,
        describe: e.meta.describe,
        // only reached when yargs runs (or describes) this command: load it and start again
        builder: () => {
          throw new LoadCommand(name);
        },
        handler: () => {},
      });
      continue;
    }
    const c = await e.load!();
    if (!c) continue;
    const module = await c.module();
    y = y.command({
      ...module,
      handler: async (a: any) => {
        if (config) applyConfig(a, config, argv);
        code = await c.run(a);
      },
    });
  }
  y = y.completion('completion', 'Print a shell completion script (bash, zsh): inboxlens completion >> ~/.bashrc');
  try {
    await y.parseAsync();
  } catch (e) {
    if (e instanceof LoadCommand && !force) return main(argv, e.command);
    if (e instanceof UsageError) usage = e.message;
    else throw e;
  }
  if (usage) {
    process.stderr.write(`inboxlens: ${redact(usage)}\n`);
    return EXIT.usage;
  }
  return code;
}
