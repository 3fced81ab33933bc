// The full-screen terminal dashboard (blessed), fed live by the engine's result
// stream. Only used on a TTY with a capable TERM; everything else gets plain text.
import { createRequire } from 'node:module';
import type { EngineEvent, Finding } from '../types.ts';
import { applyEvent, authLines, blacklistLines, findingList, newModel, placementLines, progressText, verdict, type CheckViews, type DashboardModel, type PanelLine } from './model.ts';
import { redact } from '../util/redact.ts';

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
  /** resolves when the user quits */
  closed: Promise<void>;
  destroy(): void;
}

export interface DashboardOptions {
  target: string;
  title?: string;
  onRerun?: () => void;
  onExport?: () => Promise<string>;
  /** the checks' details and headlines, for drawing their panels */
  views?: CheckViews;
}

function esc(s: string): string {
  return loadBlessed().escape(redact(s));
}
/** One panel line, cut to the panel's inner width (long lines would wrap and push the rest out of view). */
function colored(l: PanelLine, width = 1000): string {
  const text = l.text.length > width ? `${l.text.slice(0, Math.max(1, width - 1))}…` : l.text;
  return l.color ? `{${l.color}-fg}${esc(text)}{/${l.color}-fg}` : esc(text);
}
function inner(box: any): number {
  return Math.max(10, Number(box.width) - 3);
}

