// UDP transport for the DnsClient: a few long-lived sockets per resolver, with
// queries matched to answers by id and question (the sockets are connected, so
// only the resolver's datagrams arrive), instead of a
// new socket per query (dns2's UDP client). Opening, binding and closing a socket
// per query dominated the CPU cost of a wide sweep (a blacklist run is hundreds of
// queries); c-ares, behind node:dns, reuses its sockets the same way. Sockets
// close as soon as they have nothing in flight, so a run never leaks them.
import dgram from 'node:dgram';
import net from 'node:net';
import { randomInt } from 'node:crypto';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const Packet = require('dns2').Packet;

interface Pending {
  qname: string;
  resolve(p: any): void;
  reject(e: Error): void;
  timer: NodeJS.Timeout;
  lastDropped?: string;
}

interface PooledSocket {
  sock: dgram.Socket;
  pending: Map<number, Pending>;
  closing: boolean;
  /** connect() is done; until then sends wait in `queue` */
  connected: boolean;
  queue: { id: number; buf: Buffer }[];
}

/** Sockets per resolver: spreads ids and source ports without one socket per query. */
const SOCKETS_PER_SERVER = 4;

function codeError(message: string, code: string): Error {
  return Object.assign(new Error(message), { code });
}

/**
 * A standard query (RD and AD set, class IN, an EDNS0 OPT record advertising 1232 bytes,
 * as the DNS flag day 2020 advises), written directly: this runs once per query
 * of a sweep, and dns2's generic Packet encoder cost more than the send itself.
 */
export function encodeQuery(id: number, name: string, qtype: number): Buffer {
  const labels = name.replace(/\.$/, '').split('.').filter(Boolean).map((l) => Buffer.from(l, 'latin1'));
  let len = 12 + 1 + 4 + 11;
  for (const l of labels) {
    if (l.length > 63) throw codeError(`'${name}' has a label longer than 63 octets`, 'EBADNAME');
    len += 1 + l.length;
  }
  if (len - 12 - 4 - 11 > 255) throw codeError(`'${name}' is longer than 255 octets`, 'EBADNAME');
  const buf = Buffer.alloc(len);
  buf.writeUInt16BE(id, 0);
  // QR=0, OPCODE=0, RD=1, AD=1: AD in a query asks a validating resolver to say
  // whether it validated the answer (RFC 6840 §5.7), which DANE needs to know
  buf.writeUInt16BE(0x0120, 2);
  buf.writeUInt16BE(1, 4); // QDCOUNT
  buf.writeUInt16BE(1, 10); // ARCOUNT: the OPT record
  let o = 12;
  for (const l of labels) {
    buf[o++] = l.length;
    l.copy(buf, o);
    o += l.length;
  }
  buf[o++] = 0;
  buf.writeUInt16BE(qtype, o);
  buf.writeUInt16BE(1, o + 2); // class IN
  o += 4;
  buf[o++] = 0; // OPT owner: the root
  buf.writeUInt16BE(41, o); // type OPT (RFC 6891)
  buf.writeUInt16BE(1232, o + 2); // the "class" of OPT is the UDP payload size
  return buf; // TTL (extended rcode, flags) and RDLENGTH stay 0
}

export class UdpPool {
  private readonly servers = new Map<string, PooledSocket[]>();
  private next = 0;

