// The generic detail blocks (list, table, grid, tree) every renderer draws: laid
// out once, styled per front end. In-process, through the library's renderers.
import { describe, expect, it } from 'vitest';
import { drawDetails, layoutDetails, lineTone, plain, width } from '../../src/report/details.ts';
import { makeStyle } from '../../src/report/style.ts';
import type { Detail } from '../../src/types.ts';

const plainStyle = makeStyle(false);
const colour = makeStyle(true);

describe('detail blocks', () => {
  it('a table aligns its columns by display width (wide and combining characters included), the last column unpadded', () => {
    const d: Detail = { kind: 'table', columns: ['seed', 'placement', 'time'], align: ['left', 'left', 'right'], rows: [['a@x', 'inbox', '3 s'], ['受信@例え', [{ text: 'spam', tone: 'bad' }], '12 s'], ['e\u0301@x', 'tab:promotions', '']] };
    const lines = drawDetails([d], plainStyle);
    expect(lines[0]).toBe('seed       placement       time');
    expect(lines[1]).toBe('a@x        inbox            3 s');
    // 受信@例え is 9 columns wide: two blanks after it make the 11 of the column
    expect(lines[2]).toBe('受信@例え  spam            12 s');
    expect(lines[3]).toBe('e\u0301@x        tab:promotions      ');
    expect(width('受信@例え')).toBe(9);
    expect(width('e\u0301')).toBe(1);
  });

  it('a grid is ruled, its cells padded to the widest in the column', () => {
    const lines = drawDetails([{ kind: 'grid', title: 'IPs', columns: ['zone', '192.0.2.1'], rows: [['zen', [{ text: 'LISTED', tone: 'alarm' }]], ['spamcop', 'ok']], note: 'legend' }], plainStyle);
    expect(lines).toEqual([
      'IPs',
      '┌─────────┬───────────┐',
      '│ zone    │ 192.0.2.1 │',
      '├─────────┼───────────┤',
      '│ zen     │ LISTED    │',
      '│ spamcop │ ok        │',
      '└─────────┴───────────┘',
      'legend',
    ]);
  });

  it('a tree draws branches, continuation lines under a node, and nesting', () => {
    const lines = drawDetails([{ kind: 'tree', root: { label: 'root', lines: ['"v=spf1 …"'], children: [{ label: 'include:a', lines: ['"rec a"'], children: [{ label: 'ip4:1' }] }, { label: 'mx' }] } }], plainStyle);
    expect(lines).toEqual(['root', '"v=spf1 …"', '├─ include:a', '│  "rec a"', '│  └─ ip4:1', '└─ mx']);
  });

  it('tones become colours only when the style has colour, and a line reads with its most serious tone', () => {
    const d: Detail = { kind: 'list', items: [[{ text: 'ok ', tone: 'good' }, { text: 'listed', tone: 'bad' }, { text: ' (note)', tone: 'muted' }]] };
    expect(drawDetails([d], plainStyle)).toEqual(['ok listed (note)']);
    const [c] = drawDetails([d], colour);
    expect(c).toContain('\x1b[31mlisted');
    expect(c).toContain('\x1b[32mok ');
    const [l] = layoutDetails([d]);
    expect(lineTone(l!)).toBe('bad');
    expect(plain(l)).toBe('ok listed (note)');
  });

  it('an empty table or grid draws nothing but its title', () => {
    expect(drawDetails([{ kind: 'table', title: 'none', columns: ['a'], rows: [] }, { kind: 'grid', columns: ['a'], rows: [] }], plainStyle)).toEqual(['none']);
  });
});

describe('bars', () => {
  it('stack parts in glyphs that read without colour, add up to the whole bar, and share one scale when given', () => {
    const lines = drawDetails([{
      kind: 'bars',
      rows: [
        { label: 'gmail', parts: [{ name: 'inbox', value: 1, tone: 'good' }, { name: 'tab', value: 1, tone: 'info' }, { name: 'spam', value: 1, tone: 'bad' }] },
        { label: 'outlook', parts: [{ name: 'inbox', value: 4, tone: 'good' }, { name: 'tab', value: 0 }, { name: 'spam', value: 0 }] },
      ],
    }], plainStyle);
    expect(lines[0]).toBe(`gmail    ${'█'.repeat(10)}${'▓'.repeat(10)}${'▒'.repeat(10)}  inbox 33% · tab 33% · spam 33%`);
    expect(lines[1]).toBe(`outlook  ${'█'.repeat(30)}  inbox 100%`);
    expect(lines[2]).toBe('█ inbox  ▓ tab  ▒ spam');
    const hist = drawDetails([{ kind: 'bars', legend: false, rows: [{ label: 'a', of: 4, parts: [{ name: 'n', value: 4 }], text: '4' }, { label: 'b', of: 4, parts: [{ name: 'n', value: 1 }], text: '1' }] }], plainStyle);
    expect(hist).toEqual([`a  ${'█'.repeat(30)}  4`, `b  ${'█'.repeat(8)}${' '.repeat(22)}  1`]);
  });
});

describe('the before/after picture', () => {
  it('draws each provider\'s inbox rate before and after on one scale', async () => {
    const { placementDeltaBars } = await import('../../src/report/diff-text.ts');
    const lines = drawDetails([placementDeltaBars({ providers: [{ provider: 'gmail', before: 1, after: 0.5, delta: -0.5 }, { provider: 'yahoo', before: null, after: 0, delta: null }], overallBefore: 1, overallAfter: 0.4, medianMsBefore: null, medianMsAfter: null })], plainStyle);
    expect(lines).toEqual([
      `gmail before  ${'█'.repeat(30)}  100%`,
      `gmail after   ${'█'.repeat(15)}${' '.repeat(15)}  50%`,
      `yahoo before  ${' '.repeat(30)}  —`,
      `yahoo after   ${' '.repeat(30)}  0%`,
    ]);
  });
});
