#!/usr/bin/env node
// `npm run image:local`: builds `ebb:<version>` and `ebb-init:<version>` from the Dockerfile with
// podman on a machine that cannot reach a container registry (see docs/image.md).
//
// The Dockerfile's bases cannot be pulled here, so this script makes local stand-ins and tags them
// with the names the Dockerfile uses (for this machine's Node major, passed as NODE_MAJOR):
//   node:<major>-bookworm-slim                debootstrap --variant=minbase bookworm + ca-certificates
//                                             + this machine's node and npm (/usr/local)
//   node:<major>-bookworm                     the slim stand-in + Node's headers, python3, make, g++
//                                             (what node-gyp needs for the addon)
//   gcr.io/distroless/nodejs<major>-debian12:nonroot
//                                             /nodejs/bin/node + the libraries ldd lists, /etc/passwd
//                                             and /etc/group with nonroot (65532), /tmp, the CA bundle
// Each carries the label ebb.stand-in=<key>, the key a hash of what went in (the node binary, npm,
// the headers, the Debian suite and packages, this script's recipe): a base is remade only when the
// key changes (a new Node on the machine), never otherwise. An image of that name without the label
// is a real one (pulled or loaded by someone): it is used as it is.
//
// Then `podman build --pull=never` of the real Dockerfile, twice (the default target → ebb, the init
// target → ebb-init), with two things the build needs on this machine, neither baked into the
// image: npm's TLS trust (the machine's CA bundle as the build secret `ca`, its path in the
// NODE_EXTRA_CA_CERTS build ARG) and an npm cache shared between builds (a cache mount). Prints the
// sizes and what the large parts of the image are.
//
//   node scripts/image-local.js [--bases-only] [--rebuild-bases] [--quiet]
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, chownSync, copyFileSync, cpSync, createReadStream, existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const argv = new Set(process.argv.slice(2));
for (const a of argv) {
  if (!['--bases-only', '--rebuild-bases', '--quiet'].includes(a)) fail(`unknown option ${a} (known: --bases-only, --rebuild-bases, --quiet)`, 64);
}
const quiet = argv.has('--quiet');
const say = (msg) => process.stdout.write(`image:local: ${msg}\n`);

/** Bump when the way a stand-in is made changes: every stand-in is then remade once. */
const RECIPE = 'ebb-stand-in/2';
const SUITE = 'bookworm';
const SLIM_PACKAGES = ['ca-certificates'];
const FULL_PACKAGES = ['python3', 'make', 'g++'];
/** Where the Dockerfile's RUN steps see the CA bundle (a build secret, id=ca). */
const BUILD_CA_PATH = '/run/secrets/ca';

function fail(msg, code = 1) {
  process.stderr.write(`image:local: ${msg}\n`);
  process.exit(code);
}

function run(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 64 << 20, ...opts });
  if (r.error) fail(`${cmd}: ${r.error.message}`);
  return r;
}

function must(cmd, args, what, opts = {}) {
  const r = run(cmd, args, { stdio: quiet ? ['ignore', 'pipe', 'pipe'] : ['ignore', 'inherit', 'inherit'], ...opts });
  if (r.status !== 0) fail(`${what} failed (${cmd} exited ${r.status})${quiet ? `:\n${(r.stderr ?? '').trim().split('\n').slice(-15).join('\n')}` : ''}`);
  return r;
}

// ---- Preconditions ---------------------------------------------------------------------------
if (run('podman', ['--version']).status !== 0) fail('podman is not installed (apt-get install podman buildah catatonit; .ci/run does it)');
if (typeof process.getuid === 'function' && process.getuid() !== 0) fail('run it as root: debootstrap and podman image mount need root');
const conf = '/etc/containers/containers.conf';
if (!existsSync(conf) || !/^\s*default_ulimits\s*=/m.test(readFileSync(conf, 'utf8'))) {
  say(`note: ${conf} sets no default_ulimits; without CAP_SYS_RESOURCE every container fails with "setrlimit: Operation not permitted" (.ci/run writes the setting)`);
}

const major = process.versions.node.split('.')[0];
const nodeBin = realpathSync(process.execPath);
const prefix = dirname(dirname(nodeBin));
const npmDir = join(prefix, 'lib', 'node_modules', 'npm');
const headers = join(prefix, 'include', 'node');
if (!existsSync(join(npmDir, 'package.json'))) fail(`npm not found at ${npmDir} (next to ${nodeBin})`);
if (!existsSync(join(headers, 'node_api.h'))) fail(`Node's headers not found at ${headers}: node-gyp needs them to build the addon in the image (Debian: apt-get install libnode-dev, or a Node tarball)`);

