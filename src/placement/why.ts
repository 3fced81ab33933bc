// Why a copy landed where it did, in one line (the seed rows of text, Markdown and
// HTML reports): the placement, the receiver's verdicts, inboxlens's own on the same
// copy (./verdicts.ts), and the reading of the two. Types only: the renderers load
// this without the verifier behind ./verdicts.ts.
import type { PlacementRow } from './types.ts';

const UNKNOWN = /^(temperror|unknown)$/;
const dkimWord = (results: string[]) => (results.length ? results.join('/') : 'none');

function dkimReason(c: string | undefined): string {
  if (!c) return '';
  if (/body ?hash/i.test(c)) return '(body hash)';
  if (/signature/i.test(c)) return '(signature)';
  if (/key/i.test(c)) return '(key)';
  return '';
}

/**
 * Why the copy landed where it did, in one line: the placement, the receiver's
 * verdicts, ours, and the reading of the two ("— the copy changed in transit?").
 * Undefined for a row without a found copy.
 */
export function whyLine(r: PlacementRow): string | undefined {
  const o = r.ours;
  if (!o && !r.receiverAuth) return undefined;
  const parts: string[] = [r.placement];
  const ra = r.receiverAuth;
  if (ra) {
    const rd = ra.dkim.filter((d) => d.result !== 'none');
    parts.push(`receiver: ${[ra.spf ? `spf=${ra.spf.result}` : '', `dkim=${rd.length ? rd.map((d) => `${d.result}${d.result === 'pass' ? '' : dkimReason(`${d.comment ?? ''} ${d.reason ?? ''}`)}`).join('/') : 'none'}`, ra.dmarc ? `dmarc=${ra.dmarc.result}` : ''].filter(Boolean).join(' ')}`);
  } else parts.push('receiver: no Authentication-Results');
  const score = r.spam?.verdicts?.find((v) => v.score !== undefined);
  if (score) parts.push(`${score.filter} ${score.verdict}${score.score !== undefined ? ` ${score.score}${score.threshold !== undefined ? `/${score.threshold}` : ''}` : ''}`);
  let reading = '';
  if (o) {
    const spf = o.spf ? `spf=${o.spf.result}` : 'spf=unknown';
    const dkim = `dkim=${dkimWord(o.dkim.map((d) => `${d.result}${d.result === 'pass' ? '' : dkimReason(d.comment)}`))}`;
    const dmarc = `dmarc=${o.dmarc?.result ?? 'unknown'}`;
    parts.push(`ours: ${spf} ${dkim} ${dmarc}`);
    const dis = o.disagreements ?? [];
    const dkimDis = dis.find((d) => d.method === 'dkim');
    if (dkimDis && dkimDis.inboxlens === 'pass' && dkimDis.receiver !== 'pass') reading = 'the receiver failed a signature that verifies now: the copy changed in transit, or a key lookup failed there?';
    else if (dkimDis && dkimDis.receiver === 'pass') reading = 'a signature the receiver verified fails now: the copy changed since, or the key was rotated?';
    else if (dis.some((d) => d.method === 'spf')) reading = `SPF differs from the receiver's: the record changed since the send, or another identity was checked`;
    else if (o.dmarc?.result === 'fail') {
      const why: string[] = [];
      if (!o.spf || o.spf.result !== 'pass') why.push(o.spf ? `SPF ${o.spf.result} for ${o.spf.ip} at ${o.spf.domain}` : 'SPF not evaluated');
      else if (o.dmarc.spfAligned === false) why.push(`SPF passes for ${o.spf.domain}, not aligned with the From domain`);
      if (!o.dkim.length) why.push('no DKIM signature');
      else if (!o.dkim.some((d) => d.result === 'pass')) why.push('no DKIM signature verifies');
      else if (!o.dkim.some((d) => d.result === 'pass' && d.aligned)) why.push('no passing DKIM signature is aligned with the From domain');
      reading = `DMARC fails${o.dmarc.fromDomain ? ` for ${o.dmarc.fromDomain}` : ''}: ${why.join(', ') || 'no aligned pass'}`;
    } else if (o.dmarc?.result === 'pass' && (r.placement === 'spam' || r.placement === 'not-in-inbox')) reading = 'authentication passes: look at the content, the sending IP\'s and domain\'s reputation';
    else if ((o.dmarc && UNKNOWN.test(o.dmarc.result)) || (o.spf && UNKNOWN.test(o.spf.result)) || o.errors?.length) reading = `partly unknown: ${o.errors?.[0] ?? 'a DNS lookup failed'}`;
  }
  return `${parts.join(' · ')}${reading ? ` — ${reading}` : ''}`;
}
