/**
 * Every surface the program has is in its docs page: each command's flags (from commander's own
 * tree), each EBB_* environment variable the code reads or writes, each metric (from the metric
 * registries), each endpoint (from the servers' route tables) and each lab preset (from the scenario
 * registry). A name added to the program and not to its page fails here, naming the page.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import type { Command } from 'commander';
import { buildProgram } from '../../src/cli/main.js';
import { loadProxyConfig, PROXY_OPTIONS } from '../../src/config/proxy.js';
import { INIT_ENV } from '../../src/init/options.js';
import { startProxy } from '../../src/proxy/index.js';
import { createLogger } from '../../src/log.js';
import { createWebhookMetrics } from '../../src/webhook/metrics.js';
import { AdmissionServer } from '../../src/webhook/server.js';
import { scenarioNames } from '../../src/lab/scenarios.js';
import '../../src/cli/lab.js'; // registers every scenario, as `ebb lab` does
import { REPO } from '../inject/corpus.js';
import { tempDir, writeCertificates } from '../webhook/support.js';

/** The docs page of each command. A new command needs a line here (and its page). */
const COMMAND_PAGE: Record<string, string> = {
  proxy: 'docs/proxy.md',
  inject: 'docs/inject.md',
  uninject: 'docs/inject.md',
  check: 'docs/inject.md',
  lab: 'docs/lab.md',
  await: 'docs/jobs.md',
  sleep: 'docs/jobs.md',
  shutdown: 'docs/jobs.md',
  injector: 'docs/webhook.md',
  install: 'docs/webhook.md',
  uninstall: 'docs/webhook.md',
  init: 'docs/init.md',
};
/**
 * Flags a command shares with another may be documented on the other's page, when the command's
 * page links it: `ebb injector` takes every `ebb inject` setting (docs/inject.md lists them).
 */
const SHARED_FLAG_PAGES: Record<string, string[]> = { injector: ['docs/inject.md'] };

/**
 * The page for names found in a source file, by where the file is. Ordered: the first match wins.
 * Files not listed (src/cli/main.ts, src/log.ts, …) belong to the README.
 */
const SOURCE_PAGE: [RegExp, string][] = [
  [/^src\/(config|proxy|admin|drain)\/|^src\/cli\/proxy\.ts$/, 'docs/proxy.md'],
  [/^src\/(inject|manifests)\/|^src\/cli\/(inject|inject-options|check)\.ts$/, 'docs/inject.md'],
  [/^src\/lab\/|^src\/cli\/lab\.ts$/, 'docs/lab.md'],
  [/^src\/await\/|^src\/cli\/(await|sleep|shutdown)\.ts$/, 'docs/jobs.md'],
  [/^src\/(webhook|install)\/|^src\/cli\/(injector|install)\.ts$/, 'docs/webhook.md'],
  [/^src\/(init|native)\/|^src\/cli\/init\.ts$/, 'docs/init.md'],
];

const pages = new Map<string, string>();
function page(p: string): string {
  if (!pages.has(p)) pages.set(p, readFileSync(join(REPO, p), 'utf8'));
  return pages.get(p)!;
}

/** Whole-word presence: `--mode` is not found inside `--mode-foo`, EBB_X not inside EBB_XY. */
function mentions(text: string, name: string): boolean {
  const esc = name.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
  return new RegExp(`(?<![\\w-])${esc}(?![\\w-])`).test(text);
}

interface Item { page: string; name: string; what: string; alsoOn?: string[] }

/** Collects every miss, then fails once with all of them: "docs/x.md does not mention NAME (what, from where)". */
function assertCovered(items: Item[]): void {
  const missing = items.filter((i) => ![i.page, ...(i.alsoOn ?? [])].some((p) => mentions(page(p), i.name)))
    .map((i) => `${i.page} does not mention ${i.name} (${i.what})`);
  assert.deepEqual([...new Set(missing)], [], `\n${[...new Set(missing)].join('\n')}\n`);
}

function walk(dir: string): string[] {
  return readdirSync(dir).sort().flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? walk(p) : p.endsWith('.ts') ? [p] : [];
  });
}

test('every command has a docs page, and the README names each command and page', async () => {
  const program = await buildProgram();
  const readme = page('README.md');
  const problems: string[] = [];
  for (const cmd of program.commands) {
    const p = COMMAND_PAGE[cmd.name()];
    if (p === undefined) { problems.push(`command \`ebb ${cmd.name()}\` has no docs page: add it to COMMAND_PAGE in this test and write the page`); continue; }
    if (!readme.includes(`\`ebb ${cmd.name()}`)) problems.push(`README.md does not mention \`ebb ${cmd.name()}\``);
    if (!readme.includes(`(${p})`)) problems.push(`README.md does not link ${p}`);
    if (!mentions(page(p), `ebb ${cmd.name()}`)) problems.push(`${p} does not mention \`ebb ${cmd.name()}\``);
  }
  assert.deepEqual(problems, [], `\n${problems.join('\n')}\n`);
});

