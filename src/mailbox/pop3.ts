// A small POP3 client (RFC 1939, STLS from RFC 2595, CAPA/UIDL from RFC 2449,
// SASL XOAUTH2) that reads mail without changing it: TOP only, never RETR (Gmail
// applies the account's archive/delete/mark-read setting to messages retrieved
// over POP) and never DELE. Multi-line answers are handled as bytes: the
// terminating "CRLF.CRLF" ends them and one leading dot is removed from
// dot-stuffed lines, so a message comes back byte for byte as the server stores it.
import net from 'node:net';
import tls from 'node:tls';
import { redact } from '../util/redact.ts';

export interface Pop3Options {
  host: string;
  port: number;
  /** implicit TLS (port 995); false: STLS, required unless allowPlaintext */
  secure: boolean;
  allowPlaintext?: boolean;
  /** skip certificate verification (never the default) */
  insecure?: boolean;
  ca?: string;
  servername?: string;
  /** per-command and connect timeout */
  timeoutMs?: number;
  /** abandons the connection attempt (the watch stopped) */
  signal?: AbortSignal;
}

export class Pop3Error extends Error {
  /** the server's -ERR line (response codes like [AUTH], [IN-USE] included), or a network reason */
  readonly response?: string;
  readonly kind: 'auth' | 'tls' | 'protocol' | 'network' | 'timeout';
  constructor(message: string, kind: Pop3Error['kind'], response?: string) {
    super(redact(message));
    this.name = 'Pop3Error';
    this.kind = kind;
    if (response !== undefined) this.response = redact(response);
  }
}

/** Answers that say "not now" rather than "no": RFC 3206 codes and what servers say while restarting. */
const TEMPORARY = /\[(SYS\/TEMP|IN-USE|LOGIN-DELAY)\]|shutting down|try again|temporar|unavailable|too many|busy/i;

const CRLF = Buffer.from('\r\n');
/** RFC 1939 §3 limits a response line to 512 octets; servers stay far below this cap. */
export const MAX_LINE = 64 * 1024;
/** A multi-line answer (TOP of one message, UIDL of a large maildrop) beyond this is refused. */
export const MAX_ANSWER = 40 * 1024 * 1024;
const TERMINATOR = Buffer.from('\r\n.\r\n');

interface Waiter {
  multi: boolean;
  resolve(v: { line: string; body?: Buffer }): void;
  reject(e: Error): void;
}

export class Pop3Client {
  private socket!: net.Socket | tls.TLSSocket;
  /** received bytes not yet consumed: store[0, len), grown by doubling (no copy per chunk) */
  private store: Buffer = Buffer.allocUnsafe(16 * 1024);
  private len = 0;
  /** where the search for a multi-line answer's terminator resumes */
  private scanFrom = 0;
  private get buf(): Buffer {
    return this.store.subarray(0, this.len);
  }
  private waiters: Waiter[] = [];
  private closed = false;
  private closeError?: Error;
  readonly opts: Required<Pick<Pop3Options, 'timeoutMs'>> & Pop3Options;
  /** the capabilities from CAPA (upper-cased keywords with their arguments) */
  capabilities: string[] = [];
  greeting = '';
  encrypted = false;
  /** every command sent, secrets masked: lets tests prove RETR and DELE never went out */
  readonly transcript: string[] = [];

  private constructor(opts: Pop3Options) {
    this.opts = { timeoutMs: 15_000, ...opts };
  }

  /** Connect, read the greeting, negotiate TLS (implicit or STLS) and read CAPA. */
  static async connect(opts: Pop3Options): Promise<Pop3Client> {
    const c = new Pop3Client(opts);
    const onAbort = () => c.close();
    if (opts.signal?.aborted) throw new Pop3Error(`POP3 ${opts.host}:${opts.port}: stopped`, 'network');
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    try {
      await c.open();
    } finally {
      opts.signal?.removeEventListener('abort', onAbort);
    }
    return c;
  }

