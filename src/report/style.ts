// Colour only on a TTY and never when NO_COLOR is set (no-color.org) or TERM=dumb.
import pc from 'picocolors';
import type { Status, ViewStyle } from '../types.ts';

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
    status: (s: Status) => {
      const label = s.toUpperCase().padEnd(7);
      return s === 'pass' ? c.green(label) : s === 'warn' ? c.yellow(label) : s === 'fail' ? c.red(c.bold(label)) : c.magenta(label);
    },
  };
  return style;
}
