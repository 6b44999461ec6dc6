/**
 * A private CA and the webhook's serving certificate, signed by it. The API server verifies the
 * webhook against the CA in the MutatingWebhookConfiguration's `caBundle`, by the Service's DNS name.
 */
import { randomBytes } from 'node:crypto';
import { generate } from 'selfsigned';

export interface WebhookCertificates {
  caCert: string;
  cert: string;
  key: string;
}

/** Every name the API server (or a person with port-forward) may use for the Service. */
export function serviceDnsNames(service: string, namespace: string): string[] {
  return [
    `${service}.${namespace}.svc`,
    `${service}.${namespace}.svc.cluster.local`,
    `${service}.${namespace}`,
    service,
  ];
}

export async function generateWebhookCertificates(opts: {
  service: string;
  namespace: string;
  validityDays?: number;
  now?: Date;
}): Promise<WebhookCertificates> {
  const now = opts.now ?? new Date();
  // Back-dated a little: a node whose clock runs behind must not see "not yet valid".
  const notBefore = new Date(now.getTime() - 60 * 60 * 1000);
  const days = opts.validityDays ?? 3650;
  const notAfter = new Date(notBefore.getTime() + days * 24 * 60 * 60 * 1000);
  const names = serviceDnsNames(opts.service, opts.namespace);

  // A unique CA name: during a rotation a caBundle may hold the old and the new CA, and a verifier
  // picks the issuer by name.
  const ca = await generate([{ name: 'commonName', value: `${opts.service}-ca-${randomBytes(4).toString('hex')}` }], {
    keyType: 'ec', curve: 'P-256', algorithm: 'sha256', notBeforeDate: notBefore, notAfterDate: notAfter,
    extensions: [
      { name: 'basicConstraints', cA: true, pathLenConstraint: 0, critical: true },
      { name: 'keyUsage', keyCertSign: true, cRLSign: true, digitalSignature: true, critical: true },
    ],
  });
  const leaf = await generate([{ name: 'commonName', value: names[0]! }], {
    keyType: 'ec', curve: 'P-256', algorithm: 'sha256', notBeforeDate: notBefore, notAfterDate: notAfter,
    ca: { key: ca.private, cert: ca.cert },
    extensions: [
      { name: 'basicConstraints', cA: false, critical: true },
      { name: 'keyUsage', digitalSignature: true, critical: true },
      { name: 'extKeyUsage', serverAuth: true },
      { name: 'subjectAltName', altNames: names.map((value) => ({ type: 2 as const, value })) },
    ],
  });
  return { caCert: ca.cert, cert: leaf.cert, key: leaf.private };
}
