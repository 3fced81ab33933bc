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

/**
 * The commands, each file in src/cli/commands/ named after its command. Only the
 * one being run is loaded (each pulls in its own libraries and checks, which
 * costs start-up time and memory); help and unknown words load them all.
 */
async function commands(argv: string[]): Promise<Command[]> {
  const here = path.join(path.dirname(fileURLToPath(import.meta.url)), 'commands');
  const ext = path.extname(fileURLToPath(import.meta.url));
  const files = readdirSync(here).filter((f) => f.endsWith(ext) && !f.endsWith(`.d${ext}`)).sort();
  const first = argv.find((a) => !a.startsWith('-'));
  const wanted = first && files.includes(`${first}${ext}`) ? [`${first}${ext}`] : files;
  const list: Command[] = [];
  for (const f of wanted) {
    const mod = await import(pathToFileURL(path.join(here, f)).href);
    if (mod.command) list.push(mod.command as Command);
  }
  return list.sort((a, b) => (a.order ?? 50) - (b.order ?? 50));
}

export async function main(argv = hideBin(process.argv)): Promise<number> {
  let code: number = EXIT.ok;
  let usage: string | undefined;
  const cmds = await commands(argv);
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
  for (const c of cmds) {
    const module = await c.module();
    y = y.command({
      ...module,
      handler: async (a: any) => {
        if (config) applyConfig(a, config, argv);
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
    process.stderr.write(`inboxlens: ${redact(usage)}\n`);
    return EXIT.usage;
  }
  return code;
}