test('every flag of every command is in its docs page', async () => {
  const program = await buildProgram();
  const items: Item[] = [];
  const visit = (cmd: Command, path: string[], pageOf: string, alsoOn: string[]): void => {
    for (const opt of cmd.options) {
      if (opt.long === '--help' || opt.long === '--version' || opt.long === undefined) continue;
      // A negatable --no-x documents itself with --x when --x is also defined; a lone --no-x is its own name.
      const name = opt.negate && cmd.options.some((o) => o.long === opt.long!.replace(/^--no-/, '--')) ? opt.long.replace(/^--no-/, '--') : opt.long;
      items.push({ page: pageOf, name, what: `flag of \`${['ebb', ...path].join(' ')}\``, alsoOn });
    }
    for (const sub of cmd.commands) visit(sub, [...path, sub.name()], pageOf, alsoOn);
  };
  for (const cmd of program.commands) {
    const p = COMMAND_PAGE[cmd.name()];
    if (p === undefined) continue;
    const shared = SHARED_FLAG_PAGES[cmd.name()] ?? [];
    for (const other of shared) assert.ok(page(p).includes(`(${relative('docs', other)})`) || page(p).includes(`(${other})`), `${p} must link ${other}, where \`ebb ${cmd.name()}\`'s shared flags are documented`);
    visit(cmd, [cmd.name()], p, shared);
  }
  assert.ok(items.length > 50, `only ${items.length} flags found: is the command tree loaded?`);
  assertCovered(items);
});

test('every EBB_* environment variable is in its docs page', () => {
  // Variables with a defining table belong to that table's page, wherever else they are named
  // (inject and the lab set the proxy's variables on the containers they build).
  const owner = new Map<string, { page: string; what: string }>();
  for (const o of PROXY_OPTIONS) owner.set(o.env, { page: 'docs/proxy.md', what: `environment variable of \`ebb proxy\` (--${o.name})` });
  for (const [key, env] of Object.entries(INIT_ENV)) if (!owner.has(env)) owner.set(env, { page: 'docs/init.md', what: `environment variable of \`ebb init\` (${key})` });
  const items: Item[] = [...owner].map(([name, o]) => ({ name, ...o }));
  // Every other EBB_* name the code reads or sets belongs to the page of the code that names it.
  // Identifiers spelled like variables (const EBB_BIN = …) are not variables.
  const files = walk(join(REPO, 'src')).map((f) => ({ rel: relative(REPO, f).replace(/\\/g, '/'), text: readFileSync(f, 'utf8') }));
  const identifiers = new Set(files.flatMap((f) => [...f.text.matchAll(/\b(?:const|let|var|function|class)\s+(EBB_\w+)/g)].map((m) => m[1]!)));
  for (const { rel, text } of files) {
    const p = SOURCE_PAGE.find(([re]) => re.test(rel))?.[1] ?? 'README.md';
    for (const m of text.matchAll(/\bEBB_[A-Z0-9]+(?:_[A-Z0-9]+)*\b/g)) {
      if (owner.has(m[0]) || identifiers.has(m[0])) continue;
      items.push({ page: p, name: m[0], what: `environment variable named in ${rel}` });
    }
  }
  assert.ok(items.length > 20, `only ${items.length} environment variables found`);
  assertCovered(items);
});

test('every metric the proxy and the webhook export is in their docs pages', async () => {
  const running = await startProxy(loadProxyConfig({ inbound: ['none'], adminPort: '0' }, {}), createLogger('silent'));
  try {
    const proxyMetrics = (await running.ctx.metrics.registry()).getMetricsAsArray().map((m) => m.name);
    const webhookMetrics = createWebhookMetrics({ defaultMetrics: false }).registry.getMetricsAsArray().map((m) => m.name);
    assert.ok(proxyMetrics.length >= 5 && webhookMetrics.length >= 3);
    assertCovered([
      ...proxyMetrics.map((name) => ({ page: 'docs/proxy.md', name, what: 'metric of the proxy\'s GET /metrics' })),
      ...webhookMetrics.map((name) => ({ page: 'docs/webhook.md', name, what: 'metric of the injector\'s GET /metrics' })),
    ]);
  } finally {
    running.close();
  }
});

test('every endpoint of the proxy\'s admin server and of the injector is in their docs pages', async () => {
  const running = await startProxy(loadProxyConfig({ inbound: ['none'], adminPort: '0' }, {}), createLogger('silent'));
  const tmp = tempDir();
  try {
    const admin = running.admin.endpoints().map((e) => e.split(' ')[1]!);
    const certs = await writeCertificates(tmp.dir);
    const webhook = new AdmissionServer({ handler: () => ({ allowed: true, reason: 'test' }), tlsCert: certs.certFile, tlsKey: certs.keyFile, port: 0, logger: createLogger('silent') });
    const webhookPaths = webhook.paths;
    await webhook.close();
    assert.ok(admin.includes('/ready') && webhookPaths.includes('/inject'));
    assertCovered([
      ...admin.map((name) => ({ page: 'docs/proxy.md', name, what: 'endpoint of the proxy\'s admin server' })),
      ...webhookPaths.map((name) => ({ page: 'docs/webhook.md', name, what: 'endpoint of `ebb injector`' })),
    ]);
  } finally {
    running.close();
    tmp.cleanup();
  }
});

test('every lab preset is in docs/lab.md', () => {
  const names = scenarioNames();
  assert.ok(names.length >= 5, names.join(','));
  assertCovered(names.map((name) => ({ page: 'docs/lab.md', name, what: 'preset of `ebb lab --scenario`' })));
});