const names = {
  slim: `docker.io/library/node:${major}-bookworm-slim`,
  full: `docker.io/library/node:${major}-bookworm`,
  distroless: `gcr.io/distroless/nodejs${major}-debian12:nonroot`,
};

// ---- The key: a hash of everything a stand-in is made from -----------------------------------
async function fileHash(path) {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(path)) h.update(chunk);
  return h.digest('hex');
}
const key = createHash('sha256').update(JSON.stringify({
  RECIPE, SUITE, SLIM_PACKAGES, FULL_PACKAGES, node: await fileHash(nodeBin), node_version: process.version,
  npm: JSON.parse(readFileSync(join(npmDir, 'package.json'), 'utf8')).version,
  headers: readdirSync(headers).sort(), node_version_h: readFileSync(join(headers, 'node_version.h'), 'utf8'),
  libs: sharedLibraries(nodeBin),
})).digest('hex').slice(0, 16);

function labelOf(image) {
  const r = run('podman', ['image', 'inspect', '--format', '{{index .Labels "ebb.stand-in"}}', image]);
  if (r.status !== 0) return null; // no such image
  return r.stdout.trim().replace(/^<no value>$/, '');
}

/** 'cached' | 'real' | 'make' for one base. */
function stateOf(image) {
  const label = labelOf(image);
  if (label === null) return 'make';
  if (label === '') return 'real';
  return label === key && !argv.has('--rebuild-bases') ? 'cached' : 'make';
}

function sharedLibraries(bin) {
  const r = run('ldd', [bin]);
  if (r.status !== 0) fail(`ldd ${bin} failed: ${r.stderr.trim()}`);
  return [...r.stdout.matchAll(/(\/\S+)\s+\(0x/g)].map((m) => m[1]);
}

function debianMirror() {
  if (process.env.EBB_DEBIAN_MIRROR) return process.env.EBB_DEBIAN_MIRROR;
  const files = ['/etc/apt/sources.list', ...(existsSync('/etc/apt/sources.list.d') ? readdirSync('/etc/apt/sources.list.d').map((f) => join('/etc/apt/sources.list.d', f)) : [])];
  for (const f of files) {
    if (!existsSync(f)) continue;
    const text = readFileSync(f, 'utf8');
    const m = /^URIs:\s*(\S+\/debian)\s*$/m.exec(text) ?? /^deb\s+(?:\[[^\]]*\]\s+)?(\S+\/debian)\s+/m.exec(text);
    if (m) return m[1];
  }
  return 'http://deb.debian.org/debian';
}

/** tar the directory into `podman import` (numeric owners: the rootfs is root's). */
function importDir(dir, image, changes) {
  return new Promise((resolveImport, reject) => {
    const tar = spawn('tar', ['--numeric-owner', '-C', dir, '-cf', '-', '.'], { stdio: ['ignore', 'pipe', 'inherit'] });
    const imp = spawn('podman', ['import', ...(quiet ? ['-q'] : []), ...changes.flatMap((c) => ['--change', c]), '-', image], { stdio: ['pipe', 'ignore', 'inherit'] });
    tar.stdout.pipe(imp.stdin);
    let tarCode;
    tar.on('exit', (c) => { tarCode = c; });
    imp.on('exit', (c) => (c === 0 && tarCode === 0 ? resolveImport() : reject(new Error(`podman import ${image} failed (tar ${tarCode}, import ${c})`))));
  });
}

const work = mkdtempSync('/var/tmp/ebb-image-local-');
const cleanup = () => rmSync(work, { recursive: true, force: true });
process.on('exit', cleanup);
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => { cleanup(); process.exit(130); });

const t0 = performance.now();
const secs = (t) => `${((performance.now() - t) / 1000).toFixed(1)} s`;

