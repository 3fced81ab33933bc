// DKIM: are the public keys the sender signs with published, usable and strong?
// RFC 6376 §3.6 (key records), RFC 8301 (key sizes, no sha1), RFC 8463 (ed25519).
// Selectors come from --selector plus a researched list of common ones; guessing
// can never prove that a domain has no key, so a miss on guessed selectors is
// "unknown", and `dkim.no-key-found` is reserved for selectors the user named.
import type { Check, CheckContext, CheckOutput, Finding } from '../src/types.ts';
import { finder } from '../src/findings.ts';
import { describe, evidenceOf } from '../src/dns/resolver.ts';
import { BATCH_SELECTORS, GUESSED_SELECTORS, selectorSource } from '../src/dkim/selectors.ts';
import { lookupKeys, type DomainKeys, type SelectorLookup } from '../src/dkim/lookup.ts';
import { DKIM_FINDINGS } from '../src/catalog/dkim.ts';
import { muted, span } from '../src/report/details.ts';

const f = finder('dkim');
const REF_RECORD = 'RFC 6376 §3.6.1';
const REF_SIZE = 'RFC 8301 §3.2';

export interface DkimKeyEntry {
  selector: string;
  domain: string;
  source: 'user' | 'guessed';
  state: SelectorLookup['state'];
  found: boolean;
  usable: boolean;
  keyType: 'rsa' | 'ed25519' | null;
  bits: number | null;
  testing: boolean;
  revoked: boolean;
  /** the CNAME chain from the selector name to the key, [] when the key is published directly */
  cname: string[];
  record?: string;
  problems?: string[];
}

function keyLabel(e: { keyType: string | null; bits: number | null }): string {
  if (e.keyType === 'ed25519') return 'ed25519';
  return `RSA ${e.bits ?? '?'}-bit`;
}

function chainText(s: SelectorLookup): string | undefined {
  return s.cname.length ? `delegated by CNAME: ${[s.name, ...s.cname].join(' → ')}` : undefined;
}

function publishFix(s: SelectorLookup): string {
  return s.cname.length
    ? `The selector is delegated to ${s.cname[s.cname.length - 1]}: fix the key there (in the ESP's dashboard), or point the CNAME at the record the ESP gives you.`
    : `Publish a new key at ${s.name}: TXT "v=DKIM1; k=rsa; p=<base64 SubjectPublicKeyInfo of a 2048-bit RSA key>", then sign with it.`;
}

