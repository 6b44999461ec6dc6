import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FakeClock, sleep } from '../../src/lab/clock.js';
import {
  deletePod, execSleepSeconds, podModelFromSpec, podSpecOf,
  type ContainerDriver, type KubeletEvent, type PodModel,
} from '../../src/lab/kubelet.js';

/** Containers that exit `termMs` after TERM (never, if undefined) and at once on KILL. */
function fakeDriver(clock: FakeClock, behaviour: Record<string, { termMs?: number; httpMs?: number }>): ContainerDriver {
  const exits = new Map<string, { done: boolean; resolve: () => void; promise: Promise<void> }>();
  for (const name of Object.keys(behaviour)) {
    let resolve!: () => void;
    const promise = new Promise<void>((r) => { resolve = r; });
    const e = { done: false, resolve: () => { if (!e.done) { e.done = true; resolve(); } }, promise };
    exits.set(name, e);
  }
  return {
    signal(name, sig) {
      const e = exits.get(name)!;
      if (sig === 'SIGKILL') e.resolve();
      else if (behaviour[name]!.termMs !== undefined) clock.setTimeout(() => e.resolve(), behaviour[name]!.termMs!);
    },
    exited: (name) => exits.get(name)!.promise,
    async httpGet(name, _action, signal) {
      await sleep(clock, behaviour[name]!.httpMs ?? 0, signal);
      return { ok: !signal.aborted, detail: signal.aborted ? 'aborted' : '200' };
    },
  };
}

function container(name: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { name, image: 'x', ...extra };
}

function pod(spec: Record<string, unknown>): PodModel {
  return podModelFromSpec(spec);
}

async function run(model: PodModel, driver: ContainerDriver, clock: FakeClock, ms = 120_000): Promise<KubeletEvent[]> {
  let events: KubeletEvent[] | undefined;
  const p = deletePod(model, driver, { clock }).then((e) => { events = e; });
  await clock.advance(ms);
  await p;
  assert.ok(events, 'the deletion finished');
  return events;
}

function at(events: KubeletEvent[], type: string, container?: string): number | undefined {
  return events.find((e) => e.type === type && e.container === container)?.at;
}

const sleepHook = (n: number): Record<string, unknown> => ({ lifecycle: { preStop: { exec: { command: ['/bin/sh', '-c', `sleep ${n}`] } } } });

test('classic mode: every container starts at t0; a preStop sleep delays only its own container\'s TERM', async () => {
  const clock = new FakeClock();
  const model = pod({ containers: [container('ebb-proxy'), container('app', sleepHook(7))] });
  const events = await run(model, fakeDriver(clock, { 'ebb-proxy': { termMs: 500 }, app: { termMs: 100 } }), clock);
  assert.equal(at(events, 'TERM', 'ebb-proxy'), 0);
  assert.equal(at(events, 'preStop', 'app'), 0);
  assert.equal(at(events, 'preStopDone', 'app'), 7000);
  assert.equal(at(events, 'TERM', 'app'), 7000);
  assert.equal(at(events, 'exit', 'ebb-proxy'), 500);
  assert.equal(at(events, 'exit', 'app'), 7100);
  assert.equal(events.at(-1)!.type, 'podGone');
  assert.equal(events.at(-1)!.at, 7100);
  assert.equal(events.filter((e) => e.type === 'KILL').length, 0);
});

test('SIGKILL comes at the grace deadline for a container that ignores TERM', async () => {
  const clock = new FakeClock();
  const model = pod({ terminationGracePeriodSeconds: 10, containers: [container('app')] });
  const events = await run(model, fakeDriver(clock, { app: {} }), clock);
  assert.equal(at(events, 'TERM', 'app'), 0);
  assert.equal(at(events, 'KILL', 'app'), 10_000);
  assert.equal(at(events, 'exit', 'app'), 10_000);
});

test('a hook still running at the deadline is abandoned, TERM follows with the one-off 2 s extension', async () => {
  const clock = new FakeClock();
  const model = pod({ terminationGracePeriodSeconds: 5, containers: [container('app', { lifecycle: { preStop: { sleep: { seconds: 20 } } } })] });
  const events = await run(model, fakeDriver(clock, { app: {} }), clock);
  assert.equal(at(events, 'preStopTimeout', 'app'), 5000);
  assert.equal(at(events, 'TERM', 'app'), 5000);
  assert.equal(at(events, 'KILL', 'app'), 7000);
});

