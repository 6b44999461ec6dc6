import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LoadGenerator, NO_ENDPOINT, type ClientPlan, type EndpointView } from '../../src/lab/load.js';
import { renderTable, summarize } from '../../src/lab/report.js';

// A Service with no serving endpoint left (the last replica after it stopped serving: a scale to
// zero) rejects new connections; those requests are counted as "no endpoint", not as lost, so
// `lost` means requests that failed while the client still had an endpoint, or on an established
// connection. Both client models: kube-proxy rejects the connection, a mesh balancer the request.
test('requests refused for no serving endpoint count as no-endpoint, not lost, under both client models', async () => {
  for (const model of ['kube-proxy', 'mesh'] as const) {
    const clients: ClientPlan[] = [
      { id: 0, kind: 'h1-new-connection', delayMs: 0, rps: 50 },
      { id: 1, kind: 'h2', delayMs: 0, rps: 50 },
    ];
    const none: EndpointView = () => null; // no endpoint at all: nothing is even connected
    const load = new LoadGenerator({ clients, ports: { old: 1, new: 1 }, timeoutMs: 2000, maxRequests: 10, model, view: none });
    load.start();
    for (let i = 0; i < 200 && load.records.length < 10; i++) await new Promise((r) => setTimeout(r, 20));
    await load.stop();
    assert.equal(load.records.length, 10, model);
    for (const r of load.records) {
      assert.equal(r.outcome, 'no-endpoint', `${model} ${r.kind}: ${JSON.stringify(r)}`);
      assert.equal(r.error, NO_ENDPOINT);
    }
    assert.equal(load.counts.failed, 0, 'the progress line counts them as not failed');
    const result = summarize('x', load.records, [], {});
    assert.deepEqual([result.requests.failed, result.requests.noEndpoint, result.requests.byOutcome['no-endpoint']], [0, 10, 10], model);
    assert.match(renderTable([result]), /^no endpoint \(not lost\)\s+10$/m);
    assert.match(renderTable([result]), /^lost \(failed\)\s+0$/m);
  }
});
