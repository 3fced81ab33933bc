// The list of lists: loads checks/dnsbl-zones.yaml (or a user's --zones-file),
// validates it with a JSON Schema, and picks the zones of a run (--zone, keys).
import { readFileSync, statSync, type Stats } from 'node:fs';
import { readInputFile, INPUT_LIMITS } from '../util/read-input.ts';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';
import YAML from 'yaml';
import ipaddr from 'ipaddr.js';
import { UsageError } from '../util/errors.ts';
import { registerSecret } from '../util/redact.ts';
import type { Severity } from '../types.ts';

const require = createRequire(import.meta.url);

export type ZoneType = 'ip' | 'domain';
export type ZoneKind = 'block' | 'allow';
export type ErrorStatus = 'error' | 'refused' | 'rate-limited';

export interface CodeMeaning { meaning: string; severity?: Exclude<Severity, 'pass'> }
export interface TestPoint { listed: string; clean: string; expect?: string }
export interface KeySpec { env: string; zone: string; required?: boolean }

/** One zone as written in the data file. */
export interface ZoneDef {
  name: string;
  title: string;
  short: string;
  type: ZoneType;
  families?: (4 | 6)[];
  kind: ZoneKind;
  default: boolean;
  codes?: Record<string, string | CodeMeaning>;
  bitmask?: Record<string, string | CodeMeaning>;
  errors?: Record<string, { status: ErrorStatus; meaning: string }>;
  test?: { ipv4?: TestPoint; ipv6?: TestPoint; domain?: TestPoint } | 'none';
  refusesPublicResolvers?: boolean;
  access?: 'free' | 'registration' | 'key' | 'paid';
  key?: KeySpec;
  delist?: string;
  doc?: { url: string; checked: string };
  notes?: string;
  txt?: boolean;
}

export interface ZoneCatalog {
  version: number;
  updated?: string;
  zones: ZoneDef[];
  retired: Record<string, string>;
  source: string;
}

/** A zone ready for a run: where its queries go (the DQS zone when a key is set). */
export interface ActiveZone extends ZoneDef {
  /** the suffix query names end with: `zen.spamhaus.org`, or `<key>.zen.dq.spamhaus.net` */
  suffix: string;
  /** the same suffix with the key masked, safe to show */
  shownSuffix: string;
  keyed: boolean;
}

const RFC5782: Required<NonNullable<Exclude<ZoneDef['test'], 'none'>>> = {
  ipv4: { listed: '127.0.0.2', clean: '127.0.0.1' },
  ipv6: { listed: '::ffff:7f00:2', clean: '::ffff:7f00:1' },
  domain: { listed: 'test', clean: 'invalid' },
};

const CODE_KEY = /^(?:(?:\d{1,3}|\*)\.){3}(?:\d{1,3}|\*)(?:-(?:\d{1,3}\.){3}\d{1,3})?$/;
const meaningSchema = {
  oneOf: [
    { type: 'string', minLength: 1 },
    { type: 'object', required: ['meaning'], additionalProperties: false, properties: { meaning: { type: 'string', minLength: 1 }, severity: { enum: ['error', 'warn', 'info'] } } },
  ],
};
const testPointSchema = {
  type: 'object', required: ['listed', 'clean'], additionalProperties: false,
  properties: { listed: { type: 'string', minLength: 1 }, clean: { type: 'string', minLength: 1 }, expect: { type: 'string' } },
};
/** The format of checks/dnsbl-zones.yaml and of a --zones-file. */
export const ZONES_FILE_SCHEMA = {
  type: 'object',
  required: ['zones'],
  additionalProperties: false,
  properties: {
    version: { type: 'integer', minimum: 1 },
    updated: { type: 'string' },
    replace: { type: 'boolean', description: 'a --zones-file that replaces the built-in list instead of adding to it' },
    retired: { type: 'object', additionalProperties: { type: 'string' } },
    zones: {
      type: 'array',
      items: {
        type: 'object',
        required: ['name', 'type'],
        additionalProperties: false,
        properties: {
          name: { type: 'string', pattern: '^(?=.{3,200}$)([a-zA-Z0-9_]([a-zA-Z0-9_-]{0,61}[a-zA-Z0-9_])?\\.)+[a-zA-Z0-9-]{2,63}\\.?$' },
          title: { type: 'string' },
          short: { type: 'string', minLength: 1, maxLength: 8 },
          type: { enum: ['ip', 'domain'] },
          families: { type: 'array', minItems: 1, items: { enum: [4, 6] }, uniqueItems: true },
          kind: { enum: ['block', 'allow'] },
          default: { type: 'boolean' },
          codes: { type: 'object', propertyNames: { pattern: CODE_KEY.source }, additionalProperties: meaningSchema },
          bitmask: { type: 'object', propertyNames: { pattern: '^(1|2|4|8|16|32|64|128)$' }, additionalProperties: meaningSchema },
          errors: {
            type: 'object', propertyNames: { pattern: CODE_KEY.source },
            additionalProperties: { type: 'object', required: ['status', 'meaning'], additionalProperties: false, properties: { status: { enum: ['error', 'refused', 'rate-limited'] }, meaning: { type: 'string' } } },
          },
          test: {
            oneOf: [
              { const: 'none' },
              { type: 'object', additionalProperties: false, properties: { ipv4: testPointSchema, ipv6: testPointSchema, domain: testPointSchema } },
            ],
          },
          refusesPublicResolvers: { type: 'boolean' },
          access: { enum: ['free', 'registration', 'key', 'paid'] },
          key: { type: 'object', required: ['env', 'zone'], additionalProperties: false, properties: { env: { type: 'string', pattern: '^[A-Z][A-Z0-9_]*$' }, zone: { type: 'string' }, required: { type: 'boolean' } } },
          delist: { type: 'string' },
          doc: { type: 'object', required: ['url'], additionalProperties: false, properties: { url: { type: 'string' }, checked: { type: 'string' } } },
          notes: { type: 'string' },
          txt: { type: 'boolean' },
        },
      },
    },
  },
} as const;

