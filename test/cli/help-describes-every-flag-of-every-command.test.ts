/**
 * `ebb <command> --help` describes every flag: the test walks commander's own tree (every command
 * and subcommand), so a flag added anywhere without a description, or with its own name as one,
 * fails here. Settings with a default say it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Command, Option } from 'commander';
import { buildProgram } from '../../src/cli/main.js';
import { SETTINGS } from '../../src/inject/config.js';
import { runEbb } from '../helpers.js';

function walk(cmd: Command, path: string[], out: { path: string; cmd: Command }[]): typeof out {
  out.push({ path: path.join(' '), cmd });
  for (const sub of cmd.commands) walk(sub, [...path, sub.name()], out);
  return out;
}

/** A description that says nothing: empty, or the flag's own name again. */
function bare(o: Option): boolean {
  const d = o.description.trim().toLowerCase().replace(/[^a-z0-9]+/g, ' ').trim();
  const name = (o.long ?? o.short ?? '').replace(/^-+/, '').toLowerCase().replace(/[^a-z0-9]+/g, ' ').trim();
  return d === '' || d === name;
}

test('every command and every flag of every command has a description', async () => {
  const commands = walk(await buildProgram(), ['ebb'], []);
  assert.ok(commands.length >= 10, `only ${commands.length} commands: is the tree loaded?`);
  const problems: string[] = [];
  for (const { path, cmd } of commands) {
    if (path !== 'ebb' && cmd.description().trim() === '') problems.push(`\`${path}\` has no description`);
    for (const o of cmd.options) if (bare(o)) problems.push(`\`${path} ${o.flags}\` has no help text (${JSON.stringify(o.description)})`);
  }
  assert.deepEqual(problems, [], `\n${problems.join('\n')}\n`);
});

test('every inject setting flag says its default, in inject, uninject, check and injector', async () => {
  const program = await buildProgram();
  const problems: string[] = [];
  for (const name of ['inject', 'check', 'injector']) {
    const cmd = program.commands.find((c) => c.name() === name);
    assert.ok(cmd, `no ebb ${name}`);
    for (const s of SETTINGS) {
      const o = cmd.options.find((x) => x.long === `--${s.flag}`);
      if (o === undefined) { problems.push(`\`ebb ${name}\` has no --${s.flag}`); continue; }
      if (o.defaultValue === undefined && !/\bdefault\b/.test(o.description)) problems.push(`\`ebb ${name} --${s.flag}\` does not say its default`);
    }
  }
  assert.deepEqual(problems, [], `\n${problems.join('\n')}\n`);
});

test('`ebb inject --help` prints the mode\'s default and describes --app-wait and --wait-before-exit', async () => {
  const r = await runEbb(['inject', '--help']);
  assert.equal(r.code, 0, r.stderr);
  const flat = r.stdout.replace(/\s+/g, ' ');
  assert.match(flat, /--mode <value> sidecar mode: .*\(default native\)/);
  assert.match(flat, /--app-wait <value> auto: app containers/);
  assert.match(flat, /--wait-before-exit <value> the proxy's own wait/);
});
