import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseDuration } from '../../src/await/duration.js';

test('durations: plain seconds, units and compounds; anything else is not a duration', () => {
  assert.equal(parseDuration('90'), 90_000);
  assert.equal(parseDuration('1.5'), 1500);
  assert.equal(parseDuration('30s'), 30_000);
  assert.equal(parseDuration('2m'), 120_000);
  assert.equal(parseDuration('1m30s'), 90_000);
  assert.equal(parseDuration('250ms'), 250);
  assert.equal(parseDuration('1h'), 3_600_000);
  for (const bad of ['', 'soon', '-5', '2 m', '5d', 's', '1m30']) assert.equal(parseDuration(bad), undefined, bad);
});
