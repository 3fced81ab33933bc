// A local DNS server answering from fixtures/zones (0 ms latency), for scripts
// that run the CLI against a lab DNS: prints its address (host:port) on stdout,
// then serves until SIGTERM/SIGINT.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { FixtureDns, loadZoneDir } from '../src/dns/fixture-server.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const dns = await FixtureDns.start({ zone: await loadZoneDir(path.join(ROOT, 'fixtures/zones')), latencyMs: 0 });
process.stdout.write(`${dns.address}\n`);
const stop = async () => {
  await dns.stop();
  process.exit(0);
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
