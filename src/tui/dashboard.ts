// The full-screen terminal dashboard (blessed), fed live by the engine's result
// stream. Only used on a TTY with a capable TERM; everything else gets plain text.
import { createRequire } from 'node:module';
import type { Detail, EngineEvent, Finding } from '../types.ts';
import { applyEvent, authLines, blacklistLines, detailPanelLines, extraLines, findingList, newModel, placementLines, progressText, verdict, type CheckViews, type DashboardModel, type PanelLine } from './model.ts';
import { redact } from '../util/redact.ts';
import { width as displayWidth } from '../report/details.ts';

const require = createRequire(import.meta.url);
// blessed is loaded when a dashboard opens, not when a command that might show one starts
let blessedLib: any;
const loadBlessed = (): any => (blessedLib ??= require('blessed'));

export function canUseDashboard(stream: NodeJS.WriteStream = process.stdout, env = process.env): boolean {
  return Boolean(stream.isTTY) && Boolean(env.TERM) && env.TERM !== 'dumb';
}

export interface DashboardHandle {
  model: DashboardModel;
  onEvent(ev: EngineEvent): void;
  /** a fresh run started (after `r`) */
  reset(): void;
  finished(info: { runId?: string; label?: string; note?: string; diffText?: string }): void;
  log(line: string): void;
  /** the extra panel's blocks (kept across re-runs) */
  setExtra(details: Detail[]): void;
  /** resolves when the user quits */
  closed: Promise<void>;
  destroy(): void;
}

export interface DashboardOptions {
  target: string;
  title?: string;
  onRerun?: () => void;
  /** write the last run's JSON report to this path; resolves with the path written */
  onExport?: (file: string) => Promise<string>;
  /** the path `e` suggests (or writes to at once when exportDir is set) */
  exportPath?: () => string;
  /** --export-dir was given: `e` writes there without asking */
  exportDir?: string;
  /** the checks' details and headlines, for drawing their panels */
  views?: CheckViews;
  /** one more full-width panel under Placement, drawn from generic detail blocks the caller sets (handle.setExtra) */
  extraPanel?: { label: string; placeholder: string };
}

function esc(s: string): string {
  return loadBlessed().escape(redact(s));
}

/** Cut text to `width` display columns (wide characters count two), ending in … when cut. */
function fit(text: string, width: number): string {
  if (displayWidth(text) <= width) return text;
  let out = '';
  let w = 0;
  for (const ch of text) {
    const cw = displayWidth(ch);
    if (w + cw > width - 1) break;
    out += ch;
    w += cw;
  }
  return `${out}…`;
}

/** Wrap at word boundaries to `width` columns; a word longer than a line is cut across lines. */
export function wordWrap(text: string, width: number): string[] {
  const out: string[] = [];
  for (const para of text.split('\n')) {
    let line = '';
    for (const word of para.split(/ +/)) {
      const candidate = line ? `${line} ${word}` : word;
      if (displayWidth(candidate) <= width) {
        line = candidate;
        continue;
      }
      if (line) out.push(line);
      let rest = word;
      while (displayWidth(rest) > width) {
        let cut = '';
        for (const ch of rest) {
          if (displayWidth(cut + ch) > width) break;
          cut += ch;
        }
        out.push(cut);
        rest = rest.slice(cut.length);
      }
      line = rest;
    }
    out.push(line);
  }
  return out;
}

/**
 * One panel line, cut to the panel's inner width (long lines would wrap and push
 * the rest out of view). Muted lines use the terminal's own foreground: 8-colour
 * terminals (tmux's default TERM) draw blessed's "gray" as black, invisible on dark.
 */
function colored(l: PanelLine, width = 1000): string {
  const text = fit(l.text, width);
  return l.color && l.color !== 'gray' ? `{${l.color}-fg}${esc(text)}{/${l.color}-fg}` : esc(text);
}
function inner(box: any): number {
  return Math.max(10, Number(box.width) - 3);
}

