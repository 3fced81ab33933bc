// Drives a real terminal program under tmux at a fixed size: send keys, read the screen.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

export class Tmux {
  readonly socket = `inboxlens-test-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
  readonly session = 'dash';

  private tmux(...args: string[]) {
    return run('tmux', ['-u', '-L', this.socket, ...args], { env: { ...process.env, LANG: 'C.UTF-8' } });
  }

  async start(command: string, width = 120, height = 36): Promise<void> {
    await this.tmux('new-session', '-d', '-s', this.session, '-x', String(width), '-y', String(height), command);
  }

  async capture(): Promise<string> {
    return (await this.tmux('capture-pane', '-p', '-t', this.session)).stdout;
  }

  /** The screen with its colour escapes (SGR), to see what colours were drawn. */
  async captureEscapes(): Promise<string> {
    return (await this.tmux('capture-pane', '-e', '-p', '-t', this.session)).stdout;
  }

  async keys(...keys: string[]): Promise<void> {
    await this.tmux('send-keys', '-t', this.session, ...keys);
  }

  async resize(width: number, height: number): Promise<void> {
    await this.tmux('resize-window', '-t', this.session, '-x', String(width), '-y', String(height));
  }

  /** Poll the screen until it matches (bounded: the deadline ends the wait, not the test's clock). */
  async waitFor(re: RegExp, timeoutMs = 20_000): Promise<string> {
    const end = Date.now() + timeoutMs;
    let last = '';
    while (Date.now() < end) {
      last = await this.capture().catch(() => last);
      if (re.test(last)) return last;
      await new Promise((r) => setTimeout(r, 150));
    }
    throw new Error(`screen never showed ${re}; last screen:\n${last}`);
  }

  async kill(): Promise<void> {
    await this.tmux('kill-server').catch(() => {});
  }
}