// ---- 1. node:<major>-bookworm-slim -------------------------------------------------------------
async function makeSlim() {
  const t = performance.now();
  const dir = join(work, 'slim');
  const mirror = debianMirror();
  say(`making ${names.slim}: debootstrap --variant=minbase ${SUITE} from ${mirror} + ${SLIM_PACKAGES.join(' ')} + node ${process.version} from ${prefix}`);
  must('debootstrap', ['--variant=minbase', `--include=${SLIM_PACKAGES.join(',')}`, SUITE, dir, mirror], 'debootstrap', { stdio: ['ignore', 'ignore', 'inherit'] });
  // What the official image has under /usr/local: node, npm (and npx), the headers.
  copyFileSync(nodeBin, join(dir, 'usr/local/bin/node'));
  chmodSync(join(dir, 'usr/local/bin/node'), 0o755);
  mkdirSync(join(dir, 'usr/local/lib/node_modules'), { recursive: true });
  cpSync(npmDir, join(dir, 'usr/local/lib/node_modules/npm'), { recursive: true, verbatimSymlinks: true });
  symlinkSync('../lib/node_modules/npm/bin/npm-cli.js', join(dir, 'usr/local/bin/npm'));
  symlinkSync('../lib/node_modules/npm/bin/npx-cli.js', join(dir, 'usr/local/bin/npx'));
  // node's own libraries come from the same Debian release; anything ldd finds missing is copied.
  for (const lib of sharedLibraries(nodeBin)) {
    if (!existsSync(join(dir, lib))) { mkdirSync(join(dir, dirname(lib)), { recursive: true }); copyFileSync(lib, join(dir, lib)); }
  }
  rmSync(join(dir, 'var/cache/apt/archives'), { recursive: true, force: true });
  mkdirSync(join(dir, 'var/cache/apt/archives/partial'), { recursive: true });
  rmSync(join(dir, 'var/lib/apt/lists'), { recursive: true, force: true });
  mkdirSync(join(dir, 'var/lib/apt/lists/partial'), { recursive: true });
  await importDir(dir, names.slim, [
    `LABEL ebb.stand-in=${key}`,
    `LABEL ebb.stand-in.for=node:${major}-bookworm-slim`,
    'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
    `ENV NODE_VERSION=${process.versions.node}`,
    'CMD ["node"]',
  ]);
  rmSync(dir, { recursive: true, force: true });
  say(`made ${names.slim} in ${secs(t)}`);
}

// ---- 2. node:<major>-bookworm: the slim one + what node-gyp needs --------------------------------
function makeFull() {
  const t = performance.now();
  const ctx = join(work, 'full');
  mkdirSync(ctx);
  cpSync(headers, join(ctx, 'include-node'), { recursive: true, verbatimSymlinks: true });
  writeFileSync(join(ctx, 'Containerfile'), [
    `FROM ${names.slim}`,
    // Node's headers, where node-gyp finds them next to node (the build needs no download).
    'COPY include-node /usr/local/include/node',
    `RUN apt-get update && apt-get install -y --no-install-recommends ${FULL_PACKAGES.join(' ')} && rm -rf /var/lib/apt/lists/*`,
    `LABEL ebb.stand-in=${key} ebb.stand-in.for=node:${major}-bookworm`,
    '',
  ].join('\n'));
  say(`making ${names.full}: the slim stand-in + Node's headers + ${FULL_PACKAGES.join(' ')}`);
  must('podman', ['build', '--pull=never', '--layers=false', '-q', '-t', names.full, ctx], `building ${names.full}`, { stdio: ['ignore', 'ignore', 'inherit'] });
  say(`made ${names.full} in ${secs(t)}`);
}

// ---- 3. gcr.io/distroless/nodejs<major>-debian12:nonroot ---------------------------------------
async function makeDistroless() {
  const t = performance.now();
  const dir = join(work, 'distroless');
  say(`making ${names.distroless}: /nodejs/bin/node + ${sharedLibraries(nodeBin).length} libraries + nonroot (65532)`);
  mkdirSync(join(dir, 'nodejs/bin'), { recursive: true });
  copyFileSync(nodeBin, join(dir, 'nodejs/bin/node'));
  chmodSync(join(dir, 'nodejs/bin/node'), 0o755);
  for (const lib of sharedLibraries(nodeBin)) {
    mkdirSync(join(dir, dirname(lib)), { recursive: true });
    copyFileSync(lib, join(dir, lib));
  }
  mkdirSync(join(dir, 'etc/ssl/certs'), { recursive: true });
  if (existsSync('/etc/ssl/certs/ca-certificates.crt')) copyFileSync('/etc/ssl/certs/ca-certificates.crt', join(dir, 'etc/ssl/certs/ca-certificates.crt'));
  writeFileSync(join(dir, 'etc/passwd'), 'root:x:0:0:root:/root:/sbin/nologin\nnobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n');
  writeFileSync(join(dir, 'etc/group'), 'root:x:0:\nnobody:x:65534:\nnonroot:x:65532:\n');
  mkdirSync(join(dir, 'tmp'));
  chmodSync(join(dir, 'tmp'), 0o1777);
  mkdirSync(join(dir, 'home/nonroot'), { recursive: true });
  chownSync(join(dir, 'home/nonroot'), 65532, 65532);
  mkdirSync(join(dir, 'root'), { recursive: true });
  await importDir(dir, names.distroless, [
    `LABEL ebb.stand-in=${key}`,
    `LABEL ebb.stand-in.for=gcr.io/distroless/nodejs${major}-debian12:nonroot`,
    'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
    'ENV SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt',
    'USER 65532:65532',
    'WORKDIR /home/nonroot',
    'ENTRYPOINT ["/nodejs/bin/node"]',
  ]);
  rmSync(dir, { recursive: true, force: true });
  say(`made ${names.distroless} in ${secs(t)}`);
}

