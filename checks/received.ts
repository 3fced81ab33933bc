// Received copy: a message as it arrived in a mailbox, judged from the receiver's
// side (`inboxlens analyze FILE.eml`). The receiver's hop and what it said
// (src/analyze/receiver.ts: its Authentication-Results, ARC-Authentication-Results,
// Received-SPF, spam headers), inboxlens's own SPF/DKIM/DMARC/ARC verdicts from the
// copy (src/analyze/local.ts), and where the two disagree. The PTR, blacklist and
// content checks run beside it on the same copy (src/analyze/index.ts).
import type { Check, CheckContext, CheckOutput, Evidence, Finding, Rich, Span } from '../src/types.ts';
import { muted, span } from '../src/report/details.ts';
import { finder } from '../src/findings.ts';
import { RECEIVED_FINDINGS } from '../src/catalog/received.ts';
import { rawMessageOf } from '../src/content/parse.ts';
import { receiverView, type ReceiverView } from '../src/analyze/receiver.ts';
import { receiverAuthOf } from '../src/analyze/verdicts.ts';
import { decodeSpamHeaders, type SpamFilterVerdict } from '../src/analyze/spam.ts';
import { localVerdicts, type LocalVerdicts } from '../src/analyze/local.ts';
import { authFailures } from '../src/placement/classify.ts';
import type { ReceiverAuth } from '../src/placement/types.ts';
import { compareVerdicts, envelopeOf, innocentDkimCauses, type Disagreement } from '../src/analyze/compare.ts';

const f = finder('received');

export interface ReceivedData {
  hop: {
    by?: string;
    ip?: string;
    helo?: string;
    rdns?: string;
    date?: string;
    /** the receiver's Received headers, top first */
    received: { by?: string; ip?: string; helo?: string; id?: string; value: string }[];
  };
  envelope: { returnPath?: string; from?: string; fromDomain?: string };
  receiver: {
    profile: ReceiverView['profile'];
    authservIds: string[];
    authResults: { authservId?: string; version?: number; jobId?: string; none: boolean; results: unknown[]; comments: string[]; errors: string[]; value: string }[];
    arcAuthResults?: { instance?: number; authservId?: string; results: unknown[]; value: string };
    receivedSpf?: Record<string, unknown>;
    verdicts?: ReceiverAuth;
    ignored: { name: string; authservId?: string; reason: string; value: string }[];
  };
  spam: SpamFilterVerdict[];
  local: LocalVerdicts;
  disagreements: Disagreement[];
}

function authLine(a: ReceiverAuth): string {
  return [a.spf ? `spf=${a.spf.result}` : '', ...a.dkim.map((d) => `dkim=${d.result}${d.domain ? ` (d=${d.domain})` : ''}`), a.dmarc ? `dmarc=${a.dmarc.result}` : '', a.arc ? `arc=${a.arc.result}` : ''].filter(Boolean).join(', ') || 'no results';
}

