import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AsyncLocalStorage, AsyncResource } from 'node:async_hooks';
import { installAsyncBindFix } from '../../src/proxy/async-bind-fix.js';

// The proxy replaces AsyncResource.prototype.bind where Node's is slow (the h2 client calls it per
// request). Whatever Node this runs on, bind must behave as documented afterwards.
test('AsyncResource.bind after the proxy\'s fix: async context, this, arguments, length, asyncResource, errors', () => {
  installAsyncBindFix();
  const als = new AsyncLocalStorage<string>();
  const resource = als.run('captured', () => new AsyncResource('test'));
  const fn = function (this: unknown, a: number, b: number): [unknown, number, number, string | undefined] {
    return [this, a, b, als.getStore()];
  };
  const bound = als.run('caller', () => resource.bind(fn));
  const self = { me: true };
  assert.deepEqual(als.run('other', () => bound.call(self, 1, 2)), [self, 1, 2, 'captured']);
  assert.equal(bound.length, 2);

  // Node takes a thisArg; @types/node 20 does not declare it.
  const withThis = (resource.bind as (f: typeof fn, t: unknown) => typeof fn)(fn, self);
  assert.deepEqual(withThis(3, 4), [self, 3, 4, 'captured']);
  assert.equal(withThis.length, 2);

  // Deprecated (DEP0172) but still there, readable and writable.
  process.noDeprecation = true;
  try {
    const b = bound as unknown as { asyncResource: AsyncResource };
    assert.equal(b.asyncResource, resource);
    const other = new AsyncResource('other');
    b.asyncResource = other;
    assert.equal(b.asyncResource, other);
  } finally {
    process.noDeprecation = false;
  }

  assert.throws(() => resource.bind(42 as unknown as () => void), { code: 'ERR_INVALID_ARG_TYPE' });
  // The static helper goes through the same method.
  assert.deepEqual(als.run('static', () => AsyncResource.bind(() => als.getStore()))(), 'static');
});