const states = Object.fromEntries(Object.entries(names).map(([k, image]) => [k, stateOf(image)]));
// The full stand-in is made from the slim one: remaking slim remakes full.
if (states.slim === 'make' && states.full !== 'real') states.full = 'make';
for (const [k, image] of Object.entries(names)) {
  if (states[k] === 'cached') say(`${image}: stand-in cached (key ${key})`);
  if (states[k] === 'real') say(`${image}: a real image (no ebb.stand-in label): using it`);
}
if (states.slim === 'make') await makeSlim();
if (states.full === 'make') makeFull();
if (states.distroless === 'make') await makeDistroless();
if (argv.has('--bases-only')) process.exit(0);

// ---- 4. The images, from the Dockerfile ---------------------------------------------------------
const ca = [process.env.NODE_EXTRA_CA_CERTS, '/etc/ssl/certs/ca-certificates.crt'].find((f) => f && existsSync(f));
const common = ['build', '--pull=never', '--build-arg', `NODE_MAJOR=${major}`,
  '--label', `ebb.bases=${Object.values(states).every((s) => s === 'real') ? 'real' : `stand-in ${key}`}`,
  ...(ca ? ['--secret', `id=ca,src=${realpathSync(ca)}`, '--build-arg', `NODE_EXTRA_CA_CERTS=${BUILD_CA_PATH}`] : []),
  ...(quiet ? ['-q'] : [])];
const images = { ebb: `localhost/ebb:${pkg.version}`, init: `localhost/ebb-init:${pkg.version}` };
let t = performance.now();
must('podman', [...common, '-t', images.ebb, root], `building ${images.ebb}`);
say(`built ${images.ebb} in ${secs(t)}`);
t = performance.now();
must('podman', [...common, '--target', 'init', '-t', images.init, root], `building ${images.init}`);
say(`built ${images.init} in ${secs(t)}`);

// ---- 5. Sizes -----------------------------------------------------------------------------------
const mb = (bytes) => (bytes < 1e6 ? `${Math.ceil(bytes / 1e3)} kB` : `${(bytes / 1e6).toFixed(1)} MB`);
function imageSize(image) {
  const r = run('podman', ['image', 'inspect', '--format', '{{.Size}}', image]);
  return r.status === 0 ? Number(r.stdout.trim()) : NaN;
}
function du(dir) {
  const r = run('du', ['-sb', dir]);
  return r.status === 0 ? Number(r.stdout.split('\t')[0]) : 0;
}
function parts(image, paths) {
  const m = run('podman', ['image', 'mount', image]);
  if (m.status !== 0) return [];
  const mnt = m.stdout.trim();
  try {
    const out = [];
    for (const p of paths) {
      const full = join(mnt, p.path);
      if (!existsSync(full) || lstatSync(full).isSymbolicLink()) continue;
      if (p.children) {
        const kids = readdirSync(full).flatMap((n) => (n.startsWith('@') ? readdirSync(join(full, n)).map((s) => `${n}/${s}`) : [n]));
        for (const k of kids.map((n) => ({ n, size: du(join(full, n)) })).sort((a, b) => b.size - a.size).slice(0, p.children)) out.push({ what: `${p.path}/${k.n}`, size: k.size });
      } else out.push({ what: p.label ? `${p.path} (${p.label})` : p.path, size: du(full) });
    }
    return out;
  } finally {
    run('podman', ['image', 'unmount', image]);
  }
}
const lib = '/usr/local/lib/ebb';
const shown = [
  { path: '/nodejs', label: 'the distroless base\'s node' },
  { path: '/usr/local/bin/node', label: 'the base\'s node' },
  { path: '/lib', label: 'shared libraries' },
  { path: '/usr/lib', label: 'the base\'s libraries' },
  { path: `${lib}/node_modules`, label: 'production dependencies' },
  { path: `${lib}/node_modules`, children: 5 },
  { path: `${lib}/dist`, label: 'ebb, compiled' },
  { path: `${lib}/build`, label: 'the native addon' },
];
say(`done in ${secs(t0)}`);
for (const image of Object.values(images)) {
  process.stdout.write(`\n${image}: ${mb(imageSize(image))}\n`);
  for (const p of parts(image, shown)) process.stdout.write(`  ${mb(p.size).padStart(9)}  ${p.what}\n`);
}
