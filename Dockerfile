# syntax=docker/dockerfile:1
#
# The ebb image, `ebb:<version>` — what `ebb inject` puts in pods and what `ebb install` runs:
#   docker build -t ebb:$(node -p "require('./package.json').version") .    (or: npm run image:build)
# Without a Docker engine, `npm run image:check` verifies what can be verified (see docs/webhook.md).
#
# Runtime: distroless Node.js 24 LTS, non-root (65532), nothing written to the root filesystem,
# no shell: `ebb` (/usr/local/bin/ebb) is the entrypoint and on PATH, so exec hooks like
# ["ebb", "sleep", "5"] work.

ARG NODE_MAJOR=24

# Where there is no direct TLS to the npm registry (a proxy with its own CA), pass the CA bundle as a
# build secret or a read-only mount and its path here: a build-time value, never in the image.
#   docker build --build-arg NODE_EXTRA_CA_CERTS=/run/secrets/ca --secret id=ca,src=/etc/ssl/certs/ca-certificates.crt .
# (`npm run image:local`, with podman, mounts the machine's bundle; see docs/image.md.)

# 1. Build: TypeScript → dist/, and the native addon (node-gyp needs python3, make, g++: full image).
#    Dependencies first, then the addon, then the TypeScript: a source change rebuilds only the last.
FROM node:${NODE_MAJOR}-bookworm AS build
ARG NODE_EXTRA_CA_CERTS
WORKDIR /src
COPY package.json package-lock.json ./
RUN --mount=type=cache,target=/root/.npm,sharing=locked --mount=type=secret,id=ca,required=false \
    npm ci --ignore-scripts --no-audit --no-fund
COPY binding.gyp ./
COPY scripts/build-native.js scripts/build-native.js
COPY src/native/ src/native/
RUN --mount=type=secret,id=ca,required=false npm run install && test -f build/Release/ebb_native.node
COPY tsconfig.json ./
COPY bin/ bin/
COPY src/ src/
RUN --mount=type=secret,id=ca,required=false npx tsc -p tsconfig.json && test -f dist/src/cli/main.js

# 2. Production dependencies only, from the same lockfile (no install scripts: the addon comes from 1),
#    without what only compilers and editors read (TypeScript declarations, source maps, docs).
FROM node:${NODE_MAJOR}-bookworm-slim AS deps
ARG NODE_EXTRA_CA_CERTS
WORKDIR /out
COPY package.json package-lock.json ./
RUN --mount=type=cache,target=/root/.npm,sharing=locked --mount=type=secret,id=ca,required=false \
    npm ci --omit=dev --ignore-scripts --no-audit --no-fund \
 && find node_modules -type f \( -name '*.d.ts' -o -name '*.d.mts' -o -name '*.d.cts' -o -name '*.map' \
      -o -iname '*.md' -o -iname '*.markdown' \) -delete

# 3. `ebb-init:<version>` (docker build --target init -t ebb-init:<version> .; npm run image:build-init):
#    the pod's init container for transparent interception (`ebb inject --transparent true`, see
#    docs/init.md). Same ebb, plus iptables, which the distroless runtime has not. It runs as root
#    with NET_ADMIN and NET_RAW only (the injected securityContext), once, before any other container.
FROM node:${NODE_MAJOR}-bookworm-slim AS init
RUN apt-get update \
 && apt-get install -y --no-install-recommends iptables \
 && rm -rf /var/lib/apt/lists/*
COPY --from=deps /out/node_modules /usr/local/lib/ebb/node_modules
COPY --from=build /src/dist/src /usr/local/lib/ebb/dist/src
COPY --from=build /src/build/Release/ebb_native.node /usr/local/lib/ebb/build/Release/ebb_native.node
COPY package.json /usr/local/lib/ebb/package.json
COPY bin/ /usr/local/lib/ebb/bin/
ENTRYPOINT ["node", "/usr/local/lib/ebb/bin/ebb.js"]
CMD ["init"]

# 4. Runtime (the default target: keep it last).
FROM gcr.io/distroless/nodejs${NODE_MAJOR}-debian12:nonroot
# MALLOC_ARENA_MAX=2: glibc's arenas for V8's worker threads kept 5 MiB of a burst that malloc_trim
# cannot give back; --max-semi-space-size=2: V8's young generation grew by ~25 MB under load (both in
# src/proxy/memory-relief.ts, IMAGE_ENV, which a test holds equal to this line).
ENV NODE_ENV=production \
    PATH=/usr/local/bin:/usr/bin:/bin \
    MALLOC_ARENA_MAX=2 \
    NODE_OPTIONS=--max-semi-space-size=2
COPY --from=deps /out/node_modules /usr/local/lib/ebb/node_modules
COPY --from=build /src/dist/src /usr/local/lib/ebb/dist/src
COPY --from=build /src/build/Release/ebb_native.node /usr/local/lib/ebb/build/Release/ebb_native.node
COPY package.json /usr/local/lib/ebb/package.json
COPY bin/ /usr/local/lib/ebb/bin/
COPY --chmod=0755 docker/ebb /usr/local/bin/ebb
USER 65532:65532
WORKDIR /
ENTRYPOINT ["/usr/local/bin/ebb"]
CMD ["--help"]
