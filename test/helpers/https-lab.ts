// A real HTTPS server on loopback for tests of MTA-STS, BIMI and the HTTPS
// helper: a lab CA (selfsigned) signs one certificate per host name; a host can
// instead be given an untrusted self-signed certificate or one for another name,
// and each host/path answers what the test says (status, type, body, or silence).
import https from 'node:https';
import tls from 'node:tls';
import { writeFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { generate } from 'selfsigned';

export interface Route {
  status?: number;
  type?: string;
  body?: string | Buffer;
  headers?: Record<string, string>;
  /** accept the request and never answer (a timeout) */
  hang?: boolean;
}

export interface HttpsLab {
  port: number;
  caPem: string;
  /** a PEM file holding the lab CA, for --ca-file */
  caFile: string;
  /** INBOXLENS_HTTPS_PORT_MAP value sending every lab host's :443 here */
  portMap: string;
  /** requests received, as "host path" */
  hits: string[];
  route(host: string, pathname: string, r: Route): void;
  stop(): Promise<void>;
}

const day = 24 * 3600 * 1000;

export async function makeCa(cn = 'inboxlens lab CA') {
  return generate([{ name: 'commonName', value: cn }], {
    algorithm: 'sha256',
    // RSA: selfsigned's EC path fails here (two @peculiar/asn1-x509 versions in the tree)
    keyType: 'rsa',
    notBeforeDate: new Date(Date.now() - day),
    notAfterDate: new Date(Date.now() + 30 * day),
    extensions: [
      { name: 'basicConstraints', cA: true, critical: true },
      { name: 'keyUsage', keyCertSign: true, cRLSign: true, digitalSignature: true, critical: true },
    ],
  });
}

export async function makeLeaf(names: string[], ca?: { key: string; cert: string }) {
  return generate([{ name: 'commonName', value: names[0]! }], {
    algorithm: 'sha256',
    keyType: 'rsa',
    notBeforeDate: new Date(Date.now() - day),
    notAfterDate: new Date(Date.now() + 30 * day),
    extensions: [
      { name: 'basicConstraints', cA: false },
      { name: 'keyUsage', digitalSignature: true, keyEncipherment: true },
      { name: 'extKeyUsage', serverAuth: true },
      { name: 'subjectAltName', altNames: names.map((value) => ({ type: 2 as const, value })) },
    ],
    ...(ca ? { ca } : {}),
  });
}

/**
 * hosts: every name the lab serves with a certificate from the lab CA.
 * selfSigned: names served with a self-signed certificate no one trusts.
 * wrongName: names served with a lab-CA certificate for another name.
 */
export async function startHttpsLab(o: { hosts: string[]; selfSigned?: string[]; wrongName?: string[] }): Promise<HttpsLab> {
  const ca = await makeCa();
  const contexts = new Map<string, tls.SecureContext>();
  // one certificate per kind, each naming all of its hosts: RSA key generation is slow
  const [good, own, other] = await Promise.all([
    makeLeaf(o.hosts, { key: ca.private, cert: ca.cert }),
    o.selfSigned?.length ? makeLeaf(o.selfSigned) : undefined,
    o.wrongName?.length ? makeLeaf(o.wrongName.map((h) => `other.${h}`), { key: ca.private, cert: ca.cert }) : undefined,
  ]);
  const goodCtx = tls.createSecureContext({ key: good.private, cert: `${good.cert}\n${ca.cert}` });
  for (const h of o.hosts) contexts.set(h.toLowerCase(), goodCtx);
  if (own) {
    const c = tls.createSecureContext({ key: own.private, cert: own.cert });
    for (const h of o.selfSigned ?? []) contexts.set(h.toLowerCase(), c);
  }
  if (other) {
    const c = tls.createSecureContext({ key: other.private, cert: `${other.cert}\n${ca.cert}` });
    for (const h of o.wrongName ?? []) contexts.set(h.toLowerCase(), c);
  }
  const routes = new Map<string, Route>();
  const hits: string[] = [];
  const hanging = new Set<import('node:http').ServerResponse>();
  const server = https.createServer(
    {
      key: good.private,
      cert: good.cert,
      SNICallback: (name, cb) => cb(null, contexts.get(name.toLowerCase()) ?? null as any),
    },
    (req, res) => {
      const host = String(req.headers.host ?? '').replace(/:\d+$/, '').toLowerCase();
      const pathname = (req.url ?? '/').split('?')[0]!;
      hits.push(`${host} ${pathname}`);
      const r = routes.get(`${host} ${pathname}`);
      if (!r) {
        res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
        return;
      }
      if (r.hang) {
        hanging.add(res);
        return;
      }
      const body = r.body ?? '';
      res.writeHead(r.status ?? 200, { ...(r.type ? { 'content-type': r.type } : {}), ...r.headers });
      res.end(body);
    },
  );
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  const dir = await mkdtemp(path.join(tmpdir(), 'inboxlens-lab-ca-'));
  const caFile = path.join(dir, 'ca.pem');
  await writeFile(caFile, ca.cert);
  const all = [...o.hosts, ...(o.selfSigned ?? []), ...(o.wrongName ?? [])];
  return {
    port,
    caPem: ca.cert,
    caFile,
    portMap: all.map((h) => `${h}:443=127.0.0.1:${port}`).join(','),
    hits,
    route: (host, pathname, r) => routes.set(`${host.toLowerCase()} ${pathname}`, r),
    stop: async () => {
      for (const res of hanging) res.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await rm(dir, { recursive: true, force: true });
    },
  };
}
