// BIMI (draft-brand-indicators-for-message-identification): will mailbox
// providers show the brand logo? The default._bimi record (author domain, then
// the organizational domain), the l= logo fetched over verified HTTPS and checked
// as SVG Tiny PS (mailauth's validator), the a= mark certificate (VMC/CMC) that
// Gmail and Apple require, and DMARC at enforcement at the author and
// organizational domain, without which no provider shows a logo.
import { createRequire } from 'node:module';
import { X509Certificate } from 'node:crypto';
import { XMLParser } from 'fast-xml-parser';
import type { Check, CheckContext, CheckOutput, Evidence, Finding } from '../src/types.ts';
import { finder } from '../src/findings.ts';
import { describe, evidenceOf, isFailure, txtRecords, type DnsResponse } from '../src/dns/resolver.ts';
import { httpsCliOptions, httpsGet, httpsSettings, type HttpsResult, type HttpsSettings } from '../src/net/https.ts';
import { sharedDiscovery } from '../src/dmarc/discover.ts';
import { parseDmarc } from '../src/dmarc/record.ts';
import { BIMI_FINDINGS } from '../src/catalog/bimi.ts';

const require = createRequire(import.meta.url);
const { validateSvg } = require('mailauth/lib/bimi/validate-svg.js') as { validateSvg(logo: Buffer): true };

const f = finder('bimi');
const DRAFT = 'draft-brand-indicators-for-message-identification';
const GMAIL_BIMI = 'https://support.google.com/a/answer/10911320 (Gmail: set up BIMI)';
// the BIMI Group's guidance for SVG logos; Gmail refuses larger files
const LOGO_MAX_BYTES = 32 * 1024;
const FETCH_MAX_BYTES = 1024 * 1024;

interface DmarcTags { p?: string | null; sp?: string | null; t?: string; pct?: number | null }

export interface DmarcEnforcement {
  /** true: enforced at both; false: not; null: could not be determined */
  enforced: boolean | null;
  reasons: string[];
  records: { domain: string; record: string }[];
  orgDomain?: string;
  error?: string;
}

/** BIMI record tags (RFC 6376 §3.2 tag-list syntax); names lower-cased, the last duplicate wins. */
export function parseBimiRecord(record: string): { tags: Record<string, string> } | { error: string } {
  const tags: Record<string, string> = {};
  const parts = record.split(';').map((s) => s.trim());
  for (const [i, part] of parts.entries()) {
    if (!part) {
      if (i === parts.length - 1) continue;
      return { error: 'empty field between two ";"' };
    }
    const eq = part.indexOf('=');
    if (eq < 1) return { error: `"${part}" is not a tag=value pair` };
    const name = part.slice(0, eq).trim().toLowerCase();
    if (!/^[a-z][a-z0-9_]*$/.test(name)) return { error: `"${name}" is not a valid tag name` };
    tags[name] = part.slice(eq + 1).trim();
  }
  if (!/^BIMI1$/i.test(tags.v ?? '') || !/^v\s*=/i.test(parts[0] ?? '')) return { error: 'the record must begin with "v=BIMI1;"' };
  return { tags };
}

function httpsUrl(value: string): boolean {
  try {
    return new URL(value).protocol === 'https:';
  } catch {
    return false;
  }
}

/** DMARC at enforcement (draft §7.1 steps 7-9): p and sp not none, not t=y, pct (historic) not below 100. */
export function dmarcProblems(domain: string, tags: DmarcTags): string[] {
  const out: string[] = [];
  if (!tags.p || !['quarantine', 'reject'].includes(tags.p)) out.push(`p=${tags.p || '(missing)'} at _dmarc.${domain}`);
  if (tags.sp === 'none') out.push(`sp=none at _dmarc.${domain}`);
  if (tags.t === 'y') out.push(`t=y (testing mode) at _dmarc.${domain}`);
  if (tags.pct !== undefined && tags.pct !== null && tags.pct < 100) out.push(`pct=${tags.pct} at _dmarc.${domain}`);
  return out;
}

/**
 * DMARC at the author domain and at its organizational domain. The discovery
 * (RFC 9989 tree walk, every _dmarc name queried at once) is the one the dmarc
 * check runs, shared through ctx.memo, so nothing is looked up twice. BIMI needs
 * the organizational domain's record as well as the one that applies, which the
 * dmarc check's result does not carry, so it reads the discovery itself.
 */
