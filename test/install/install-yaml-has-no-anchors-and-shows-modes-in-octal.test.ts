import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isAlias, isNode, parseAllDocuments, visit } from 'yaml';
import { runEbb } from '../helpers.js';

test('ebb install writes plain YAML: no anchors or aliases, and the Secret volume mode as 288 # 0440', async () => {
  const r = await runEbb(['install']);
  assert.equal(r.code, 0, r.stderr);
  const docs = parseAllDocuments(r.stdout);
  assert.ok(docs.length >= 8, `${docs.length} documents`);
  let aliases = 0;
  let anchors = 0;
  for (const d of docs) {
    assert.deepEqual(d.errors, []);
    visit(d, (_k, node) => {
      if (isAlias(node)) aliases++;
      if (isNode(node) && node.anchor) anchors++;
    });
  }
  assert.equal(aliases, 0, 'no *alias');
  assert.equal(anchors, 0, 'no &anchor');
  assert.match(r.stdout, /^ +defaultMode: 288 # 0440$/m);
  const deployment = docs.map((d) => d.toJS() as { kind: string; spec?: { template: { spec: { volumes: { secret?: { defaultMode: number } }[] } } } })
    .find((o) => o.kind === 'Deployment')!;
  assert.equal(deployment.spec!.template.spec.volumes.find((v) => v.secret)!.secret!.defaultMode, 0o440);
});
