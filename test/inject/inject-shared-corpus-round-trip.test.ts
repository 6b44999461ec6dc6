/**
 * An extra, where the shared corpus is beside the clone: every document of
 * ../shared/corpus/linkerd2-inject-inputs (manifests written by others, used as they are) goes through
 * inject and uninject in both modes without a crash. A clone on its own has no such folder: these
 * tests are then skipped with one line saying so, and the bundled manifests
 * (inject-bundled-manifests-round-trip) carry the same checks.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join, relative } from 'node:path';
import { manifestFiles, sharedCorpusDir, sharedCorpusSkip } from './corpus.js';
import { roundTrip, schemaErrors } from './manifest-round-trip.js';

const skip = sharedCorpusSkip();
const root = sharedCorpusDir();
const DIR = root === undefined ? undefined : join(root, 'linkerd2-inject-inputs');

test('the schema validator is not vacuous: it rejects a broken pod', () => {
  assert.notDeepEqual(schemaErrors({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'x' }, spec: { containers: [{ name: 'a', ports: [{ containerPort: 'eighty' }] }] } }), []);
  assert.deepEqual(schemaErrors({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'x' }, spec: { containers: [{ name: 'a', image: 'a' }] } }), []);
});

const seen = new Map<string, string[]>();
let validInputs = 0;

test('shared corpus: every file through inject and uninject (extra)', { skip }, async (t) => {
  const files = manifestFiles(DIR!).filter((f) => !f.endsWith('.json'));
  assert.ok(files.length >= 30, 'the corpus has the documents its README lists');
  t.diagnostic(`shared corpus ran: ${files.length} files from ${DIR}`);
  for (const file of files) {
    const name = relative(DIR!, file);
    await t.test(name, () => {
      const r = roundTrip(file, name);
      validInputs += r.validInjections;
      if (r.parseError !== undefined) {
        assert.match(name, /\.bad\./, 'only the malformed corpus file may fail to parse');
        assert.match(r.parseError, /:\d+:\d+: invalid YAML/);
        return;
      }
      seen.set(name, r.outcomes!);
    });
  }
});

test('shared corpus outcomes: refusals and skips land where they should (extra)', { skip }, () => {
  const outcome = (file: string): string[] => seen.get(file) ?? [];
  assert.deepEqual(outcome('inject_emojivoto_deployment_hostNetwork_true.input.yml'), ['web:refused:host_network']);
  assert.deepEqual(outcome('inject_emojivoto_istio.input.yml'), ['web:refused:other_mesh']);
  assert.deepEqual(outcome('inject_emojivoto_already_injected.input.yml'), ['web1:refused:other_mesh', 'web2:refused:other_mesh', 'web3:refused:other_mesh', 'web4:refused:other_mesh']);
  assert.deepEqual(outcome('inject_emojivoto_namespace_good.input.yml'), ['emojivoto:annotated']);
  assert.ok(outcome('inject_emojivoto_deployment_hostNetwork_false.input.yml').every((o) => o.endsWith(':injected')));
  assert.ok(outcome('inject_emojivoto_list.input.yml').length === 2);
  // linkerd.io/inject: disabled is Linkerd's annotation, not ours: ebb injects.
  assert.ok(outcome('inject_emojivoto_deployment_injectDisabled.input.yml').every((o) => o.endsWith(':injected')));
  assert.deepEqual(outcome('webhook/deployment-with-injected-proxy.yaml'), ['nginx:refused:other_mesh']);
  // Most corpus inputs are schema-valid themselves, and their injected output is fully valid.
  assert.ok(validInputs > 20, `only ${validInputs} schema-valid injections`);
});
