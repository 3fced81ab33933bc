// Properties of the content parsers on arbitrary input (fast-check, bounded
// runs): they never throw, and what they return keeps its invariants.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { analyzeHtml } from '../../src/content/html.ts';
import { linksFromBodies, toLink } from '../../src/content/links.ts';
import { parseMessage } from '../../src/content/parse.ts';
import { structureFindings } from '../../src/content/structure.ts';
import { parseReportRules, parseSpamHeader } from '../../src/content/spamd.ts';
import { ratingOf } from '../../src/content/analyze.ts';

const tag = fc.constantFrom('a', 'img', 'p', 'div', 'style', 'script', 'head', 'td', 'br', 'area', 'span');
const attr = fc.tuple(fc.constantFrom('href', 'src', 'alt', 'width', 'height', 'style'), fc.oneof(
  fc.constantFrom('https://shop.example/x', 'http://192.0.2.1/', '//cdn.example/a.png', 'mailto:a@b.example', 'javascript:x', '#top', '1', '0px', 'width: 1px', 'www.bank.example'),
  fc.string({ maxLength: 20 }),
));
const htmlish = fc.array(fc.oneof(
  fc.string({ maxLength: 30 }),
  fc.tuple(tag, fc.array(attr, { maxLength: 3 })).map(([t, as]) => `<${t} ${as.map(([k, v]) => `${k}="${v.replace(/"/g, '&quot;')}"`).join(' ')}>`),
  tag.map((t) => `</${t}>`),
), { maxLength: 40 }).map((parts) => parts.join(''));

describe('content parsers on arbitrary input', () => {
  it('analyzeHtml never throws; every image/anchor it reports came from the markup', () => {
    fc.assert(fc.property(htmlish, (html) => {
      const info = analyzeHtml(html);
      for (const a of info.anchors) expect(typeof a.href).toBe('string');
      for (const i of info.images) expect(i.pixel).toBe((i.width !== undefined && i.width <= 2) || (i.height !== undefined && i.height <= 2));
      expect(info.visibleText).toBe(info.visibleText.trim());
    }), { numRuns: 300 });
  });
  it('links are only http(s), with a host, and IPs never get a registrable domain', () => {
    fc.assert(fc.property(htmlish, fc.string({ maxLength: 200 }), (html, text) => {
      for (const l of linksFromBodies({ html, text })) {
        expect(/^https?:\/\//.test(l.url)).toBe(true);
        expect(l.domain.length).toBeGreaterThan(0);
        if (l.ip) expect(l.registrableDomain).toBeNull();
      }
    }), { numRuns: 300 });
  });
  it('toLink accepts exactly the http(s) URLs', () => {
    fc.assert(fc.property(fc.webUrl({ validSchemes: ['http', 'https', 'ftp', 'mailto'] }), (u) => {
      const l = toLink(u, '', 'anchor');
      if (/^https?:/.test(u)) expect(l?.url).toBe(new URL(u).href);
      else expect(l).toBeNull();
    }), { numRuns: 300 });
  });
  it('any byte string parses as a message and is judged without throwing', async () => {
    await fc.assert(fc.asyncProperty(
      fc.oneof(
        fc.uint8Array({ maxLength: 400 }).map((b) => Buffer.from(b)),
        fc.tuple(fc.array(fc.tuple(fc.constantFrom('From', 'Date', 'To', 'Subject', 'Message-ID', 'List-Unsubscribe', 'List-Unsubscribe-Post', 'Content-Type'), fc.string({ maxLength: 40 })), { maxLength: 8 }), htmlish)
          .map(([hs, body]) => Buffer.from(`${hs.map(([k, v]) => `${k}: ${v.replace(/[\r\n]/g, ' ')}`).join('\r\n')}\r\n\r\n${body}`)),
      ),
      async (raw) => {
        const msg = await parseMessage(raw);
        const { findings, data } = structureFindings(msg);
        for (const f of findings) expect(f.code.startsWith('content.')).toBe(true);
        expect(data.sizeBytes).toBe(raw.length);
        // From and Date are required: a message lacking one is always told so
        if (!msg.headers.some((h) => h.name === 'from')) expect(findings.map((f) => f.code)).toContain('content.missing-from');
        if (!msg.headers.some((h) => h.name === 'date')) expect(findings.map((f) => f.code)).toContain('content.missing-date');
      },
    ), { numRuns: 150 });
  });
  it('spamd answers that are not a report give no rules and no verdict, never a throw', () => {
    fc.assert(fc.property(fc.string({ maxLength: 300 }), (s) => {
      expect(Array.isArray(parseReportRules(s))).toBe(true);
      const v = parseSpamHeader(s);
      if (v) expect(Number.isFinite(v.score) && Number.isFinite(v.threshold)).toBe(true);
    }), { numRuns: 300 });
  });
  it('the rating stays within 0..10 and never rises with the score', () => {
    fc.assert(fc.property(fc.double({ min: -50, max: 2000, noNaN: true }), fc.double({ min: -50, max: 2000, noNaN: true }), fc.double({ min: 0.5, max: 20, noNaN: true }), (a, b, t) => {
      const ra = ratingOf(a, t)!;
      const rb = ratingOf(b, t)!;
      expect(ra).toBeGreaterThanOrEqual(0);
      expect(ra).toBeLessThanOrEqual(10);
      if (a <= b) expect(ra).toBeGreaterThanOrEqual(rb);
    }), { numRuns: 300 });
  });
});
