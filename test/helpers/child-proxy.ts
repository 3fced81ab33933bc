// A loopback proxy (or any small server) written as a script and run in a process
// of its own, so its event loop is not the one under test. The script prints one
// JSON line when it listens ({ port }), then answers each line written to its stdin
// with one JSON line; closing stdin ends it.
import { spawn } from 'node:child_process';

export interface ChildProxy {
  port: number;
  /** write one command line, read the JSON line it answers */
  ask<T = unknown>(cmd: string): Promise<T>;
  close(): Promise<void>;
}

export async function startChildProxy(script: string, args: string[]): Promise<ChildProxy> {
  const child = spawn(process.execPath, ['-e', script, ...args], { stdio: ['pipe', 'pipe', 'inherit'] });
  const waiting: ((l: string) => void)[] = [];
  let buf = '';
  child.stdout!.on('data', (d) => {
    buf += d;
    let i;
    while ((i = buf.indexOf('\n')) >= 0) {
      const l = buf.slice(0, i);
      buf = buf.slice(i + 1);
      waiting.shift()?.(l);
    }
  });
  const next = () => new Promise<string>((r) => waiting.push(r));
  const { port } = JSON.parse(await next()) as { port: number };
  return {
    port,
    ask: async <T>(cmd: string) => {
      const p = next();
      child.stdin!.write(`${cmd}\n`);
      return JSON.parse(await p) as T;
    },
    close: () => new Promise<void>((r) => {
      child.once('exit', () => r());
      child.stdin!.end();
      setTimeout(() => child.kill('SIGKILL'), 2000).unref();
    }),
  };
}
