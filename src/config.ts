// inboxlens.config.yaml: found upward from the working directory (or --config),
// validated against schema/config.schema.json with errors that name the key.
// Values fill in flags the user did not type; flags always win.
import { readFileSync, existsSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';
import { UsageError } from './util/errors.ts';
import { readInputFile, INPUT_LIMITS } from './util/read-input.ts';
import { registerSecret } from './util/redact.ts';
import { parseDomain, parseIp, parseMailFrom } from './util/validate.ts';

const require = createRequire(import.meta.url);
// the YAML parser, the validator and the schema load with the first config file, not with every command
const schemaFile = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../schema/config.schema.json');

export const CONFIG_NAMES = ['inboxlens.config.yaml', 'inboxlens.config.yml'];

export interface LoadedConfig {
  file: string;
  /** flag name → value, ready to merge into argv */
  flags: Record<string, unknown>;
}

/** Config keys whose flag is named differently. */
const FLAG_FOR: Record<string, string> = { domains: 'domain', ips: 'ip', selectors: 'selector', zones: 'zone' };
/** Keys holding paths, resolved relative to the config file. */
const PATHS = new Set(['seeds', 'message', 'zonesFile', 'db']);

export function findConfig(start = process.cwd()): string | undefined {
  let dir = path.resolve(start);
  for (;;) {
    for (const n of CONFIG_NAMES) {
      const f = path.join(dir, n);
      if (existsSync(f) && statSync(f).isFile()) return f;
    }
    const up = path.dirname(dir);
    if (up === dir) return undefined;
    dir = up;
  }
}

function expand(value: string, where: string, env: NodeJS.ProcessEnv): string {
  return value.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g, (_m, name: string) => {
    const v = env[name];
    if (v === undefined) throw new UsageError(`${where} refers to \${${name}}, which is not set in the environment`);
    return v;
  });
}

function kebab(s: string): string {
  return s.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
}

export function loadConfig(file: string, env: NodeJS.ProcessEnv = process.env): LoadedConfig {
  const YAML = require('yaml') as typeof import('yaml');
  const Ajv2020 = require('ajv/dist/2020').default;
  const SCHEMA = JSON.parse(readFileSync(schemaFile, 'utf8'));
  const text = readInputFile(file, { what: `--config`, maxBytes: INPUT_LIMITS.yaml, encoding: 'utf8' });
  let doc: unknown;
  try {
    doc = YAML.parse(text, { maxAliasCount: 100 });
  } catch (e) {
    const err = e as Error & { linePos?: { line: number }[] };
    if (err instanceof ReferenceError && /alias/i.test(err.message)) throw new UsageError(`config ${file}: refused: its YAML aliases (*name) expand to more than 100 copies, which a config file never needs (an alias bomb?)`);
    throw new UsageError(`config ${file}: not valid YAML${err.linePos?.[0] ? ` (line ${err.linePos[0].line})` : ''}: ${err.message.split('\n')[0]}`);
  }
  if (doc == null) doc = {};
  const ajv = new Ajv2020({ allErrors: true, strict: false });
  const validate = ajv.compile(SCHEMA);
  if (!validate(doc)) {
    const e = validate.errors[0];
    const key = e.instancePath ? e.instancePath.slice(1).replace(/\//g, '.') : '';
    const what = e.keyword === 'additionalProperties' ? `unknown key '${[key, e.params.additionalProperty].filter(Boolean).join('.')}' (known keys: ${Object.keys(SCHEMA.properties).join(', ')})` : `key '${key}' ${e.message}`;
    throw new UsageError(`config ${file}: ${what}`);
  }
  const dir = path.dirname(file);
  const cfg = doc as Record<string, unknown>;
  const flags: Record<string, unknown> = {};
  for (const [key, raw] of Object.entries(cfg)) {
    if (key === 'secrets') {
      for (const [name, ref] of Object.entries(raw as Record<string, string>)) {
        if (!/\$\{[A-Za-z_][A-Za-z0-9_]*\}/.test(ref)) throw new UsageError(`config ${file}: secrets.${name} must be an environment reference like \${MY_VAR}, not the secret itself`);
        const v = expand(ref, `config ${file}: secrets.${name}`, env);
        registerSecret(v);
        env[name] = v;
      }
      continue;
    }
    const where = `config ${file}: ${key}`;
    let value: unknown = raw;
    if (typeof value === 'string') value = expand(value, where, env);
    if (Array.isArray(value)) value = value.map((v, i) => (typeof v === 'string' ? expand(v, `${where}[${i}]`, env) : v));
    if (PATHS.has(key) && typeof value === 'string') value = path.resolve(dir, value);
    // validate what has a known shape here, so the error names the config key, not a flag
    try {
      if (key === 'domain' || key === 'dkimDomain') parseDomain(String(value), where);
      if (key === 'mailFrom') parseMailFrom(String(value), where);
      if (key === 'domains') (value as string[]).forEach((d, i) => parseDomain(d, `${where}[${i}]`));
      if (key === 'ips') (value as string[]).forEach((ip, i) => parseIp(ip, `${where}[${i}]`));
    } catch (e) {
      throw new UsageError((e as Error).message);
    }
    if (key === 'domain') value = [value];
    if (key === 'resolver' && typeof value === 'string') value = [value];
    flags[FLAG_FOR[key] ?? kebab(key)] = value;
  }
  return { file, flags };
}

/** Did the user type this flag (any spelling yargs accepts)? */
export function typedFlag(rawArgs: string[], flag: string, aliases: string[] = []): boolean {
  const camel = flag.replace(/-([a-z])/g, (_m, c: string) => c.toUpperCase());
  const names = new Set([flag, camel, ...aliases]);
  return rawArgs.some((a) => {
    if (!a.startsWith('-')) return false;
    const name = a.replace(/^--?(no-)?/, '').split('=')[0]!;
    return names.has(name);
  });
}

/** Fill argv with config values for every flag the user did not type. */
export function applyConfig(argv: Record<string, unknown>, cfg: LoadedConfig, rawArgs: string[]): void {
  for (const [flag, value] of Object.entries(cfg.flags)) {
    if (flag === 'domain') {
      const given = argv.domain as unknown[] | undefined;
      if (!given?.length) argv.domain = value;
      continue;
    }
    if (typedFlag(rawArgs, flag)) continue;
    argv[flag] = value;
    argv[flag.replace(/-([a-z])/g, (_m, c: string) => c.toUpperCase())] = value;
  }
}
