/**
 * Every document of test/fixtures/manifests (realistic inputs that ship with the repository: every
 * workload kind, comments, Lists, JSON, `kubectl get -o yaml|json` output, Linkerd- and
 * Istio-injected workloads) goes through inject and uninject in both modes without a crash, and each
 * file's outcome is the one pinned here.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { relative } from 'node:path';
import { BUNDLED, manifestFiles } from './corpus.js';
import { roundTrip } from './manifest-round-trip.js';

/** What each file comes out as (native mode): `name:status[:reason]` per resource. */
const EXPECTED: Record<string, string[] | 'parse-error'> = {
  'cronjob-on-failure.yaml': ['invoice-mailer:injected'],
  'cronjob-without-template-metadata.yaml': ['hello:injected'],
  'daemonset-host-network.yaml': ['node-exporter:refused:host_network'],
  'daemonset-log-shipper.yaml': ['log-shipper:injected'],
  'deployment-and-service-with-comments.yaml': ['storefront:injected', 'storefront:skipped:unsupported_kind'],
  'deployment.json': ['payments:injected'],
  'empty-documents.yaml': ['between-empties:injected'],
  'foreign-inject-disabled.yaml': ['reports:injected'],
  'inject-disabled.yaml': ['legacy-ftp:skipped:inject_disabled'],
  'istio-injected-deployment.yaml': ['productpage-v1:refused:other_mesh'],
  'istio-native-sidecar-pod.yaml': ['reviews-v2-6c5bf657cf-q8w7e:refused:other_mesh'],
  'job-portless.yaml': ['reindex:injected'],
  'kubectl-get-list.json': ['cart:injected', 'cart:skipped:unsupported_kind'],
  'kubectl-get-pods-all-namespaces.yaml': ['storefront-7c9d8b6f4d-x2kqp:injected', 'reindex-5vbnm:injected'],
  'linkerd-injected-deployment.yaml': ['web:refused:other_mesh'],
  'linkerd-injected-job.yaml': ['migrate:refused:other_mesh'],
  'linkerd-native-sidecar-pod.yaml': ['voting-5f5b9c8d7-abcde:refused:other_mesh'],
  'list-of-resources.yaml': ['checkout:injected', 'checkout:skipped:unsupported_kind', 'checkout-config:skipped:unsupported_kind'],
  'malformed.bad.yaml': 'parse-error',
  'namespace-enabled.yaml': ['shop:annotated'],
  'pod-with-requests.yaml': ['api:injected'],
  'replicaset.yaml': ['frontend:injected'],
  'replicationcontroller.yaml': ['nginx:injected'],
  'statefulset-with-volume-claims.yaml': ['orders-db:skipped:unsupported_kind', 'orders-db:injected'],
  'tree/db/redis.yaml': ['redis:injected'],
  'tree/web.yaml': ['web:injected'],
  'udp-and-tcp-dns.yaml': ['internal-dns:injected'],
  'webhook/pod-empty-annotations.yaml': ['search:injected'],
  'webhook/pod-plain.yaml': ['storefront-7c9d8b6f4d-*:injected'],
  'webhook/pod-with-own-native-sidecar.yaml': ['catalog:injected'],
  'worker-deployment-portless.yaml': ['email-worker:injected'],
};

const files = manifestFiles(BUNDLED).map((f) => [f, relative(BUNDLED, f)] as const);
let validInjections = 0;

test('every bundled manifest has a pinned outcome, and every pinned outcome a file', () => {
  assert.deepEqual(files.map(([, n]) => n).sort(), Object.keys(EXPECTED).sort());
});

for (const [file, name] of files) {
  test(`bundled: ${name} through inject and uninject`, () => {
    const r = roundTrip(file, name);
    validInjections += r.validInjections;
    if (EXPECTED[name] === 'parse-error') {
      assert.match(r.parseError ?? '', /:\d+:\d+: invalid YAML/, `${name} should fail to parse with a position`);
      return;
    }
    assert.equal(r.parseError, undefined, r.parseError);
    assert.deepEqual(r.outcomes, EXPECTED[name], name);
  });
}

test('the bundled injections were checked against the schema (not vacuously)', () => {
  assert.ok(validInjections >= 40, `only ${validInjections} schema-valid injections`);
});
