// The seeds file: which mailboxes inboxlens sends to and reads from, and how to
// log in to them. Validated with ajv (every error names the seed and the field);
// `${VAR}` pulls a value from the environment; every secret is registered for
// redaction the moment it is read.
//
//   seeds:
//     - address: seed1@gmail.com
//       provider: gmail                 # gmail | outlook | yahoo | icloud | generic
//       imap: { host: imap.gmail.com, port: 993, secure: true }
//       auth: { user: seed1@gmail.com, pass: "${GMAIL_SEED1_APP_PASSWORD}" }
//     - address: seed2@outlook.com
//       provider: outlook
//       pop3: { host: outlook.office365.com, port: 995, secure: true }
//       auth: { user: seed2@outlook.com, refreshToken: "${MS_REFRESH}", clientId: "…",
//               tokenUrl: "https://login.microsoftonline.com/consumers/oauth2/v2.0/token" }
//     - address: lab@lab.test
//       provider: generic
//       imap: { host: 127.0.0.1, port: 1143, secure: false, allowPlaintext: true }
//       ca: ./lab-ca.pem                # trust a private CA (also inside imap:/pop3:)
//       folders: { junk: Spam, tabs: { promotions: Promotions } }
//       auth: { user: lab, pass: secret }
import { readInputFile, INPUT_LIMITS } from '../util/read-input.ts';
import path from 'node:path';
import { createRequire } from 'node:module';
import YAML from 'yaml';
import { registerCredentials } from '../util/redact.ts';
import { UsageError } from '../util/errors.ts';
import { PROVIDERS, type Access, type Seed, type SeedAuth, type FolderOverrides, type Provider } from './types.ts';

const require = createRequire(import.meta.url);
const Ajv2020 = require('ajv/dist/2020').default;

const SECRET_FIELDS = ['pass', 'accessToken', 'refreshToken', 'clientSecret'] as const;

const accessSchema = {
  type: 'object',
  required: ['host'],
  additionalProperties: false,
  properties: {
    host: { type: 'string', minLength: 1 },
    port: { type: 'integer', minimum: 1, maximum: 65535 },
    secure: { type: 'boolean' },
    insecure: { type: 'boolean' },
    allowPlaintext: { type: 'boolean' },
    ca: { type: 'string', minLength: 1 },
    servername: { type: 'string', minLength: 1 },
  },
};

const seedSchema = {
  type: 'object',
  required: ['address', 'auth'],
  additionalProperties: false,
  properties: {
    address: { type: 'string', minLength: 3 },
    provider: { enum: [...PROVIDERS] },
    label: { type: 'string' },
    authservId: { anyOf: [{ type: 'string', minLength: 1 }, { type: 'array', minItems: 1, items: { type: 'string', minLength: 1 } }] },
    imap: accessSchema,
    pop3: accessSchema,
    insecure: { type: 'boolean' },
    allowPlaintext: { type: 'boolean' },
    ca: { type: 'string', minLength: 1 },
    auth: {
      type: 'object',
      required: ['user'],
      additionalProperties: false,
      properties: {
        user: { type: 'string', minLength: 1 },
        pass: { type: 'string', minLength: 1 },
        accessToken: { type: 'string', minLength: 1 },
        refreshToken: { type: 'string', minLength: 1 },
        clientId: { type: 'string', minLength: 1 },
        clientSecret: { type: 'string', minLength: 1 },
        tokenUrl: { type: 'string', minLength: 1 },
        scope: { type: 'string', minLength: 1 },
      },
    },
    folders: {
      type: 'object',
      additionalProperties: false,
      properties: {
        inbox: { type: 'string', minLength: 1 },
        junk: { type: 'string', minLength: 1 },
        all: { type: 'string', minLength: 1 },
        trash: { type: 'string', minLength: 1 },
        tabs: { type: 'object', additionalProperties: { type: 'string', minLength: 1 } },
        skip: { type: 'array', items: { type: 'string', minLength: 1 } },
      },
    },
  },
};

const fileSchema = {
  type: 'object',
  required: ['seeds'],
  additionalProperties: false,
  properties: {
    seeds: { type: 'array', minItems: 1, items: seedSchema },
    bounces: seedSchema,
  },
};

let validators: { file: any; one: any } | undefined;
function compiled() {
  if (!validators) {
    const ajv = new Ajv2020({ allErrors: true, strict: false });
    validators = { file: ajv.compile(fileSchema), one: ajv.compile(seedSchema) };
  }
  return validators;
}

/** Replace `${VAR}` with the environment's value; an unset variable is an error naming the field. */
function expandEnv(value: string, where: () => string, env: NodeJS.ProcessEnv): string {
  return value.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g, (_m, name: string) => {
    const v = env[name];
    if (v === undefined || v === '') throw new UsageError(`${where()}: environment variable ${name} is not set (the seeds file refers to it as \${${name}})`);
    return v;
  });
}