  private tlsOptions(): tls.ConnectionOptions {
    const o = this.opts;
    return {
      servername: o.servername ?? (net.isIP(o.host) ? undefined : o.host),
      rejectUnauthorized: !o.insecure,
      ...(o.ca ? { ca: o.ca } : {}),
      minVersion: 'TLSv1.2',
    };
  }

  private attach(sock: net.Socket | tls.TLSSocket): void {
    this.socket = sock;
    sock.setTimeout(this.opts.timeoutMs);
    sock.on('data', (d: Buffer) => {
      if (this.closed) return;
      if (this.len + d.length > this.store.length) {
        const grown = Buffer.allocUnsafe(Math.max(this.store.length * 2, this.len + d.length));
        this.store.copy(grown, 0, 0, this.len);
        this.store = grown;
      }
      d.copy(this.store, this.len);
      this.len += d.length;
      this.pump();
    });
    sock.on('timeout', () => this.fail(new Pop3Error(`POP3 ${this.opts.host}:${this.opts.port}: no answer within ${this.opts.timeoutMs} ms`, 'timeout')));
    sock.on('error', (e: NodeJS.ErrnoException) => {
      const isTls = /certificate|self.signed|SSL|TLS|altnames|unable to verify/i.test(e.message) || /^ERR_TLS|CERT|DEPTH_ZERO/.test(String(e.code ?? ''));
      this.fail(new Pop3Error(`POP3 ${this.opts.host}:${this.opts.port}: ${e.code ? `${e.code} ` : ''}${e.message}`, isTls ? 'tls' : 'network'));
    });
    sock.on('close', () => this.fail(new Pop3Error(`POP3 ${this.opts.host}:${this.opts.port}: the server closed the connection`, 'network')));
  }

  private fail(e: Error): void {
    if (!this.closed) {
      this.closed = true;
      this.closeError = e;
      this.socket?.destroy();
    }
    for (const w of this.waiters.splice(0)) w.reject(this.closeError ?? e);
  }

  private async open(): Promise<void> {
    const o = this.opts;
    const sock = await new Promise<net.Socket | tls.TLSSocket>((resolve, reject) => {
      const s: net.Socket | tls.TLSSocket = o.secure
        ? tls.connect({ host: o.host, port: o.port, ...this.tlsOptions() }, () => resolve(s))
        : net.connect({ host: o.host, port: o.port }, () => resolve(s));
      this.socket = s;
      s.once('close', () => reject(this.closeError ?? new Pop3Error(`POP3 ${o.host}:${o.port}: the connection closed before it was established`, 'network')));
      s.setTimeout(o.timeoutMs, () => {
        s.destroy();
        reject(new Pop3Error(`POP3 ${o.host}:${o.port}: could not connect within ${o.timeoutMs} ms`, 'timeout'));
      });
      s.once('error', (e: NodeJS.ErrnoException) => {
        const isTls = o.secure && (/certificate|self.signed|SSL|TLS|altnames|unable to verify/i.test(e.message) || /CERT|DEPTH_ZERO/.test(String(e.code ?? '')));
        reject(new Pop3Error(`POP3 ${o.host}:${o.port}: ${isTls ? 'TLS failed: ' : ''}${e.code && !e.message.includes(e.code) ? `${e.code} ` : ''}${e.message}`, isTls ? 'tls' : 'network'));
      });
    });
    sock.removeAllListeners('timeout');
    sock.removeAllListeners('error');
    this.encrypted = o.secure;
    this.attach(sock);
    this.greeting = (await this.read(false)).line;
    await this.capa();
    if (!o.secure) {
      const listed = this.capabilities.some((c) => c.split(' ')[0] === 'STLS');
      if (listed || (!this.capaOk && !o.allowPlaintext)) {
        // without a CAPA answer, try STLS anyway: only a server that listed its capabilities
        // without STLS has said it cannot do TLS
        try {
          await this.starttls();
        } catch (e) {
          // only a server's -ERR is a refusal; a dropped connection stays a network error
          if (!(e instanceof Pop3Error) || e.response === undefined || o.allowPlaintext) throw e;
          const temporary = TEMPORARY.test(e.response ?? '') || !this.capaOk;
          throw new Pop3Error(`POP3 ${o.host}:${o.port}: STLS was refused (${e.response ?? e.message}): refusing to log in without TLS`, temporary ? 'protocol' : 'tls', e.response);
        }
        await this.capa();
      } else if (!o.allowPlaintext) {
        await this.quit().catch(() => {});
        throw new Pop3Error(`POP3 ${o.host}:${o.port} offers no STLS: refusing to log in without TLS (use secure: true on port 995, or allowPlaintext: true for a lab on loopback)`, 'tls');
      }
    }
  }

