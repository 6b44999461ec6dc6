#!/usr/bin/env node
// `npm run image:check`: what can be verified about the Dockerfile without a Docker engine.
//  1. The Dockerfile: multi-stage; runtime on Node 24; non-root numeric USER; exec-form ENTRYPOINT
//     of `ebb` on PATH; no RUN in the runtime stage (it has no shell); every COPY source exists in
//     the build context and is not excluded by .dockerignore; every COPY --from=<stage> path is one
//     the local build produces.
//  2. The image's file layout, assembled in a temporary directory from a pruned production install
//     (`npm ci --omit=dev --ignore-scripts`, as the Dockerfile's deps stage) plus the built files,
//     then run through the image's own launcher: `ebb --version`, `ebb install`, `ebb injector`
//     (config error expected). Nothing from the repository's node_modules is reachable from there.
// Run `npm run build` first (the npm script does).
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, posix, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const problems = [];
const notes = [];
const ok = (msg) => notes.push(`  ✔ ${msg}`);

// ---- 1. The Dockerfile ----------------------------------------------------------------------
const text = readFileSync(join(root, 'Dockerfile'), 'utf8');
const lines = text.replace(/\\\r?\n/g, ' ').split(/\r?\n/).map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
const args = {};
const stages = [];
for (const line of lines) {
  const [, instr, rest] = /^(\S+)\s*(.*)$/.exec(line);
  const I = instr.toUpperCase();
  if (I === 'ARG' && stages.length === 0) {
    const [k, v] = rest.split('=');
    args[k.trim()] = (v ?? '').trim();
    continue;
  }
  const expand = (s) => s.replace(/\$\{?(\w+)\}?/g, (_, k) => args[k] ?? '');
  if (I === 'FROM') {
    const m = /^(\S+)(?:\s+AS\s+(\S+))?$/i.exec(expand(rest));
    stages.push({ image: m[1], name: m[2] ?? String(stages.length), instr: [], workdir: '/' });
    continue;
  }
  if (stages.length === 0) { problems.push(`Dockerfile: ${I} before the first FROM`); continue; }
  const st = stages.at(-1);
  if (I === 'WORKDIR') st.workdir = posix.resolve(st.workdir, expand(rest));
  st.instr.push({ I, rest: expand(rest), workdir: st.workdir });
}
if (stages.length < 2) problems.push('Dockerfile: not multi-stage');
else ok(`multi-stage: ${stages.map((s) => `${s.name} (${s.image})`).join(' → ')}`);

const final = stages.at(-1);
const distroless = /^gcr\.io\/distroless\/nodejs24-/.test(final.image);
if (!distroless && !/^node:24([.-]|$)/.test(final.image)) problems.push(`runtime stage ${final.image} is not Node 24 (distroless nodejs24 or node:24)`);
else ok(`runtime on Node 24: ${final.image}`);

const user = final.instr.filter((i) => i.I === 'USER').at(-1);
if (!user) problems.push('runtime stage sets no USER (would run as root)');
else if (!/^[1-9]\d*(:\d+)?$/.test(user.rest)) problems.push(`runtime USER ${user.rest} is not a numeric non-root uid (runAsNonRoot needs a number)`);
else ok(`non-root user ${user.rest}`);

for (const i of final.instr) {
  if (i.I === 'RUN') problems.push(`runtime stage has RUN ${i.rest}: the runtime image has no shell`);
  if ((i.I === 'CMD' || i.I === 'ENTRYPOINT') && !i.rest.startsWith('[')) problems.push(`${i.I} ${i.rest} is in shell form: no shell at run time`);
}

const copied = new Map(); // destination path in the runtime image → where it comes from
const ignore = existsSync(join(root, '.dockerignore'))
  ? readFileSync(join(root, '.dockerignore'), 'utf8').split(/\r?\n/).map((l) => l.trim()).filter((l) => l && !l.startsWith('#'))
  : [];