test('the grace left after a hook is counted in whole seconds, as the kubelet truncates', async () => {
  const clock = new FakeClock();
  const model = pod({ containers: [container('app', { lifecycle: { preStop: { httpGet: { path: '/wait-quiet?max=25', port: 4191 } } } })] });
  const events = await run(model, fakeDriver(clock, { app: { httpMs: 3700 } }), clock);
  assert.equal(at(events, 'TERM', 'app'), 3700);
  // 30 - trunc(3.7) = 27 s after TERM, not at exactly 30 s.
  assert.equal(at(events, 'KILL', 'app'), 30_700);
});

test('native sidecars: preStop at t0, TERM only after every regular container exited, in reverse order', async () => {
  const clock = new FakeClock();
  const model = pod({
    initContainers: [
      container('init-once'),
      container('ebb-proxy', { restartPolicy: 'Always', lifecycle: { preStop: { sleep: { seconds: 1 } } } }),
      container('logger', { restartPolicy: 'Always' }),
    ],
    containers: [container('app', sleepHook(3)), container('worker')],
  });
  assert.deepEqual(model.containers.map((c) => c.name), ['app', 'worker', 'ebb-proxy', 'logger']);
  const events = await run(model, fakeDriver(clock, {
    app: { termMs: 200 }, worker: { termMs: 1500 }, 'ebb-proxy': { termMs: 300 }, logger: { termMs: 100 },
  }), clock);
  assert.equal(at(events, 'preStop', 'ebb-proxy'), 0);
  assert.equal(at(events, 'TERM', 'worker'), 0);
  assert.equal(at(events, 'exit', 'worker'), 1500);
  assert.equal(at(events, 'TERM', 'app'), 3000);
  assert.equal(at(events, 'exit', 'app'), 3200);
  // The later sidecar goes first, the earlier one after it.
  assert.equal(at(events, 'TERM', 'logger'), 3200);
  assert.equal(at(events, 'exit', 'logger'), 3300);
  assert.equal(at(events, 'TERM', 'ebb-proxy'), 3300);
  assert.equal(at(events, 'exit', 'ebb-proxy'), 3600);
  const order = events.filter((e) => e.type === 'TERM').map((e) => e.container);
  assert.deepEqual(order, ['worker', 'app', 'logger', 'ebb-proxy']);
});

test('native sidecar whose app needs SIGKILL gets TERM after the app\'s forced exit, with at least 2 s', async () => {
  const clock = new FakeClock();
  const model = pod({
    terminationGracePeriodSeconds: 10,
    initContainers: [container('ebb-proxy', { restartPolicy: 'Always' })],
    containers: [container('app')],
  });
  const events = await run(model, fakeDriver(clock, { app: {}, 'ebb-proxy': {} }), clock);
  assert.equal(at(events, 'KILL', 'app'), 10_000);
  assert.equal(at(events, 'TERM', 'ebb-proxy'), 10_000);
  assert.equal(at(events, 'KILL', 'ebb-proxy'), 12_000);
});

test('exec preStop sleeps are recognised in the shapes manifests use', () => {
  const cases: Array<[string[], number | undefined]> = [
    [['sleep', '5'], 5],
    [['/bin/sleep', '5'], 5],
    [['/usr/bin/sleep', '2.5'], 2.5],
    [['sleep', '5s'], 5],
    [['sleep', '1m'], 60],
    [['sh', '-c', 'sleep 7'], 7],
    [['/bin/sh', '-c', 'sleep 7'], 7],
    [['/bin/bash', '-c', ' exec sleep 7 '], 7],
    [['sh', '-c', 'sleep 7 && nginx -s quit'], 7],
    [['sh', '-c', 'sleep 7; kill 1'], 7],
    [['/bin/busybox', 'sleep', '3'], 3],
    [['/ebb', 'sleep', '9'], 9],
    [['ebb', 'sleep', '9'], 9],
    [['sh', '-c', '/ebb sleep 4'], 4],
    [['nginx', '-s', 'quit'], undefined],
    [['sh', '-c', 'echo bye'], undefined],
    [['sleep'], undefined],
    [['sleep', 'forever'], undefined],
    [['ebb', 'proxy'], undefined],
  ];
  for (const [cmd, want] of cases) assert.equal(execSleepSeconds(cmd), want, JSON.stringify(cmd));
});

test('the pod spec is found in any workload, and the grace period defaults to 30 s', () => {
  const deployment = { kind: 'Deployment', spec: { template: { spec: { containers: [container('app')] } } } };
  const cron = { kind: 'CronJob', spec: { jobTemplate: { spec: { template: { spec: { terminationGracePeriodSeconds: 7, containers: [] } } } } } };
  assert.equal(podModelFromSpec(podSpecOf(deployment)!).graceSeconds, 30);
  assert.equal(podModelFromSpec(podSpecOf(cron)!).graceSeconds, 7);
  assert.equal(podSpecOf({ kind: 'Pod', spec: { containers: [] } })?.containers instanceof Array, true);
});