  private async starttls(): Promise<void> {
    await this.command('STLS');
    const plain = this.socket as net.Socket;
    plain.removeAllListeners('data');
    plain.removeAllListeners('close');
    plain.removeAllListeners('error');
    plain.removeAllListeners('timeout');
    // the handshake ends one way or another: done, refused, the socket closed (close() by the
    // watch's deadline destroys it), or no progress within the timeout (a server that said
    // +OK to STLS and then never speaks TLS)
    const secured = await new Promise<tls.TLSSocket>((resolve, reject) => {
      const s = tls.connect({ socket: plain, ...this.tlsOptions() }, () => resolve(s));
      this.socket = s;
      s.once('error', (e: NodeJS.ErrnoException) => {
        // a certificate problem is the user's to fix; a reset during the handshake is the network's
        const cert = /certificate|self.signed|SSL|TLS|altnames|unable to verify/i.test(e.message) || /CERT|DEPTH_ZERO/.test(String(e.code ?? ''));
        reject(new Pop3Error(`POP3 ${this.opts.host}:${this.opts.port}: TLS (STLS) failed: ${e.message}`, cert ? 'tls' : 'network'));
      });
      s.once('close', () => reject(this.closeError ?? new Pop3Error(`POP3 ${this.opts.host}:${this.opts.port}: the connection closed during the TLS (STLS) handshake`, 'network')));
      s.setTimeout(this.opts.timeoutMs, () => {
        s.destroy();
        reject(new Pop3Error(`POP3 ${this.opts.host}:${this.opts.port}: the TLS (STLS) handshake did not finish within ${this.opts.timeoutMs} ms`, 'timeout'));
      });
      if (this.closed) s.destroy();
    });
    secured.removeAllListeners('error');
    secured.removeAllListeners('close');
    secured.removeAllListeners('timeout');
    if (this.closed) {
      secured.destroy();
      throw this.closeError ?? new Pop3Error('POP3 connection is closed', 'network');
    }
    this.len = 0;
    this.scanFrom = 0;
    this.encrypted = true;
    this.attach(secured);
  }

  /** Try to satisfy waiting readers from the buffer, in order. */
  private consume(n: number): void {
    this.store.copy(this.store, 0, n, this.len);
    this.len -= n;
    this.scanFrom = 0;
  }