  /**
   * Send one query (with an id free on the chosen socket) and resolve with the
   * decoded answer (a dns2 Packet). Fails like dns2's client: code ETIMEDOUT
   * on timeout (naming the last datagram it had to drop), the socket's error otherwise.
   */
  query(host: string, port: number, qname: string, qtype: number, timeoutMs: number): Promise<any> {
    const key = `${host}|${port}`;
    let list = this.servers.get(key);
    if (!list) this.servers.set(key, (list = []));
    let ps: PooledSocket;
    if (list.length < SOCKETS_PER_SERVER) ps = this.open(key, host, port);
    else ps = list[this.next++ % list.length]!;
    let id = randomInt(0, 65536);
    while (ps.pending.has(id)) id = (id + 1) & 0xffff;
    let buf: Buffer;
    try {
      buf = encodeQuery(id, qname, qtype);
    } catch (e) {
      return Promise.reject(e);
    }
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        const p = ps.pending.get(id);
        this.settle(ps, key, id);
        reject(codeError(`DNS query timed out after ${timeoutMs}ms${p?.lastDropped ? ` (last ${p.lastDropped})` : ''}`, 'ETIMEDOUT'));
      }, timeoutMs);
      timer.unref();
      ps.pending.set(id, { qname: qname.toLowerCase(), resolve, reject, timer });
      if (ps.connected) this.send(ps, key, id, buf);
      else ps.queue.push({ id, buf });
    });
  }

  private send(ps: PooledSocket, key: string, id: number, buf: Buffer): void {
    const done = (err: Error | null) => {
      if (!err) return;
      // The kernel hands an ICMP port-unreachable to the next call on the socket,
      // which may be this send rather than a read: it speaks for every query in
      // flight on the socket (one resolver), not just this one.
      if ((err as NodeJS.ErrnoException).code === 'ECONNREFUSED') return this.fail(ps, key, err);
      const p = ps.pending.get(id);
      if (p) {
        this.settle(ps, key, id);
        p.reject(err);
      }
    };
    try {
      ps.sock.send(buf, done);
    } catch (e) {
      done(e as Error); // the socket closed under us
    }
  }

  /** The socket is unusable (or its resolver unreachable): end every query on it and close it. */
  private fail(ps: PooledSocket, key: string, err: Error): void {
    for (const [id, p] of [...ps.pending]) {
      this.settle(ps, key, id);
      p.reject(err);
    }
    this.drop(ps, key);
  }

  private open(key: string, host: string, port: number): PooledSocket {
    const sock = dgram.createSocket(net.isIPv6(host) ? 'udp6' : 'udp4');
    const ps: PooledSocket = { sock, pending: new Map(), closing: false, connected: false, queue: [] };
    // A connected socket, as c-ares uses: no address lookup per send, and the kernel
    // itself drops datagrams from anyone but the resolver (and reports ICMP
    // port-unreachable as an error instead of leaving the query to time out).
    sock.connect(port, host, (err?: Error) => {
      // no route, a broadcast address, …: every query waiting on this socket fails with the reason
      if (err) return this.fail(ps, key, err);
      ps.connected = true;
      for (const { id, buf } of ps.queue.splice(0)) if (ps.pending.has(id)) this.send(ps, key, id, buf);
    });
    // referenced while it has queries in flight (it keeps the process alive like any pending I/O), closed when idle
    sock.on('message', (msg: Buffer) => {
      if (msg.length < 12) return;
      const p = ps.pending.get(msg.readUInt16BE(0));
      if (!p) return; // late answer to a query that already timed out
      // only the resolver can answer: the socket is connected to it, so the kernel
      // drops datagrams from any other address (comparing rinfo here would also drop
      // the resolver's own answers when its IPv6 address was written another way)
      let pkt: any;
      try {
        pkt = Packet.parse(msg);
      } catch (e) {
        p.lastDropped = `response could not be decoded: ${(e as Error).message}`;
        return;
      }
      const q = pkt.questions?.[0]?.name;
      if (typeof q === 'string' && q.toLowerCase().replace(/\.$/, '') !== p.qname.replace(/\.$/, '')) {
        p.lastDropped = `response is about '${q}', not the question asked`;
        return;
      }
      this.settle(ps, key, msg.readUInt16BE(0));
      p.resolve(pkt);
    });
    sock.on('error', (err) => this.fail(ps, key, err));
    this.servers.get(key)!.push(ps);
    return ps;
  }

  private settle(ps: PooledSocket, key: string, id: number): void {
    const p = ps.pending.get(id);
    if (!p) return;
    clearTimeout(p.timer);
    ps.pending.delete(id);
    if (!ps.pending.size && !ps.closing) {
      // close when idle; a query issued in the same turn (the next one of a sweep) keeps it
      ps.closing = true;
      setImmediate(() => {
        ps.closing = false;
        if (!ps.pending.size) this.drop(ps, key);
      });
    }
  }

  private drop(ps: PooledSocket, key: string): void {
    const list = this.servers.get(key);
    const i = list?.indexOf(ps) ?? -1;
    if (i >= 0) list!.splice(i, 1);
    try {
      ps.sock.close();
    } catch {
      /* already closed */
    }
  }
}
