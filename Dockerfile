# syntax=docker/dockerfile:1
# onewindow gateway image (docs/operations.md). Two stages: the build stage has the dev
# dependencies (TypeScript) and compiles to dist/; the runtime stage has production dependencies
# and dist/ only, the same as .ci/production-start.sh ships (the shipped adapter packages are
# built into dist/adapters/<name>/ and dist/packages/<name>/, where the gateway finds them without
# npm's workspace links).
ARG NODE_IMAGE=node:20-bookworm-slim

FROM ${NODE_IMAGE} AS build
WORKDIR /app
# Package files first, so source edits do not re-run the install (no install scripts of our own).
COPY package.json package-lock.json ./
# The npm workspaces' manifests too, so npm ci links them (the adapter SDK, the adapter packages).
COPY adapters/sdk/package.json ./adapters/sdk/package.json
COPY adapters/psb-population/package.json ./adapters/psb-population/package.json
COPY adapters/amr-enterprise/package.json ./adapters/amr-enterprise/package.json
COPY adapters/nrb-realestate/package.json ./adapters/nrb-realestate/package.json
COPY packages/adapter-mca-marriage/package.json ./packages/adapter-mca-marriage/package.json
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY scripts ./scripts
COPY gateway ./gateway
COPY adapters ./adapters
COPY packages ./packages
COPY contracts ./contracts
RUN npm run build

FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force
COPY --from=build /app/dist ./dist
# The only folder the gateway writes to (PGlite when no DATABASE_URL, key files, the audit witness
# file, the filesystem blob store): everything else may be mounted read-only.
RUN mkdir -p /var/lib/onewindow/keys \
  && chown -R node:node /var/lib/onewindow \
  && chmod -R 0700 /var/lib/onewindow
# The image's unprivileged user (uid 1000); the code and node_modules stay owned by root.
USER node
# All interfaces inside the container (the default 127.0.0.1 is unreachable from outside it); the
# demo is off, as a demo on a reachable address is refused anyway.
ENV HOST=0.0.0.0 \
    PORT=8080 \
    DATA_DIR=/var/lib/onewindow \
    ONEWINDOW_DEMO=false
VOLUME ["/var/lib/onewindow"]
EXPOSE 8080
# Node's own fetch: the slim image has no curl. /readyz is 503 while draining or without the database.
HEALTHCHECK --interval=10s --timeout=3s --start-period=60s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||8080)+'/readyz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
STOPSIGNAL SIGTERM
# node itself, not npm (which does not pass SIGTERM on reliably): the gateway drains on SIGTERM.
CMD ["node", "dist/gateway/main.js"]
