// A lab daemon (spamd, rspamd) run in the foreground by this process: the tail of
// its stderr for error messages, killed if the test process dies, stopped with
// SIGTERM (SIGKILL after 5 s).
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { UsageError } from '../util/errors.ts';

/** What `bash scripts/setup.sh` installs and every lab error points to. */
export const SETUP_COMMAND = 'bash scripts/setup.sh';

/**
 * A part of the lab (Dovecot, spamd, rspamd, the lab DNS, the lab MX) that could not
 * start: the user's to fix (install the package, free the machine), so the CLI prints
 * it as one line with exit 2, like any input error. `packages` names what to install.
 */
export class LabStartError extends UsageError {
  readonly part: string;
  readonly packages: string[];
  constructor(part: string, packages: string[], reason: string) {
    const pkgs = packages.length ? ` (Debian/Ubuntu: apt-get install ${packages.join(' ')})` : '';
    super(`the lab cannot start: ${part} ${reason}; run \`${SETUP_COMMAND}\`, which installs what the lab needs${pkgs}`);
    this.name = 'LabStartError';
    this.part = part;
    this.packages = packages;
  }
}

/**
 * A lab daemon's binary. The environment variable (INBOXLENS_DOVECOT, INBOXLENS_SPAMD,
 * INBOXLENS_RSPAMD) names it exactly, for an unusual install (and for tests, which
 * point it at a path that does not exist to see the lab fail cleanly); otherwise PATH,
 * then the usual places. Undefined when none exists.
 */
export function findLabBinary(name: string, envVar: string, candidates: string[], usePath = true): string | undefined {
  const forced = process.env[envVar];
  if (forced) return existsSync(forced) ? forced : undefined;
  if (usePath) {
    for (const d of (process.env.PATH ?? '').split(path.delimiter)) {
      if (d && existsSync(path.join(d, name))) return path.join(d, name);
    }
  }
  return candidates.find((p) => existsSync(p));
}

/** "no dovecot binary (INBOXLENS_DOVECOT=/x does not exist)" or "no dovecot binary on PATH or in /usr/sbin" */
export function missingBinary(name: string, envVar: string, where: string): string {
  const forced = process.env[envVar];
  return forced ? `is not installed (${envVar}=${forced} does not exist)` : `is not installed (no ${name} binary ${where})`;
}

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

/** A system user's uid and gid from /etc/passwd (the lab's daemons run as their packages' users). */
export function passwdEntry(name: string): { uid: number; gid: number } | undefined {
  try {
    for (const line of readFileSync('/etc/passwd', 'utf8').split('\n')) {
      const f = line.split(':');
      if (f[0] === name) return { uid: Number(f[2]), gid: Number(f[3]) };
    }
  } catch { /* no /etc/passwd */ }
  return undefined;
}
