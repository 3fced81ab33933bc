// Colour only on a TTY and never when NO_COLOR is set (no-color.org) or TERM=dumb.
import pc from 'picocolors';
import type { Status, Tone } from '../types.ts';

/** What the text renderers colour with; plain strings when colour is off. */
export interface ViewStyle {
  color: boolean;
  red(s: string): string;
  green(s: string): string;
  yellow(s: string): string;
  dim(s: string): string;
  bold(s: string): string;
  cyan(s: string): string;
  /** the status word, padded to the check rows' column unless `pad` is false (a heading, the summary) */
  status(s: Status, pad?: boolean): string;
}

/** A detail tone as this terminal style draws it (readable on dark and light backgrounds). */
export function toneStyle(s: ViewStyle, tone: Tone | undefined, text: string): string {
  switch (tone) {
    case 'good': return s.green(text);
    case 'bad': return s.red(text);
    case 'alarm': return s.red(s.bold(text));
    case 'warn':
    case 'unknown': return s.yellow(text);
    case 'info': return s.cyan(text);
    case 'muted': return s.dim(text);
    case 'strong': return s.bold(text);
    default: return text;
  }
}

export function wantColor(stream: NodeJS.WriteStream = process.stdout, env = process.env): boolean {
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== '') return false;
  if (env.FORCE_COLOR && env.FORCE_COLOR !== '0') return true;
  return Boolean(stream.isTTY) && env.TERM !== 'dumb';
}

export function makeStyle(color: boolean): ViewStyle {
  const c = pc.createColors(color);
  const style: ViewStyle = {
    color,
    red: c.red,
    green: c.green,
    yellow: c.yellow,
    dim: c.dim,
    bold: c.bold,
    cyan: c.cyan,
    status: (s: Status, pad = true) => {
      const label = pad ? s.toUpperCase().padEnd(7) : s.toUpperCase();
      return s === 'pass' ? c.green(label) : s === 'warn' ? c.yellow(label) : s === 'fail' ? c.red(c.bold(label)) : c.magenta(label);
    },
  };
  return style;
}
