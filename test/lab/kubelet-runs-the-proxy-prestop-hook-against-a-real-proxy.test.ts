import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { injectObject, resolveInjectConfig } from '../../src/inject/index.js';
import { deletePod, podModelFromSpec, podSpecOf, type KubeletEvent } from '../../src/lab/kubelet.js';
import { hookGet } from '../../src/lab/pod.js';
import { startApp, startProxy } from '../proxy/harness.js';

// The lab's kubelet runs the proxy preStop `ebb inject` writes (httpGet /prestop?seconds=W on the
// admin port) against a real `ebb proxy`: the proxy is terminating from t0 (it logs so before
// anything else), the hook answers 200 after W seconds, and only then does the proxy get TERM.
test('the lab kubelet runs inject\'s /prestop?seconds=1 against a real proxy: terminating at t0, TERM after the hook', async () => {
  const { config } = resolveInjectConfig({ mode: 'classic', 'wait-before-exit-seconds': '1' });
  const pod = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p' }, spec: { terminationGracePeriodSeconds: 10, containers: [{ name: 'app', image: 'app', ports: [{ containerPort: 8080 }] }] } };
  const model = podModelFromSpec(podSpecOf(injectObject(pod, config).object)!);
  const proxyModel = model.containers.find((c) => c.name === 'ebb-proxy')!;
  assert.equal(proxyModel.preStop?.kind, 'httpGet');

  const app = await startApp((_req, res) => res.end('ok'));
  const p = await startProxy(['--app-port', String(app.port)]);
  after(async () => { await p.stop(); await app.close(); });
  let appExited!: () => void;
  const appGone = new Promise<void>((r) => { appExited = r; });
  const proxyGone = p.exited.then(() => undefined);
  const events: KubeletEvent[] = [];
  const terminatingSeenAt: number[] = [];
  const t0 = performance.now();
  void p.waitForLog((l) => l.msg?.startsWith('terminating') === true).then(() => terminatingSeenAt.push(performance.now() - t0));
  await deletePod(model, {
    signal: (name, sig) => { if (name === 'app') appExited(); else p.signal(sig); },
    exited: (name) => (name === 'app' ? appGone : proxyGone),
    // The admin port the manifest names (4191) is this proxy's admin port.
    httpGet: (_name, action, signal) => {
      assert.equal(String(action.port), '4191');
      return hookGet({ host: '127.0.0.1', port: p.admin, path: action.path, signal });
    },
  }, { onEvent: (e) => events.push(e) });

  const of = (type: string): KubeletEvent | undefined => events.find((e) => e.type === type && e.container === 'ebb-proxy');
  assert.match(of('preStop')!.detail!, /\/prestop\?seconds=1/);
  assert.match(of('preStopDone')!.detail!, /^200 terminating/);
  assert.ok(of('TERM')!.at >= 950, `TERM after the 1 s hook (at ${of('TERM')!.at} ms)`);
  assert.equal((await p.exited).code, 0);
  const msgs = p.logs.map((l) => l.msg ?? '');
  const terminating = msgs.findIndex((m) => m.startsWith('terminating'));
  assert.ok(terminating >= 0 && terminating < msgs.indexOf('shutdown started'), 'terminating (the hook at t0) before the shutdown (TERM)');
  assert.ok(terminatingSeenAt[0]! < of('TERM')!.at, 'the proxy knew before its TERM');
});