  private pump(): void {
    while (this.waiters.length && !this.closed) {
      const w = this.waiters[0]!;
      const eol = this.buf.subarray(0, MAX_LINE + 2).indexOf(CRLF);
      if (eol < 0) {
        if (this.len > MAX_LINE) this.fail(new Pop3Error(`POP3 ${this.opts.host}:${this.opts.port}: the server sent a line longer than ${MAX_LINE / 1024} KB without ending it: not a POP3 answer`, 'protocol'));
        return;
      }
      const line = this.buf.subarray(0, eol).toString('latin1');
      if (!w.multi || !line.startsWith('+OK')) {
        this.consume(eol + 2);
        this.waiters.shift();
        w.resolve({ line });
        continue;
      }
      // multi-line: the body runs from after the status line to CRLF "." CRLF;
      // an empty body is the terminator line right after the status line
      const start = eol + 2;
      let end: number;
      let bodyEnd: number;
      if (this.buf.length >= start + 3 && this.buf[start] === 0x2e && this.buf[start + 1] === 0x0d && this.buf[start + 2] === 0x0a) {
        bodyEnd = start;
        end = start + 3;
      } else {
        const t = this.buf.indexOf(TERMINATOR, Math.max(start - 2, this.scanFrom));
        if (t < 0) {
          // resume where this scan ended (less the terminator's length, which may straddle chunks)
          this.scanFrom = Math.max(start - 2, this.len - TERMINATOR.length);
          if (this.len - start > MAX_ANSWER) this.fail(new Pop3Error(`POP3 ${this.opts.host}:${this.opts.port}: the answer is larger than ${MAX_ANSWER / 1024 / 1024} MB: refused`, 'protocol'));
          return;
        }
        bodyEnd = t + 2;
        end = t + 5;
      }
      // a copy: the store is reused for what comes next
      const body = Buffer.from(unstuff(this.buf.subarray(start, bodyEnd)));
      this.consume(end);
      this.waiters.shift();
      w.resolve({ line, body });
    }
  }

