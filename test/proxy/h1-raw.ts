import { startTcpApp, rawConnect, type RawConnection } from './harness.js';

/**
 * Helpers for the HTTP/1 hostile-client tests: an app that records the exact bytes it receives
 * and answers each request head it sees with a small 200, and a raw client that sends exact bytes.
 */
export interface RecordingApp {
  readonly port: number;
  /** Everything every connection sent the app, in arrival order (latin1). */
  readonly received: () => string;
  /** Request heads the app answered. */
  readonly requests: () => string[];
  close(): Promise<void>;
}

export async function startRecordingApp(): Promise<RecordingApp> {
  let all = '';
  const heads: string[] = [];
  const app = await startTcpApp((s) => {
    let buf = '';
    s.setEncoding('latin1').on('data', (d: string) => {
      all += d;
      buf += d;
      let end;
      while ((end = buf.indexOf('\r\n\r\n')) >= 0) {
        const head = buf.slice(0, end);
        buf = buf.slice(end + 4);
        const len = /\r\ncontent-length: *(\d+)/i.exec(head);
        if (len) buf = buf.slice(Number(len[1])); // bodies in these tests arrive with their head
        heads.push(head);
        const body = `ok ${head.split(' ')[1] ?? ''}`;
        s.write(`HTTP/1.1 200 OK\r\nContent-Length: ${body.length}\r\n\r\n${body}`);
      }
    });
    s.on('end', () => s.end());
  });
  return { port: app.port, received: () => all, requests: () => heads, close: () => app.close() };
}

/** Sends `bytes` on a new raw connection; resolves with the connection once `until` holds or it closed. */
export async function sendRaw(port: number, bytes: string, until: (received: string) => boolean): Promise<RawConnection> {
  const c = await rawConnect(port);
  c.socket.write(bytes);
  let closed = false;
  void c.closed.then(() => { closed = true; });
  for (let i = 0; i < 400 && !closed && !until(c.received()); i++) await new Promise((r) => setTimeout(r, 25));
  return c;
}