async function dmarcEnforcement(ctx: CheckContext): Promise<DmarcEnforcement> {
  const d = await sharedDiscovery(ctx, ctx.target);
  const orgDomain = d.orgDomain ?? undefined;
  const base = { records: [] as DmarcEnforcement['records'], ...(orgDomain ? { orgDomain } : {}) };
  if (!d.record || !d.recordDomain) {
    if (d.error) return { enforced: null, reasons: [], ...base, error: `DMARC policy discovery failed: ${d.error}` };
    return { enforced: false, reasons: [`no DMARC record at _dmarc.${ctx.target} or its organizational domain`], ...base };
  }
  const judge = (domain: string, record: string): string[] => {
    const parsed = parseDmarc(record);
    base.records.push({ domain, record });
    if (!parsed.applied) return [`the record at _dmarc.${domain} is not applied by receivers (${parsed.problems.find((p) => p.severity === 'error')?.message ?? 'invalid'})`];
    const pol = parsed.policy;
    return dmarcProblems(domain, { p: pol.p, sp: pol.sp, t: pol.t, pct: pol.pct });
  };
  const reasons = judge(d.recordDomain, d.record);
  if (d.orgDomain && d.orgDomain !== d.recordDomain) {
    const org = d.walk.find((w) => w.domain === d.orgDomain);
    if (org?.dmarc.length === 1) reasons.push(...judge(d.orgDomain, org.dmarc[0]!));
  }
  if (!reasons.length && d.error) {
    // the author domain's record is fine, but the walk up to the organizational domain failed
    return { enforced: null, reasons, ...base, error: `the organizational domain's DMARC policy is unknown: ${d.error}` };
  }
  return { enforced: reasons.length === 0, reasons, ...base };
}

function fetchEvidence(url: string, r: HttpsResult): Evidence {
  if (r.ok) return { query: url, type: 'HTTPS', answers: [`HTTP ${r.status}`, `Content-Type: ${r.headers['content-type'] ?? '(none)'}`, `${r.body.length} bytes from ${r.address}`] };
  return { query: url, type: 'HTTPS', note: r.error };
}

export interface LogoReport {
  url: string;
  bytes?: number;
  mediaType?: string;
  svgTinyPs?: boolean;
  square?: boolean;
  problems: string[];
}

/** SVG Tiny PS checks beyond mailauth's: size, square, version="1.2". Returns warnings. */
export function logoWarnings(body: Buffer, mediaType: string): string[] {
  const out: string[] = [];
  if (mediaType !== 'image/svg+xml') out.push(`it is served as ${mediaType || 'no Content-Type'}, not image/svg+xml`);
  if (body.length > LOGO_MAX_BYTES) out.push(`it is ${Math.round(body.length / 1024)} KB; keep SVG logos at or under 32 KB`);
  let root: Record<string, unknown> | undefined;
  try {
    root = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '@_' }).parse(body)?.svg;
  } catch {
    return out;
  }
  if (!root || typeof root !== 'object') return out;
  if (root['@_version'] !== '1.2') out.push(`the <svg> root has version="${root['@_version'] ?? ''}"; SVG Tiny PS requires version="1.2"`);
  const vb = String(root['@_viewBox'] ?? '').trim().split(/[\s,]+/).map(Number);
  let w: number | undefined;
  let h: number | undefined;
  if (vb.length === 4 && vb.every(Number.isFinite)) [w, h] = [vb[2], vb[3]];
  else if (root['@_width'] && root['@_height']) [w, h] = [parseFloat(String(root['@_width'])), parseFloat(String(root['@_height']))];
  if (w !== undefined && h !== undefined && Number.isFinite(w) && Number.isFinite(h) && Math.abs(w - h) > 1e-6) out.push(`it is ${w}×${h}; the logo must be square`);
  return out;
}

