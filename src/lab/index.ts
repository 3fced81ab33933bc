// The whole lab in one call: the lab DNS (a well-configured and a broken sender
// domain, the simulated providers' domains), Dovecot holding seed mailboxes for
// several simulated providers over IMAP and POP3, and the lab MX that files
// incoming mail into them. Returns the handles and a seeds file in the format of
// `inboxlens placement --seeds`, so tests, the benchmark and `inboxlens demo` run
// the real placement job against it with no account and no internet.
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import YAML from 'yaml';
import { FixtureDns, loadZoneDir, mergeZone, parseZone } from '../dns/fixture-server.ts';
import { DnsClient } from '../dns/resolver.ts';
import { registerSecret } from '../util/redact.ts';
import { DOVECOT_PACKAGES, startDovecot, type Dovecot, type LabUser } from './dovecot.ts';
import { LabStartError } from './daemon.ts';
import { startLabMx, type LabMx } from './mx.ts';
import { LAB_PROVIDERS, type ProviderPolicy } from './providers.ts';
import { foldersOf, junkFolderOf, type Layout } from './layouts.ts';

export { startDovecot, type Dovecot, type LabUser } from './dovecot.ts';
export { startLabMx, type LabMx, type ReceivedRecord, type RejectedRecord } from './mx.ts';
export { LAB_PROVIDERS, classify, type ProviderPolicy } from './providers.ts';
export { LAYOUTS, foldersOf, junkFolderOf, tabFolderOf, type Layout } from './layouts.ts';
export { labTls } from './tls.ts';
export { LabStartError, SETUP_COMMAND } from './daemon.ts';

/** A lab part's failure to start, as a LabStartError naming the part (one already is kept as it is). */
function asLabError(part: string, packages: string[], e: unknown): LabStartError {
  if (e instanceof LabStartError) return e;
  let msg = String((e as Error)?.message ?? e).replace(/\s*\n\s*/g, ' | ');
  // the reason and the last log lines, not a whole log of retries
  if (msg.length > 900) msg = `${msg.slice(0, 300)} … ${msg.slice(-500)}`;
  return new LabStartError(part, packages, `failed to start: ${msg.replace(new RegExp(`^${part} `), '')}`);
}
export { startRealStack, REAL_DOMAIN, REAL_MX, type RealStack, type RealSeed, type StartRealStackOptions } from './real-stack.ts';
export { startPostfix, type LabPostfix } from './postfix.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const LAB_ZONES_DIR = path.join(ROOT, 'fixtures/lab/zones');

/** The address the lab pretends senders connect from (TEST-NET-2, RFC 5737); goodsender.test's SPF authorizes it. */
export const LAB_SENDER_IP = '198.51.100.25';

export interface LabSender {
  domain: string;
  /** a From address at the domain */
  from: string;
  /** the envelope sender: the lab's bounces mailbox at the domain, where DSNs land */
  envelopeFrom: string;
  /** DKIM selector and private key (PEM) whose public half is in the lab DNS; absent for the broken domain */
  dkim?: { selector: string; keyFile: string; privateKey: string };
}

export interface LabSeed {
  address: string;
  provider: ProviderPolicy['provider'];
  /** the lab provider id (gmail, outlook, yahoo, icloud, generic, strict) */
  labProvider: string;
  protocol: 'imap' | 'pop3';
  user: string;
  pass: string;
  layout: Layout;
  /** the folder spam goes to at this seed */
  junk: string;
}

export interface Lab {
  dns: FixtureDns;
  /** a client for the lab DNS (what the MX uses) */
  resolver: DnsClient;
  dovecot: Dovecot;
  mx: LabMx;
  /** smtp://127.0.0.1:PORT of the lab MX (STARTTLS with the lab CA, no AUTH) */
  smtpUrl: string;
  seeds: LabSeed[];
  /** the seeds file (YAML, issue 4's format), with `ca:` pointing at caFile */
  seedsFile: string;
  /** the lab CA (PEM file) that signed Dovecot's and the MX's certificates */
  caFile: string;
  caPem: string;
  senders: { good: LabSender; broken: LabSender };
  /** the mailbox DSNs for goodsender.test's envelope sender land in (IMAP) */
  bounces: LabUser;
  dir: string;
  stop(): Promise<void>;
}

