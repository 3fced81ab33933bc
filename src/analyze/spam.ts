// The spam verdicts a receiver wrote into a copy, decoded per filter: SpamAssassin
// (X-Spam-Status, X-Spam-Flag, X-Spam-Score), rspamd (X-Spamd-Result, X-Rspamd-*,
// X-Spam), Microsoft's Exchange Online Protection (X-Forefront-Antispam-Report with
// SCL, SFV, CAT, X-Microsoft-Antispam with BCL, X-MS-Exchange-Organization-SCL,
// X-Microsoft-Antispam-Mailbox-Delivery dest:), Gmail's X-Gm-Spam / X-Gm-Phishy
// (as the lab writes them) and Yahoo's X-YahooFilteredBulk. Only the fields the
// receiver wrote are given here (src/analyze/receiver.ts: above its hop), so a
// sender's own "X-Spam-Status: No" is never read as the receiver's.
// Meanings: Microsoft Learn, "Anti-spam message headers in Microsoft 365".
import type { Field } from './headers.ts';

export interface SpamRuleHit {
  name: string;
  score?: number;
}

export interface SpamFilterVerdict {
  filter: 'spamassassin' | 'rspamd' | 'microsoft' | 'gmail' | 'yahoo';
  /** spam, not-spam, or unknown when the header does not say */
  verdict: 'spam' | 'not-spam' | 'unknown';
  score?: number;
  threshold?: number;
  /** rspamd's action (no action, add header, rewrite subject, reject…) */
  action?: string;
  /** Microsoft: spam confidence level (-1 trusted, 0–1 clean, 5–6 spam, 7–9 high confidence) */
  scl?: number;
  /** Microsoft: bulk complaint level 0–9 */
  bcl?: number;
  /** Microsoft: spam filtering verdict (SPM, NSPM, SKN, SKS, SKA, SFE, BLK…) and its meaning */
  sfv?: string;
  /** Microsoft: the protection policy that applied (SPM, BULK, SPOOF, PHSH, HPHSH, MALW, NONE…) */
  cat?: string;
  rules?: SpamRuleHit[];
  /** what the values mean, in words */
  notes: string[];
  /** the header fields read, as written */
  headers: string[];
}

const SFV: Record<string, string> = {
  SPM: 'marked as spam by spam filtering',
  NSPM: 'marked as not spam',
  SKN: 'skipped spam filtering: marked not spam by a mail flow rule',
  SKS: 'marked as spam before spam filtering (a mail flow rule)',
  SKA: 'skipped spam filtering: the sender is on an allowed list of the anti-spam policy',
  SKB: 'marked as spam: the sender is on a blocked list of the anti-spam policy',
  SKI: 'skipped spam filtering: intra-organization mail',
  SKQ: 'released from quarantine',
  SFE: 'skipped spam filtering: the sender is on the recipient\'s Safe Senders list',
  BLK: 'blocked: the sender is on the recipient\'s Blocked Senders list',
};

const CAT: Record<string, string> = {
  SPM: 'spam', HSPM: 'high confidence spam', BULK: 'bulk', SPOOF: 'spoofing (the sender failed authentication)', PHSH: 'phishing',
  HPHSH: 'high confidence phishing', MALW: 'malware', DIMP: 'domain impersonation', UIMP: 'user impersonation', GIMP: 'mailbox intelligence impersonation',
  AMP: 'anti-malware', SAP: 'safe attachments', OSPM: 'outbound spam', INTOS: 'intra-organization phishing', NONE: 'no policy matched',
};

function num(s: string | undefined): number | undefined {
  if (s === undefined) return undefined;
  const n = Number(s);
  return Number.isFinite(n) ? n : undefined;
}

/** "KEY:VALUE;KEY:VALUE" (Forefront, X-Microsoft-Antispam) */
function msPairs(v: string): Map<string, string> {
  const m = new Map<string, string>();
  for (const part of v.split(';')) {
    const i = part.indexOf(':');
    if (i > 0) m.set(part.slice(0, i).trim().toUpperCase(), part.slice(i + 1).trim());
  }
  return m;
}