function receiverFindings(view: ReceiverView, verdicts: ReceiverAuth | undefined, fromDomain: string | undefined, out: Finding[]): void {
  if (!verdicts) {
    out.push(f('received.no-receiver-auth', 'info', `The receiver${view.arrival?.by ? ` (${view.arrival.by})` : ''} added no Authentication-Results header of its own`, {
      detail: 'Nothing says how the receiver judged SPF, DKIM and DMARC; inboxlens\'s own verdicts below stand alone.',
    }));
  } else {
    const bad = authFailures(verdicts);
    const sev = verdicts.dmarc && /^(fail|permerror|temperror)$/.test(verdicts.dmarc.result) ? 'error' : bad.length ? 'warn' : 'pass';
    out.push(f('received.receiver-auth', sev, bad.length ? `The receiver's authentication failed: ${bad.join(', ')}` : `The receiver's verdicts: ${authLine(verdicts)}`, {
      evidence: view.authResults.map((h) => ({ record: `Authentication-Results: ${h.value}` })),
      detail: `${view.authResults.length} header(s) with the receiver's authserv-id(s) (${verdicts.authservIds?.join(', ') ?? 'none: Exchange Online writes none'}), above its hop.`,
      ...(sev !== 'pass' ? { fix: 'spf fail: authorize the sending IP in the envelope domain\'s SPF; dkim fail: sign with a published key and send the message unchanged; dmarc fail: make SPF or DKIM pass with a domain aligned to the From domain.' } : {}),
      ref: 'RFC 8601; RFC 7208; RFC 6376; RFC 9989',
    }));
  }
  const ar = view.ignored.filter((i) => i.name === 'authentication-results');
  if (ar.length) {
    const below = ar.filter((i) => /below the receiver/.test(i.reason));
    const fd = fromDomain?.toLowerCase();
    const planted = below.filter((i) => fd && /\b(?:dmarc|dkim|spf)\s*=\s*pass\b/i.test(i.value) && i.value.toLowerCase().includes(fd) && (!verdicts || i.authservId === verdicts.authservId));
    out.push(f('received.not-receivers-header', planted.length ? 'warn' : 'info', `${ar.length} Authentication-Results header(s) are not the receiver's and were not used`, {
      evidence: ar.map((i) => ({ record: `Authentication-Results: ${i.value.slice(0, 300)}`, note: i.reason })),
      detail: planted.length ? 'A header below the receiver\'s hop claims passes for the From domain under the receiver\'s name: the sender (or a relay before the receiver) wrote it. Receivers ignore such headers; some treat them as a sign of forgery.' : 'Headers of earlier hops (a forwarder, your own outbound filter) or other services: they say what those hops saw, not what the receiver decided.',
      ...(planted.length ? { fix: 'Do not write Authentication-Results into outgoing mail; if a relay of yours does, configure it to remove its own before sending.' } : {}),
      ref: 'RFC 8601 §5',
    }));
  }
}

function spamFindings(spam: SpamFilterVerdict[], out: Finding[]): void {
  for (const v of spam) {
    const name = { spamassassin: 'SpamAssassin', rspamd: 'rspamd', microsoft: 'Microsoft (Exchange Online Protection)', gmail: 'Gmail', yahoo: 'Yahoo' }[v.filter];
    const sev = v.verdict === 'spam' ? 'error' : v.verdict === 'not-spam' ? 'pass' : 'info';
    const score = v.score !== undefined ? ` (score ${v.score}${v.threshold !== undefined ? ` / ${v.threshold}` : ''})` : v.scl !== undefined ? ` (SCL ${v.scl}${v.bcl !== undefined ? `, BCL ${v.bcl}` : ''})` : '';
    const evidence: Evidence[] = [...v.headers.map((h) => ({ record: h.slice(0, 500) })), ...v.notes.map((n) => ({ note: n }))];
    const rules = (v.rules ?? []).filter((r) => r.score === undefined || r.score > 0).slice(0, 15).map((r) => `${r.name}${r.score !== undefined ? ` (${r.score})` : ''}`);
    out.push(f('received.spam-verdict', sev, `${name}: ${v.verdict === 'spam' ? 'spam' : v.verdict === 'not-spam' ? 'not spam' : 'no verdict in the header'}${score}`, {
      evidence,
      ...(rules.length ? { detail: `Rules hit: ${rules.join(', ')}` } : {}),
      ...(sev === 'error' ? { fix: 'Fix the authentication failures first, then look at the rules hit, the blacklists and the content findings below.' } : {}),
      ref: v.filter === 'microsoft' ? 'https://learn.microsoft.com/defender-office-365/message-headers-eop-mdo' : v.filter === 'rspamd' ? 'https://rspamd.com/doc/' : v.filter === 'spamassassin' ? 'https://spamassassin.apache.org/' : '',
    }));
  }
}