/** Findings about one selector that answered with a DKIM record. */
function judgeKey(s: SelectorLookup, signing: string): Finding[] {
  const out: Finding[] = [];
  const key = s.key!;
  const evidence = [{ ...evidenceOf(s.resp), ...(chainText(s) ? { note: chainText(s) } : {}) }];
  const guessedNote = s.source === 'guessed' ? ` (a guessed selector${selectorSource(s.selector) ? `: ${selectorSource(s.selector)}` : ''})` : '';
  const common = { evidence, subject: s.name };
  if (s.dkimRecords.length > 1) {
    out.push(f('dkim.syntax', 'warn', `${s.name} has ${s.dkimRecords.length} DKIM key records; verifiers use one of them, unpredictably`, {
      ...common, fix: `Keep exactly one TXT record at ${s.name}.`, ref: 'RFC 6376 §3.6.2.2',
    }));
  }
  const errors = key.problems.filter((p) => p.severity === 'error');
  const warns = key.problems.filter((p) => p.severity === 'warn');
  if (errors.length || warns.length) {
    out.push(f('dkim.syntax', errors.length ? 'error' : 'warn', `${s.name}: ${errors.length ? 'the key record is unusable' : 'the key record bends the syntax'}${guessedNote}`, {
      ...common,
      detail: [...errors, ...warns].map((p) => `${p.severity === 'error' ? 'unusable' : 'strict verifiers reject'}: ${p.message}`).join('\n'),
      fix: errors.length ? publishFix(s) : `Rewrite the record as "v=DKIM1; k=${key.keyType ?? 'rsa'}; p=<key>" (v= first, lower-case tag names, no empty or duplicate tags).`,
      ref: REF_RECORD,
    }));
  }
  if (key.revoked) {
    const inUse = s.source === 'user' && s.domain === signing;
    out.push(f('dkim.revoked', inUse ? 'error' : 'info', `${s.name}: the key is revoked (empty p=)${guessedNote}`, {
      ...common,
      detail: inUse
        ? 'Every signature made with this selector fails verification (RFC 6376 §6.1.2: an empty p= means the key was revoked).'
        : 'An empty p= revokes a retired key; that is good practice if nothing signs with this selector any more.',
      fix: inUse ? `Sign with a selector whose key is published, or publish the current public key at ${s.name}.` : `Nothing to do if no mail is signed with s=${s.selector}; otherwise publish its public key.`,
      ref: 'RFC 6376 §3.6.1 (p=)',
    }));
    return out;
  }
  if (key.ed25519WithoutK) {
    out.push(f('dkim.ed25519-without-k', 'error', `${s.name}: p= is an Ed25519 key but the record has no k=, which means k=rsa, so verifiers cannot use it${guessedNote}`, {
      ...common,
      detail: 'RFC 6376 §3.6.1: k= defaults to "rsa". A verifier that follows it reads p= as an RSA key, which it is not, and fails every ed25519-sha256 signature of this selector (dkimpy does); only lenient verifiers guess the key type from its length.',
      fix: `Add k=ed25519 to the record at ${s.cname.length ? s.cname[s.cname.length - 1] : s.name}: "v=DKIM1; k=ed25519; p=${key.tags.p?.replace(/\s+/g, '') ?? '<key>'}".`,
      ref: 'RFC 6376 §3.6.1 (k=); RFC 8463 §4',
    }));
  }
  if (key.notForEmail) {
    out.push(f('dkim.not-for-email', 'error', `${s.name}: s=${key.tags.s} excludes email, so mail verifiers ignore this key${guessedNote}`, {
      ...common, fix: `Remove the s= tag (or set s=email) at ${s.name}.`, ref: 'RFC 6376 §3.6.1 (s=)',
    }));
  }
  if (key.sha1Only) {
    out.push(f('dkim.sha1-only', 'error', `${s.name}: h=${key.tags.h} allows only rsa-sha1, which verifiers must not accept${guessedNote}`, {
      ...common, fix: `Remove the h= tag (or set h=sha256) at ${s.name} and sign with rsa-sha256.`, ref: 'RFC 8301 §3.1',
    }));
  }
  if (key.keyType === 'rsa' && key.bits !== null && key.bits < 2048) {
    const tooShort = key.bits < 1024;
    out.push(f('dkim.weak-key', tooShort ? 'error' : 'warn', `${s.name}: RSA key of ${key.bits} bits${tooShort ? ' (verifiers must reject keys under 1024 bits)' : ' (2048 is the recommended minimum)'}${guessedNote}`, {
      ...common,
      detail: tooShort
        ? 'RFC 8301 §3.2: verifiers MUST NOT consider signatures with RSA keys under 1024 bits valid; Gmail and others treat them as failed.'
        : 'RFC 8301 §3.2: signers SHOULD use keys of at least 2048 bits; 1024-bit keys are within reach of well-funded attackers.',
      fix: `Generate a 2048-bit RSA key (e.g. openssl genrsa 2048), publish it under a new selector, switch signing to it, then revoke ${s.selector} (p=).`,
      ref: REF_SIZE,
    }));
  }
  if (key.testing) {
    out.push(f('dkim.testing-mode', 'warn', `${s.name}: t=y marks the key as in testing, so verifiers may treat failures leniently${guessedNote}`, {
      ...common,
      detail: 'RFC 6376 §3.6.1: with t=y, verifiers MUST NOT treat signed messages differently from unsigned ones because of this key; some receivers give such signatures no weight.',
      fix: `Remove "t=y" from ${s.name} once signing works.`,
      ref: 'RFC 6376 §3.6.1 (t=)',
    }));
  }
  if (key.usable) {
    out.push(f('dkim.key-found', 'pass', `${s.name}: ${keyLabel(key)} key${key.testing ? ' (testing)' : ''}${s.cname.length ? `, via CNAME to ${s.cname[s.cname.length - 1]}` : ''}${guessedNote}`, common));
  }
  return out;
}

