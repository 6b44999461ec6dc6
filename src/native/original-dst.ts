import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import type { Socket } from 'node:net';
import { EbbError } from '../errors.js';

/** Where a redirected connection was originally going (before iptables REDIRECT). */
export interface OriginalDst { address: string; port: number; family: 'IPv4' | 'IPv6' }

interface Addon { originalDst(fd: number): OriginalDst; mallocTrim?(): boolean }

/**
 * build/Release/ebb_native.node, built from src/native/original_dst.c by `npm ci` (scripts/build-native.js).
 * EBB_NATIVE_ADDON points elsewhere (a prebuilt addon in an image, or a test of the missing-addon error).
 */
export const ADDON_PATH = process.env.EBB_NATIVE_ADDON || fileURLToPath(new URL('../../../build/Release/ebb_native.node', import.meta.url));

let addon: Addon | undefined;
let loadError: Error | undefined;

function load(): Addon | undefined {
  if (addon === undefined && loadError === undefined) {
    try {
      addon = createRequire(import.meta.url)(ADDON_PATH) as Addon;
    } catch (err) {
      loadError = err as Error;
    }
  }
  return addon;
}

/**
 * glibc's malloc_trim(0) from the addon, or null when the addon is missing (or older): the proxy
 * then simply does not trim (src/proxy/memory-relief.ts). Returns whether memory was released.
 */
export function loadMallocTrim(): (() => boolean) | null {
  const a = load();
  return a?.mallocTrim ? a.mallocTrim.bind(a) : null;
}

/**
 * Loads the addon once. Loaded lazily so that only `--transparent` needs a compiler at install time;
 * a missing addon is a clear startup error, not a crash on the first connection.
 */
export function loadOriginalDst(): (socket: Socket) => OriginalDst {
  load();
  if (addon === undefined) {
    const why = (loadError as NodeJS.ErrnoException).code === 'MODULE_NOT_FOUND' ? 'it was not built' : loadError!.message;
    throw new EbbError('native_addon_missing',
      `--transparent needs ebb's native addon ${ADDON_PATH} to read each connection's original destination (SO_ORIGINAL_DST), ` +
      `but ${why}. \`npm ci\` builds it when a C compiler, make, python3 and the Node headers are installed: install them and ` +
      'run `npm rebuild` in the ebb directory; or run the proxy without --transparent (with --app-port).');
  }
  const native = addon;
  return (socket: Socket) => {
    // net.Socket keeps its file descriptor on the libuv handle; Node has no public API for it.
    const fd = (socket as unknown as { _handle?: { fd?: number } })._handle?.fd;
    if (typeof fd !== 'number' || fd < 0) {
      throw Object.assign(new Error('socket has no file descriptor (closed, or not a TCP socket)'), { code: 'EBADF' });
    }
    return native.originalDst(fd);
  };
}
