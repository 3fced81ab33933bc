// What a recipient sees in an HTML body: its anchors (target and visible text),
// its images, and its visible text. htmlparser2 does the tokenising (entities,
// broken markup); this only keeps the parts the content check judges.
import { Parser } from 'htmlparser2';

export interface HtmlAnchor {
  href: string;
  /** visible text of the anchor, whitespace collapsed; the alt text of an image inside it when there is no text */
  text: string;
}

export interface HtmlImage {
  src: string;
  alt: string;
  width?: number;
  height?: number;
  /** 1×1 / 2×2 tracking pixels: not content, not counted as images */
  pixel: boolean;
}

export interface HtmlInfo {
  anchors: HtmlAnchor[];
  images: HtmlImage[];
  /** the text a reader sees, whitespace collapsed (no <head>, <style>, <script>) */
  visibleText: string;
  /** set when the HTML hit a bound and only its start was analysed */
  limited?: HtmlLimit;
}

export interface HtmlLimit {
  reason: 'depth' | 'elements' | 'time';
  /** what was hit, in words: "elements nested more than 500 deep" */
  detail: string;
  /** how much of the HTML was analysed (UTF-16 code units ≈ characters) */
  analysedChars: number;
  totalChars: number;
}

/**
 * Bounds per message. Real mail nests tables a few dozen deep and has a few
 * thousand elements; htmlparser2's close-tag handling is quadratic in the
 * nesting depth (320,000 nested <div> took 141 s), so the HTML is fed in
 * chunks and analysis stops at the first bound, saying so (HtmlInfo.limited).
 */
export const HTML_LIMITS = { maxDepth: 500, maxElements: 200_000, maxMs: 3_000, chunkChars: 16 * 1024 };

// elements whose text is never shown to the reader
const INVISIBLE = new Set(['head', 'title', 'style', 'script', 'template', 'noscript', 'xml']);
// block-level elements: their boundaries separate words
const BLOCK = new Set(['p', 'div', 'br', 'tr', 'td', 'th', 'li', 'table', 'h1', 'h2', 'h3', 'h4', 'h5', 'h6', 'section', 'article', 'header', 'footer', 'center', 'blockquote', 'hr']);

function collapse(s: string): string {
  return s.replace(/\s+/g, ' ').trim();
}

function dimension(v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const m = /^\s*(\d+(?:\.\d+)?)\s*(px)?\s*$/i.exec(v);
  return m ? Number(m[1]) : undefined;
}

/** width/height from attributes, or from an inline style when the attributes are absent */
function sizeOf(attrs: Record<string, string>): { width?: number; height?: number } {
  const style = attrs.style ?? '';
  const fromStyle = (prop: string) => {
    const m = new RegExp(`(?:^|;)\\s*${prop}\\s*:\\s*([^;]+)`, 'i').exec(style);
    return m ? dimension(m[1]) : undefined;
  };
  return { width: dimension(attrs.width) ?? fromStyle('width'), height: dimension(attrs.height) ?? fromStyle('height') };
}

export function analyzeHtml(html: string, limits = HTML_LIMITS): HtmlInfo {
  const anchors: HtmlAnchor[] = [];
  let depth = 0;
  let maxDepthSeen = 0;
  let elements = 0;
  const images: HtmlImage[] = [];
  const text: string[] = [];
  let invisible = 0;
  // anchors do not nest in valid HTML; a stack still copes with broken markup
  const open: { href: string; text: string[]; alts: string[] }[] = [];

  const parser = new Parser(
    {
      onopentag(name, attrs) {
        elements++;
        if (++depth > maxDepthSeen) maxDepthSeen = depth;
        if (INVISIBLE.has(name)) invisible++;
        if (BLOCK.has(name)) text.push(' ');
        if ((name === 'a' || name === 'area') && attrs.href !== undefined) {
          if (name === 'area') anchors.push({ href: attrs.href.trim(), text: collapse(attrs.alt ?? '') });
          else open.push({ href: attrs.href.trim(), text: [], alts: [] });
        }
        if (name === 'img' && !invisible) {
          const { width, height } = sizeOf(attrs);
          const pixel = (width !== undefined && width <= 2) || (height !== undefined && height <= 2);
          images.push({ src: (attrs.src ?? '').trim(), alt: attrs.alt ?? '', ...(width !== undefined ? { width } : {}), ...(height !== undefined ? { height } : {}), pixel });
          if (attrs.alt) open.at(-1)?.alts.push(attrs.alt);
        }
      },
      ontext(data) {
        if (invisible) return;
        text.push(data);
        open.at(-1)?.text.push(data);
      },
      onclosetag(name) {
        if (depth > 0) depth--;
        if (INVISIBLE.has(name) && invisible > 0) invisible--;
        if (BLOCK.has(name)) text.push(' ');
        if (name === 'a') {
          const a = open.pop();
          if (a) anchors.push({ href: a.href, text: collapse(a.text.join('')) || collapse(a.alts.join(' ')) });
        }
      },
    },
    { decodeEntities: true, lowerCaseTags: true, lowerCaseAttributeNames: true },
  );
  const t0 = performance.now();
  let limited: HtmlLimit | undefined;
  let at = 0;
  while (at < html.length) {
    const end = Math.min(html.length, at + limits.chunkChars);
    parser.write(html.slice(at, end));
    at = end;
    if (at >= html.length) break;
    const ms = performance.now() - t0;
    const stop: Pick<HtmlLimit, 'reason' | 'detail'> | undefined =
      maxDepthSeen > limits.maxDepth ? { reason: 'depth', detail: `elements nested more than ${limits.maxDepth} deep` }
      : elements > limits.maxElements ? { reason: 'elements', detail: `more than ${limits.maxElements} elements` }
      : ms > limits.maxMs ? { reason: 'time', detail: `more than ${limits.maxMs / 1000} s of parsing` }
      : undefined;
    if (stop) {
      limited = { ...stop, analysedChars: at, totalChars: html.length };
      break;
    }
  }
  // the elements still open are not closed one by one (that is the quadratic part); what was seen is kept
  if (!limited) parser.end();
  // anchors left open at the end of a truncated body still count
  for (const a of open.reverse()) anchors.push({ href: a.href, text: collapse(a.text.join('')) || collapse(a.alts.join(' ')) });
  return { anchors, images, visibleText: collapse(text.join('')), ...(limited ? { limited } : {}) };
}