function localFindings(l: LocalVerdicts, envelope: ReceivedData['envelope'], out: Finding[]): void {
  if (l.spf) {
    const s = l.spf;
    const sev = s.result === 'pass' ? 'pass' : s.result === 'fail' || s.result === 'permerror' ? 'error' : s.result === 'temperror' ? 'info' : 'warn';
    out.push(f('received.spf', sev, `SPF for ${s.ip} and ${s.sender}: ${s.result}`, {
      evidence: [{ note: `${s.comment ?? s.result}${s.lookups !== undefined ? `; ${s.lookups} DNS lookup(s)` : ''}` }],
      ...(sev === 'error' || sev === 'warn' ? { fix: `Add "${s.ip.includes(':') ? 'ip6' : 'ip4'}:${s.ip}" or the include: of the service that sent from ${s.ip} to ${s.domain}'s SPF record.` } : {}),
      ref: 'RFC 7208 §4',
      subject: s.domain,
    }));
  } else {
    out.push(f('received.spf', 'info', `SPF not evaluated: ${l.spfSkipped ?? 'no sending IP'}`, { ref: 'RFC 7208 §4' }));
  }
  if (!l.dkim.length) {
    out.push(f('received.dkim', 'error', 'The copy carries no DKIM signature', {
      fix: 'Sign outgoing mail with DKIM (d= your From domain, a 2048-bit key) at your MTA or sending service.',
      ref: 'RFC 6376',
    }));
  } else {
    const passing = l.dkim.filter((d) => d.result === 'pass');
    out.push(f('received.dkim', passing.length ? (passing.length < l.dkim.length ? 'warn' : 'pass') : 'error', `${passing.length} of ${l.dkim.length} DKIM signature(s) verify now`, {
      evidence: l.dkim.map((d) => ({ note: `d=${d.domain} s=${d.selector}: ${d.result}${d.comment ? ` (${d.comment})` : ''}${d.aligned ? ', aligned with From' : ''}` })),
      ...(passing.length < l.dkim.length ? { fix: 'A signature that does not verify: the key is not (or no longer) published, or the message was changed after signing.' } : {}),
      ref: 'RFC 6376 §6',
    }));
    for (const d of l.dkim) {
      const k = d.key;
      if (!k) continue;
      const subject = `${d.selector}._domainkey.${d.domain}`;
      if (k.state !== 'found') {
        out.push(f('received.dkim-key', 'error', `The key of d=${d.domain} s=${d.selector} is not published (${k.state})`, { fix: `Publish the public key at ${subject}, or keep a rotated-out selector published until mail signed with it has been delivered and read.`, ref: 'RFC 6376 §3.6.2', subject }));
        continue;
      }
      const problems = k.problems.filter((p) => p.startsWith('error'));
      if (k.revoked || problems.length) {
        out.push(f('received.dkim-key', 'error', `The key of d=${d.domain} s=${d.selector} is ${k.revoked ? 'revoked (empty p=)' : 'unusable'}`, { evidence: k.problems.map((p) => ({ note: p })), fix: `Publish a valid key at ${subject}.`, ref: 'RFC 6376 §3.6.1', subject }));
      } else if (k.keyType === 'rsa' && k.bits !== null && k.bits < 1024) {
        out.push(f('received.dkim-key', 'error', `d=${d.domain} s=${d.selector} is a ${k.bits}-bit RSA key: verifiers refuse keys under 1024 bits`, { fix: 'Publish a 2048-bit RSA key and sign with it.', ref: 'RFC 8301 §3.2', subject }));
      } else if (k.keyType === 'rsa' && k.bits !== null && k.bits < 2048) {
        out.push(f('received.dkim-key', 'warn', `d=${d.domain} s=${d.selector} is a ${k.bits}-bit RSA key`, { fix: 'Move to a 2048-bit RSA key (RFC 8301 recommends at least 2048).', ref: 'RFC 8301 §3.2', subject }));
      }
      if (k.testing) out.push(f('received.dkim-key', 'info', `d=${d.domain} s=${d.selector} has t=y (testing): receivers may treat its signatures as unsigned`, { fix: 'Remove t=y from the key record once signing works.', ref: 'RFC 6376 §3.6.1', subject }));
    }
  }
  if (l.dmarc) {
    const d = l.dmarc;
    const sev = d.result === 'pass' ? 'pass' : d.result === 'fail' ? 'error' : 'warn';
    const al = [d.spfAligned ? `SPF aligned (${d.spfAligned})` : 'SPF not aligned', d.dkimAligned ? `DKIM aligned (${d.dkimAligned})` : 'DKIM not aligned'].join(', ');
    out.push(f('received.dmarc', sev, `DMARC for ${d.fromDomain ?? envelope.fromDomain ?? 'the From domain'}: ${d.result}${d.policy ? ` (policy ${d.policy})` : ''}`, {
      evidence: [{ note: al }],
      ...(sev !== 'pass' ? { fix: d.result === 'none' ? `Publish a DMARC record at _dmarc.${d.fromDomain ?? envelope.fromDomain}.` : 'Make the Return-Path domain or a passing DKIM d= align with the From domain.' } : {}),
      ref: 'RFC 9989 §4.4',
      ...(d.fromDomain ? { subject: d.fromDomain } : {}),
    }));
  }
  const a = l.arc;
  out.push(f('received.arc', a.result === 'pass' ? 'pass' : a.result === 'none' ? 'info' : 'warn', a.result === 'none' ? 'No ARC chain in the copy' : `ARC chain: ${a.result}${a.instance ? ` (${a.instance} set(s))` : ''}`, {
    ...(a.comment ? { evidence: [{ note: a.comment }] } : {}),
    ref: 'RFC 8617 §5.2',
  }));
}

