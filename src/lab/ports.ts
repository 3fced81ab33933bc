// Free loopback ports for servers the lab does not bind itself (Dovecot binds its
// own listeners, so it has to be told port numbers up front).
import net from 'node:net';

/**
 * `n` distinct ports that were free on 127.0.0.1 a moment ago. They are held
 * open together so the kernel hands out different ones; a race with another
 * process is still possible, so callers retry on "address in use".
 */
export async function freePorts(n: number): Promise<number[]> {
  const servers: net.Server[] = [];
  try {
    for (let i = 0; i < n; i++) {
      const s = net.createServer();
      servers.push(s);
      await new Promise<void>((resolve, reject) => {
        s.once('error', reject);
        s.listen(0, '127.0.0.1', () => resolve());
      });
    }
    return servers.map((s) => (s.address() as net.AddressInfo).port);
  } finally {
    await Promise.all(servers.map((s) => new Promise<void>((r) => s.close(() => r()))));
  }
}
