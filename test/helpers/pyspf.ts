// pyspf as a child process: the independent SPF implementation the differential
// tests compare inboxlens with (test/spf/pyspf-differential.test.ts). One python
// process per test file, requests answered in order over stdin/stdout; it reads
// DNS from the fixture server the test points it at.
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createInterface } from 'node:readline';
import path from 'node:path';
import { ROOT } from './cli.ts';

export const PYTHON = '/usr/bin/python3';
const SCRIPT = path.join(ROOT, 'test/helpers/pyspf-oracle.py');

export interface PyspfResult {
  result: string;
  explanation?: string;
  lookups?: number;
  voidLookups?: number;
  error?: string;
}

/** Why pyspf cannot run here (scripts/setup.sh installs python3-spf), or null. */
export function pyspfMissing(): string | null {
  const r = spawnSync(PYTHON, ['-c', 'import spf, dns.resolver'], { encoding: 'utf8' });
  if (r.error) return `${PYTHON}: ${r.error.message}`;
  return r.status === 0 ? null : `pyspf with dnspython is not installed (apt-get install python3-spf python3-dnspython; scripts/setup.sh does it): ${r.stderr.trim().split('\n').pop()}`;
}

export class Pyspf {
  private readonly child: ChildProcessWithoutNullStreams;
  private readonly waiting = new Map<number, (r: PyspfResult) => void>();
  private next = 1;
  private stderr = '';

  constructor(host: string, port: number, timeoutS = 2) {
    this.child = spawn(PYTHON, [SCRIPT, host, String(port), String(timeoutS)], { stdio: ['pipe', 'pipe', 'pipe'] });
    this.child.stderr.on('data', (d) => { this.stderr += String(d); });
    createInterface({ input: this.child.stdout }).on('line', (line) => {
      const msg = JSON.parse(line) as PyspfResult & { id: number };
      this.waiting.get(msg.id)?.(msg);
      this.waiting.delete(msg.id);
    });
    this.child.on('exit', (code) => {
      for (const done of this.waiting.values()) done({ result: 'crash', error: `pyspf exited with ${code}: ${this.stderr.slice(-500)}` });
      this.waiting.clear();
    });
  }

  /**
   * check_host() as pyspf computes it: sender may be '' (then the HELO identity is
   * checked). terms: void lookups counted per term, as inboxlens reads RFC 7208 §4.6.4.
   */
  check(ip: string, sender: string, helo = '', opts: { terms?: boolean } = {}): Promise<PyspfResult> {
    const id = this.next++;
    return new Promise((resolve) => {
      this.waiting.set(id, resolve);
      this.child.stdin.write(`${JSON.stringify({ id, ip, sender, helo, ...(opts.terms ? { terms: true } : {}) })}\n`);
    });
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null) return;
    const exited = new Promise((r) => this.child.once('exit', r));
    this.child.stdin.end();
    await exited;
  }
}