function spamassassin(get: (n: string) => Field | undefined): SpamFilterVerdict | undefined {
  const status = get('x-spam-status');
  const flag = get('x-spam-flag');
  const scoreF = get('x-spam-score');
  if (!status && !flag && !scoreF) return undefined;
  const out: SpamFilterVerdict = { filter: 'spamassassin', verdict: 'unknown', notes: [], headers: [status, flag, scoreF].filter((f): f is Field => !!f).map((f) => f.raw) };
  if (status) {
    const v = status.value;
    if (/^yes\b/i.test(v)) out.verdict = 'spam';
    else if (/^no\b/i.test(v)) out.verdict = 'not-spam';
    const score = num(/\b(?:score|hits)=(-?\d+(?:\.\d+)?)/i.exec(v)?.[1]);
    if (score !== undefined) out.score = score;
    const req = num(/\brequired=(-?\d+(?:\.\d+)?)/i.exec(v)?.[1]);
    if (req !== undefined) out.threshold = req;
    const tests = /\btests=([^\s]*(?:\s*,\s*[^\s]+)*)/i.exec(v)?.[1];
    if (tests && tests !== 'none' && tests !== 'NONE') out.rules = tests.split(/\s*,\s*/).filter(Boolean).map((name) => ({ name }));
  }
  if (flag && out.verdict === 'unknown') out.verdict = /^yes/i.test(flag.value) ? 'spam' : /^no/i.test(flag.value) ? 'not-spam' : 'unknown';
  if (out.score === undefined && scoreF) {
    const s = num(/^-?\d+(?:\.\d+)?/.exec(scoreF.value)?.[0]);
    if (s !== undefined) out.score = s;
  }
  if (out.score !== undefined && out.threshold !== undefined) out.notes.push(`score ${out.score} against a threshold of ${out.threshold}`);
  return out;
}

function rspamd(get: (n: string) => Field | undefined): SpamFilterVerdict | undefined {
  const result = get('x-spamd-result');
  const action = get('x-rspamd-action');
  const scoreF = get('x-rspamd-score');
  const spam = get('x-spam');
  const server = get('x-rspamd-server');
  if (!result && !action && !scoreF && !(spam && server)) return undefined;
  const out: SpamFilterVerdict = { filter: 'rspamd', verdict: 'unknown', notes: [], headers: [result, action, scoreF, spam, server].filter((f): f is Field => !!f).map((f) => f.raw) };
  if (result) {
    // "default: False [3.40 / 15.00]; SYMBOL(1.00)[option]; …"
    const m = /^\s*\S+:\s*(True|False)\s*\[\s*(-?\d+(?:\.\d+)?)\s*\/\s*(-?\d+(?:\.\d+)?)\s*\]/i.exec(result.value);
    if (m) {
      // rspamd's milter_headers writes True only for the reject action ("False" with "add header"
      // is spam filed as such): the action, when written, decides below
      out.verdict = m[1]!.toLowerCase() === 'true' ? 'spam' : 'not-spam';
      out.score = Number(m[2]);
      out.threshold = Number(m[3]);
    }
    const rules = [...result.value.matchAll(/;\s*([A-Z0-9_]+)\((-?\d+(?:\.\d+)?)\)/g)].map((x) => ({ name: x[1]!, score: Number(x[2]) }));
    if (rules.length) out.rules = rules;
  }
  if (action) {
    out.action = action.value.trim();
    out.verdict = /^(no action|greylist)$/i.test(out.action) ? 'not-spam' : 'spam';
  } else if (spam && /^yes/i.test(spam.value.trim())) {
    // the proxy's X-Spam: Yes (add header and above) outweighs a "False" that means "not rejected"
    out.verdict = 'spam';
  }
  if (out.score === undefined && scoreF) {
    const s = num(/^-?\d+(?:\.\d+)?/.exec(scoreF.value)?.[0]);
    if (s !== undefined) out.score = s;
  }
  if (spam && out.verdict === 'unknown') out.verdict = /^yes/i.test(spam.value) ? 'spam' : 'not-spam';
  if (out.score !== undefined && out.threshold !== undefined) out.notes.push(`score ${out.score} against a reject threshold of ${out.threshold}`);
  if (out.action) out.notes.push(`action "${out.action}"`);
  return out;
}