function disagreementFindings(list: Disagreement[], out: Finding[]): void {
  for (const d of list) {
    out.push(f('received.disagrees', d.method === 'dkim' || d.method === 'arc' ? 'info' : 'warn', `${d.method.toUpperCase()}${d.subject ? ` (${d.subject})` : ''}: the receiver said ${d.receiver}, inboxlens says ${d.inboxlens}`, {
      detail: d.causes.join(' '),
      fix: d.method === 'dkim'
        ? 'Re-export the copy unchanged (.eml as the server stores it, not an mbox or a copy-paste) and analyze again; keep a rotated-out selector published for a few days.'
        : 'The DNS may have changed since the send (compare with the records then), or the receiver evaluated another identity (the HELO name, an SRS-rewritten envelope).',
      ref: d.method === 'dkim' ? 'RFC 6376 §3.4, §5.3' : 'RFC 8601 §1.1',
      ...(d.subject ? { subject: d.subject } : {}),
    }));
  }
}

async function run(ctx: CheckContext): Promise<CheckOutput> {
  const raw = await rawMessageOf(ctx.opts);
  const view = receiverView(raw, {
    ...(typeof ctx.opts.provider === 'string' ? { provider: ctx.opts.provider } : {}),
    ...(Array.isArray(ctx.opts.authservIds) ? { authservIds: ctx.opts.authservIds as string[] } : {}),
  });
  const verdicts = receiverAuthOf(view);
  const envelope = envelopeOf(raw, view);
  const spam = decodeSpamHeaders(view.receiverFields);
  ctx.progress('verifying SPF, DKIM, DMARC and ARC of the copy');
  const local = await localVerdicts({
    raw, dns: ctx.dns,
    ...(view.arrival?.ip ? { ip: view.arrival.ip } : {}),
    ...(view.arrival?.helo ? { helo: view.arrival.helo } : {}),
    ...(envelope.returnPath !== undefined ? { returnPath: envelope.returnPath } : {}),
    fromDomains: envelope.fromDomain ? [envelope.fromDomain] : [],
  });
  const causes = innocentDkimCauses(raw);
  if (ctx.opts.mboxSeparator) causes.push('The copy started with an mbox "From " separator line: it was cut from an mbox file, which may also have changed its body (">From " quoting, line endings).');
  const disagreements = compareVerdicts(verdicts, local, view, causes);

  const findings: Finding[] = [];
  const a = view.arrival;
  if (a) {
    findings.push(f('received.hop', 'info', `Received by ${a.by ?? '(unnamed host)'} from ${a.helo ?? '(no HELO)'}${a.ip ? ` [${a.ip}]` : ''}${view.profile !== 'generic' ? ` (${view.profile})` : ''}`, {
      evidence: view.hop.map((h) => ({ record: `Received: ${h.value.slice(0, 300)}` })),
      detail: `The receiver's ${view.hop.length} Received header(s); the bottom-most records the connection from the sender. Headers below it are the sender's own and are not judged.`,
      ref: 'RFC 5321 §4.4',
      ...(a.ip ? { subject: a.ip } : {}),
    }));
  } else {
    findings.push(f('received.no-hop', 'warn', 'The copy has no Received header: the sending IP is unknown', {
      fix: 'Save the message as the receiving mailbox shows it, with all headers ("Show original", "Download message", "View source").',
      ref: 'RFC 5321 §4.4',
    }));
  }
  receiverFindings(view, verdicts, envelope.fromDomain, findings);
  spamFindings(spam, findings);
  localFindings(local, envelope, findings);
  disagreementFindings(disagreements, findings);

  const data: ReceivedData = {
    hop: {
      ...(a?.by ? { by: a.by } : {}), ...(a?.ip ? { ip: a.ip } : {}), ...(a?.helo ? { helo: a.helo } : {}), ...(a?.rdns ? { rdns: a.rdns } : {}), ...(a?.date ? { date: a.date } : {}),
      received: view.hop.map((h) => ({ ...(h.by ? { by: h.by } : {}), ...(h.ip ? { ip: h.ip } : {}), ...(h.helo ? { helo: h.helo } : {}), ...(h.id ? { id: h.id } : {}), value: h.value })),
    },
    envelope,
    receiver: {
      profile: view.profile,
      authservIds: view.authservIds,
      authResults: view.authResults.map(({ position: _p, ...h }) => h),
      ...(view.arcAuthResults ? { arcAuthResults: { ...(view.arcAuthResults.instance ? { instance: view.arcAuthResults.instance } : {}), ...(view.arcAuthResults.authservId ? { authservId: view.arcAuthResults.authservId } : {}), results: view.arcAuthResults.results, value: view.arcAuthResults.value } } : {}),
      ...(view.receivedSpf ? { receivedSpf: { ...view.receivedSpf } } : {}),
      ...(verdicts ? { verdicts } : {}),
      ignored: view.ignored.map(({ position: _p, ...i }) => i),
    },
    spam,
    local,
    disagreements,
  };
  const temp = [local.spf?.result === 'temperror' ? 'SPF temperror' : '', local.dkim.some((d) => d.result === 'temperror') ? 'DKIM temperror' : '', ...local.errors].filter(Boolean);
  if (temp.length) return { status: 'unknown', reason: `DNS lookups failed while verifying the copy: ${temp.join('; ')}`, findings, data: data as unknown as Record<string, unknown> };
  return { findings, data: data as unknown as Record<string, unknown> };
}

