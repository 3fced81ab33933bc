// A client for SpamAssassin's spamd, speaking the spamc protocol
// (spamd/PROTOCOL in the SpamAssassin sources): REPORT returns the verdict
// header "Spam: True ; 7.2 / 5.0" and the report text whose table lists every
// rule hit with its score (SYMBOLS would give the names only).
import net from 'node:net';

export interface SpamRule {
  name: string;
  score: number;
  description: string;
}

export interface SpamdResult {
  filter: 'spamassassin';
  isSpam: boolean;
  score: number;
  threshold: number;
  rules: SpamRule[];
  ms: number;
}

export interface SpamdAddress {
  host: string;
  port: number;
}

export const SPAMD_DEFAULT_PORT = 783;

/** `host[:port]`, `[v6]:port`; throws a message naming the problem (the caller wraps it in a UsageError). */
export function parseSpamdAddress(spec: string): SpamdAddress {
  const s = spec.trim();
  let host = s;
  let port = SPAMD_DEFAULT_PORT;
  const v6 = /^\[([^\]]+)\](?::(\d*))?$/.exec(s);
  if (v6) {
    host = v6[1]!;
    if (v6[2] !== undefined) port = Number(v6[2]);
  } else if ((s.match(/:/g) ?? []).length === 1) {
    const [h, p] = s.split(':') as [string, string];
    if (!/^\d+$/.test(p)) throw new Error(`'${spec}': the port '${p}' is not a number (use HOST:PORT, e.g. 127.0.0.1:783)`);
    host = h;
    port = Number(p);
  } else if (s.includes(':') && !net.isIP(s)) {
    throw new Error(`'${spec}' is not HOST:PORT (an IPv6 address with a port is written [::1]:783)`);
  }
  if (!host || !(net.isIP(host) || /^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$/i.test(host))) {
    throw new Error(`'${spec}': '${host}' is not a host name or IP address`);
  }
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new Error(`'${spec}': port ${port} is out of range 1-65535`);
  return { host, port };
}

export class SpamdError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SpamdError';
  }
}

interface Exchange { status: string; headers: Map<string, string>; body: string }

/** One request/response on a fresh connection (spamd closes it after answering). */
function exchange(addr: SpamdAddress, head: string, body: Buffer | undefined, timeoutMs: number, signal?: AbortSignal): Promise<Exchange> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let settled = false;
    const sock = net.connect({ host: addr.host, port: addr.port });
    const done = (err: Error | null, value?: Exchange) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      sock.destroy();
      if (err) reject(err);
      else resolve(value!);
    };
    const where = `spamd ${addr.host}:${addr.port}`;
    const timer = setTimeout(() => done(new SpamdError(`${where} did not answer within ${timeoutMs} ms`)), timeoutMs);
    const onAbort = () => done(new SpamdError(`${where}: cancelled`));
    signal?.addEventListener('abort', onAbort, { once: true });
    sock.on('connect', () => {
      sock.write(head);
      if (body) sock.write(body);
      // spamd reads Content-length bytes; half-closing also covers servers that read to EOF
      sock.end();
    });
    sock.on('data', (d: Buffer) => chunks.push(d));
    sock.on('error', (e: NodeJS.ErrnoException) => done(new SpamdError(`${where}: ${e.code === 'ECONNREFUSED' ? 'connection refused (is spamd running and listening there?)' : e.code ?? e.message}`)));
    sock.on('close', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      const sep = text.search(/\r?\n\r?\n/);
      const headText = sep === -1 ? text : text.slice(0, sep);
      const bodyText = sep === -1 ? '' : text.slice(sep).replace(/^\r?\n\r?\n/, '');
      const [status = '', ...lines] = headText.split(/\r?\n/);
      if (!/^SPAMD\/\d+\.\d+ /.test(status)) {
        return done(new SpamdError(`${where} did not answer with the spamc protocol${status ? ` (first line: ${JSON.stringify(status.slice(0, 80))})` : ' (empty answer)'}`));
      }
      const headers = new Map<string, string>();
      for (const l of lines) {
        const i = l.indexOf(':');
        if (i > 0) headers.set(l.slice(0, i).trim().toLowerCase(), l.slice(i + 1).trim());
      }
      done(null, { status, headers, body: bodyText });
    });
  });
}