export interface StartLabOptions {
  /** lab provider ids to create seeds at (default: gmail, outlook, yahoo, icloud, generic; add 'strict' for 5.7.26 refusals) */
  providers?: string[];
  /** IMAP seeds, spread round-robin over the providers (default: one per provider) */
  imapSeeds?: number;
  /** POP3 seeds, spread over the providers that model POP as inbox-only (default 2: outlook, generic) */
  pop3Seeds?: number;
  /** which providers get the POP3 seeds (default: outlook, yahoo, generic) */
  pop3Providers?: string[];
  /** extra lab DNS records (the fixture zone format), merged over fixtures/lab/zones */
  zone?: Record<string, unknown>;
  /** latency of the lab DNS, to model a real network */
  dnsLatencyMs?: number;
  /** the IP SPF is evaluated for (default LAB_SENDER_IP) */
  clientIp?: string;
  /** refusals as SMTP replies (default) or as DSNs to the sender (a relay) */
  bounces?: 'smtp' | 'dsn';
  /** override or extend the provider policies */
  providerPolicies?: ProviderPolicy[];
  /** where to write the seeds file (default: the lab's temp dir; a path given here is removed by stop()) */
  seedsFile?: string;
}

const DEFAULT_PROVIDERS = ['gmail', 'outlook', 'yahoo', 'icloud', 'generic'];
const DEFAULT_POP3_PROVIDERS = ['outlook', 'yahoo', 'generic'];

function password(): string {
  const p = `lab-${randomBytes(12).toString('base64url')}`;
  registerSecret(p);
  return p;
}

/** Seed addresses: seed1@gmail.lab.test (IMAP), pop1@outlook.lab.test (POP3), … */
export function planSeeds(policies: ProviderPolicy[], providerIds: string[], imap: number, pop3: number, pop3Ids: string[]): Omit<LabSeed, 'pass'>[] {
  const pick = (ids: string[]) => ids.map((id) => {
    const p = policies.find((x) => x.id === id);
    if (!p) throw new Error(`startLab: unknown lab provider '${id}' (known: ${policies.map((x) => x.id).join(', ')})`);
    return p;
  });
  const chosen = pick(providerIds);
  const popChosen = pick(pop3Ids.filter((id) => providerIds.includes(id)).length ? pop3Ids.filter((id) => providerIds.includes(id)) : providerIds);
  const out: Omit<LabSeed, 'pass'>[] = [];
  const counters = new Map<string, number>();
  const add = (p: ProviderPolicy, protocol: 'imap' | 'pop3') => {
    const key = `${protocol}:${p.id}`;
    const n = (counters.get(key) ?? 0) + 1;
    counters.set(key, n);
    const address = `${protocol === 'imap' ? 'seed' : 'pop'}${n}@${p.domains[0]}`;
    out.push({ address, provider: p.provider, labProvider: p.id, protocol, user: address, layout: p.layout, junk: junkFolderOf(p.layout) });
  };
  for (let i = 0; i < imap; i++) add(chosen[i % chosen.length]!, 'imap');
  for (let i = 0; i < pop3; i++) add(popChosen[i % popChosen.length]!, 'pop3');
  return out;
}

/** The seeds file for these lab seeds (issue 4's format, read by src/placement/seeds.ts). */
export function seedsYaml(seeds: LabSeed[], dovecot: Dovecot, caFile: string, bounces?: LabUser): string {
  const access = (protocol: 'imap' | 'pop3') => ({
    host: dovecot.host,
    // STARTTLS on the plain port, verified against the lab CA (the lab never needs plaintext logins)
    port: protocol === 'imap' ? dovecot.imapPort : dovecot.pop3Port,
    secure: false,
  });
  const entry = (s: { address: string; provider: string; protocol: 'imap' | 'pop3'; user: string; pass: string; layout: Layout }) => {
    const tabs = Object.fromEntries(foldersOf(s.layout).filter((f) => f.tab).map((f) => [f.tab!, f.name]));
    return {
      address: s.address,
      provider: s.provider,
      [s.protocol]: access(s.protocol),
      ca: caFile,
      ...(Object.keys(tabs).length && s.protocol === 'imap' ? { folders: { tabs } } : {}),
      auth: { user: s.user, pass: s.pass },
    };
  };
  const doc: Record<string, unknown> = { seeds: seeds.map(entry) };
  if (bounces) doc.bounces = entry({ address: bounces.user, provider: 'generic', protocol: 'imap', user: bounces.user, pass: bounces.pass, layout: 'generic' });
  return `# Generated by inboxlens's lab (src/lab/index.ts): seed mailboxes in the lab's Dovecot.\n# Throwaway passwords for a throwaway server on loopback.\n${YAML.stringify(doc)}`;
}

