import type { Socket } from 'node:net';

/**
 * The proxy-wide memory budget for bytes held for clients that do not read (--max-buffered-bytes).
 *
 * Per-connection limits (HTTP/2 streams and windows, HTTP/1 pipelining) bound what one connection
 * may make the proxy hold; N attacking connections multiply them. This counts, in one place, every
 * byte the proxy has taken from the app for a client and not yet handed to that client's kernel
 * socket (HTTP/1) or sent on its HTTP/2 connection: a response chunk is held from the moment it is
 * written towards the client until that write completes, and a client that reads makes its writes
 * complete at once, so only clients that do not read hold bytes for long.
 *
 * - From `PRESSURE` of the budget on, connections that hold bytes get no more from the app until
 *   what they were given is taken (one chunk at a time), and no new HTTP/2 streams: backpressure
 *   on the app side of the connections that hold the bytes.
 * - A chunk that would take the total past the budget first closes the connections that hold the
 *   most bytes (the ones that do not read: a reader's bytes leave as fast as they come), until it
 *   fits. So the total never passes the budget.
 *
 * Not counted, and bounded per connection elsewhere: what the app has sent inside a stream's flow
 * control window but the proxy has not read yet (at most --h2-stream-buffer per stream, one socket
 * read for HTTP/1), request bodies on their way to the app, and tunnels (TCP, upgrades), which pipe
 * with the 16 KiB stream backpressure.
 */
export const PRESSURE = 0.75;

/** One client connection's share of the budget. */
export class BudgetHolder {
  bytes = 0;
  closed = false;
  /** When the connection last had a write of held bytes complete (or started holding). */
  lastProgress = 0;

  constructor(readonly budget: BufferBudget, readonly kind: string, private readonly closeConnection: () => void) {}

  /**
   * Counts `n` bytes about to be written towards the client. False when they do not fit and this
   * connection was closed to keep the budget: drop them (the connection is going).
   */
  hold(n: number): boolean {
    return this.budget.hold(this, n);
  }

  /** `n` held bytes were taken by the client's side (or dropped with their stream). */
  release(n: number): void {
    if (this.closed || n <= 0) return;
    this.bytes -= n;
    this.budget.used -= n;
    this.lastProgress = performance.now();
  }

  /** Whether to stop reading from the app for this connection until what it holds is taken. */
  get throttled(): boolean {
    return this.bytes > 0 && this.budget.underPressure;
  }

  /** The connection is gone: what it held is freed with it. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.budget.used -= this.bytes;
    this.bytes = 0;
    this.budget.holders.delete(this);
  }

  /** Closed by the budget: the connection is closed too. */
  evict(): void {
    this.close();
    this.closeConnection();
  }
}

export interface BudgetEvents {
  /** A connection was closed to keep the budget. */
  evicted(h: BudgetHolder, heldBytes: number, usedBytes: number): void;
}

export class BufferBudget {
  used = 0;
  /** The highest `used` since start. */
  max = 0;
  /** Connections closed to keep the budget. */
  evictions = 0;
  /** Chunks written one at a time because the budget was under pressure. */
  throttledChunks = 0;
  readonly holders = new Set<BudgetHolder>();
  private readonly pressureAt: number;

  constructor(readonly limit: number, private readonly events?: BudgetEvents) {
    this.pressureAt = Math.floor(limit * PRESSURE);
  }

  get underPressure(): boolean {
    return this.used >= this.pressureAt;
  }

  /** A new client connection's holder; `close` closes the connection when the budget evicts it. */
  connection(kind: string, close: () => void): BudgetHolder {
    const h = new BudgetHolder(this, kind, close);
    h.lastProgress = performance.now();
    this.holders.add(h);
    return h;
  }

  hold(h: BudgetHolder, n: number): boolean {
    if (h.closed) return false;
    while (this.used + n > this.limit) {
      const victim = this.biggest();
      if (!victim) break;
      const held = victim.bytes;
      victim.evict();
      this.evictions++;
      this.events?.evicted(victim, held, this.used);
      if (victim === h) return false;
    }
    if (this.used + n > this.limit) return false; // a chunk larger than the whole budget
    if (h.bytes === 0) h.lastProgress = performance.now();
    h.bytes += n;
    this.used += n;
    if (this.used > this.max) this.max = this.used;
    return true;
  }

  /** The connection holding the most bytes; of equal ones, the one whose bytes have not moved for longest. */
  private biggest(): BudgetHolder | undefined {
    let best: BudgetHolder | undefined;
    for (const h of this.holders) {
      if (h.bytes === 0) continue;
      if (!best || h.bytes > best.bytes || (h.bytes === best.bytes && h.lastProgress < best.lastProgress)) best = h;
    }
    return best;
  }
}

/**
 * A cap on client connections open at once, over every inbound listener (--max-connections). A
 * connection past it is closed as soon as it is accepted, before anything is read from it.
 */
export class ConnectionLimit {
  open = 0;
  refused = 0;

  constructor(readonly max: number) {}

  /** Counts an accepted connection until it closes; false (and the socket destroyed) past the cap. */
  admit(socket: Socket): boolean {
    if (this.open >= this.max) {
      this.refused++;
      socket.destroy();
      return false;
    }
    this.open++;
    socket.once('close', () => { this.open--; });
    return true;
  }
}
