// prettyJson / prettyJsonParts write exactly what JSON.stringify(v, null, 2)
// writes: for arbitrary JSON values (fast-check), with long arrays at every
// depth — top level, in objects, in arrays, inside the elements of long arrays —
// and with strings that look like the markers it uses.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { prettyJson, prettyJsonParts } from '../../src/util/json.ts';

const same = (v: unknown) => {
  expect(prettyJson(v)).toBe(JSON.stringify(v, null, 2));
  expect(prettyJsonParts(v).join('')).toBe(JSON.stringify(v, null, 2));
};

/** JSON values, 3 levels deep at most, in which arrays are often long (past the 256 elements written a slice at a time). */
const longArray = fc.array(fc.jsonValue({ maxDepth: 1 }), { minLength: 250, maxLength: 700 });
const withLongArrays = fc.letrec((tie) => ({
  node: fc.oneof(
    { maxDepth: 3, depthIdentifier: 'tree' },
    fc.jsonValue({ maxDepth: 1 }),
    longArray,
    fc.array(tie('node'), { maxLength: 3, depthIdentifier: 'tree' }),
    fc.dictionary(fc.string({ maxLength: 5 }), tie('node'), { maxKeys: 3, depthIdentifier: 'tree' }),
  ),
}));

describe('prettyJson', () => {
  it('is JSON.stringify(v, null, 2) for arbitrary JSON values', () => {
    fc.assert(fc.property(fc.jsonValue(), (v) => same(v)), { numRuns: 300, seed: 1307 });
  });

  it('is JSON.stringify(v, null, 2) with long arrays at any depth', () => {
    fc.assert(fc.property(withLongArrays.node, (v) => same(v)), { numRuns: 100, seed: 1308 });
  });

  it('long arrays at the top, in objects, in arrays, in long arrays, empty neighbours', () => {
    const row = (i: number) => ({ ip: `192.0.2.${i % 256}`, n: i, rate: i / 7, none: null, list: [i, 'a', true], nested: { deep: [[i]], empty: {}, e: [] } });
    const rows = Array.from({ length: 3000 }, (_, i) => row(i));
    same(rows);
    same({ a: { b: { c: rows } }, empty: [], after: 1 });
    same([[rows, rows.slice(0, 300)], []]);
    same({ outer: Array.from({ length: 260 }, (_, i) => ({ inner: Array.from({ length: 270 }, (_, j) => i * j) })) });
    same({ skipped: undefined, fn: () => 1, list: Array.from({ length: 600 }, (_, i) => (i % 3 ? undefined : i)) });
  });

  it('a string that looks like a marker is data', () => {
    const long = Array.from({ length: 500 }, (_, i) => i);
    same({ a: ['\u0000inboxlens-abc-0'], b: long, c: ['\u0000inboxlens-long-array\u00000', '\\u0000inboxlens-x-1'] });
  });

  it('gives pieces of bounded size for a long array', () => {
    const rows = Array.from({ length: 20_000 }, (_, i) => ({ ip: `10.0.${i >> 8}.${i & 255}`, messages: i }));
    const parts = prettyJsonParts({ sources: rows });
    expect(parts.length).toBeGreaterThan(10);
    expect(Math.max(...parts.map((p) => p.length))).toBeLessThan(200_000);
    expect(parts.join('')).toBe(JSON.stringify({ sources: rows }, null, 2));
  });
});
