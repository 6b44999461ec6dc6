import { AsyncResource } from 'node:async_hooks';
import { deprecate } from 'node:util';

/**
 * Works around a Node performance bug that makes every HTTP/2 client request expensive.
 *
 * `ClientHttp2Session.request()` calls `AsyncResource.prototype.bind()` once per request. On Node
 * 20 (and 22/24 before nodejs/node#59195), `bind()` wraps a fresh getter and setter for the
 * deprecated `asyncResource` property (DEP0172) in `util.deprecate()`, which calls
 * `Object.setPrototypeOf(wrapper, fn)` on each: two fresh functions become prototypes on every
 * request, which V8 pays for in map transitions and garbage (nodejs/node#58218). For the proxy's
 * h2c upstream session that was about a third of the client side's CPU per request.
 *
 * The replacement behaves the same: the bound function runs `fn` in the resource's async scope
 * with the same `this`, has `fn`'s length, and still carries `asyncResource` (read and write) with
 * the DEP0172 warning; the getter and setter are shared instead of made per call, and the resource
 * sits under a private symbol. Installed once, and only where `bind()` has the slow shape: when
 * Node's own getter is a plain function (a fixed Node, or no such property at all), nothing changes.
 */
const kResource = Symbol('ebb.asyncResource');
const DEP0172 = 'The asyncResource property on bound functions is deprecated';
let installed = false;

export function needsAsyncBindFix(): boolean {
  const bound = new AsyncResource('ebb-probe').bind(() => {});
  const get = Object.getOwnPropertyDescriptor(bound, 'asyncResource')?.get;
  return get !== undefined && Object.getPrototypeOf(get) !== Function.prototype;
}

export function installAsyncBindFix(): boolean {
  if (installed) return true;
  if (!needsAsyncBindFix()) return false;
  type AnyFn = (...args: unknown[]) => unknown;
  type Bind = (this: AsyncResource, fn: AnyFn, thisArg?: unknown) => AnyFn;
  const proto = AsyncResource.prototype as unknown as { bind: Bind };
  const original = proto.bind;
  const get = deprecate(function (this: { [kResource]?: AsyncResource }) { return this[kResource]; }, DEP0172, 'DEP0172');
  const set = deprecate(function (this: { [kResource]?: AsyncResource }, v: AsyncResource) { this[kResource] = v; }, DEP0172, 'DEP0172');
  proto.bind = function bind(this: AsyncResource, fn: AnyFn, thisArg?: unknown): AnyFn {
    // Node's own checks and errors for anything unusual.
    if (typeof fn !== 'function') return original.call(this, fn, thisArg);
    let bound: AnyFn;
    if (thisArg === undefined) {
      // eslint-disable-next-line @typescript-eslint/no-this-alias
      const resource = this;
      bound = function (this: unknown, ...args: unknown[]) { return resource.runInAsyncScope(fn, this, ...args); };
    } else {
      bound = this.runInAsyncScope.bind(this, fn, thisArg) as AnyFn;
    }
    Object.defineProperty(bound, 'length', { configurable: true, enumerable: false, value: fn.length, writable: false });
    (bound as unknown as { [kResource]: AsyncResource })[kResource] = this;
    Object.defineProperty(bound, 'asyncResource', { configurable: true, enumerable: true, get, set });
    return bound;
  };
  installed = true;
  return true;
}
