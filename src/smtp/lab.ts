// Lab SMTP servers on loopback for the smtp check's tests, benchmarks and demos:
// smtp-server instances that play a well-behaved MX, one without STARTTLS, one
// stuck on TLS 1.0, one with an expired certificate, a greylister, a catch-all, a
// tar-pit, and submission servers. Each records every command it receives.
import net from 'node:net';
import { createRequire } from 'node:module';
import { SMTPServer, type SMTPServerOptions, type SMTPServerSession } from 'smtp-server';

const require = createRequire(import.meta.url);
// selfsigned is CommonJS; its EC keys trip a duplicated asn1 schema, so the lab uses RSA
const selfsigned = require('selfsigned') as { generate(attrs: unknown, opts: unknown): Promise<{ private: string; cert: string }> };

export interface Pem {
  key: string;
  cert: string;
}

/** A throwaway CA: give its cert to the probe (`--smtp-ca`) so lab certificates verify. */
export async function labCa(): Promise<Pem> {
  const p = await selfsigned.generate([{ name: 'commonName', value: 'inboxlens lab CA' }], {
    algorithm: 'sha256',
    keySize: 2048,
    extensions: [{ name: 'basicConstraints', cA: true, critical: true }, { name: 'keyUsage', keyCertSign: true, cRLSign: true, critical: true }],
  });
  return { key: p.private, cert: p.cert };
}

/** A server certificate for `names`, signed by `ca` (self-signed without one), valid between the given dates. */
export async function labCert(names: string[], o: { ca?: Pem; notBefore?: Date; notAfter?: Date } = {}): Promise<Pem> {
  const notBefore = o.notBefore ?? new Date(Date.now() - 86_400_000);
  const notAfter = o.notAfter ?? new Date(notBefore.getTime() + 90 * 86_400_000);
  const p = await selfsigned.generate([{ name: 'commonName', value: names[0] }], {
    algorithm: 'sha256',
    keySize: 2048,
    notBeforeDate: notBefore,
    notAfterDate: notAfter,
    ...(o.ca ? { ca: { key: o.ca.key, cert: o.ca.cert } } : {}),
    extensions: [
      { name: 'basicConstraints', cA: false },
      { name: 'keyUsage', digitalSignature: true, keyEncipherment: true },
      { name: 'extKeyUsage', serverAuth: true },
      { name: 'subjectAltName', altNames: names.map((n) => ({ type: 2, value: n })) },
    ],
  });
  return { key: p.private, cert: p.cert };
}

export interface LabSmtpOptions {
  /** the name in the banner and EHLO reply */
  name: string;
  /** certificate for STARTTLS / implicit TLS; none: no STARTTLS offered */
  tls?: Pem;
  /** only TLS 1.0 (and weak ciphers), like a very old MTA */
  tls10Only?: boolean;
  /** implicit TLS (port 465 style) */
  secure?: boolean;
  /** delay the banner by this long (tar-pit) */
  bannerDelayMs?: number;
  /** greet with this code instead of 220 (e.g. 554: go away) */
  refuseGreeting?: { code: number; message: string };
  /** RCPT: the accepted mailboxes (others get 550 5.1.1); `catchAll` accepts any */
  mailboxes?: string[];
  catchAll?: boolean;
  /** RCPT: answer every recipient with 450 4.2.0 greylisted */
  greylist?: boolean;
  /** RCPT: these recipients (lower case) get this reply; the message starts with its enhanced code, as Postfix writes it */
  rcptReplies?: Record<string, { code: number; message: string }>;
  /** submission: these credentials; AUTH PLAIN and LOGIN */
  auth?: { user: string; pass: string; /** also offer AUTH before STARTTLS */ beforeTls?: boolean };
}

export interface ReceivedCommand {
  session: string;
  line: string;
}

export class LabSmtp {
  readonly server: SMTPServer;
  port = 0;
  readonly host = '127.0.0.1';
  /** every command line received (AUTH data masked by smtp-server), in order */
  readonly commands: ReceivedCommand[] = [];
  private timers = new Set<NodeJS.Timeout>();
  private sockets = new Set<net.Socket>();