function walkExpand(node: unknown, where: (p: string) => string, env: NodeJS.ProcessEnv, p = ''): unknown {
  if (typeof node === 'string') return expandEnv(node, () => where(p), env);
  if (Array.isArray(node)) return node.map((x, i) => walkExpand(x, where, env, `${p}[${i}]`));
  if (node && typeof node === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(node)) out[k] = walkExpand(v, where, env, p ? `${p}.${k}` : k);
    return out;
  }
  return node;
}

/** Secrets written literally in the file are secrets too: register them before anything can print them. */
function registerSecretsIn(doc: unknown): void {
  const visit = (n: unknown) => {
    if (Array.isArray(n)) n.forEach(visit);
    else if (n && typeof n === 'object') {
      // with its user: the SASL blobs that carry both are masked too
      const user = typeof (n as Record<string, unknown>).user === 'string' ? String((n as Record<string, unknown>).user) : undefined;
      for (const [k, v] of Object.entries(n)) {
        if ((SECRET_FIELDS as readonly string[]).includes(k) && typeof v === 'string') registerCredentials(user, v);
        else visit(v);
      }
    }
  };
  visit(doc);
}

function seedName(doc: any, i: number): string {
  const a = doc?.seeds?.[i]?.address;
  return `seed ${i + 1}${typeof a === 'string' && a ? ` (${a})` : ''}`;
}

/** One ajv error as "seed 2 (x@y) imap.port: must be …". */
function describeAjvError(e: any, doc: any, file: string, single: string | undefined): string {
  const parts = String(e.instancePath).split('/').filter(Boolean);
  let who: string;
  let rest: string[];
  if (single) {
    who = single;
    rest = parts;
  } else if (parts[0] === 'seeds' && parts.length >= 2) {
    who = seedName(doc, Number(parts[1]));
    rest = parts.slice(2);
  } else if (parts[0] === 'bounces') {
    who = 'bounces mailbox';
    rest = parts.slice(1);
  } else {
    who = 'top level';
    rest = parts;
  }
  let field = rest.join('.');
  let msg: string;
  switch (e.keyword) {
    case 'required':
      field = [...rest, e.params.missingProperty].join('.');
      msg = 'is required';
      break;
    case 'additionalProperty':
    case 'additionalProperties':
      field = [...rest, e.params.additionalProperty].join('.');
      msg = `is not a known field${suggest(e.params.additionalProperty, rest)}`;
      break;
    case 'enum':
      msg = `must be one of ${e.params.allowedValues.join(', ')}`;
      break;
    case 'type':
      msg = `must be ${e.params.type === 'integer' ? 'a whole number' : `a ${e.params.type}`}`;
      break;
    case 'minimum':
    case 'maximum':
      msg = 'must be a port number from 1 to 65535';
      break;
    case 'minLength':
      msg = 'must not be empty';
      break;
    case 'minItems':
      msg = 'must list at least one seed';
      break;
    default:
      msg = e.message;
  }
  return `${file}: ${who}${field ? ` ${field}` : ''}: ${msg}`;
}

const KNOWN = ['address', 'provider', 'label', 'authservId', 'imap', 'pop3', 'auth', 'folders', 'insecure', 'allowPlaintext', 'ca', 'host', 'port', 'secure', 'servername', 'user', 'pass', 'accessToken', 'refreshToken', 'clientId', 'clientSecret', 'tokenUrl', 'scope', 'inbox', 'junk', 'all', 'trash', 'tabs', 'skip'];
/** Edit distance with transpositions, for typo suggestions. */
function distance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0]![j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      d[i]![j] = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
      // a swapped pair of letters is one typo (optimal string alignment distance)
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i]![j] = Math.min(d[i]![j]!, d[i - 2]![j - 2]! + 1);
    }
  }
  return d[a.length]![b.length]!;
}

/** A near-miss of a known field name (a typo), for the error message. */
function suggest(name: string, _at: string[]): string {
  const n = String(name).toLowerCase();
  let best: string | undefined;
  let bestD = 3;
  for (const k of KNOWN) {
    const dd = distance(n, k.toLowerCase());
    if (dd < bestD) {
      best = k;
      bestD = dd;
    }
  }
  return best && bestD <= Math.max(1, Math.floor(n.length / 3)) ? ` (did you mean '${best}'?)` : '';
}

const DEFAULT_PORTS = { imap: { true: 993, false: 143 }, pop3: { true: 995, false: 110 } } as const;

function isLoopbackHost(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\./.test(host);
}