function microsoft(get: (n: string) => Field | undefined): SpamFilterVerdict | undefined {
  const ff = get('x-forefront-antispam-report');
  const msa = get('x-microsoft-antispam');
  const org = get('x-ms-exchange-organization-scl');
  const box = get('x-microsoft-antispam-mailbox-delivery');
  if (!ff && !msa && !org && !box) return undefined;
  const out: SpamFilterVerdict = { filter: 'microsoft', verdict: 'unknown', notes: [], headers: [ff, msa, org, box].filter((f): f is Field => !!f).map((f) => f.raw) };
  const pairs = ff ? msPairs(ff.value) : new Map<string, string>();
  const scl = num(pairs.get('SCL')) ?? num(org?.value.trim());
  if (scl !== undefined) out.scl = scl;
  const sfv = pairs.get('SFV');
  if (sfv) {
    out.sfv = sfv;
    out.notes.push(`SFV:${sfv}: ${SFV[sfv.toUpperCase()] ?? 'an unlisted verdict'}`);
  }
  const cat = pairs.get('CAT');
  if (cat) {
    out.cat = cat;
    if (cat.toUpperCase() !== 'NONE') out.notes.push(`CAT:${cat}: ${CAT[cat.toUpperCase()] ?? 'an unlisted policy'}`);
  }
  const bcl = msa ? num(msPairs(msa.value).get('BCL')) : undefined;
  if (bcl !== undefined) {
    out.bcl = bcl;
    out.notes.push(`BCL ${bcl}: ${bcl === 0 ? 'not from a bulk sender' : bcl <= 3 ? 'a bulk sender with few complaints' : bcl <= 7 ? 'a bulk sender with a mixed number of complaints (7 is the default threshold)' : 'a bulk sender with many complaints'}`);
  }
  if (scl !== undefined) {
    out.notes.push(`SCL ${scl}: ${scl < 0 ? 'spam filtering skipped (trusted)' : scl <= 1 ? 'not spam' : scl <= 4 ? 'not spam (unusual level)' : scl <= 6 ? 'spam: delivered to Junk Email' : 'high confidence spam'}`);
    out.verdict = scl >= 5 ? 'spam' : 'not-spam';
  }
  if (sfv && /^(SPM|SKS|SKB|BLK)$/i.test(sfv)) out.verdict = 'spam';
  else if (sfv && out.verdict === 'unknown' && /^(NSPM|SKN|SKA|SKI|SFE|SKQ)$/i.test(sfv)) out.verdict = 'not-spam';
  const dest = box ? /dest:([A-Z])/i.exec(box.value)?.[1] : undefined;
  if (dest) {
    out.notes.push(`delivered to ${dest.toUpperCase() === 'J' ? 'Junk Email' : dest.toUpperCase() === 'I' ? 'the Inbox' : `folder code ${dest}`}`);
    if (dest.toUpperCase() === 'J') out.verdict = 'spam';
  }
  return out;
}

function gmail(get: (n: string) => Field | undefined): SpamFilterVerdict | undefined {
  const spam = get('x-gm-spam');
  const phishy = get('x-gm-phishy');
  if (!spam && !phishy) return undefined;
  const out: SpamFilterVerdict = { filter: 'gmail', verdict: 'unknown', notes: [], headers: [spam, phishy].filter((f): f is Field => !!f).map((f) => f.raw) };
  if (spam) out.verdict = spam.value.trim() === '1' ? 'spam' : spam.value.trim() === '0' ? 'not-spam' : 'unknown';
  if (phishy && phishy.value.trim() === '1') out.notes.push('flagged as phishing (X-Gm-Phishy: 1)');
  return out;
}

function yahoo(get: (n: string) => Field | undefined): SpamFilterVerdict | undefined {
  const bulk = get('x-yahoofilteredbulk');
  if (!bulk) return undefined;
  return { filter: 'yahoo', verdict: 'spam', notes: [`filtered into Bulk (spam) for the client ${bulk.value.trim()}`], headers: [bulk.raw] };
}

/** Every spam verdict in the receiver's own header fields. */
export function decodeSpamHeaders(fields: Field[]): SpamFilterVerdict[] {
  // the topmost of each name: the receiver's latest word
  const get = (n: string) => fields.find((f) => f.name === n);
  let sa = spamassassin(get);
  const rs = rspamd(get);
  // rspamd's x-spam-status routine (milter_headers) writes "X-Spam-Status: No, score=-0.70": with
  // rspamd's own headers beside it and none of SpamAssassin's required=/tests=/version=, it is
  // rspamd's verdict written twice, not a second filter's
  const status = get('x-spam-status');
  if (sa && rs && status && !get('x-spam-flag') && !get('x-spam-score') && !/\b(required|tests|version)=/i.test(status.value)) {
    rs.headers.push(status.raw);
    if (rs.verdict === 'unknown') rs.verdict = sa.verdict;
    if (rs.score === undefined && sa.score !== undefined) rs.score = sa.score;
    sa = undefined;
  }
  return [sa, rs, microsoft(get), gmail(get), yahoo(get)].filter((x): x is SpamFilterVerdict => !!x);
}