let validator: any;
function validate(doc: unknown): string[] {
  if (!validator) {
    const Ajv2020 = require('ajv/dist/2020').default;
    validator = new Ajv2020({ allErrors: true, strict: false }).compile(ZONES_FILE_SCHEMA);
  }
  if (validator(doc)) return [];
  return (validator.errors as any[]).slice(0, 5).map((e) => {
    const where = String(e.instancePath).replace(/^\/zones\/(\d+)/, (_m, i) => `zone #${Number(i) + 1}${(doc as any)?.zones?.[i]?.name ? ` (${(doc as any).zones[i].name})` : ''}`) || 'top level';
    return `${where}: ${e.message}${e.params?.additionalProperty ? ` '${e.params.additionalProperty}'` : ''}${e.params?.allowedValues ? ` (${e.params.allowedValues.join(', ')})` : ''}`;
  });
}

function normalizeZone(z: ZoneDef): ZoneDef {
  const name = z.name.toLowerCase().replace(/\.$/, '');
  return {
    ...z,
    name,
    title: z.title ?? name,
    short: z.short ?? name.split('.')[0]!.slice(0, 8).toUpperCase(),
    families: z.type === 'ip' ? (z.families ?? [4]) : undefined,
    kind: z.kind ?? 'block',
    default: z.default ?? true,
  };
}

/** Parse and validate a zones document; `source` names the file in errors. */
export function parseCatalog(doc: unknown, source: string): ZoneCatalog & { replace: boolean } {
  const problems = validate(doc);
  if (problems.length) throw new UsageError(`${source}: not a valid zones file: ${problems.join('; ')}`);
  const d = doc as { version?: number; updated?: string; zones: ZoneDef[]; retired?: Record<string, string>; replace?: boolean };
  const zones = d.zones.map(normalizeZone);
  const seen = new Set<string>();
  for (const z of zones) {
    if (seen.has(z.name)) throw new UsageError(`${source}: zone '${z.name}' is listed twice`);
    seen.add(z.name);
    for (const k of Object.keys(z.codes ?? {})) checkCodeKey(k, z.name, source);
    for (const k of Object.keys(z.errors ?? {})) checkCodeKey(k, z.name, source);
  }
  return { version: d.version ?? 1, updated: d.updated, zones, retired: d.retired ?? {}, source, replace: Boolean(d.replace) };
}

function checkCodeKey(k: string, zone: string, source: string): void {
  for (const part of k.split('-')) {
    if (part.includes('*')) continue;
    if (!ipaddr.IPv4.isValidFourPartDecimal(part)) throw new UsageError(`${source}: zone '${zone}': '${k}' is not an IPv4 answer, range or pattern`);
  }
}

const here = path.dirname(fileURLToPath(import.meta.url));
export const BUILTIN_ZONES_FILE = path.resolve(here, '../../checks/dnsbl-zones.yaml');
let builtin: ZoneCatalog | undefined;

/** The zones shipped with inboxlens (checks/dnsbl-zones.yaml). */
export function builtinCatalog(): ZoneCatalog {
  builtin ??= parseCatalog(YAML.parse(readFileSync(BUILTIN_ZONES_FILE, 'utf8')), 'checks/dnsbl-zones.yaml');
  return builtin;
}

