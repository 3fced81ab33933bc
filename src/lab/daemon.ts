// A lab daemon (spamd, rspamd) run in the foreground by this process: the tail of
// its stderr for error messages, killed if the test process dies, stopped with
// SIGTERM (SIGKILL after 5 s).
import { spawn, type ChildProcess } from 'node:child_process';

export interface Daemon {
  child: ChildProcess;
  /** the last lines it wrote to stderr, joined for an error message */
  tail(lines?: number): string;
  /** it has exited (or was killed) */
  gone(): boolean;
  stop(): Promise<void>;
}

function exited(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    else child.once('exit', () => resolve());
  });
}

export function spawnDaemon(bin: string, args: string[], env: NodeJS.ProcessEnv): Daemon {
  const child = spawn(bin, args, { stdio: ['ignore', 'ignore', 'pipe'], env });
  let log = '';
  child.stderr!.on('data', (d: Buffer) => {
    log = (log + d.toString()).slice(-8000);
  });
  // a test runner that dies must not leave the daemon behind
  const reap = () => child.kill('SIGKILL');
  process.once('exit', reap);
  return {
    child,
    tail: (lines = 3) => log.trim().split('\n').slice(-lines).join(' | '),
    gone: () => child.exitCode !== null || child.signalCode !== null,
    async stop() {
      process.removeListener('exit', reap);
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const t = setTimeout(() => child.kill('SIGKILL'), 5000);
        await exited(child);
        clearTimeout(t);
      }
    },
  };
}
