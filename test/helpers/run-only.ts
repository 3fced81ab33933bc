// Runs one check of `inboxlens check` in-process for the auth checks' tests.
import { loadChecks } from '../../checks/index.ts';
import { DnsClient } from '../../src/dns/resolver.ts';
import { exitCodeFor, runTarget } from '../../src/engine.ts';
import { buildReport } from '../../src/report/json.ts';
import type { RunOptions } from '../../src/types.ts';
import type { FixtureDns } from '../../src/dns/fixture-server.ts';
import { runCli } from './cli.ts';
import { dnsArgs } from './dns.ts';

// Runs `inboxlens check DOMAIN --only ONLY [flags] --json` in-process: the real check
// registry, engine, DnsClient and fixture DNS, and the report schema, without paying
// a Node start per case. `cli: true` cases go through the real CLI in a child process.
export async function runOnly(dns: FixtureDns, only: string, args: string[], cli = false) {
  if (cli) {
    const r = await runCli(['check', ...args, '--only', only, '--json', '--no-save', ...dnsArgs(dns, '1500ms')]);
    return { code: r.code, doc: r.json(), stdout: r.stdout };
  }
  const [domain, ...rest] = args;
  const opts: RunOptions = { ips: [], selectors: [] };
  let failOn: 'error' | 'warn' = 'error';
  for (let i = 0; i < rest.length; i++) {
    const next = () => rest[++i]!;
    switch (rest[i]) {
      case '--selector': opts.selectors.push(...next().split(',')); break;
      case '--no-dkim-guess': opts.dkimGuess = false; break;
      case '--dkim-domain': opts.dkimDomain = next(); break;
      case '--mail-from': opts.mailFrom = next(); break;
      case '--ip': opts.ips.push(next()); break;
      case '--fail-on': failOn = next() as 'error' | 'warn'; break;
      default: throw new Error(`runOnly: unsupported flag ${rest[i]}`);
    }
  }
  const registry = await loadChecks();
  const check = registry.get(only)!;
  const applies = check.applies ? check.applies(opts) : true;
  // generous: a loaded CI machine must not turn a slow answer into a timeout
  const client = new DnsClient({ resolvers: [{ host: '127.0.0.1', port: dns.port }], timeoutMs: 1500, retries: 1 });
  const t = applies === true
    ? await runTarget({ target: domain!, checks: [check], registry, opts, dns: client })
    : { target: domain!, status: 'pass' as const, checks: [], ms: 0 };
  const code = exitCodeFor(t.checks, failOn);
  const skipped = applies === true ? undefined : [{ check: only, reason: applies }];
  return { code, doc: JSON.parse(JSON.stringify(buildReport({ command: 'check', targets: [t], durationMs: t.ms, exitCode: code, skipped }))), stdout: '' };
}