/** a=: the mark certificate (PEM). Reachable, a certificate, current, naming the domain. */
function certificateProblems(body: Buffer, domains: string[]): { problems: string[]; subject?: string; validTo?: string; names: string[] } {
  const pems = body.toString('utf8').match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  if (!pems.length) return { problems: ['the a= URL does not serve a PEM certificate'], names: [] };
  let leaf: X509Certificate;
  try {
    leaf = new X509Certificate(pems[0]!);
  } catch (e) {
    return { problems: [`the certificate does not parse: ${(e as Error).message}`], names: [] };
  }
  const problems: string[] = [];
  const now = Date.now();
  if (Date.parse(leaf.validTo) < now) problems.push(`it expired on ${leaf.validTo}`);
  if (Date.parse(leaf.validFrom) > now) problems.push(`it is not valid before ${leaf.validFrom}`);
  const names = (leaf.subjectAltName ?? '').split(',').map((s) => s.trim()).filter((s) => s.startsWith('DNS:')).map((s) => s.slice(4).toLowerCase());
  const ok = domains.some((d) => names.includes(d) || names.includes(`default._bimi.${d}`));
  if (!ok) problems.push(`it names ${names.join(', ') || 'no domain'}, not ${domains.join(' or ')}`);
  return { problems, subject: leaf.subject.replace(/\n/g, ', '), validTo: leaf.validTo, names };
}

function bimiRecordsOf(resp: DnsResponse): { valid: string[]; nearMiss: string[] } {
  const all = txtRecords(resp).map((r) => r.trim());
  // draft §7.2: other TXT records (site verification tokens...) are discarded
  const valid = all.filter((r) => /^v[ \t]*=[ \t]*BIMI1[ \t]*(;|$)/i.test(r));
  return { valid, nearMiss: all.filter((r) => !valid.includes(r) && /^v\s*=\s*bimi/i.test(r)) };
}