function normalizeSeed(raw: any, index: number, who: string, baseDir: string, file: string): Seed {
  const at = (field: string) => `${file}: ${who} ${field}`;
  const address = String(raw.address).trim();
  if (!/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(address)) throw new UsageError(`${at('address')}: '${address}' is not an email address (e.g. seed1@gmail.com)`);
  if (raw.imap && raw.pop3) throw new UsageError(`${file}: ${who}: give either imap: or pop3:, not both (add a second seed for the other protocol)`);
  if (!raw.imap && !raw.pop3) throw new UsageError(`${file}: ${who}: missing access: add imap: {host, port, secure} or pop3: {host, port, secure}`);
  const protocol = raw.imap ? 'imap' : 'pop3';
  const a = raw[protocol];
  const secure = a.secure ?? true;
  const caPath: string | undefined = a.ca ?? raw.ca;
  let ca: string | undefined;
  if (caPath) {
    const p = path.resolve(baseDir, caPath);
    ca = readInputFile(p, { what: at(`${protocol}.ca`), maxBytes: INPUT_LIMITS.pem, encoding: 'utf8', hint: 'give a PEM file with the CA certificate' });
    if (!ca.includes('-----BEGIN CERTIFICATE-----')) throw new UsageError(`${at(`${protocol}.ca`)}: '${caPath}' holds no PEM certificate (expected -----BEGIN CERTIFICATE-----)`);
  }
  const access: Access = {
    protocol,
    host: a.host,
    port: a.port ?? DEFAULT_PORTS[protocol][String(secure) as 'true' | 'false'],
    secure,
    insecure: a.insecure ?? raw.insecure ?? false,
    allowPlaintext: a.allowPlaintext ?? raw.allowPlaintext ?? false,
    ...(ca ? { ca, caPath } : {}),
    ...(a.servername ? { servername: a.servername } : {}),
  };
  const auth: SeedAuth = { ...raw.auth };
  const kinds = [auth.pass ? 'pass' : '', auth.accessToken ? 'accessToken' : '', auth.refreshToken ? 'refreshToken' : ''].filter(Boolean);
  if (!kinds.length) throw new UsageError(`${at('auth')}: give pass (a password or app password), accessToken, or refreshToken + clientId + tokenUrl`);
  if (kinds.length > 1) throw new UsageError(`${at('auth')}: give only one of pass, accessToken, refreshToken (found ${kinds.join(', ')})`);
  if (auth.refreshToken) {
    for (const k of ['clientId', 'tokenUrl'] as const) {
      if (!auth[k]) throw new UsageError(`${at(`auth.${k}`)}: is required with auth.refreshToken (inboxlens fetches a fresh access token from tokenUrl each run)`);
    }
    let u: URL;
    try {
      u = new URL(auth.tokenUrl!);
    } catch {
      throw new UsageError(`${at('auth.tokenUrl')}: '${auth.tokenUrl}' is not a URL (e.g. https://login.microsoftonline.com/consumers/oauth2/v2.0/token)`);
    }
    if (u.protocol !== 'https:' && !(u.protocol === 'http:' && isLoopbackHost(u.hostname))) {
      throw new UsageError(`${at('auth.tokenUrl')}: must be an https:// URL (plain http is only allowed on loopback, for a lab)`);
    }
  }
  const provider: Provider = raw.provider ?? 'generic';
  const folders: FolderOverrides | undefined = raw.folders;
  const authservIds = raw.authservId === undefined ? undefined : (Array.isArray(raw.authservId) ? raw.authservId : [raw.authservId]).map((x: string) => String(x).trim().toLowerCase());
  for (const id of authservIds ?? []) {
    // RFC 8601 §2.5: a domain name; "*.example.org" stands for any name under example.org
    if (!/^(\*\.)?[a-z0-9_-]+(\.[a-z0-9_-]+)*$/.test(id)) throw new UsageError(`${at('authservId')}: '${id}' is not a host name (the authserv-id the receiver writes first in Authentication-Results, e.g. mx.example.org or *.example.org)`);
  }
  return { index, address, provider, access, auth, ...(folders ? { folders } : {}), ...(raw.label ? { label: raw.label } : {}), ...(authservIds ? { authservIds } : {}) };
}

export interface SeedsFile {
  file: string;
  seeds: Seed[];
  bounces?: Seed;
  /** one line per seed that may log in without TLS, naming it */
  warnings: string[];
}

function parseYaml(text: string, file: string): unknown {
  const doc = YAML.parseDocument(text, { prettyErrors: true });
  if (doc.errors.length) {
    const e = doc.errors[0]!;
    const line = e.linePos?.[0]?.line;
    throw new UsageError(`${file}: not valid YAML${line ? ` at line ${line}` : ''}: ${e.message.split('\n')[0]}`);
  }
  try {
    return doc.toJS({ maxAliasCount: MAX_YAML_ALIASES });
  } catch (e) {
    // the yaml package throws a ReferenceError when aliases expand past maxAliasCount (a "billion laughs" bomb)
    if (/alias/i.test((e as Error).message)) throw new UsageError(`${file}: refused: its YAML aliases (*name) expand to more than ${MAX_YAML_ALIASES} copies, which a seeds file never needs (an alias bomb?)`);
    throw new UsageError(`${file}: not valid YAML: ${(e as Error).message.split('\n')[0]}`);
  }
}