/** Below this the panels cannot show what they are for: say so instead of drawing a mess. */
/**
 * The header in the width there is: the verdict and the run id stay, what is known
 * from the command line goes first ("placement run" at 80 columns used to push the run
 * id off the edge, so the header looked as if no run had been saved).
 */
export function headerLine(v: { status: string; color?: string }, title: string, target: string, elapsed: string, run: string, width: number): string {
  const verdict = { plain: `verdict: ${v.status.toUpperCase()}`, tagged: `verdict: {${v.color}-fg}{bold}${v.status.toUpperCase()}{/bold}{/${v.color}-fg}` };
  const forms: [string, string][][] = [
    [[`inboxlens ${title}`, `{bold}inboxlens{/bold} ${esc(title)}`], [target, esc(target)], [elapsed, elapsed], [run, esc(run)]],
    [[title, esc(title)], [target, esc(target)], [elapsed, elapsed], [run, esc(run)]],
    [[target, esc(target)], [elapsed, elapsed], [run, esc(run)]],
    [[target, esc(target)], [run, esc(run)]],
    [[run, esc(run)]],
  ];
  for (const parts of forms) {
    const plain = ` ${verdict.plain}  ${parts.map((p) => p[0]).join('   ')}`;
    if (plain.length <= width - 1 || parts.length === 1) return ` ${verdict.tagged}  ${parts.map((p) => p[1]).join('   ')}`;
  }
  return ` ${verdict.tagged}`;
}

export const MIN_COLS = 80;
export const MIN_ROWS = 20;