async function run(ctx: CheckContext): Promise<CheckOutput> {
  const target = ctx.target;
  const signing = ctx.opts.dkimDomain ?? target;
  const domains = [...new Set([signing, target])];
  const user = ctx.opts.selectors ?? [];
  // a batch guesses the short list unless --dkim-guess is given explicitly
  const guessed = ctx.opts.dkimGuess === false ? [] : ctx.opts.batch && ctx.opts.dkimGuess !== true ? BATCH_SELECTORS : GUESSED_SELECTORS;
  const found: DomainKeys[] = await ctx.memo(`dkim:keys:${domains.join(',')}:${user.join(',')}:${guessed.length}`, () =>
    lookupKeys(ctx.dns, domains, user, [...guessed]),
  );

  const findings: Finding[] = [];
  const unknowns: string[] = [];
  const failedGuesses: string[] = [];
  const keys: DkimKeyEntry[] = [];
  const wildcards: { domain: string; records: string[] }[] = [];

  for (const d of found) {
    if (d.wildcard) {
      wildcards.push({ domain: d.domain, records: d.wildcard });
      findings.push(f('dkim.wildcard', 'info', `A wildcard TXT record answers every selector under _domainkey.${d.domain}`, {
        evidence: [{ ...evidenceOf(d.probe.resp), note: 'a random selector, which cannot exist on purpose' }],
        detail: 'Guessed selectors that return only this record are not counted as keys. Any selector a receiver looks up gets this record.',
        fix: `Remove the wildcard (*._domainkey.${d.domain}) unless it is a deliberate revocation ("v=DKIM1; p=").`,
        ref: 'RFC 4592; RFC 6376 §3.6.2.1', subject: `_domainkey.${d.domain}`,
      }));
    }
    for (const s of d.selectors) {
      const entry: DkimKeyEntry = {
        selector: s.selector, domain: s.domain, source: s.source, state: s.state, found: s.state === 'found',
        usable: Boolean(s.key?.usable), keyType: s.key?.keyType ?? null, bits: s.key?.bits ?? null,
        testing: Boolean(s.key?.testing), revoked: Boolean(s.key?.revoked), cname: s.cname,
        ...(s.dkimRecords[0] !== undefined ? { record: s.dkimRecords[0] } : s.state === 'not-dkim' ? { record: s.records[0] } : {}),
        ...(s.key?.problems.length || s.key?.ed25519WithoutK
          ? { problems: [...(s.key.ed25519WithoutK ? ['error: p= is an Ed25519 key but the record has no k= (k=rsa by default)'] : []), ...s.key.problems.map((p) => `${p.severity}: ${p.message}`)] }
          : {}),
      };
      // guessed misses are not worth a row each: only what answered, and every selector the user named
      if (s.source === 'user' || s.state === 'found' || s.state === 'dangling-cname') keys.push(entry);
      const named = s.source === 'user' && s.domain === signing;
      switch (s.state) {
        case 'failed':
          if (s.source === 'user') unknowns.push(`the lookup of ${s.name} failed (${describe(s.resp)})`);
          else failedGuesses.push(s.name);
          break;
        case 'absent':
        case 'dangling-cname':
        case 'not-dkim':
          if (named) {
            const why = s.state === 'absent'
              ? (s.resp.rcode === 'NXDOMAIN' ? 'the name does not exist (NXDOMAIN)' : 'the name has no TXT record')
              : s.state === 'dangling-cname'
                ? `it is a CNAME to ${s.cname[s.cname.length - 1]}, which has no TXT record`
                : `its TXT record is not a DKIM key: ${JSON.stringify(s.records[0]!.slice(0, 120))}`;
            findings.push(f('dkim.no-key-found', 'warn', `No DKIM key at ${s.name} (the selector you named): ${why}`, {
              evidence: [evidenceOf(s.resp)], subject: s.name,
              detail: `Mail signed with d=${s.domain}; s=${s.selector} fails DKIM verification until the key is published.`,
              fix: s.state === 'dangling-cname'
                ? `Finish the set-up at your ESP so that ${s.cname[s.cname.length - 1]} publishes the key, or point the CNAME at the target the ESP gives you.`
                : `Publish the public key of selector ${s.selector} at ${s.name} (TXT "v=DKIM1; k=rsa; p=…"), or check the selector name in your signer's settings.`,
              ref: 'RFC 6376 §3.6.2.1',
            }));
          } else if (s.state === 'dangling-cname') {
            findings.push(f('dkim.dangling-cname', 'warn', `${s.name} is a CNAME to ${s.cname[s.cname.length - 1]}, which has no key`, {
              evidence: [evidenceOf(s.resp)], subject: s.name,
              detail: 'A delegation to an ESP that no longer publishes the key: signatures with this selector fail, and a dangling CNAME can be taken over if the target name becomes available.',
              fix: `Remove the CNAME at ${s.name} if you no longer use that ESP, or finish the set-up there.`,
              ref: 'RFC 6376 §3.6.2.1',
            }));
          }
          break;
        case 'found':
          findings.push(...judgeKey(s, signing));
          break;
        case 'wildcard':
          break;
      }
    }
  }

  const tried = [...new Set(found.flatMap((d) => d.selectors.map((s) => s.selector)))];
  const foundAtSigning = keys.some((k) => k.domain === signing && k.usable);
  const data = { domains, signingDomain: signing, keys, tried, wildcards, ...(failedGuesses.length ? { failed: failedGuesses } : {}) };
  const hasError = findings.some((x) => x.severity === 'error');

  if (failedGuesses.length && (foundAtSigning || user.length)) {
    findings.push(f('dkim.lookup-failed', 'info', `${failedGuesses.length} guessed selector lookup(s) failed; keys there, if any, were not checked`, {
      detail: failedGuesses.slice(0, 10).join(', ') + (failedGuesses.length > 10 ? ', …' : ''),
      fix: 'Re-run later, or try another --resolver.',
    }));
  }
  if (unknowns.length && !hasError) return { status: 'unknown', reason: unknowns.join('; '), findings, data };
  if (!foundAtSigning && !user.length) {
    if (failedGuesses.length && !hasError) {
      return { status: 'unknown', reason: `${failedGuesses.length} of ${guessed.length} selector lookups at ${signing} failed and none of the rest has a key`, findings, data };
    }
    findings.push(f('dkim.no-guessed-key', 'info', `No usable DKIM key among ${guessed.length} guessed selectors at ${signing}; this does not mean there is none`, {
      detail: 'Selectors are chosen by the signer and some services (Amazon SES, Postmark, SparkPost, HubSpot) use random or dated ones. Look at the s= tag of the DKIM-Signature header of a message you sent.',
      fix: `Run again with --selector <s=value from a DKIM-Signature of your mail>${ctx.opts.dkimDomain ? '' : ' (and --dkim-domain <its d= value> if it is not the From domain)'}.`,
      ref: 'RFC 6376 §3.1',
      subject: signing,
    }));
    if (!hasError) return { status: 'unknown', reason: `no DKIM key among ${guessed.length} guessed selectors at ${signing}; name yours with --selector`, findings, data };
  }
  return { findings, data };
}