  /**
   * Wait for one answer. The socket's idle timeout does not catch a server that
   * trickles bytes forever, so every answer also has a wall-clock deadline.
   */
  private read(multi: boolean): Promise<{ line: string; body?: Buffer }> {
    if (this.closed) return Promise.reject(this.closeError ?? new Pop3Error('POP3 connection is closed', 'network'));
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => this.fail(new Pop3Error(`POP3 ${this.opts.host}:${this.opts.port}: no complete answer within ${this.opts.timeoutMs} ms`, 'timeout')), this.opts.timeoutMs);
      this.waiters.push({
        multi,
        resolve: (v) => {
          clearTimeout(timer);
          resolve(v);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      });
      this.pump();
    });
  }

  /** Send one command and read its answer; -ERR becomes a Pop3Error carrying the server's line. */
  private async command(cmd: string, multi = false, shown = cmd): Promise<{ line: string; body?: Buffer }> {
    if (this.closed) throw this.closeError ?? new Pop3Error('POP3 connection is closed', 'network');
    this.transcript.push(shown);
    const answer = this.read(multi);
    this.socket.write(`${cmd}\r\n`);
    const r = await answer;
    if (!r.line.startsWith('+OK')) {
      const verb = shown.split(' ')[0]!;
      const kind = TEMPORARY.test(r.line) ? 'protocol' : /^(USER|PASS|AUTH)$/.test(verb) || /\[(AUTH|SYS\/PERM)\]/i.test(r.line) ? 'auth' : 'protocol';
      throw new Pop3Error(`POP3 ${this.opts.host}:${this.opts.port}: ${shown} was refused: ${r.line}`, kind, r.line);
    }
    return r;
  }

  /** false when the server refused CAPA: then nothing is known about STLS either way */
  capaOk = false;

  async capa(): Promise<string[]> {
    try {
      const r = await this.command('CAPA', true);
      this.capabilities = r.body!.toString('latin1').split('\r\n').filter(Boolean).map((l) => l.trim().toUpperCase());
      this.capaOk = true;
    } catch (e) {
      if (!(e instanceof Pop3Error) || e.kind !== 'protocol') throw e;
      this.capabilities = []; // a server without CAPA (RFC 2449 is optional)
      this.capaOk = false;
    }
    return this.capabilities;
  }

  /** USER/PASS, or SASL XOAUTH2 with an access token. The secret never enters the transcript. */
  async login(user: string, secret: { pass?: string; accessToken?: string }): Promise<void> {
    if (secret.accessToken) {
      const sasl = Buffer.from(`user=${user}\x01auth=Bearer ${secret.accessToken}\x01\x01`).toString('base64');
      this.transcript.push('AUTH XOAUTH2 [redacted]');
      const answer = this.read(false);
      this.socket.write(`AUTH XOAUTH2 ${sasl}\r\n`);
      let r = await answer;
      if (r.line.startsWith('+ ')) {
        // a challenge carries the error JSON; an empty reply ends the exchange (RFC 7628 §3.2.3)
        const next = this.read(false);
        this.socket.write('\r\n');
        r = await next;
      }
      if (!r.line.startsWith('+OK')) throw new Pop3Error(`POP3 ${this.opts.host}:${this.opts.port}: XOAUTH2 login for ${user} was refused: ${r.line}`, TEMPORARY.test(r.line) ? 'protocol' : 'auth', r.line);
      return;
    }
    await this.command(`USER ${user}`);
    try {
      await this.command(`PASS ${secret.pass ?? ''}`, false, 'PASS [redacted]');
    } catch (e) {
      if (e instanceof Pop3Error) throw new Pop3Error(`POP3 ${this.opts.host}:${this.opts.port}: login for ${user} was refused: ${e.response ?? e.message}`, e.kind === 'auth' ? 'auth' : e.kind, e.response);
      throw e;
    }
  }

  async stat(): Promise<{ count: number; size: number }> {
    const r = await this.command('STAT');
    const m = /^\+OK\s+(\d+)\s+(\d+)/.exec(r.line);
    if (!m) throw new Pop3Error(`POP3 ${this.opts.host}: unreadable STAT answer: ${r.line}`, 'protocol');
    return { count: Number(m[1]), size: Number(m[2]) };
  }

  /** Message numbers with their unique ids (RFC 1939 §7), in server order. */
  async uidl(): Promise<{ n: number; uid: string }[]> {
    const r = await this.command('UIDL', true);
    return r.body!.toString('latin1').split('\r\n').filter(Boolean).map((l) => {
      const [n, uid] = l.trim().split(/\s+/);
      return { n: Number(n), uid: uid ?? '' };
    }).filter((x) => Number.isInteger(x.n) && x.uid);
  }

  /** Sizes of every message (LIST). */
  async list(): Promise<{ n: number; size: number }[]> {
    const r = await this.command('LIST', true);
    return r.body!.toString('latin1').split('\r\n').filter(Boolean).map((l) => {
      const [n, size] = l.trim().split(/\s+/);
      return { n: Number(n), size: Number(size) };
    });
  }

  /**
   * The header and the first `lines` body lines of message `n` (RFC 1939 §7 TOP),
   * exact bytes. A large `lines` returns the whole message without RETR.
   */
  async top(n: number, lines = 0): Promise<Buffer> {
    if (!Number.isInteger(n) || n < 1) throw new Error(`TOP: bad message number ${n}`);
    const r = await this.command(`TOP ${n} ${Math.max(0, Math.floor(lines))}`, true);
    return r.body!;
  }

  /** QUIT ends the session; with TOP only, the server has nothing to update. */
  async quit(): Promise<void> {
    if (this.closed) return;
    try {
      await this.command('QUIT');
    } finally {
      this.closed = true;
      this.socket.end();
      this.socket.destroy();
    }
  }

  /** Drop the connection without QUIT (timeouts, aborts). */
  close(): void {
    this.fail(new Pop3Error('POP3 connection closed by inboxlens', 'network'));
  }
}

/** Remove one leading dot from each dot-stuffed line (RFC 1939 §3), bytes kept as they are. */
export function unstuff(body: Buffer): Buffer {
  if (!body.length) return body;
  const parts: Buffer[] = [];
  let pos = 0;
  let lineStart = true;
  for (let i = 0; i < body.length; i++) {
    if (lineStart && body[i] === 0x2e) {
      parts.push(body.subarray(pos, i));
      pos = i + 1;
    }
    lineStart = body[i] === 0x0a && i > 0 && body[i - 1] === 0x0d;
  }
  if (pos === 0) return body;
  parts.push(body.subarray(pos));
  return Buffer.concat(parts);
}