  constructor(o: LabSmtpOptions) {
    const record = (obj: { tnx?: string; cid?: string } | undefined, tag: unknown, line: unknown) => {
      if (obj?.tnx === 'command' && tag === 'C:') this.commands.push({ session: String(obj.cid), line: String(line) });
    };
    const logger = { trace() {}, debug: record, info() {}, warn() {}, error() {}, fatal() {}, child() { return logger; } };
    const disabled = [...(o.tls ? [] : ['STARTTLS']), ...(o.auth ? [] : ['AUTH'])];
    const opts: SMTPServerOptions = {
      name: o.name,
      logger: logger as unknown as SMTPServerOptions['logger'],
      secure: Boolean(o.secure),
      size: 35 * 1024 * 1024,
      disabledCommands: disabled,
      authOptional: !o.auth,
      authMethods: o.auth ? ['PLAIN', 'LOGIN'] : [],
      // greylisting servers put their own enhanced code in the text, as Postgrey does
      hideENHANCEDSTATUSCODES: Boolean(o.greylist || o.rcptReplies),
      socketTimeout: 30_000,
      disableReverseLookup: true,
      closeTimeout: 1000,
      ...(o.tls ? { key: o.tls.key, cert: o.tls.cert } : {}),
      ...(o.tls10Only ? { minVersion: 'TLSv1', maxVersion: 'TLSv1', ciphers: 'DEFAULT:@SECLEVEL=0' } : {}),
      onConnect: (session: SMTPServerSession, cb: (err?: Error) => void) => {
        // AUTH only after STARTTLS, unless this server is meant to offer it in the clear
        if (o.auth && o.tls && !o.secure && !o.auth.beforeTls) (session as any).disabledCommands = [...disabled, 'AUTH'];
        if (o.refuseGreeting) {
          const err = Object.assign(new Error(o.refuseGreeting.message), { responseCode: o.refuseGreeting.code });
          return cb(err);
        }
        if (o.bannerDelayMs) {
          const t = setTimeout(() => {
            this.timers.delete(t);
            cb();
          }, o.bannerDelayMs);
          this.timers.add(t);
          return;
        }
        cb();
      },
      onSecure: (_socket: unknown, session: SMTPServerSession, cb: (err?: Error) => void) => {
        (session as any).disabledCommands = disabled;
        cb();
      },
      onAuth: (auth, _session, cb) => {
        if (o.auth && auth.username === o.auth.user && auth.password === o.auth.pass) return cb(null, { user: auth.username });
        cb(Object.assign(new Error('Authentication credentials invalid'), { responseCode: 535 }));
      },
      onMailFrom: (_a, _s, cb) => cb(),
      onRcptTo: (addr, _s, cb) => {
        if (o.greylist) return cb(Object.assign(new Error('4.2.0 Recipient address rejected: Greylisted, try again later'), { responseCode: 450 }));
        const scripted = o.rcptReplies?.[addr.address.toLowerCase()];
        if (scripted) return cb(Object.assign(new Error(scripted.message), { responseCode: scripted.code }));
        if (o.catchAll || (o.mailboxes ?? []).map((m) => m.toLowerCase()).includes(addr.address.toLowerCase())) return cb();
        cb(Object.assign(new Error('Mailbox unavailable'), { responseCode: 550 }));
      },
      onData: (stream, _s, cb) => {
        // a probe must never get here; the tests assert DATA is never received
        stream.resume();
        stream.on('end', () => cb(Object.assign(new Error('lab server does not take messages'), { responseCode: 554 })));
      },
    };
    this.server = new SMTPServer(opts);
    this.server.on('error', () => {});
    this.server.on('connection' as any, () => {});
  }

  async listen(): Promise<this> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(0, this.host, () => resolve());
    });
    this.port = (this.server.server.address() as net.AddressInfo).port;
    this.server.server.on('connection', (s: net.Socket) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
    return this;
  }

  /** command lines of one session, or of all sessions */
  lines(session?: string): string[] {
    return this.commands.filter((c) => !session || c.session === session).map((c) => c.line);
  }

  async stop(): Promise<void> {
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

export async function startLabSmtp(o: LabSmtpOptions): Promise<LabSmtp> {
  return new LabSmtp(o).listen();
}

/** A loopback port with nothing listening on it (bound, then released). */
export async function closedPort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as net.AddressInfo).port;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}