const check: Check = {
  findings: DKIM_FINDINGS,
  docs: 'docs/checks/dkim.md',
  id: 'dkim',
  title: 'DKIM',
  needs: ['dns'],
  cliOptions: {
    'dkim-guess': {
      type: 'boolean',
      describe: `also try ${GUESSED_SELECTORS.length} common DKIM selectors (the default; with --domains-file the ${BATCH_SELECTORS.length} most common unless --dkim-guess is given; --no-dkim-guess: only the --selector ones)`,
    },
  },
  applies: (opts) => (opts.dkimGuess === false && !(opts.selectors ?? []).length ? 'no --selector given and --no-dkim-guess set' : true),
  run,
  details: (r) => [{
    kind: 'list',
    items: ((r.data?.keys as DkimKeyEntry[] | undefined) ?? []).map((k) => [
      span(`${k.selector}._domainkey.${k.domain}  `),
      k.found
        ? k.revoked ? span('revoked', 'warn') : k.usable ? span(`${keyLabel(k)}${k.testing ? ' t=y' : ''}`) : span('unusable', 'bad')
        : muted(k.state === 'dangling-cname' ? 'dangling CNAME' : k.state === 'failed' ? 'lookup failed' : 'no key'),
      ...(k.cname.length ? [muted(` → ${k.cname.join(' → ')}`)] : []),
      ...(k.source === 'guessed' ? [muted(' (guessed)')] : []),
    ]),
  }],
  headline: (r) => {
    const keys = ((r.data?.keys as DkimKeyEntry[] | undefined) ?? []).filter((k) => k.found);
    return keys.length ? keys.map((k) => `${k.selector} ${k.keyType ?? ''}${k.bits ? `/${k.bits}` : ''}`).join(', ') : undefined;
  },
};
export default check;