export async function startLab(opts: StartLabOptions = {}): Promise<Lab> {
  const policies = opts.providerPolicies ?? LAB_PROVIDERS;
  const providerIds = opts.providers ?? DEFAULT_PROVIDERS;
  const imapCount = opts.imapSeeds ?? providerIds.length;
  const pop3Ids = opts.pop3Providers ?? DEFAULT_POP3_PROVIDERS;
  const pop3Count = opts.pop3Seeds ?? 2;
  const planned = planSeeds(policies, providerIds, imapCount, pop3Count, pop3Ids);
  const seeds: LabSeed[] = planned.map((s) => ({ ...s, pass: password() }));
  const good = 'goodsender.test';
  const broken = 'brokensender.test';
  const bounces: LabUser = { user: `bounces@${good}`, pass: password(), layout: 'generic' };
  const brokenBounces: LabUser = { user: `bounces@${broken}`, pass: password(), layout: 'generic' };

  const started: { stop(): Promise<void> }[] = [];
  const stopAll = async () => {
    for (const s of started.reverse()) await s.stop().catch(() => {});
  };
  try {
    const zone = await loadZoneDir(LAB_ZONES_DIR);
    if (opts.zone) mergeZone(zone, parseZone(opts.zone, 'startLab zone'));
    const dnsP = FixtureDns.start({ zone, latencyMs: opts.dnsLatencyMs });
    const dovecotP = startDovecot({ users: [...seeds.map((s) => ({ user: s.user, pass: s.pass, layout: s.layout })), bounces, brokenBounces] });
    // start both before awaiting either, and stop whichever came up if the other failed
    const [dnsR, dovecotR] = await Promise.allSettled([dnsP, dovecotP]);
    if (dnsR.status === 'fulfilled') started.push(dnsR.value);
    if (dovecotR.status === 'fulfilled') started.push(dovecotR.value);
    if (dovecotR.status === 'rejected') throw asLabError('Dovecot', DOVECOT_PACKAGES, dovecotR.reason);
    if (dnsR.status === 'rejected') throw asLabError('the lab DNS (fixture server)', [], dnsR.reason);
    const dns = dnsR.value;
    const dovecot = dovecotR.value;
    const resolver = new DnsClient({ resolvers: [{ host: dns.host, port: dns.port }], timeoutMs: 1000, retries: 1 });
    const mx = await startLabMx({ dovecot, resolver, providers: policies, clientIp: opts.clientIp ?? LAB_SENDER_IP, bounces: opts.bounces }).catch((e) => {
      throw asLabError('the lab MX', [], e);
    });
    started.push(mx);

    // inside Dovecot's temp dir: whatever removes that one (stop(), the exit hook,
    // the watchdog after a kill) removes the lab's files with it
    const dir = path.join(dovecot.dir, 'lab');
    await mkdir(dir, { mode: 0o700 });
    const caFile = path.join(dir, 'lab-ca.pem');
    await writeFile(caFile, dovecot.caPem);
    const seedsFile = opts.seedsFile ?? path.join(dir, 'seeds.yaml');
    await writeFile(seedsFile, seedsYaml(seeds, dovecot, caFile, bounces), { mode: 0o600 });
    const keyFile = path.join(ROOT, 'fixtures/lab/dkim/goodsender.test.lab.key');
    const privateKey = await readFile(keyFile, 'utf8');

    let stopped = false;
    return {
      dns, resolver, dovecot, mx,
      smtpUrl: `smtp://${mx.host}:${mx.port}`,
      seeds, seedsFile, caFile, caPem: dovecot.caPem,
      senders: {
        good: { domain: good, from: `news@${good}`, envelopeFrom: bounces.user, dkim: { selector: 'lab', keyFile, privateKey } },
        broken: { domain: broken, from: `news@${broken}`, envelopeFrom: brokenBounces.user },
      },
      bounces,
      dir,
      stop: async () => {
        if (stopped) return;
        stopped = true;
        await stopAll();
        if (opts.seedsFile) await rm(opts.seedsFile, { force: true });
      },
    };
  } catch (e) {
    await stopAll();
    throw e;
  }
}
