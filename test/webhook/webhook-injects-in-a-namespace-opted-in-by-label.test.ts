/**
 * `ebb install`'s namespaceSelector sends only pods of namespaces labelled ebb.io/inject=enabled,
 * so the label alone must be enough for the injector to inject them; the namespace's annotation,
 * when present, still wins over the label, and the pod's over both.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { podCreateReview, postReview, startInjector } from './support.js';

let inj: Awaited<ReturnType<typeof startInjector>>;

before(async () => {
  inj = await startInjector({
    labelled: { labels: { 'ebb.io/inject': 'enabled' } },
    'labelled-but-annotated-off': { labels: { 'ebb.io/inject': 'enabled' }, annotations: { 'ebb.io/inject': 'disabled' } },
    plain: {},
  });
});
after(async () => { await inj?.close(); });

const pod = (annotations?: Record<string, string>): Record<string, unknown> => ({
  metadata: { name: 'app', ...(annotations ? { annotations } : {}) },
  spec: { containers: [{ name: 'app', image: 'app:1', ports: [{ containerPort: 8080 }] }] },
});

async function admit(namespace: string, p = pod()): Promise<{ patched: boolean; warnings: string[] }> {
  const r = await postReview(inj.server.port, inj.ca, podCreateReview(p, { namespace }));
  assert.equal(r.status, 200, r.body);
  const res = r.json!.response!;
  assert.equal(res.allowed, true);
  return { patched: typeof res.patch === 'string', warnings: res.warnings ?? [] };
}

test('a pod in a namespace labelled (not annotated) ebb.io/inject=enabled is injected', async () => {
  assert.equal((await admit('labelled')).patched, true);
});

test('the namespace annotation wins over its label, and the pod annotation over both', async () => {
  assert.equal((await admit('labelled-but-annotated-off')).patched, false);
  assert.equal((await admit('labelled', pod({ 'ebb.io/inject': 'disabled' }))).patched, false);
  assert.equal((await admit('plain')).patched, false);
});
