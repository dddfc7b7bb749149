# syntax=docker/dockerfile:1.7
#
# One Dockerfile for the five services; the build argument APP picks which one:
#
#   docker build --build-arg APP=storage -t sitesaga/storage .
#
# One file rather than one per app because the five are built the same way from the same
# workspace (one lockfile, the same libs): the dependency layers below come before APP is
# read, so building all five downloads and installs the dependencies once. Only the port
# differs, hence one small stage per app at the end (`app-<APP>`).
#
# Runtime contract (see README.md): the service runs in /app as `node dist/main.js`, runs
# its own migrations at boot, serves GET /health and exits cleanly on SIGTERM. Configuration
# comes from the environment only (KAFKA_BROKERS, DATABASE_URL, ...): nothing secret is
# baked into the image.

# Which app to build: site-saga, sites, storage, databases or bootstrap.
ARG APP=site-saga
ARG NODE_IMAGE=node:20-bookworm-slim

FROM ${NODE_IMAGE} AS base
# The pnpm of package.json's packageManager, through corepack (bundled with Node 20).
ENV PNPM_HOME=/pnpm \
    PATH=/pnpm:$PATH \
    COREPACK_ENABLE_DOWNLOAD_PROMPT=0 \
    CI=true
RUN corepack enable && corepack prepare pnpm@9.15.9 --activate
WORKDIR /repo

# ---- build: install the workspace, compile the app and its libs, cut a production tree
FROM base AS build
# The lockfile alone decides what is downloaded: this layer survives source changes.
COPY pnpm-lock.yaml pnpm-workspace.yaml package.json .npmrc ./
RUN --mount=type=cache,id=pnpm-store,target=/pnpm/store \
    pnpm fetch --frozen-lockfile
COPY . .
# Install scripts run only for package.json's onlyBuiltDependencies. bcrypt (bootstrap)
# ships prebuilt binaries for linux x64/arm64 (glibc), so no compiler is needed here.
RUN --mount=type=cache,id=pnpm-store,target=/pnpm/store \
    pnpm install --frozen-lockfile --offline
ARG APP
RUN case "${APP}" in \
      site-saga|sites|storage|databases|bootstrap) ;; \
      *) echo "APP must be one of site-saga, sites, storage, databases, bootstrap (got '${APP}')" >&2; exit 1 ;; \
    esac
# The app and the workspace libs it depends on (the trailing "...").
RUN pnpm --filter "@sitesaga/${APP}..." build
# A self-contained copy of the app with its production dependencies only (the libs are
# copied in, with their dist/), ready to run without the workspace. src/ stays: tsc does
# not copy assets, and site-saga reads src/admin/admin-page.html at run time.
RUN --mount=type=cache,id=pnpm-store,target=/pnpm/store \
    pnpm deploy --filter "@sitesaga/${APP}" --prod /out \
 && node -e "require.resolve('/out/dist/main.js')"

# ---- runtime: Node and the app's production tree, nothing else
FROM ${NODE_IMAGE} AS runtime
# NODE_OPTIONS: the young generation at 2 × 8 MB, not 2 × 16 MB, is ~10 MB less RSS under
# load for the same CPU (scripts/local/node-flags.ts). Setting NODE_OPTIONS replaces both.
ENV NODE_ENV=production \
    NODE_OPTIONS="--enable-source-maps --max-semi-space-size=8" \
    STORAGE_ROOT=/var/lib/sitesaga/storage
WORKDIR /app
# Owned by root, readable by all: the service cannot rewrite its own code.
COPY --from=build /out ./
# STORAGE_ROOT exists and belongs to `node`, so a fresh named volume mounted there (Docker
# copies the ownership of the image's directory into it) is writable by the service.
RUN mkdir -p /var/lib/sitesaga/storage && chown node:node /var/lib/sitesaga/storage
# The image's unprivileged user (uid 1000, gid 1000). Kubernetes cannot check a user
# *name* against runAsNonRoot, so infra/k8s also sets runAsUser: 1000.
USER node
# No curl in the slim image: Node's fetch asks the service's own /health (database and
# Kafka). PORT is the image's default below unless the environment overrides it.
HEALTHCHECK --interval=10s --timeout=5s --start-period=60s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || '3000') + '/health', { signal: AbortSignal.timeout(4000) }).then((response) => process.exit(response.ok ? 0 : 1), () => process.exit(1))"]
# Node is PID 1 and handles SIGTERM itself (Nest shutdown hooks): stop consuming, let
# handlers finish and commit, flush the outbox, exit.
STOPSIGNAL SIGTERM
CMD ["node", "dist/main.js"]

# ---- one stage per app: its default port (SPEC.md)
FROM runtime AS app-site-saga
ENV PORT=3000
EXPOSE 3000

FROM runtime AS app-sites
ENV PORT=3001
EXPOSE 3001

FROM runtime AS app-storage
ENV PORT=3002
EXPOSE 3002

FROM runtime AS app-databases
ENV PORT=3003
EXPOSE 3003

FROM runtime AS app-bootstrap
ENV PORT=3004
EXPOSE 3004

# The default target: the stage of the selected app.
FROM app-${APP} AS final
