import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { injectObject, uninjectObject, resolveInjectConfig } from '../../src/inject/index.js';

const fixture = (name: string): URL => new URL(`../../../test/fixtures/inject/${name}`, import.meta.url);

const input = parse(readFileSync(fixture('app-wait-auto.input.yaml'), 'utf8')) as Record<string, unknown>;

// The full injected output is a golden case of inject-golden-cases: app-wait-auto(.native).input.yaml.
test('--app-wait auto uninjects cleanly', () => {
  const { config } = resolveInjectConfig({ mode: 'classic', 'app-wait': 'auto', 'wait-before-exit': 'auto' });
  assert.deepEqual(uninjectObject(injectObject(input, config).object).object, input);
});

test('--app-wait auto never overwrites a preStop, and is off by default', () => {
  const { config } = resolveInjectConfig({ 'app-wait': 'auto' });
  const spec = (o: unknown): Array<Record<string, unknown>> => ((o as { spec: { template: { spec: { containers: Array<Record<string, unknown>> } } } }).spec.template.spec.containers);
  const out = spec(injectObject(input, config).object);
  const byName = (n: string): Record<string, unknown> => out.find((c) => c.name === n)!;
  assert.deepEqual(byName('web').lifecycle, { postStart: { exec: { command: ['/warm-up'] } }, preStop: { httpGet: { path: '/wait-quiet?max=25', port: 4191 } } });
  assert.deepEqual(byName('worker').lifecycle, { preStop: { exec: { command: ['/bin/sh', '-c', 'sleep 3'] } } });
  assert.deepEqual(byName('cron').lifecycle, { preStop: { httpGet: { path: '/wait-quiet?max=25', port: 4191 } } });
  const plain = spec(injectObject(input, resolveInjectConfig({}).config).object);
  assert.equal(plain.find((c) => c.name === 'cron')!.lifecycle, undefined);
});

test('bad --app-wait and --wait-before-exit values are reported', () => {
  const { problems } = resolveInjectConfig({ 'app-wait': 'sometimes', 'wait-before-exit': '8' });
  assert.deepEqual(problems.map((p) => p.flag), ['app-wait', 'wait-before-exit']);
});
