// The lab's certificate authority: one CA per lab, and a server certificate for
// localhost / 127.0.0.1 signed by it. Dovecot and the lab MX present the server
// certificate; seeds and senders trust `caPem`, so TLS stays verified in the lab.
import { generate } from 'selfsigned';

export interface LabTls {
  /** the lab CA certificate (PEM): what clients trust */
  caPem: string;
  /** the server certificate (PEM) for localhost and 127.0.0.1 */
  certPem: string;
  /** the server certificate's private key (PEM) */
  keyPem: string;
}

let cached: Promise<LabTls & { caKeyPem: string }> | undefined;

async function make(): Promise<LabTls & { caKeyPem: string }> {
  const notBeforeDate = new Date(Date.now() - 60 * 60 * 1000);
  const notAfterDate = new Date(Date.now() + 7 * 24 * 60 * 60 * 1000);
  // RSA: selfsigned's EC path fails here (two @peculiar/asn1-x509 versions in the tree)
  const ca = await generate([{ name: 'commonName', value: 'inboxlens lab CA' }, { name: 'organizationName', value: 'inboxlens lab (test only)' }], {
    keyType: 'rsa',
    algorithm: 'sha256',
    notBeforeDate,
    notAfterDate,
    extensions: [
      { name: 'basicConstraints', cA: true, critical: true },
      { name: 'keyUsage', keyCertSign: true, cRLSign: true, digitalSignature: true, critical: true },
    ],
  });
  const server = await generate([{ name: 'commonName', value: 'localhost' }], {
    keyType: 'rsa',
    algorithm: 'sha256',
    notBeforeDate,
    notAfterDate,
    ca: { key: ca.private, cert: ca.cert },
    extensions: [
      { name: 'basicConstraints', cA: false },
      { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
      { name: 'extKeyUsage', serverAuth: true },
      { name: 'subjectAltName', altNames: [{ type: 2, value: 'localhost' }, { type: 7, ip: '127.0.0.1' }, { type: 7, ip: '::1' }] },
    ],
  });
  return { caPem: ca.cert, certPem: server.cert, keyPem: server.private, caKeyPem: ca.private };
}

/**
 * A server certificate from the same lab CA for other names (a lab MX's host name,
 * a loopback address other than 127.0.0.1), so clients verify it by that name.
 */
export async function labCertFor(names: string[], ips: string[] = []): Promise<LabTls> {
  const base = await labTlsWithKey();
  const server = await generate([{ name: 'commonName', value: names[0] ?? ips[0] ?? 'localhost' }], {
    keyType: 'rsa',
    algorithm: 'sha256',
    notBeforeDate: new Date(Date.now() - 60 * 60 * 1000),
    notAfterDate: new Date(Date.now() + 7 * 24 * 60 * 60 * 1000),
    ca: { key: base.caKeyPem, cert: base.caPem },
    extensions: [
      { name: 'basicConstraints', cA: false },
      { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
      { name: 'extKeyUsage', serverAuth: true },
      { name: 'subjectAltName', altNames: [...names.map((value) => ({ type: 2 as const, value })), ...ips.map((ip) => ({ type: 7 as const, ip }))] },
    ],
  });
  return { caPem: base.caPem, certPem: server.cert, keyPem: server.private };
}

function labTlsWithKey(): Promise<LabTls & { caKeyPem: string }> {
  cached ??= make().catch((e) => {
    cached = undefined;
    throw e;
  });
  return cached;
}

/**
 * The lab CA and server certificate. Generated once per process and shared by
 * every lab server in it (Dovecot, the MX), so one `caPem` verifies them all.
 */
export async function labTls(): Promise<LabTls> {
  const { caKeyPem: _key, ...tls } = await labTlsWithKey();
  return tls;
}