export function openDashboard(opts: DashboardOptions): DashboardHandle {
  const blessed = loadBlessed();
  const utf8 = /utf-?8/i.test(`${process.env.LC_ALL ?? ''} ${process.env.LC_CTYPE ?? ''} ${process.env.LANG ?? ''}`);
  // on a UTF-8 terminal draw lines with Unicode, not the VT100 alternate charset (which tmux/screen often mangle)
  if (utf8) process.env.NCURSES_NO_UTF8_ACS ??= '1';
  const screen = blessed.screen({ smartCSR: true, title: `inboxlens — ${opts.target}`, fullUnicode: true, forceUnicode: utf8, autoPadding: true, warnings: false });
  let model = newModel(opts.target);
  let resolveClosed!: () => void;
  const closed = new Promise<void>((r) => (resolveClosed = r));

  // header: the verdict first, so a narrow terminal still shows it; footer: progress, then the keys
  const header = blessed.box({ parent: screen, top: 0, left: 0, width: '100%', height: 1, tags: true, style: { fg: 'white', bg: 'blue' } });
  const panel = (label: string, pos: Record<string, string | number>) =>
    blessed.box({ parent: screen, label: ` ${label} `, ...pos, border: 'line', tags: true, scrollable: true, alwaysScroll: true, style: { border: {}, focus: { border: { fg: 'cyan' } } } });
  // with an extra panel it goes full width under Placement (its bars need the width); render() sizes the rows in lines
  const ex = opts.extraPanel;
  const L = { top: '40%-1', place: ['40%', '25%'], extra: ['65%', '5'], bottom: ['65%', '35%-2'] };
  const auth = panel('Authentication', { top: 1, left: 0, width: '50%', height: L.top });
  const bl = panel('Blacklists', { top: 1, left: '50%', width: '50%', height: L.top });
  const place = panel('Placement', { top: L.place[0]!, left: 0, width: '100%', height: L.place[1]! });
  const extra = ex ? panel(ex.label, { top: L.extra[0]!, left: 0, width: '100%', height: L.extra[1]! }) : undefined;
  const findings = blessed.list({ parent: screen, label: ' Findings ', top: L.bottom[0], left: 0, width: '60%', height: L.bottom[1], border: 'line', tags: true, keys: true, vi: true, mouse: false, style: { selected: { bg: 'blue', fg: 'white' }, focus: { border: { fg: 'cyan' } } } });
  const log = blessed.log({ parent: screen, label: ' Log ', top: L.bottom[0], left: '60%', width: '40%', height: L.bottom[1], border: 'line', tags: true, scrollback: 500, scrollable: true, style: { focus: { border: { fg: 'cyan' } } } });
  const status = blessed.box({ parent: screen, bottom: 1, left: 0, width: '100%', height: 1, tags: true });
  const footer = blessed.box({ parent: screen, bottom: 0, left: 0, width: '100%', height: 1, tags: true, style: { inverse: true } });
  const tooSmall = blessed.box({ parent: screen, top: 'center', left: 'center', width: '100%', height: 3, tags: true, align: 'center', hidden: true });
  const labels = new Map<any, string>([[auth, 'Authentication'], [bl, 'Blacklists'], [place, 'Placement'], [findings, 'Findings'], [log, 'Log']]);
  if (extra) labels.set(extra, ex!.label);
  const order = [findings, auth, bl, place, ...(extra ? [extra] : []), log];
  let detail: any;
  let prompt: any;
  let diffText: string | undefined;
  let current: Finding[] = [];
  let logged = 0;

  /** Set a panel's lines; its label says how many are out of view, and how to reach them. */
  const fill = (box: any, lines: PanelLine[]) => {
    box.setContent(lines.map((l) => colored(l, inner(box))).join('\n'));
    const visible = Math.max(1, Number(box.height) - 2);
    const below = Math.max(0, lines.length - (Number(box.childBase ?? 0) + visible));
    const above = Math.max(0, Number(box.childBase ?? 0));
    const more = [above ? `${above} above` : '', below ? `+${below} more` : ''].filter(Boolean).join(', ');
    box.setLabel(` ${labels.get(box)}${more ? ` (${more}${screen.focused === box ? '' : ', Tab'})` : ''} `);
  };

  const render = () => {
    const small = Number(screen.width) < MIN_COLS || Number(screen.height) < MIN_ROWS;
    for (const b of [header, auth, bl, place, ...(extra ? [extra] : []), findings, log, status, footer]) small ? b.hide() : b.show();
    if (small) {
      tooSmall.setContent(`terminal too small (need ${MIN_COLS}×${MIN_ROWS}, have ${screen.width}×${screen.height})\nq: quit`);
      tooSmall.show();
      screen.render();
      return;
    }
    tooSmall.hide();
    if (extra) {
      // rows in whole lines, no gap or overlap from rounding percentages: the panels, the extra one its 3 lines at least
      const avail = Number(screen.height) - 3;
      const a = Math.max(4, Math.round(avail * 0.3));
      const p = Math.max(4, Math.round(avail * 0.24));
      const e = Math.max(5, Math.round(avail * 0.2));
      const b = Math.max(3, avail - a - p - e);
      auth.top = bl.top = 1;
      auth.height = bl.height = a;
      place.top = 1 + a;
      place.height = p;
      extra.top = 1 + a + p;
      extra.height = e;
      findings.top = log.top = 1 + a + p + e;
      findings.height = log.height = b;
    }
    const v = verdict(model);
    const elapsed = (((model.finishedAt ?? Date.now()) - model.startedAt) / 1000).toFixed(1);
    header.setContent(headerLine(v, opts.title ?? 'check', model.target, `${elapsed} s`, `run ${model.runId ?? '—'}${model.label ? ` (${model.label})` : ''}`, Number(screen.width)));
    fill(auth, authLines(model, opts.views));
    fill(bl, blacklistLines(model, opts.views));
    const rows = placementLines(model, opts.views);
    if (rows.length) fill(place, rows);
    else {
      const p = model.checks.get('placement');
      fill(place, [{ text: p ? `${p.status}: ${p.reason ?? 'no seeds'}` : model.running.has('placement') ? 'sending and collecting…' : 'no seeds given (--seeds FILE)' }]);
    }
    if (extra) fill(extra, extraLines(model, ex!.placeholder));
    const list = findingList(model);
    const changed = list.length !== current.length || list.some((f, i) => f !== current[i]);
    if (changed) {
      const sel = (findings as any).selected ?? 0;
      current = list;
      findings.setItems(list.map((f) => {
        const sev = f.severity.toUpperCase().padEnd(5);
        const label = f.severity === 'error' ? `{red-fg}${sev}{/red-fg}` : f.severity === 'warn' ? `{yellow-fg}${sev}{/yellow-fg}` : sev;
        return `${label} ${esc(fit(f.summary, Math.max(10, inner(findings) - 8 - f.code.length)))} [${esc(f.code)}]`;
      }));
      if (list.length) findings.select(Math.min(sel, list.length - 1));
    }
    findings.setLabel(` Findings${list.length ? ` ${Math.min(((findings as any).selected ?? 0) + 1, list.length)}/${list.length}` : ''} (Enter: detail) `);
    for (; logged < model.logs.length; logged++) log.log(esc(model.logs[logged]!));
    status.setContent(` ${esc(fit(progressText(model), Number(screen.width) - 2))}`);
    footer.setContent(` ${esc(fit('q: quit · Tab: panel · ↑↓ PgUp PgDn Home End: scroll · Enter: detail · d: what changed · r: re-run · e: export', Number(screen.width) - 2))}`);
    screen.render();
  };

  const popup = (label: string, lines: string[]) => {
    const width = Math.max(20, Math.floor(Number(screen.width) * 0.8) - 4);
    const body = lines.flatMap((l) => (l.startsWith('\u0000') ? [l.slice(1)] : wordWrap(l, width).map(esc))).join('\n');
    detail = blessed.box({ parent: screen, label: ` ${label} `, top: 'center', left: 'center', width: '80%', height: '70%', border: 'line', tags: true, scrollable: true, alwaysScroll: true, keys: true, vi: true, content: body, style: { border: { fg: 'cyan' } } });
    detail.focus();
    detail.key(['escape', 'enter', 'q'], () => {
      detail.destroy();
      detail = undefined;
      findings.focus();
      render();
    });
    screen.render();
  };

  const showDetail = () => {
    const f = current[(findings as any).selected ?? 0];
    if (!f) return;
    const raw = (s: string) => `\u0000${s}`;
    popup('Finding', [
      raw(`{bold}${esc(f.summary)}{/bold}`),
      `${f.severity.toUpperCase()}  ${f.code}${f.subject ? `  (${f.subject})` : ''}`,
      '',
      ...(f.detail ? [f.detail, ''] : []),
      ...(f.evidence ?? []).map((e) => (e.query ? `${e.type ?? ''} ${e.query} → ${e.rcode && e.rcode !== 'NOERROR' ? e.rcode : (e.answers ?? []).join(' | ') || 'no records'}` : e.record ?? e.note ?? '')),
      '',
      ...(f.fix ? [`fix: ${f.fix}`] : []),
      ...(f.ref ? [`ref: ${f.ref}`] : []),
      '',
      'Esc or Enter to close',
    ]);
  };

  findings.key(['enter'], () => showDetail());
  findings.on('select', () => {}); // blessed emits select on Enter too; the key handler owns it
  findings.on('select item', () => render());
  const busy = () => Boolean(detail || prompt);
  screen.key(['q', 'C-c'], () => {
    if (busy()) return;
    screen.destroy();
    clearInterval(tick);
    resolveClosed();
  });
  // Tab moves the focus between panels; the focused one scrolls (the findings list moves its selection)
  screen.key(['tab', 'S-tab'], (_ch: unknown, key: { shift?: boolean }) => {
    if (busy()) return;
    const i = order.indexOf(screen.focused);
    order[(i + (key.shift ? order.length - 1 : 1) + order.length) % order.length]!.focus();
    render();
  });
  const scroll = (how: 'up' | 'down' | 'pgup' | 'pgdn' | 'home' | 'end') => {
    const box = screen.focused;
    if (busy() || box === findings || !labels.has(box)) return;
    const page = Math.max(1, Number(box.height) - 3);
    if (how === 'home') box.setScroll(0);
    else if (how === 'end') box.setScrollPerc(100);
    else box.scroll(how === 'up' ? -1 : how === 'down' ? 1 : how === 'pgup' ? -page : page);
    render();
  };
  screen.key(['up', 'k'], () => scroll('up'));
  screen.key(['down', 'j'], () => scroll('down'));
  screen.key(['pageup'], () => (screen.focused === findings ? undefined : scroll('pgup')));
  screen.key(['pagedown'], () => (screen.focused === findings ? undefined : scroll('pgdn')));
  screen.key(['home'], () => scroll('home'));
  screen.key(['end'], () => scroll('end'));
  findings.key(['pageup'], () => { findings.up(Math.max(1, Number(findings.height) - 3)); render(); });
  findings.key(['pagedown'], () => { findings.down(Math.max(1, Number(findings.height) - 3)); render(); });
  findings.key(['home'], () => { findings.select(0); render(); });
  findings.key(['end'], () => { findings.select(Math.max(0, current.length - 1)); render(); });
  screen.key(['d'], () => {
    if (busy()) return;
    popup('What changed', diffText ? [...diffText.split('\n').map((l) => `\u0000${esc(l)}`), '', 'Esc or Enter to close'] : ['No comparison for this run: start it with --against RUN (e.g. --against last) or --baseline RUN|FILE.', '', 'Esc or Enter to close']);
  });
  screen.key(['r'], () => {
    if (busy() || !opts.onRerun) return;
    opts.onRerun();
  });
  // e: export where the user says: --export-dir, or a path asked for here (Esc cancels), never silently
  const exportTo = async (file: string) => {
    try {
      const written = await opts.onExport!(file);
      model.logs.push(`exported JSON to ${written}`);
    } catch (e) {
      model.logs.push(`export failed: ${(e as Error).message}`);
    }
    render();
  };
  screen.key(['e'], () => {
    if (busy() || !opts.onExport) return;
    const suggested = opts.exportPath?.() ?? '';
    if (opts.exportDir) return void exportTo(suggested);
    prompt = blessed.textbox({ parent: screen, label: ' Export the JSON report to (Enter: write, Esc: cancel, Ctrl-U: clear) ', top: 'center', left: 'center', width: '80%', height: 3, border: 'line', value: suggested, style: { border: { fg: 'cyan' } } });
    prompt.key(['C-u'], () => {
      prompt?.clearValue();
      screen.render();
    });
    prompt.focus();
    prompt.readInput((err: unknown, value: string | undefined) => {
      prompt.destroy();
      prompt = undefined;
      findings.focus();
      if (err || value === undefined || value === null || !String(value).trim()) {
        model.logs.push('export cancelled');
        render();
        return;
      }
      void exportTo(String(value).trim());
    });
    screen.render();
  });
  screen.on('resize', () => render());
  findings.focus();
  const tick = setInterval(render, 500);
  tick.unref();
  render();

  return {
    get model() {
      return model;
    },
    onEvent(ev) {
      applyEvent(model, ev);
      render();
    },
    reset() {
      const logs = model.logs;
      const kept = model.extra;
      model = newModel(opts.target);
      model.logs = [...logs, `${new Date().toISOString().slice(11, 19)} re-run started`];
      if (kept) model.extra = kept;
      current = [];
      logged = Math.min(logged, model.logs.length - 1);
      render();
    },
    finished(info) {
      model.finishedAt = Date.now();
      model.runId = info.runId;
      model.label = info.label;
      diffText = info.diffText;
      if (info.note) model.logs.push(info.note);
      render();
    },
    log(line) {
      model.logs.push(line);
      render();
    },
    setExtra(details) {
      model.extra = details;
      render();
    },
    closed,
    destroy() {
      clearInterval(tick);
      try {
        screen.destroy();
      } catch {
        /* already gone */
      }
      resolveClosed();
    },
  };
}

