// Starts the fixture DNS server on loopback with the zones in fixtures/zones (plus extras).
import path from 'node:path';
import { FixtureDns, loadZoneDir, parseZone, mergeZone } from '../../src/dns/fixture-server.ts';
import { ROOT } from './cli.ts';

export const ZONES_DIR = path.join(ROOT, 'fixtures/zones');

export async function startDns(extra?: Record<string, unknown>, opts: { latencyMs?: number; zonesDir?: string | null } = {}): Promise<FixtureDns> {
  const zone = opts.zonesDir === null ? new Map() : await loadZoneDir(opts.zonesDir ?? ZONES_DIR);
  if (extra) mergeZone(zone, parseZone(extra, 'test zone'));
  return FixtureDns.start({ zone, latencyMs: opts.latencyMs });
}

/** CLI flags that point inboxlens at the fixture server, with short timeouts for failure tests. */
export function dnsArgs(dns: FixtureDns, timeout = '400ms'): string[] {
  return ['--resolver', dns.address, '--timeout', timeout, '--retries', '1'];
}
