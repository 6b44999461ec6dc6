import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Drain, createWaitingStrategy } from '../../src/drain/index.js';
import { createLogger } from '../../src/log.js';

// Transparent routes (one per destination) subscribe to phase changes and go away when idle; their
// subscriptions must go with them, or a long-lived proxy would keep every route it ever had.
test('a phase listener that unsubscribed is not called, the others are', async () => {
  const drain = new Drain({ waiting: createWaitingStrategy({ mode: 'fixed', seconds: 0 }), drainTimeoutSeconds: 1, log: createLogger('silent') });
  const called: string[] = [];
  const off = drain.on('draining', () => called.push('gone'));
  drain.on('draining', () => called.push('kept'));
  off();
  off(); // idempotent
  drain.trigger('test');
  await drain.exited;
  assert.deepEqual(called, ['kept']);
});