export interface DetailsViewOptions {
  /** the header line: what is shown */
  title: string;
  /** full-width panels, top to bottom, each drawn from generic detail blocks; `weight` shares the height */
  panels: { label: string; details: Detail[]; weight?: number }[];
}

/**
 * A full-screen view of panels of detail blocks, for results that are not a check
 * run (`reports show --dashboard`): Tab moves between panels, the arrows scroll the
 * focused one, q quits. It knows nothing of what the blocks say.
 */
export function openDetailsView(opts: DetailsViewOptions): { closed: Promise<void>; destroy(): void } {
  const blessed = loadBlessed();
  const utf8 = /utf-?8/i.test(`${process.env.LC_ALL ?? ''} ${process.env.LC_CTYPE ?? ''} ${process.env.LANG ?? ''}`);
  if (utf8) process.env.NCURSES_NO_UTF8_ACS ??= '1';
  const screen = blessed.screen({ smartCSR: true, title: `inboxlens — ${opts.title}`, fullUnicode: true, forceUnicode: utf8, autoPadding: true, warnings: false });
  let resolveClosed!: () => void;
  const closed = new Promise<void>((r) => (resolveClosed = r));
  const header = blessed.box({ parent: screen, top: 0, left: 0, width: '100%', height: 1, tags: true, style: { fg: 'white', bg: 'blue' } });
  const footer = blessed.box({ parent: screen, bottom: 0, left: 0, width: '100%', height: 1, tags: true, style: { inverse: true } });
  const total = opts.panels.reduce((a, p) => a + (p.weight ?? 1), 0) || 1;
  const boxes = opts.panels.map((p) => ({ p, lines: detailPanelLines(p.details), box: blessed.box({ parent: screen, label: ` ${p.label} `, left: 0, width: '100%', border: 'line', tags: true, scrollable: true, alwaysScroll: true, style: { border: {}, focus: { border: { fg: 'cyan' } } } }) }));
  const render = () => {
    const rows = Number(screen.height) - 2;
    let top = 1;
    let acc = 0;
    boxes.forEach((b, i) => {
      acc += b.p.weight ?? 1;
      const end = i === boxes.length - 1 ? rows + 1 : 1 + Math.round((acc / total) * rows);
      b.box.top = top;
      b.box.height = Math.max(3, end - top);
      top = end;
      b.box.setContent(b.lines.map((l) => colored(l, inner(b.box))).join('\n'));
      const below = Math.max(0, b.lines.length - (Number(b.box.childBase ?? 0) + Number(b.box.height) - 2));
      b.box.setLabel(` ${b.p.label}${below ? ` (+${below} more${screen.focused === b.box ? '' : ', Tab'})` : ''} `);
    });
    header.setContent(` {bold}inboxlens{/bold} ${esc(fit(opts.title, Number(screen.width) - 12))}`);
    footer.setContent(` ${esc(fit('q: quit · Tab: panel · ↑↓ PgUp PgDn: scroll', Number(screen.width) - 2))}`);
    screen.render();
  };
  screen.key(['q', 'C-c', 'escape'], () => {
    screen.destroy();
    resolveClosed();
  });
  screen.key(['tab', 'S-tab'], (_ch: unknown, key: { shift?: boolean }) => {
    const i = boxes.findIndex((b) => b.box === screen.focused);
    boxes[(i + (key.shift ? boxes.length - 1 : 1) + boxes.length) % boxes.length]?.box.focus();
    render();
  });
  const scroll = (n: number) => {
    const b = boxes.find((x) => x.box === screen.focused);
    if (!b) return;
    b.box.scroll(n);
    render();
  };
  screen.key(['up', 'k'], () => scroll(-1));
  screen.key(['down', 'j'], () => scroll(1));
  screen.key(['pageup'], () => scroll(-5));
  screen.key(['pagedown'], () => scroll(5));
  screen.on('resize', () => render());
  boxes[0]?.box.focus();
  render();
  return {
    closed,
    destroy() {
      try {
        screen.destroy();
      } catch {
        /* already gone */
      }
      resolveClosed();
    },
  };
}