/** Read a --zones-file: YAML (.yaml/.yml) or JSON (.json), nothing else. */
export async function loadZonesFile(file: string): Promise<ZoneCatalog & { replace: boolean }> {
  const ext = path.extname(file).toLowerCase();
  const read = () => readInputFile(file, { what: '--zones-file', maxBytes: INPUT_LIMITS.yaml, encoding: 'utf8' });
  if (!['.yaml', '.yml', '.json'].includes(ext)) {
    // a device or a directory is refused for what it is (/dev/zero has no extension either)
    let st: Stats | undefined;
    try {
      st = statSync(file);
    } catch { /* missing: the format is what is wrong with the name */ }
    if (st && !st.isFile() && !st.isFIFO()) read();
    throw new UsageError(`--zones-file: '${file}' has an unknown format '${ext || '(no extension)'}'; give a .yaml, .yml or .json file (the format of checks/dnsbl-zones.yaml)`);
  }
  const text = read();
  let doc: unknown;
  try {
    doc = ext === '.json' ? JSON.parse(text) : YAML.parse(text);
  } catch (e) {
    throw new UsageError(`--zones-file: '${file}' is not valid ${ext === '.json' ? 'JSON' : 'YAML'}: ${(e as Error).message.split('\n')[0]}`);
  }
  return parseCatalog(doc, `--zones-file ${file}`);
}

export interface ZoneSelection {
  zones: ActiveZone[];
  /** default zones not used this run and why (a required key is missing) */
  skipped: { zone: string; reason: string }[];
  catalog: { version: number; updated?: string; sources: string[] };
}

/**
 * The zones of a run. Without --zone: every `default: true` zone (of the built-in
 * list, plus a --zones-file's zones, or only the file's with `replace: true`).
 * With --zone: exactly the named zones; `--zone default` stands for the default set,
 * so `--zone default --zone dnsbl-2.uceprotect.net` adds one.
 */
export async function selectZones(p: { zone?: string[]; zonesFile?: string; keys?: Record<string, string | undefined>; env?: NodeJS.ProcessEnv }): Promise<ZoneSelection> {
  const base = builtinCatalog();
  let all = new Map(base.zones.map((z) => [z.name, z] as const));
  const sources = [`checks/dnsbl-zones.yaml v${base.version}${base.updated ? ` (${base.updated})` : ''}`];
  let retired = { ...base.retired };
  if (p.zonesFile) {
    const extra = await loadZonesFile(p.zonesFile);
    if (extra.replace) all = new Map();
    for (const z of extra.zones) all.set(z.name, z);
    retired = { ...retired, ...extra.retired };
    sources.push(`${p.zonesFile} v${extra.version}${extra.replace ? ' (replaces the built-in list)' : ''}`);
  }
  const names = (p.zone ?? []).flatMap((z) => String(z).split(',')).map((z) => z.trim().toLowerCase().replace(/\.$/, '')).filter(Boolean);
  let chosen: ZoneDef[];
  if (!names.length) chosen = [...all.values()].filter((z) => z.default);
  else {
    const set = new Map<string, ZoneDef>();
    for (const n of names) {
      if (n === 'default') {
        for (const z of all.values()) if (z.default) set.set(z.name, z);
        continue;
      }
      const z = all.get(n) ?? [...all.values()].find((x) => x.short.toLowerCase() === n);
      if (!z) {
        if (retired[n]) throw new UsageError(`--zone: '${n}' is no longer operating (${retired[n]}); drop it`);
        const near = [...all.keys()].filter((k) => k.includes(n) || n.includes(k.split('.')[0]!)).slice(0, 4);
        throw new UsageError(`--zone: no zone named '${n}'${near.length ? `; did you mean ${near.join(', ')}?` : ''} (known zones are in checks/dnsbl-zones.yaml; add your own with --zones-file FILE)`);
      }
      set.set(z.name, z);
    }
    chosen = [...set.values()];
  }
  const explicit = new Set(names);
  const env = p.env ?? process.env;
  const zones: ActiveZone[] = [];
  const skipped: ZoneSelection['skipped'] = [];
  for (const z of chosen) {
    let key: string | undefined;
    if (z.key) {
      key = (p.keys?.[z.key.env] ?? env[z.key.env])?.trim() || undefined;
      if (key) {
        // registered before anything else can print it
        registerSecret(key);
        if (!/^[A-Za-z0-9-]{4,128}$/.test(key)) throw new UsageError(`${z.key.env}: the key for ${z.name} has characters a DNS label cannot carry (expected letters and digits); check the variable`);
      } else if (z.key.required) {
        if (explicit.has(z.name)) throw new UsageError(`--zone ${z.name}: this list needs a key; set ${z.key.env} in the environment (never on the command line)`);
        skipped.push({ zone: z.name, reason: `needs a key in ${z.key.env}` });
        continue;
      }
    }
    const suffix = key ? `${key}.${z.key!.zone}` : z.name;
    zones.push({ ...z, suffix, shownSuffix: key ? `[redacted].${z.key!.zone}` : z.name, keyed: Boolean(key) });
  }
  return { zones, skipped, catalog: { version: base.version, updated: base.updated, sources } };
}

/** The self-test points of a zone for one family ('ipv4' | 'ipv6' | 'domain'); null when the zone has none. */
export function testPoints(z: ZoneDef, family: 'ipv4' | 'ipv6' | 'domain'): TestPoint | null {
  if (z.test === 'none') return null;
  return z.test?.[family] ?? RFC5782[family];
}