async function run(ctx: CheckContext<HttpsSettings>): Promise<CheckOutput> {
  const domain = ctx.target;
  const findings: Finding[] = [];
  const settings = ctx.settings;
  const authorName = `default._bimi.${domain}`;
  const [authorResp, dmarc] = await Promise.all([ctx.dns.query(authorName, 'TXT'), dmarcEnforcement(ctx)]);
  if (isFailure(authorResp)) return { status: 'unknown', reason: `the BIMI TXT lookup failed: ${describe(authorResp)}`, findings };
  let resp = authorResp;
  let recordDomain = domain;
  let found = bimiRecordsOf(authorResp);
  // draft §7.2 step 6: no record at the author domain → the organizational domain's
  if (!found.valid.length && !found.nearMiss.length && dmarc.orgDomain && dmarc.orgDomain !== domain) {
    const orgResp = await ctx.dns.query(`default._bimi.${dmarc.orgDomain}`, 'TXT');
    if (isFailure(orgResp)) return { status: 'unknown', reason: `the BIMI TXT lookup failed: ${describe(orgResp)}`, findings };
    const orgFound = bimiRecordsOf(orgResp);
    if (orgFound.valid.length || orgFound.nearMiss.length) {
      resp = orgResp;
      recordDomain = dmarc.orgDomain;
      found = orgFound;
    }
  }
  const name = `default._bimi.${recordDomain}`;
  const example = `${name}. TXT "v=BIMI1; l=https://${domain}/bimi/logo.svg; a=https://${domain}/bimi/vmc.pem"`;
  const ev = [evidenceOf(resp)];
  const data: Record<string, unknown> = { recordDomain, dmarc };

  if (!found.valid.length) {
    if (found.nearMiss.length) {
      findings.push(f('bimi.syntax', 'error', `${name} has a TXT record that is not a valid BIMI record`, {
        evidence: ev, detail: `"${found.nearMiss[0]}" does not begin with "v=BIMI1;", so receivers ignore it.`, fix: `Publish ${example}.`, ref: `${DRAFT} §4.3`,
      }));
      return { findings, data: { ...data, record: found.nearMiss[0] } };
    }
    findings.push(f('bimi.missing', 'info', `${domain} publishes no BIMI record (optional): no brand logo next to its mail`, {
      evidence: ev, detail: 'BIMI needs DMARC at enforcement, an SVG Tiny PS logo, and for Gmail and Apple Mail a mark certificate (VMC or CMC).',
      fix: `Publish ${example}.`, ref: `${DRAFT} §4; ${GMAIL_BIMI}`,
    }));
    return { findings, data };
  }
  if (found.valid.length > 1) {
    findings.push(f('bimi.syntax', 'error', `${name} has ${found.valid.length} BIMI records: receivers show no logo`, {
      evidence: ev, fix: 'Keep exactly one "v=BIMI1; …" record.', ref: `${DRAFT} §7.2`,
    }));
    return { findings, data: { ...data, record: found.valid[0] } };
  }
  const record = found.valid[0]!;
  data.record = record;
  const parsed = parseBimiRecord(record);
  if ('error' in parsed) {
    findings.push(f('bimi.syntax', 'error', `the BIMI record of ${recordDomain} is invalid: ${parsed.error}`, { evidence: ev, fix: `Publish ${example}.`, ref: `${DRAFT} §4.3` }));
    return { findings, data };
  }
  const { l, a } = parsed.tags;
  if (l === '' && !a) {
    findings.push(f('bimi.declined', 'info', `${recordDomain} declines to publish a BIMI logo (empty l=)`, {
      evidence: ev, detail: 'An empty l= with no a= is a declination: receivers show no logo, on purpose.', fix: `To show a logo, publish ${example}.`, ref: `${DRAFT} §4.3.1`,
    }));
    return { findings, data };
  }
  const syntax: string[] = [];
  if (!l) syntax.push('there is no l= (the logo URL), which is required');
  else if (!l.split(',').every((u) => httpsUrl(u.trim()))) syntax.push(`l=${l} is not an https:// URL`);
  if (a && !httpsUrl(a)) syntax.push(`a=${a} is not an https:// URL`);
  if (syntax.length) {
    findings.push(f('bimi.syntax', 'error', `the BIMI record of ${recordDomain} is invalid: ${syntax.join('; ')}`, {
      evidence: ev, detail: 'Receivers fetch the logo and the certificate over HTTPS only.', fix: `Publish ${example}.`, ref: `${DRAFT} §4.3`,
    }));
    return { findings, data };
  }

  // logo and certificate at once
  const logoUrl = l!.split(',')[0]!.trim();
  const [logo, cert] = await Promise.all([
    httpsGet(logoUrl, { dns: ctx.dns, settings, maxBytes: FETCH_MAX_BYTES, signal: ctx.signal }),
    a ? httpsGet(a, { dns: ctx.dns, settings, maxBytes: FETCH_MAX_BYTES, signal: ctx.signal }) : Promise.resolve(undefined),
  ]);
  const unknowns: string[] = [];
  const logoReport: LogoReport = { url: logoUrl, problems: [] };
  data.logo = logoReport;
  const logoEv = [...ev, fetchEvidence(logoUrl, logo)];
  if (!logo.ok) {
    if (logo.unknown) unknowns.push(`the logo could not be fetched: ${logo.error}`);
    else {
      logoReport.problems.push(logo.error);
      findings.push(f('bimi.logo-unreachable', 'error', `the BIMI logo ${logoUrl} cannot be fetched: ${logo.error}`, {
        evidence: logoEv, fix: `Serve the SVG at ${logoUrl} over HTTPS with a certificate from a public CA.`, ref: `${DRAFT} §7.3`,
      }));
    }
  } else if (logo.status !== 200) {
    logoReport.problems.push(`HTTP ${logo.status}`);
    findings.push(f('bimi.logo-unreachable', 'error', `the BIMI logo ${logoUrl} answered HTTP ${logo.status}`, {
      evidence: logoEv, fix: `Serve the SVG itself at ${logoUrl} with status 200 (receivers may not follow redirects).`, ref: `${DRAFT} §7.3`,
    }));
  } else {
    logoReport.bytes = logo.body.length;
    logoReport.mediaType = logo.mediaType;
    try {
      validateSvg(logo.body);
      logoReport.svgTinyPs = true;
    } catch (e) {
      const err = e as Error & { code?: string; details?: { element?: string; link?: string } };
      logoReport.svgTinyPs = false;
      const why = `${err.message}${err.details?.element ? ` (<${err.details.element}>${err.details.link ? ` → ${err.details.link}` : ''})` : ''}`;
      logoReport.problems.push(why);
      findings.push(f('bimi.logo-invalid', 'error', `the BIMI logo ${logoUrl} is not a valid SVG Tiny PS file: ${why}`, {
        evidence: logoEv,
        detail: 'SVG Tiny PS: root <svg version="1.2" baseProfile="tiny-ps"> with a <title>, no x/y on the root, no scripts, animation or external references.',
        fix: 'Export the logo as SVG Tiny PS (the BIMI Group publishes conversion tools and templates) and serve it in place.',
        ref: `${DRAFT} §5.2; https://bimigroup.org/creating-bimi-svg-logo-files/`,
      }));
    }
    const warnings = logoWarnings(logo.body, logo.mediaType);
    if (warnings.length) {
      logoReport.problems.push(...warnings);
      if (logoReport.svgTinyPs) logoReport.square = !warnings.some((w) => w.includes('square'));
      findings.push(f('bimi.logo-invalid', 'warn', `the BIMI logo ${logoUrl} may be refused: ${warnings.join('; ')}`, {
        evidence: logoEv, fix: 'Serve a square SVG Tiny PS logo of at most 32 KB as image/svg+xml.', ref: `${GMAIL_BIMI}; https://bimigroup.org/creating-bimi-svg-logo-files/`,
      }));
    } else if (logoReport.svgTinyPs) logoReport.square = true;
  }

  if (!cert) {
    findings.push(f('bimi.no-certificate', 'warn', `the BIMI record has no a= mark certificate: Gmail and Apple Mail show no logo without a VMC or CMC`, {
      evidence: ev, detail: 'Some providers (Yahoo, Fastmail) show self-asserted logos; Gmail and Apple Mail require a Verified Mark Certificate or Common Mark Certificate.',
      fix: `Get a VMC or CMC for the logo from a mark verifying authority (e.g. DigiCert, Entrust, GlobalSign, SSL.com), host the PEM over HTTPS and add a=https://…/vmc.pem to the record.`,
      ref: `${DRAFT} §4.3; ${GMAIL_BIMI}`,
    }));
  } else {
    const certEv = [...ev, fetchEvidence(a!, cert)];
    let problems: string[] = [];
    if (!cert.ok) {
      if (cert.unknown) unknowns.push(`the mark certificate could not be fetched: ${cert.error}`);
      else problems = [cert.error];
    } else if (cert.status !== 200) problems = [`HTTP ${cert.status}`];
    else {
      const c = certificateProblems(cert.body, [...new Set([domain, recordDomain])]);
      problems = c.problems;
      data.certificate = { url: a, names: c.names, ...(c.subject ? { subject: c.subject } : {}), ...(c.validTo ? { validTo: c.validTo } : {}) };
    }
    if (problems.length) {
      findings.push(f('bimi.certificate-invalid', 'warn', `the BIMI mark certificate ${a} is not usable: ${problems.join('; ')}`, {
        evidence: certEv, detail: 'Only the basics are checked here (reachable, a current certificate naming the domain); the issuer chain and the logo hash inside the certificate are not.',
        fix: `Serve the full PEM chain of a current VMC/CMC for ${domain} at ${a}.`, ref: `${DRAFT} §4.3, §7.4`,
      }));
    }
  }

  if (dmarc.enforced === false) {
    findings.push(f('bimi.dmarc-not-enforced', 'warn', `DMARC is not at enforcement for ${domain}, so no provider will show the BIMI logo: ${dmarc.reasons.join('; ')}`, {
      evidence: [...ev, ...dmarc.records.map((r) => ({ query: `_dmarc.${r.domain}`, type: 'TXT', answers: [r.record] }))],
      detail: 'BIMI requires p=quarantine or p=reject, no sp=none, no t=y and (where the historic pct= is still used) pct=100, at both the author domain and its organizational domain.',
      fix: `Move DMARC to enforcement once reports show your mail passes: e.g. _dmarc.${dmarc.records[0]?.domain ?? domain}. TXT "v=DMARC1; p=quarantine; rua=mailto:dmarc@${domain}" (remove sp=none, t=y and pct).`,
      ref: `${DRAFT} §7.1 (steps 7-9); RFC 9989`,
    }));
  } else if (dmarc.enforced === null) unknowns.push(dmarc.error ?? 'the DMARC policy could not be determined');

  if (unknowns.length && !findings.some((x) => x.severity === 'error')) {
    return { status: 'unknown', reason: unknowns.join('; '), findings, data };
  }
  if (!findings.some((x) => x.severity === 'error' || x.severity === 'warn')) {
    findings.push(f('bimi.ok', 'pass', `BIMI logo ${logoUrl} is SVG Tiny PS, with a mark certificate, and DMARC is enforced`, { evidence: ev }));
  }
  return { findings, data };
}

const check: Check<HttpsSettings> = {
  findings: BIMI_FINDINGS,
  docs: 'docs/checks/bimi.md',
  id: 'bimi',
  title: 'BIMI',
  needs: ['dns', 'https'],
  cliOptions: { ...httpsCliOptions },
  parse: httpsSettings,
  run,
};
export default check;