/** How many times aliases may be expanded in a seeds or config file (the yaml package's default too). */
export const MAX_YAML_ALIASES = 100;

function readText(file: string, what: string): string {
  return readInputFile(file, { what, maxBytes: INPUT_LIMITS.yaml, encoding: 'utf8', stdin: true });
}

function warningsFor(seeds: Seed[]): string[] {
  const w: string[] = [];
  for (const s of seeds) {
    if (!s.access.secure && s.access.allowPlaintext) w.push(`seed ${s.address}: allowPlaintext is set: its password may cross the network unencrypted when ${s.access.host} offers no STARTTLS (meant for a lab on loopback)`);
    if (s.access.insecure) w.push(`seed ${s.address}: insecure is set: the TLS certificate of ${s.access.host} is not verified`);
  }
  return w;
}

/** Parse and validate seeds from YAML text (`file` names it in errors). */
export function parseSeeds(text: string, file: string, opts: { env?: NodeJS.ProcessEnv; baseDir?: string } = {}): SeedsFile {
  const env = opts.env ?? process.env;
  const baseDir = opts.baseDir ?? path.dirname(path.resolve(file));
  let doc: any = parseYaml(text, file);
  if (Array.isArray(doc)) doc = { seeds: doc };
  if (!doc || typeof doc !== 'object') throw new UsageError(`${file}: expected a 'seeds:' list of mailboxes`);
  // literal secrets first: an error message below must never be able to show one
  registerSecretsIn(doc);
  const v = compiled().file;
  if (!v(doc)) {
    const msgs = (v.errors as any[]).map((e) => describeAjvError(e, doc, file, undefined));
    throw new UsageError([...new Set(msgs)].slice(0, 3).join('; '));
  }
  const expanded = walkExpand(doc, (p) => {
    const m = /^seeds\[(\d+)\]\.?(.*)$/.exec(p);
    if (m) return `${file}: ${seedName(doc, Number(m[1]))} ${m[2]}`;
    return `${file}: ${p}`;
  }, env) as any;
  registerSecretsIn(expanded);
  const seeds = (expanded.seeds as any[]).map((s, i) => normalizeSeed(s, i + 1, seedName(expanded, i), baseDir, file));
  const seen = new Map<string, number>();
  for (const s of seeds) {
    const key = s.address.toLowerCase();
    if (seen.has(key)) throw new UsageError(`${file}: seed ${s.index} (${s.address}): the same address as seed ${seen.get(key)}; each seed must be a different mailbox`);
    seen.set(key, s.index);
  }
  const bounces = expanded.bounces ? normalizeSeed(expanded.bounces, 0, 'bounces mailbox', baseDir, file) : undefined;
  if (bounces && bounces.access.protocol !== 'imap') throw new UsageError(`${file}: bounces mailbox: must be reached over imap: (DSNs are searched with IMAP)`);
  return { file, seeds, ...(bounces ? { bounces } : {}), warnings: warningsFor(bounces ? [...seeds, bounces] : seeds) };
}

export function loadSeeds(file: string, opts: { env?: NodeJS.ProcessEnv } = {}): SeedsFile {
  return parseSeeds(readText(file, '--seeds'), file, { env: opts.env, baseDir: path.dirname(path.resolve(file)) });
}

/** A bounces mailbox in its own file (`--bounces FILE`): one seed-like mapping. */
export function loadMailboxSpec(file: string, what = '--bounces', opts: { env?: NodeJS.ProcessEnv } = {}): Seed {
  const text = readText(file, what);
  let doc: any = parseYaml(text, file);
  registerSecretsIn(doc);
  if (!doc || typeof doc !== 'object' || Array.isArray(doc)) throw new UsageError(`${what} ${file}: expected one mailbox (address, imap:, auth:)`);
  const v = compiled().one;
  if (!v(doc)) throw new UsageError((v.errors as any[]).map((e) => describeAjvError(e, doc, file, 'mailbox')).slice(0, 3).join('; '));
  doc = walkExpand(doc, (p) => `${file}: mailbox ${p}`, opts.env ?? process.env);
  registerSecretsIn(doc);
  const seed = normalizeSeed(doc, 0, 'mailbox', path.dirname(path.resolve(file)), file);
  if (seed.access.protocol !== 'imap') throw new UsageError(`${what} ${file}: the bounces mailbox must be reached over imap:`);
  return seed;
}
