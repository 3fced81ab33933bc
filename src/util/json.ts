// JSON.stringify(value, null, 2), the same text, faster for a document that
// holds long arrays (`reports show --json`: 20,000 sources, 18 MB). V8 builds
// the text of one call as a rope of many small pieces, and flattening that rope
// for the write cost as much again as building it (bench/reports.ts). Here a
// long array's elements are stringified a slice at a time, each slice at the
// depth it has in the document (wrapped in as many arrays), and the pieces are
// written one after the other.

/** Arrays longer than this are stringified a slice at a time. */
const LONG = 256;
const SLICE = 1024;

/** The value with each long array replaced by a marker (objects along the way copied, keys in order). */
function swap(v: unknown, long: unknown[][], mark: string, depth: number): unknown {
  if (v === null || typeof v !== 'object' || depth > 6 || typeof (v as { toJSON?: unknown }).toJSON === 'function') return v;
  if (Array.isArray(v)) {
    if (v.length > LONG) {
      long.push(v);
      return [`${mark}${long.length - 1}`];
    }
    return v.map((x) => swap(x, long, mark, depth + 1));
  }
  const o: Record<string, unknown> = {};
  for (const k of Object.keys(v)) o[k] = swap((v as Record<string, unknown>)[k], long, mark, depth + 1);
  return o;
}

/** Elements of `items` as JSON.stringify(…, null, 2) writes them at nesting `level` (their indent: 2 × level spaces), joined by ",\n". */
function elementsAt(items: unknown[], level: number): string | undefined {
  let open = '';
  let close = '';
  for (let j = 0; j < level; j++) {
    open += `${' '.repeat(2 * j)}[\n`;
    close = `\n${' '.repeat(2 * j)}]${close}`;
  }
  let wrapped: unknown = items;
  for (let j = 1; j < level; j++) wrapped = [wrapped];
  const text = JSON.stringify(wrapped, null, 2);
  if (!text.startsWith(open) || !text.endsWith(close)) return undefined;
  return text.slice(open.length, text.length - close.length);
}

/** Exactly JSON.stringify(value, null, 2), for JSON data (plain objects and arrays, strings, numbers, booleans, null). */
export function prettyJson(value: unknown): string {
  return prettyJsonParts(value).join('');
}

/** The same text in pieces of at most a few hundred KB, to write one after the other. */
export function prettyJsonParts(value: unknown): string[] {
  const long: unknown[][] = [];
  // a marker no string of the data holds: a NUL (written \u0000 in JSON) and a nonce
  const nonce = Math.random().toString(36).slice(2, 10);
  const swapped = swap(value, long, `\u0000inboxlens-${nonce}-`, 0);
  if (!long.length) return [JSON.stringify(value, null, 2)];
  const text = JSON.stringify(swapped, null, 2);
  const parts: string[] = [];
  let at = 0;
  let next = 0;
  // each marker stands alone on its line, in the order the arrays were met: `<indent>"\u0000inboxlens-NONCE-N"`
  const re = new RegExp(`\\n( *)"\\\\u0000inboxlens-${nonce}-(\\d+)"\\n`, 'g');
  for (let m = re.exec(text); m; m = re.exec(text)) {
    if (Number(m[2]) !== next++) return [JSON.stringify(value, null, 2)];
    const items = long[Number(m[2])]!;
    const level = m[1]!.length / 2;
    parts.push(text.slice(at, m.index + 1));
    for (let i = 0; i < items.length; i += SLICE) {
      const el = elementsAt(items.slice(i, i + SLICE), level);
      if (el === undefined) return [JSON.stringify(value, null, 2)];
      if (i) parts.push(',\n');
      parts.push(el);
    }
    parts.push('\n');
    at = m.index + m[0].length;
  }
  if (next !== long.length) return [JSON.stringify(value, null, 2)];
  parts.push(text.slice(at));
  return parts;
}