const ignored = (rel) => ignore.some((pat) => {
  const p = pat.replace(/^\//, '').replace(/\/$/, '');
  if (p.includes('*')) return new RegExp(`^${p.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '[^/]*')}(/|$)`).test(rel);
  return rel === p || rel.startsWith(`${p}/`);
});

for (const st of stages) {
  for (const i of st.instr.filter((x) => x.I === 'COPY' || x.I === 'ADD')) {
    const words = i.rest.split(/\s+/);
    const flags = words.filter((w) => w.startsWith('--'));
    const paths = words.filter((w) => !w.startsWith('--'));
    const dest = posix.resolve(i.workdir, paths.at(-1));
    const from = flags.find((f) => f.startsWith('--from='))?.slice('--from='.length);
    for (const src of paths.slice(0, -1)) {
      if (from) {
        const stage = stages.find((s) => s.name === from);
        if (!stage) { problems.push(`COPY --from=${from}: no such stage`); continue; }
        // Paths under the build stage's WORKDIR are ones the local build makes too.
        const local = stage.name === 'build' ? posix.relative(stage.workdir, src) : null;
        if (local !== null && !local.startsWith('..')) {
          if (!existsSync(join(root, local))) {
            // The addon needs a compiler; `npm ci` builds it when there is one, the build stage always.
            if (local.endsWith('.node')) notes.push(`  (note: COPY --from=${from} ${src}: not built here; the build stage checks it exists)`);
            else problems.push(`COPY --from=${from} ${src}: the local build has no ${local} (run npm ci / npm run build)`);
          }
          else ok(`COPY --from=${from} ${src} (locally: ${local})`);
        }
        if (st === final) copied.set(dest, { from, src });
        continue;
      }
      const rel = src.replace(/^\.\//, '').replace(/\/$/, '');
      if (!existsSync(join(root, rel))) problems.push(`COPY ${src}: not in the build context`);
      else if (ignored(rel)) problems.push(`COPY ${src}: excluded by .dockerignore`);
      else ok(`COPY ${src} exists`);
      if (st === final) copied.set(paths.length > 2 || src.endsWith('/') ? dest : dest, { src: rel });
    }
  }
}

const entry = final.instr.filter((i) => i.I === 'ENTRYPOINT').at(-1);
let entryPath;
if (!entry) problems.push('runtime stage has no ENTRYPOINT');
else {
  const argv = JSON.parse(entry.rest);
  entryPath = argv[0];
  const env = final.instr.filter((i) => i.I === 'ENV').map((i) => i.rest).join(' ');
  const pathVar = /PATH=(\S+)/.exec(env)?.[1] ?? '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
  if (posix.basename(entryPath) !== 'ebb') problems.push(`ENTRYPOINT ${entryPath} is not ebb`);
  else if (!pathVar.split(':').includes(posix.dirname(entryPath))) problems.push(`ENTRYPOINT ${entryPath} is not on PATH (${pathVar})`);
  else if (!copied.has(entryPath)) problems.push(`ENTRYPOINT ${entryPath} is not copied into the runtime stage`);
  else ok(`entrypoint ${entryPath}, on PATH ${pathVar}`);
}

const launcherSrc = entryPath && copied.get(entryPath)?.src;
if (launcherSrc) {
  const launcher = readFileSync(join(root, launcherSrc), 'utf8');
  const shebang = launcher.split('\n')[0];
  if (distroless && shebang !== '#!/nodejs/bin/node') problems.push(`${launcherSrc}: shebang ${shebang} is not the distroless node (#!/nodejs/bin/node)`);
  else ok(`${launcherSrc}: ${shebang}`);
  if (!(statSync(join(root, launcherSrc)).mode & 0o111)) notes.push(`  (note: ${launcherSrc} is not executable in the checkout; the Dockerfile sets --chmod)`);
}

// ---- 2. The image layout from a pruned production install --------------------------------------
// `--static` stops here (the test suite uses it; the install below takes a while).
const staticOnly = process.argv.includes('--static');
const tmp = staticOnly ? null : mkdtempSync(join(tmpdir(), 'ebb-image-check-'));
if (tmp) try {
  const image = join(tmp, 'rootfs');
  const deps = join(tmp, 'deps');
  mkdirSync(deps, { recursive: true });
  cpSync(join(root, 'package.json'), join(deps, 'package.json'));
  cpSync(join(root, 'package-lock.json'), join(deps, 'package-lock.json'));
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  const inst = spawnSync(npm, ['ci', '--omit=dev', '--ignore-scripts', '--no-audit', '--no-fund', '--prefer-offline', '--loglevel=error'], { cwd: deps, encoding: 'utf8' });
  if (inst.status !== 0) throw new Error(`npm ci --omit=dev failed:\n${inst.stderr}`);
  ok('npm ci --omit=dev --ignore-scripts (the deps stage) succeeded');

  // Lay the files out where the runtime stage puts them.
  for (const [dest, from] of copied) {
    const target = join(image, dest);
    let source;
    if (from.from === 'deps') source = join(deps, posix.relative('/out', from.src));
    else if (from.from === 'build') source = join(root, posix.relative('/src', from.src));
    else if (!from.from) source = join(root, from.src);
    else { problems.push(`cannot lay out ${dest} from stage ${from.from}`); continue; }
    if (!existsSync(source)) {
      if (from.from === 'build' && source.endsWith('.node')) { notes.push(`  (note: ${source} not built here; only --transparent needs it)`); continue; }
      problems.push(`${dest}: ${source} missing`);
      continue;
    }
    mkdirSync(dirname(target), { recursive: true });
    cpSync(source, target, { recursive: true });
  }
  const run = (argv, expectCode = 0) => {
    const r = spawnSync(process.execPath, [join(image, entryPath), ...argv], {
      cwd: tmp, encoding: 'utf8', timeout: 120_000,
      env: { PATH: process.env.PATH, HOME: tmp, NODE_ENV: 'production' },
    });
    if (r.status !== expectCode) problems.push(`ebb ${argv.join(' ')} exited ${r.status} (expected ${expectCode}):\n${r.stderr}`);
    return r;
  };
  if (entryPath) {
    const v = run(['--version']);
    if (v.status === 0 && v.stdout.trim() !== pkg.version) problems.push(`ebb --version printed ${JSON.stringify(v.stdout.trim())}, expected ${pkg.version}`);
    else if (v.status === 0) ok(`ebb --version → ${v.stdout.trim()} (pruned production install, through the image's launcher)`);
    const i = run(['install', '--kube-version', '1.31']);
    if (i.status === 0) ok(`ebb install → ${i.stdout.split('\n---\n').length} objects`);
    const w = run(['injector'], 64);
    if (w.status === 64) ok('ebb injector without TLS flags → exit 64 (config checked before bind)');
    const s = run(['sleep', '0']);
    if (s.status === 0) ok('ebb sleep 0 (the preStop fallback)');
  }
  const du = spawnSync('du', ['-sh', join(image, 'usr/local/lib/ebb/node_modules')], { encoding: 'utf8' });
  if (du.status === 0) notes.push(`  production node_modules: ${du.stdout.split('\t')[0]}`);
} catch (err) {
  problems.push(err.message);
} finally {
  rmSync(tmp, { recursive: true, force: true });
}
else notes.push('  (--static: the pruned production install was not run; `npm run image:check` runs it)');

process.stdout.write(`image check for ebb:${pkg.version}\n${notes.join('\n')}\n`);
if (problems.length) {
  process.stderr.write(`\nimage check failed (${problems.length}):\n${problems.map((p) => `  ✖ ${p}`).join('\n')}\n`);
  process.exit(1);
}
process.stdout.write('image check passed\n');