function checkStatus(where: string, status: string): void {
  // "SPAMD/1.1 0 EX_OK"; anything else is spamd refusing (EX_PROTOCOL, EX_NOUSER, EX_TEMPFAIL…)
  const m = /^SPAMD\/\d+\.\d+\s+(\d+)\s*(.*)$/.exec(status);
  if (!m || m[1] !== '0') throw new SpamdError(`${where} refused the request: ${status}`);
}

/** `PING` → `PONG`: is spamd there and speaking the protocol? */
export async function spamdPing(addr: SpamdAddress, timeoutMs = 3000, signal?: AbortSignal): Promise<void> {
  const r = await exchange(addr, 'PING SPAMC/1.5\r\n\r\n', undefined, timeoutMs, signal);
  if (!/PONG/.test(r.status)) throw new SpamdError(`spamd ${addr.host}:${addr.port} answered PING with ${JSON.stringify(r.status)}`);
}

/** Parse "True ; 7.2 / 5.0" (the Spam: header of CHECK/REPORT answers). */
export function parseSpamHeader(v: string): { isSpam: boolean; score: number; threshold: number } | null {
  const m = /^\s*(True|False|Yes|No)\s*;\s*(-?\d+(?:\.\d+)?)\s*\/\s*(-?\d+(?:\.\d+)?)\s*$/i.exec(v);
  if (!m) return null;
  return { isSpam: /^(true|yes)$/i.test(m[1]!), score: Number(m[2]), threshold: Number(m[3]) };
}

/**
 * The rules table of a SpamAssassin report:
 *
 *    pts rule name              description
 *   ---- ---------------------- --------------------------------------------------
 *    1000 GTUBE                  BODY: Generic Test for Unsolicited Bulk Email
 *    -0.0 NO_RELAYS              Informational: message was not relayed via SMTP
 *                                continued description
 */
export function parseReportRules(report: string): SpamRule[] {
  const lines = report.split(/\r?\n/);
  const start = lines.findIndex((l) => /^\s*-{3,}\s+-{3,}\s+-{3,}/.test(l));
  if (start === -1) return [];
  const rules: SpamRule[] = [];
  for (const line of lines.slice(start + 1)) {
    if (!line.trim()) break;
    const m = /^\s*(-?\d+(?:\.\d+)?)\s+([A-Za-z0-9_]+)\s+(.*)$/.exec(line);
    // `|| 0` turns the report's "-0.0" into 0
    if (m) rules.push({ name: m[2]!, score: Number(m[1]) || 0, description: m[3]!.trim() });
    else if (rules.length) rules.at(-1)!.description += ` ${line.trim()}`;
  }
  return rules;
}

/** Score a message: the verdict, the threshold and every rule hit with its score. */
export async function spamdReport(raw: Buffer, addr: SpamdAddress, opts: { timeoutMs?: number; user?: string; signal?: AbortSignal } = {}): Promise<SpamdResult> {
  const t0 = performance.now();
  const where = `spamd ${addr.host}:${addr.port}`;
  // the message goes as-is: spamd reads exactly Content-length bytes
  const head = `REPORT SPAMC/1.5\r\nContent-length: ${raw.length}\r\nUser: ${opts.user ?? 'inboxlens'}\r\n\r\n`;
  const r = await exchange(addr, head, raw, opts.timeoutMs ?? 60_000, opts.signal);
  checkStatus(where, r.status);
  const verdict = parseSpamHeader(r.headers.get('spam') ?? '');
  if (!verdict) throw new SpamdError(`${where} answered without a readable "Spam:" header (${JSON.stringify(r.headers.get('spam') ?? 'none')})`);
  return { filter: 'spamassassin', ...verdict, rules: parseReportRules(r.body), ms: Math.round(performance.now() - t0) };
}
