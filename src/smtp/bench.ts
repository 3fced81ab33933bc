// Benchmark of the MX probe fan-out: N lab MX servers on loopback, each greeting
// after a delay (a stand-in for WAN round trips and greet pauses), probed one at a
// time and then with the default cap. Run: node_modules/.bin/node src/smtp/bench.ts [N] [delayMs]
import { labCa, labCert, startLabSmtp, type LabSmtp } from './lab.ts';
import { probeMx } from './receive.ts';
import { mapLimit } from '../util/semaphore.ts';

const n = Number(process.argv[2] ?? 24);
const delay = Number(process.argv[3] ?? 250);
const ca = await labCa();
const cert = await labCert(['mx.bench.smtp-lab.example'], { ca });
const servers: LabSmtp[] = await Promise.all(Array.from({ length: n }, () => startLabSmtp({ name: 'mx.bench.smtp-lab.example', tls: cert, bannerDelayMs: delay })));
try {
  for (const limit of [1, 8, 32]) {
    const t0 = performance.now();
    const probes = await mapLimit(servers, limit, (s) => probeMx({ host: 'mx.bench.smtp-lab.example', priority: 10, ip: '127.0.0.1' }, { port: s.port, timeoutMs: 10_000, ca: [ca.cert] }));
    const ms = Math.round(performance.now() - t0);
    const ok = probes.filter((p) => p.status === 'ok' && p.tls).length;
    console.log(`${n} MX addresses, banner delay ${delay} ms, concurrency ${String(limit).padStart(2)}: ${String(ms).padStart(6)} ms (${ok}/${n} complete with TLS)`);
  }
} finally {
  await Promise.all(servers.map((s) => s.stop()));
}
