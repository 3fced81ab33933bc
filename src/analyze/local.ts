// inboxlens's own verdicts on a received copy, from the copy alone and the DNS as
// it is now: SPF for the IP and HELO of the receiver's arrival hop and the
// envelope sender the receiver recorded (Return-Path, with its local part), every
// DKIM signature verified (src/content/dkim.ts) and its key judged (src/dkim),
// DMARC with its alignment (mailauth's RFC 9989 evaluation over these results),
// and the ARC chain (src/analyze/arc.ts, the one ARC entry point).
import { createRequire } from 'node:module';
import type { DnsClient } from '../dns/resolver.ts';
import { dkimVerifyMessage, signatureFacts, type DkimSignatureFacts } from '../content/dkim.ts';
import { lookupKeys, type SelectorState } from '../dkim/lookup.ts';
import { checkConnection as checkHost, type SpfConnectionCheck as SpfCheckHost } from '../spf/evaluate.ts';
import { verifyArc, type ArcVerdict } from './arc.ts';

const evaluateDmarc = () => (createRequire(import.meta.url)('mailauth/lib/dmarc') as { evaluateDmarc(o: any): Promise<any> }).evaluateDmarc;

export interface DkimKeyJudgement {
  state: SelectorState;
  keyType: 'rsa' | 'ed25519' | null;
  bits: number | null;
  testing: boolean;
  revoked: boolean;
  /** the key's problems (src/dkim/key.ts), "error: …" / "warn: …" */
  problems: string[];
}

export interface LocalDkim extends DkimSignatureFacts {
  key?: DkimKeyJudgement;
}

export interface LocalDmarc {
  /** pass, fail, none (no record), temperror, permerror */
  result: string;
  fromDomain?: string;
  /** the policy that applies (p=, sp= or np=, lowered by t=y) */
  policy?: string;
  /** the domain whose SPF pass aligns, or false */
  spfAligned?: string | false;
  /** the d= of a passing signature that aligns, or false */
  dkimAligned?: string | false;
  comment?: string;
}

export interface LocalVerdicts {
  spf?: SpfCheckHost;
  /** why SPF was not evaluated (no sending IP known) */
  spfSkipped?: string;
  dkim: LocalDkim[];
  dmarc?: LocalDmarc;
  arc: ArcVerdict;
  errors: string[];
}

export interface LocalInput {
  raw: Buffer;
  dns: DnsClient;
  ip?: string;
  helo?: string;
  /** the envelope sender (Return-Path without <>), '' for a null sender */
  returnPath?: string;
  fromDomains: string[];
  /** the copy's DKIM verification when the caller has it already (dkimVerifyMessage's result): not verified twice */
  dkimResult?: any;
}

async function judgeKey(dns: DnsClient, domain: string, selector: string): Promise<DkimKeyJudgement | undefined> {
  if (!domain || !selector) return undefined;
  const [d] = await lookupKeys(dns, [domain], [selector], []);
  const s = d?.selectors.find((x) => x.selector === selector);
  if (!s) return undefined;
  return {
    state: s.state,
    keyType: s.key?.keyType ?? null,
    bits: s.key?.bits ?? null,
    testing: Boolean(s.key?.testing),
    revoked: Boolean(s.key?.revoked),
    problems: (s.key?.problems ?? []).map((p) => `${p.severity}: ${p.message}`),
  };
}

export async function localVerdicts(i: LocalInput): Promise<LocalVerdicts> {
  const errors: string[] = [];
  const [spf, dkimRaw, arc] = await Promise.all([
    i.ip ? checkHost(i.dns, { ip: i.ip, sender: i.returnPath, helo: i.helo }).catch((e: Error) => { errors.push(`SPF: ${e.message}`); return undefined; }) : Promise.resolve(undefined),
    i.dkimResult ? Promise.resolve(i.dkimResult) : dkimVerifyMessage(i.raw, i.dns.mailauthResolver).catch((e: Error) => { errors.push(`DKIM: ${e.message}`); return { results: [] }; }),
    verifyArc(i.raw, i.dns).catch((e: Error): ArcVerdict => { errors.push(`ARC: ${e.message}`); return { result: 'temperror', comment: e.message }; }),
  ]);
  const sigs = signatureFacts(dkimRaw, i.fromDomains);
  const keys = await Promise.all(sigs.map((s) => judgeKey(i.dns, s.domain, s.selector).catch(() => undefined)));
  const dkim: LocalDkim[] = sigs.map((s, k) => ({ ...s, ...(keys[k] ? { key: keys[k] } : {}) }));
  const out: LocalVerdicts = { ...(spf ? { spf } : { spfSkipped: i.ip ? 'SPF could not be evaluated' : 'no sending IP: the receiver\'s hop records none' }), dkim, arc, errors };
  if (dkimRaw.headerFrom) {
    try {
      const passing = (dkimRaw.results ?? []).filter((r: any) => r.status?.result === 'pass');
      const { response } = await evaluateDmarc()({
        headerFrom: dkimRaw.headerFrom,
        fromFields: dkimRaw.fromFields,
        spfDomains: spf && spf.result === 'pass' ? [spf.domain] : [],
        dkimDomains: passing.map((r: any) => ({ id: r.id, domain: r.signingDomain, aligned: r.status.aligned, underSized: r.status.underSized })),
        resolver: i.dns.mailauthResolver,
      });
      if (response) {
        out.dmarc = {
          result: String(response.status?.result ?? 'none'),
          ...(response.status?.header?.from ? { fromDomain: String(response.status.header.from) } : {}),
          ...(response.policy ? { policy: String(response.policy) } : {}),
          ...(response.alignment ? { spfAligned: response.alignment.spf?.result || false, dkimAligned: response.alignment.dkim?.result || false } : {}),
          ...(typeof response.status?.comment === 'string' && response.status.comment ? { comment: response.status.comment } : {}),
        };
      }
    } catch (e) {
      errors.push(`DMARC: ${(e as Error).message}`);
    }
  }
  return out;
}
