// The links of a message: every http(s) target in the HTML (anchors, images)
// and the plain text, with the host, its registrable domain (PSL) or IP. The
// content check judges them; the blacklist check looks their domains up in
// domain blocklists (`extractLinks()` is its entry point).
import { createRequire } from 'node:module';
import net from 'node:net';
import type { ParsedMail } from 'mailparser';
import { registrableDomain } from '../dns/orgdomain.ts';
import { analyzeHtml } from './html.ts';
import { parseMessage, type LoadedMessage } from './parse.ts';

export interface Link {
  url: string;
  /** the host, lower case (an IP address for IP links, without brackets) */
  domain: string;
  /** PSL registrable domain; null for IPs and public suffixes */
  registrableDomain: string | null;
  /** what the reader sees: the anchor's text (or its image's alt); in plain text, the line holding the URL */
  text: string;
  /** set when the host is an IP address */
  ip?: string;
  /** anchor: <a>/<area> in HTML; image: <img src>; text: a URL in the text/plain part */
  kind: 'anchor' | 'image' | 'text';
}

interface LinkifyMatch { schema: string; index: number; lastIndex: number; raw: string; text: string; url: string }
interface Linkify { match(text: string): LinkifyMatch[] | null; tlds(list: string[], keepOld: boolean): Linkify }

const require = createRequire(import.meta.url);
const LinkifyIt = require('linkify-it') as new () => Linkify;
// linkify-it finds URLs and bare domains ("www.example.com") in text; the RFC 2606
// reserved TLDs are added so documentation and lab domains are found too
export const linkify: Linkify = new LinkifyIt().tlds(['example', 'test', 'invalid', 'localhost'], true);

/** Parse an href into a Link; null for what is not an http(s) link (mailto:, cid:, #anchor, data:, garbage). */
export function toLink(href: string, text: string, kind: Link['kind']): Link | null {
  let u: URL;
  const h = href.trim();
  try {
    // protocol-relative links (//host/path) open as https in every current client
    u = new URL(h.startsWith('//') ? `https:${h}` : h);
  } catch {
    return null;
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') return null;
  const host = u.hostname.replace(/^\[|\]$/g, '').replace(/\.$/, '').toLowerCase();
  if (!host) return null;
  const ip = net.isIP(host) ? host : undefined;
  return { url: u.href, domain: host, registrableDomain: ip ? null : registrableDomain(host), text, ...(ip ? { ip } : {}), kind };
}

/** Links of already-decoded bodies. */
export function linksFromBodies(bodies: { html?: string | false; text?: string | false }): Link[] {
  const links: Link[] = [];
  if (bodies.html) {
    const info = analyzeHtml(bodies.html);
    for (const a of info.anchors) {
      const l = toLink(a.href, a.text, 'anchor');
      if (l) links.push(l);
    }
    for (const img of info.images) {
      const l = toLink(img.src, img.alt, 'image');
      if (l) links.push(l);
    }
  }
  if (bodies.text) {
    for (const m of linkify.match(bodies.text) ?? []) {
      if (m.schema === 'mailto:') continue;
      // in plain text the reader sees the line around the URL ("Unsubscribe: https://…")
      const start = bodies.text.lastIndexOf('\n', m.index) + 1;
      const end = bodies.text.indexOf('\n', m.lastIndex);
      const line = bodies.text.slice(start, end === -1 ? undefined : end).trim();
      const l = toLink(m.url, line.length > 200 ? m.raw : line, 'text');
      if (l) links.push(l);
    }
  }
  return links;
}

/**
 * Every http(s) link of a message: from the raw message (Buffer or string), a
 * mailparser result, or a message already loaded by src/content/parse.ts.
 */
export async function extractLinks(input: Buffer | string | ParsedMail | LoadedMessage): Promise<Link[]> {
  if (typeof input === 'string' || Buffer.isBuffer(input)) {
    const msg = await parseMessage(Buffer.isBuffer(input) ? input : Buffer.from(input));
    return linksFromBodies({ html: msg.html, text: msg.text });
  }
  if ('raw' in input && 'parsed' in input) return linksFromBodies({ html: input.html, text: input.text });
  // a ParsedMail: its `text` may have been generated from the HTML, which only repeats the anchors
  return linksFromBodies({ html: input.html, text: input.text });
}

/** The distinct registrable domains and IPs the links point at (what blocklists are asked about). */
export function linkTargets(links: Link[]): { domains: string[]; ips: string[] } {
  const domains = new Set<string>();
  const ips = new Set<string>();
  for (const l of links) {
    if (l.ip) ips.add(l.ip);
    else if (l.registrableDomain) domains.add(l.registrableDomain);
  }
  return { domains: [...domains].sort(), ips: [...ips].sort() };
}