const check: Check = {
  findings: RECEIVED_FINDINGS,
  docs: 'docs/checks/received.md',
  id: 'received',
  title: 'Received copy',
  needs: ['message', 'dns'],
  optIn: true,
  applies: (opts) => (opts.receivedCopy === true && (Buffer.isBuffer(opts.messageRaw) || typeof opts.message === 'string') ? true : 'judges a received copy: run it with inboxlens analyze FILE.eml'),
  run,
  details: (r) => {
    const d = r.data as unknown as ReceivedData | undefined;
    if (!d?.receiver) return [];
    const tone = (x: string) => (x === 'pass' || x === 'not-spam' ? 'good' : /fail|spam|permerror/.test(x) ? 'bad' : 'warn') as 'good' | 'bad' | 'warn';
    const val = (x: string | undefined): Span => (x ? span(x, tone(x)) : muted('-'));
    const v = d.receiver.verdicts;
    const l = d.local;
    const items: Rich[] = [];
    if (d.hop.ip || d.hop.by) items.push([muted('hop'), span(` ${d.hop.helo ?? '?'} [${d.hop.ip ?? '?'}] → ${d.hop.by ?? '?'}`)]);
    if (d.envelope.returnPath !== undefined || d.envelope.from) items.push([muted('envelope'), span(` ${d.envelope.returnPath || '<>'}  `), muted('From'), span(` ${d.envelope.from ?? '(none)'}`)]);
    const row = (m: string, recv: string | undefined, own: string | undefined): Rich => [span(`${m.padEnd(6)} `), muted('receiver'), span(' '), val(recv), span('  '), muted('inboxlens'), span(' '), val(own)];
    items.push(row('spf', v?.spf?.result, l.spf?.result));
    items.push(row('dkim', v?.dkim.map((x) => x.result).join(',') || undefined, l.dkim.map((x) => x.result).join(',') || undefined));
    items.push(row('dmarc', v?.dmarc?.result, l.dmarc?.result));
    items.push(row('arc', v?.arc?.result, l.arc.result));
    for (const sp of d.spam) items.push([muted(sp.filter), span(' '), val(sp.verdict), span(`${sp.score !== undefined ? ` ${sp.score}${sp.threshold !== undefined ? `/${sp.threshold}` : ''}` : ''}${sp.scl !== undefined ? ` SCL ${sp.scl}` : ''}${sp.bcl !== undefined ? ` BCL ${sp.bcl}` : ''}${sp.sfv ? ` SFV:${sp.sfv}` : ''}`)]);
    return [{ kind: 'list', items }];
  },
};
export default check;