export function openDashboard(opts: DashboardOptions): DashboardHandle {
  const blessed = loadBlessed();
  const utf8 = /utf-?8/i.test(`${process.env.LC_ALL ?? ''} ${process.env.LC_CTYPE ?? ''} ${process.env.LANG ?? ''}`);
  // on a UTF-8 terminal draw lines with Unicode, not the VT100 alternate charset (which tmux/screen often mangle)
  if (utf8) process.env.NCURSES_NO_UTF8_ACS ??= '1';
  const screen = blessed.screen({ smartCSR: true, title: `inboxlens — ${opts.target}`, fullUnicode: true, forceUnicode: utf8, autoPadding: true, warnings: false });
  let model = newModel(opts.target);
  let resolveClosed!: () => void;
  const closed = new Promise<void>((r) => (resolveClosed = r));

  const header = blessed.box({ parent: screen, top: 0, left: 0, width: '100%', height: 1, tags: true, style: { fg: 'white', bg: 'blue' } });
  const auth = blessed.box({ parent: screen, label: ' Authentication ', top: 1, left: 0, width: '50%', height: '40%-1', border: 'line', tags: true, scrollable: true, alwaysScroll: true });
  const bl = blessed.box({ parent: screen, label: ' Blacklists ', top: 1, left: '50%', width: '50%', height: '40%-1', border: 'line', tags: true, scrollable: true, alwaysScroll: true });
  const place = blessed.box({ parent: screen, label: ' Placement ', top: '40%', left: 0, width: '100%', height: '25%', border: 'line', tags: true, scrollable: true, alwaysScroll: true });
  const findings = blessed.list({ parent: screen, label: ' Findings (↑/↓ j/k, Enter: detail) ', top: '65%', left: 0, width: '60%', height: '35%-1', border: 'line', tags: true, keys: true, vi: true, mouse: false, style: { selected: { bg: 'blue', fg: 'white' } } });
  const log = blessed.log({ parent: screen, label: ' Log ', top: '65%', left: '60%', width: '40%', height: '35%-1', border: 'line', tags: true, scrollback: 500 });
  const footer = blessed.box({ parent: screen, bottom: 0, left: 0, width: '100%', height: 1, tags: true, style: { fg: 'black', bg: 'white' } });
  let detail: any;
  let diffText: string | undefined;
  let current: Finding[] = [];
  let logged = 0;

  const render = () => {
    const v = verdict(model);
    const elapsed = (((model.finishedAt ?? Date.now()) - model.startedAt) / 1000).toFixed(1);
    header.setContent(` {bold}inboxlens{/bold} ${esc(opts.title ?? 'check')}  ${esc(model.target)}   run ${esc(model.runId ?? '—')}${model.label ? ` (${esc(model.label)})` : ''}   ${elapsed} s   verdict: {${v.color}-fg}{bold}${v.status.toUpperCase()}{/bold}{/${v.color}-fg}`);
    auth.setContent(authLines(model, opts.views).map((l) => colored(l, inner(auth))).join('\n'));
    bl.setContent(blacklistLines(model, opts.views).map((l) => colored(l, inner(bl))).join('\n'));
    const rows = placementLines(model, opts.views);
    if (rows.length) {
      place.setContent(rows.map((l) => colored(l, inner(place))).join('\n'));
    } else {
      const p = model.checks.get('placement');
      place.setContent(esc(p ? `${p.status}: ${p.reason ?? 'no seeds'}` : model.running.has('placement') ? 'sending and collecting…' : 'no seeds given (--seeds FILE)'));
    }
    const list = findingList(model);
    const changed = list.length !== current.length || list.some((f, i) => f !== current[i]);
    if (changed) {
      const sel = (findings as any).selected ?? 0;
      current = list;
      findings.setItems(list.map((f) => {
        const c = f.severity === 'error' ? 'red' : f.severity === 'warn' ? 'yellow' : 'gray';
        return `{${c}-fg}${f.severity.toUpperCase().padEnd(5)}{/${c}-fg} ${esc(f.summary)} {gray-fg}[${esc(f.code)}]{/gray-fg}`;
      }));
      if (list.length) findings.select(Math.min(sel, list.length - 1));
    }
    for (; logged < model.logs.length; logged++) log.log(esc(model.logs[logged]!));
    footer.setContent(` ${esc(progressText(model))}`);
    screen.render();
  };

  const popup = (label: string, body: string) => {
    detail = blessed.box({ parent: screen, label: ` ${label} `, top: 'center', left: 'center', width: '80%', height: '70%', border: 'line', tags: true, scrollable: true, alwaysScroll: true, keys: true, vi: true, content: body, style: { border: { fg: 'cyan' } } });
    detail.focus();
    detail.key(['escape', 'enter', 'q'], () => {
      detail.destroy();
      detail = undefined;
      findings.focus();
      screen.render();
    });
    screen.render();
  };

  const showDetail = () => {
    const f = current[(findings as any).selected ?? 0];
    if (!f) return;
    const body = [
      `{bold}${esc(f.summary)}{/bold}`,
      `${f.severity.toUpperCase()}  ${esc(f.code)}${f.subject ? `  (${esc(f.subject)})` : ''}`,
      '',
      ...(f.detail ? [esc(f.detail), ''] : []),
      ...(f.evidence ?? []).map((e) => `{gray-fg}${esc(e.query ? `${e.type ?? ''} ${e.query} → ${e.rcode && e.rcode !== 'NOERROR' ? e.rcode : (e.answers ?? []).join(' | ') || 'no records'}` : e.record ?? e.note ?? '')}{/gray-fg}`),
      '',
      ...(f.fix ? [`{cyan-fg}fix:{/cyan-fg} ${esc(f.fix)}`] : []),
      ...(f.ref ? [`{gray-fg}ref: ${esc(f.ref)}{/gray-fg}`] : []),
      '',
      '{gray-fg}Esc or Enter to close{/gray-fg}',
    ].join('\n');
    popup('Finding', body);
  };

  findings.key(['enter'], () => showDetail());
  findings.on('select', () => {}); // blessed emits select on Enter too; the key handler owns it
  screen.key(['q', 'C-c'], () => {
    if (detail) return;
    screen.destroy();
    clearInterval(tick);
    resolveClosed();
  });
  screen.key(['d'], () => {
    if (detail) return;
    popup('What changed', diffText ? `${esc(diffText)}\n\n{gray-fg}Esc or Enter to close{/gray-fg}` : 'No comparison for this run: start it with --against RUN (e.g. --against last) or --baseline RUN|FILE.\n\n{gray-fg}Esc or Enter to close{/gray-fg}');
  });
  screen.key(['r'], () => {
    if (detail || !opts.onRerun) return;
    opts.onRerun();
  });
  screen.key(['e'], async () => {
    if (detail || !opts.onExport) return;
    try {
      const file = await opts.onExport();
      model.logs.push(`exported JSON to ${file}`);
    } catch (e) {
      model.logs.push(`export failed: ${(e as Error).message}`);
    }
    render();
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
      model = newModel(opts.target);
      model.logs = [...logs, `${new Date().toISOString().slice(11, 19)} re-run started`];
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
