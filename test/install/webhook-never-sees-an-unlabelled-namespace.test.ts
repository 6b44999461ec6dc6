/**
 * On `ebb install`'s real output: the API server sends a pod to the webhook only if the webhook's
 * namespaceSelector matches the pod's namespace labels (plus kubernetes.io/metadata.name, which
 * the API server sets on every namespace) and its objectSelector matches the pod's labels. So with
 * failurePolicy Fail a down injector can block pods only in namespaces labelled ebb.io/inject=enabled.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { parseAllDocuments } from 'yaml';
import { runEbb } from '../helpers.js';
import { matches, type LabelSelector } from './label-selector.js';

type Obj = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

async function webhooks(args: string[] = []): Promise<{ hooks: Obj[]; objects: Obj[] }> {
  const r = await runEbb(['install', ...args]);
  assert.equal(r.code, 0, r.stderr);
  const objects = parseAllDocuments(r.stdout).map((d) => d.toJS() as Obj);
  const hooks = objects.filter((o) => o.kind === 'MutatingWebhookConfiguration').flatMap((o) => o.webhooks as Obj[]);
  assert.ok(hooks.length > 0);
  return { hooks, objects };
}

/** Would the API server call any of these webhooks for a pod CREATE in that namespace? */
function sent(hooks: Obj[], namespace: string, nsLabels: Record<string, string>, podLabels: Record<string, string> = {}): boolean {
  const labels = { ...nsLabels, 'kubernetes.io/metadata.name': namespace };
  return hooks.some((h) => {
    const rule = (h.rules as Obj[]).some((r) => r.operations.includes('CREATE') && r.resources.includes('pods'));
    return rule && matches(h.namespaceSelector as LabelSelector, labels) && matches(h.objectSelector as LabelSelector, podLabels);
  });
}

test('the label selector evaluator behaves as the API server documents', () => {
  assert.equal(matches(undefined, {}), true);
  assert.equal(matches({}, { a: 'b' }), true);
  assert.equal(matches({ matchLabels: { a: 'b' } }, { a: 'b', c: 'd' }), true);
  assert.equal(matches({ matchLabels: { a: 'b' } }, { a: 'c' }), false);
  assert.equal(matches({ matchExpressions: [{ key: 'a', operator: 'In', values: ['x'] }] }, {}), false);
  assert.equal(matches({ matchExpressions: [{ key: 'a', operator: 'NotIn', values: ['x'] }] }, {}), true, 'NotIn matches an absent key');
  assert.equal(matches({ matchExpressions: [{ key: 'a', operator: 'NotIn', values: ['x'] }] }, { a: 'x' }), false);
  assert.equal(matches({ matchExpressions: [{ key: 'a', operator: 'Exists' }] }, { a: '' }), true);
  assert.equal(matches({ matchExpressions: [{ key: 'a', operator: 'DoesNotExist' }] }, { a: '' }), false);
  assert.throws(() => matches({ matchExpressions: [{ key: 'a', operator: 'in', values: ['x'] }] }, {}));
});

for (const policy of ['Fail', 'ignore', 'FAIL']) {
  test(`ebb install --failure-policy ${policy}: a namespace without ebb.io/inject=enabled is never sent to the webhook`, async () => {
    const { hooks, objects } = await webhooks(['--failure-policy', policy]);
    assert.equal(hooks[0]!.failurePolicy, policy.toLowerCase() === 'fail' ? 'Fail' : 'Ignore', 'the policy is written capitalised, whatever the case given');
    // Any labels at all, as long as ebb.io/inject is not "enabled": never sent, whatever the pod's labels.
    const key = fc.constantFrom('ebb.io/inject', 'app', 'team', 'istio-injection', 'linkerd.io/inject', 'config.ebb.io/admission-webhooks', 'kubernetes.io/metadata.name');
    const value = fc.constantFrom('', 'enabled', 'disabled', 'Enabled', 'true', 'yes', 'enabled ', 'shop');
    const labels = fc.dictionary(key, value).filter((l) => l['ebb.io/inject'] !== 'enabled');
    fc.assert(fc.property(fc.stringMatching(/^[a-z][a-z0-9-]{0,20}$/), labels, fc.dictionary(key, value), (name, nsLabels, podLabels) => {
      assert.equal(sent(hooks, name, nsLabels, podLabels), false, `namespace ${name} ${JSON.stringify(nsLabels)}`);
    }), { numRuns: 500 });
    for (const name of ['default', 'shop', 'kube-public']) assert.equal(sent(hooks, name, {}), false, name);
    // An annotation is not a label: the namespaceSelector cannot see it.
    assert.equal(sent(hooks, 'shop', {}), false);

    // Opted in: sent, unless the pod opts out by label; the system namespaces never, even labelled.
    assert.equal(sent(hooks, 'shop', { 'ebb.io/inject': 'enabled' }), true);
    assert.equal(sent(hooks, 'shop', { 'ebb.io/inject': 'enabled' }, { app: 'web' }), true);
    assert.equal(sent(hooks, 'shop', { 'ebb.io/inject': 'enabled' }, { 'ebb.io/inject': 'disabled' }), false);
    assert.equal(sent(hooks, 'shop', { 'ebb.io/inject': 'enabled', 'config.ebb.io/admission-webhooks': 'disabled' }), false);
    for (const name of ['kube-system', 'ebb-system']) assert.equal(sent(hooks, name, { 'ebb.io/inject': 'enabled' }), false, name);
    // The injector's own namespace, as install writes it: its pods start without the injector.
    const own = objects.find((o) => o.kind === 'Namespace')!;
    assert.equal(sent(hooks, own.metadata.name, own.metadata.labels ?? {}), false);
  });
}

test('ebb uninstall (and ebb install --uninstall) lists every object install creates, the webhook configuration first', async () => {
  const { objects } = await webhooks();
  const ref = (o: Obj): string => `${o.apiVersion} ${o.kind} ${o.metadata.namespace ?? ''}/${o.metadata.name}`;
  for (const args of [['uninstall'], ['install', '--uninstall']]) {
    const r = await runEbb(args);
    assert.equal(r.code, 0, r.stderr);
    const refs = parseAllDocuments(r.stdout).map((d) => d.toJS() as Obj).filter(Boolean);
    assert.equal(refs[0]!.kind, 'MutatingWebhookConfiguration');
    assert.equal(refs.at(-1)!.kind, 'Namespace');
    assert.deepEqual(refs.map(ref).sort(), objects.map(ref).sort());
    assert.match(r.stdout, /kubectl delete -f -/);
  }
  const mine = await runEbb(['uninstall', '--tls-secret', 'injector-cert']);
  assert.equal(mine.code, 0, mine.stderr);
  assert.doesNotMatch(mine.stdout, /kind: Secret/, 'a --tls-secret Secret is the user\'s');
});
