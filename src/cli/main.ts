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

/**
 * Edit distance between two short words, for "did you mean": Levenshtein with
 * adjacent transpositions counted once (optimal string alignment), since `juint`
 * for `junit` is the typo people make. yargs has a plain Levenshtein inside for its
 * own recommendCommands(), but does not export it; this is the textbook table.
 */
export function distance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i]![j] = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i]![j] = Math.min(d[i]![j]!, d[i - 2]![j - 2]! + 1);
    }
  }
  return d[a.length]![b.length]!;
}

/** The closest of `known` to `word`, when it is close enough to be a typo. */
export function nearest(word: string, known: string[]): string | undefined {
  const w = word.toLowerCase();
  // a shortened or lengthened word (warnings for warn, coll for collect)
  const prefix = known.find((k) => w.length >= 3 && (k.toLowerCase().startsWith(w) || w.startsWith(k.toLowerCase())));
  if (prefix) return prefix;
  let best: string | undefined;
  let d = Infinity;
  for (const k of known) {
    const x = distance(word.toLowerCase(), k.toLowerCase());
    if (x < d) [best, d] = [k, x];
  }
  return best !== undefined && d <= (word.length <= 4 ? 1 : 2) ? best : undefined;
}

/** yargs's "Unknown argument(s): a, b" as one line that names each flag as typed, with a suggestion. */
function unknownMessage(msg: string, argv: string[], known: string[]): string | undefined {
  const m = /^Unknown arguments?: (.+)$/.exec(msg);
  if (!m) return undefined;
  const words = m[1]!.split(', ');
  const parts = words.map((w) => {
    // how the user typed it: --juint, -j, or a stray word
    const typed = argv.find((a) => a === `--${w}` || a.startsWith(`--${w}=`) || a === `-${w}` || a === `--no-${w}`) ?? (argv.includes(w) ? w : w.length === 1 ? `-${w}` : `--${w}`);
    if (!typed.startsWith('-')) return `unexpected argument '${typed}'`;
    const flag = typed.replace(/=.*$/, '');
    const near = nearest(flag.replace(/^--?(no-)?/, ''), known.filter((k) => k.length > 1));
    return `unknown option ${flag}${near ? ` (did you mean --${near}?)` : ''}`;
  });
  return `${parts.join('; ')}; nothing was done (see --help)`;
}

/** yargs's "Invalid values: Argument: x, Given: "v", Choices: …" as one line naming the flag and the value. */
function invalidMessage(msg: string, argv: string[]): string | undefined {
  const m = /Argument: ([^,]+), Given: "([^"]*)", Choices: (.+)$/m.exec(msg);
  if (!m) return undefined;
  const choices = m[3]!.split(', ').map((c) => c.replace(/^"|"$/g, ''));
  const near = nearest(m[2]!, choices);
  // a positional (placement <action>) is named by its command, a flag by itself
  const isFlag = argv.some((a) => a === `--${m[1]}` || a.startsWith(`--${m[1]}=`));
  const what = isFlag ? `--${m[1]}` : `${argv.find((a) => !a.startsWith('-')) ?? 'inboxlens'} ${m[1]}`;
  return `${what}: '${m[2]}' is not one of ${choices.join(', ')}${near ? ` (did you mean ${near}?)` : ''}; nothing was done`;
}

const COMPLETION_HELP = `inboxlens completion

Print a shell completion script for inboxlens: commands, options and their choices
complete with Tab. The script is for bash, or for zsh when $SHELL is zsh.

Install it once:
  inboxlens completion >> ~/.bashrc     bash (macOS: ~/.bash_profile)
  inboxlens completion >> ~/.zshrc      zsh
then open a new shell.

Options:
  -h, --help  show this help
`;

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

/**
 * A lone `-` (standard input: `content -`, `--seeds -`) is not what yargs-parser
 * keeps: it turns it into '' or true. It goes through yargs as a word of its own
 * and comes back as `-` before the command runs.
 */
const STDIN_WORD = '\u0000stdin';
function restoreStdin<T>(v: T): T {
  if (v === (STDIN_WORD as unknown)) return '-' as T;
  if (Array.isArray(v)) return v.map(restoreStdin) as T;
  return v;
}

export async function main(rawArgv = hideBin(process.argv), force?: string): Promise<number> {
  const argv = rawArgv.map((a) => (a === '-' ? STDIN_WORD : a));
  // --color / --no-color decide before anything draws (NO_COLOR and FORCE_COLOR as before otherwise)
  const colour = argv.filter((a) => a === '--color' || a === '--no-color' || a.startsWith('--color=')).pop();
  if (colour === '--no-color' || colour === '--color=false') {
    process.env.NO_COLOR = '1';
    delete process.env.FORCE_COLOR;
  } else if (colour === '--color' || colour === '--color=true') {
    delete process.env.NO_COLOR;
    process.env.FORCE_COLOR = '1';
  }
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
  // an unknown command: say so, with the nearest one, before anything else runs
  const first = argv.find((a) => !a.startsWith('-'));
  // yargs's completion command prints its script for --help too: describe it instead
  if (first === 'completion' && argv.indexOf(first) === 0 && argv.some((a) => a === '--help' || a === '-h')) {
    process.stdout.write(COMPLETION_HELP);
    return EXIT.ok;
  }
  const names = cmds.map((c) => c.meta?.name ?? c.name);
  if (!force && first !== undefined && argv.indexOf(first) === 0 && !names.includes(first) && first !== 'completion') {
    const near = nearest(first, names);
    process.stderr.write(`inboxlens: '${redact(first)}' is not a command${near ? ` (did you mean ${near}?)` : ''}; see inboxlens --help\n`);
    return EXIT.usage;
  }
  let y = yargs(argv)
    .scriptName('inboxlens')
    .strict()
    .help()
    .alias('h', 'help')
    .version()
    .option('config', { type: 'string', describe: 'a YAML config file (default: inboxlens.config.yaml found upward from here)', global: true })
    .option('color', { type: 'boolean', describe: 'colour the text output (--no-color: never); default: on a terminal, unless NO_COLOR is set', global: true })
    .wrap(Math.min(110, process.stdout.columns || 100))
    .demandCommand(1, 'Give a command, e.g. `inboxlens check example.com` (see --help).')
    .fail((msg, err) => {
      if (err && !(err instanceof UsageError)) throw err;
      // thrown, not recorded: yargs would otherwise go on to run the command (an unknown
      // flag was reported only after the whole run, its report printed and saved)
      if (err) throw err;
      const known = Object.keys(((y as any).getOptions() as { key?: Record<string, unknown> }).key ?? {});
      throw new UsageError(unknownMessage(msg, argv, known) ?? invalidMessage(msg, argv) ?? msg);
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
        for (const k of Object.keys(a)) a[k] = restoreStdin(a[k]);
        if (config) applyConfig(a, config, rawArgv);
        code = await c.run(a);
      },
    });
  }
  y = y.completion('completion', 'Print a shell completion script (bash, zsh): inboxlens completion >> ~/.bashrc');
  try {
    await y.parseAsync();
  } catch (e) {
    if (e instanceof LoadCommand && !force) return main(rawArgv, e.command);
    if (e instanceof UsageError) usage = e.message;
    else throw e;
  }
  if (usage) {
    process.stderr.write(`inboxlens: ${redact(usage)}\n`);
    return EXIT.usage;
  }
  return code;
}
