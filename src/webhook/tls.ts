/**
 * The serving certificate and key, read from files and reloaded when they change.
 *
 * Kubernetes updates a Secret volume atomically: it writes a new timestamped directory and renames
 * the `..data` symlink over the old one; cert-manager and people rename temp files into place. A
 * watch on the file itself would follow the old inode and go quiet after the first such update, so
 * we watch the *directories* holding the files and re-read both files on any event there. A slow
 * poll backs the watch up (a watched directory can itself be replaced). A pair that does not load
 * (half-written, key and certificate not matching yet) keeps the old context serving.
 */
import { readFileSync, watch, type FSWatcher } from 'node:fs';
import { dirname } from 'node:path';
import { createSecureContext, type SecureContextOptions } from 'node:tls';
import { X509Certificate } from 'node:crypto';

export interface TlsPair { cert: string; key: string }

/** Reads and checks a certificate/key pair; throws an Error whose message names the problem. */
export function loadTlsPair(certFile: string, keyFile: string): TlsPair {
  let cert: string;
  let key: string;
  try { cert = readFileSync(certFile, 'utf8'); } catch (err) { throw new Error(`cannot read --tls-cert ${certFile}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, { cause: err }); }
  try { key = readFileSync(keyFile, 'utf8'); } catch (err) { throw new Error(`cannot read --tls-key ${keyFile}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, { cause: err }); }
  try {
    // Throws on unparsable PEM and on a key that does not belong to the certificate.
    createSecureContext({ cert, key });
  } catch (err) {
    throw new Error(`--tls-cert ${certFile} and --tls-key ${keyFile} do not form a usable pair: ${(err as Error).message}`, { cause: err });
  }
  return { cert, key };
}

/** A short description of the leaf certificate for logs: subject, SANs, expiry, fingerprint. */
export function describeCertificate(certPem: string): Record<string, string> {
  try {
    const x = new X509Certificate(certPem);
    return { subject: x.subject, subjectAltName: x.subjectAltName ?? '', validTo: x.validTo, fingerprint256: x.fingerprint256 };
  } catch {
    return {};
  }
}

export interface TlsReloaderOptions {
  certFile: string;
  keyFile: string;
  /** Called with each new, checked pair. */
  apply: (opts: SecureContextOptions) => void;
  onReload?: (pair: TlsPair) => void;
  onError?: (err: Error) => void;
  /** Backstop re-read interval; 0 disables. */
  pollMs?: number;
  /** Coalesces the burst of events one update produces. */
  debounceMs?: number;
}

export class TlsReloader {
  private current: TlsPair;
  private readonly watchers: FSWatcher[] = [];
  private timer: NodeJS.Timeout | undefined;
  private poll: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(private readonly opts: TlsReloaderOptions, initial: TlsPair) {
    this.current = initial;
  }

  get pair(): TlsPair { return this.current; }

  start(): void {
    for (const dir of new Set([dirname(this.opts.certFile), dirname(this.opts.keyFile)])) {
      try {
        const w = watch(dir, { persistent: false }, () => this.schedule());
        w.on('error', (err) => this.opts.onError?.(new Error(`watching ${dir} failed (${err.message}); polling only`)));
        this.watchers.push(w);
      } catch (err) {
        this.opts.onError?.(new Error(`cannot watch ${dir} (${(err as Error).message}); polling only`));
      }
    }
    const pollMs = this.opts.pollMs ?? 30_000;
    if (pollMs > 0) {
      this.poll = setInterval(() => this.check(), pollMs);
      this.poll.unref();
    }
  }

  private schedule(): void {
    if (this.closed) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => { this.timer = undefined; this.check(); }, this.opts.debounceMs ?? 100);
    this.timer.unref();
  }

  /** Re-reads both files; applies them when they changed and load. Returns true when applied. */
  check(): boolean {
    if (this.closed) return false;
    let cert: string;
    let key: string;
    try {
      cert = readFileSync(this.opts.certFile, 'utf8');
      key = readFileSync(this.opts.keyFile, 'utf8');
    } catch (err) {
      this.opts.onError?.(new Error(`re-reading TLS files failed: ${(err as Error).message}`));
      return false;
    }
    if (cert === this.current.cert && key === this.current.key) return false;
    let pair: TlsPair;
    try {
      pair = loadTlsPair(this.opts.certFile, this.opts.keyFile);
    } catch (err) {
      // Often the first half of an update (new cert, old key): the next event or poll retries.
      this.opts.onError?.(err as Error);
      return false;
    }
    this.opts.apply({ cert: pair.cert, key: pair.key });
    this.current = pair;
    this.opts.onReload?.(pair);
    return true;
  }

  close(): void {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    if (this.poll) clearInterval(this.poll);
    for (const w of this.watchers) w.close();
    this.watchers.length = 0;
  }
}
