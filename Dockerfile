# syntax=docker/dockerfile:1
# The mydatastore image: nodes (`mydatastore server`, the default command) and the Kubernetes operator
# (`node /app/dist/deploy/operator/main.js`). Three stages so that neither the compiler nor the dev
# dependencies reach the final image. Build: docker build -t mydatastore:0.1.0 .   (deploy/README.md)

# 1. Build: protobufjs codegen and tsc need the dev dependencies. --ignore-scripts: the native dev
#    dependencies (classic-level, clinic) are for benchmarks and would need a compiler on Alpine.
FROM node:20-alpine AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY . .
RUN npm run build

# 2. Runtime dependencies only (all pure JavaScript).
FROM node:20-alpine AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund

# 3. Final: Node, the runtime dependencies and the compiled code; no tests, benchmarks or sources.
FROM node:20-alpine
ENV NODE_ENV=production
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY package.json ./
COPY --from=build /src/dist/tools ./dist/tools
COPY --from=build /src/dist/cluster ./dist/cluster
COPY --from=build /src/dist/rpc ./dist/rpc
COPY --from=build /src/dist/proto ./dist/proto
COPY --from=build /src/dist/lsm ./dist/lsm
COPY --from=build /src/dist/http ./dist/http
COPY --from=build /src/dist/client ./dist/client
COPY --from=build /src/dist/deploy ./dist/deploy
# A non-root user owning only the data directory; the code stays read-only for it.
RUN addgroup -S -g 10001 mydatastore \
 && adduser -S -D -H -u 10001 -G mydatastore mydatastore \
 && mkdir /data && chown mydatastore:mydatastore /data \
 && ln -s /app/dist/tools/mydatastore.js /usr/local/bin/mydatastore \
 && chmod +x /app/dist/tools/mydatastore.js
USER 10001:10001
VOLUME /data
# 7000: RPC (nodes and clients); 8000: HTTP gateway (/kv, /health, /ready, /metrics).
EXPOSE 7000 8000
# No TLS by default (see rpc/SECURITY.md to enable it); listening on 0.0.0.0 makes the node warn.
ENV MYDATASTORE_LISTEN=0.0.0.0:7000 \
    MYDATASTORE_HTTP=0.0.0.0:8000 \
    MYDATASTORE_DATA=/data/node
# Kubernetes probes /health and /ready itself; this is for plain `docker run`.
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s CMD wget -q -O /dev/null http://127.0.0.1:8000/health || exit 1
# Node runs as PID 1 and handles SIGTERM itself: it leaves the cluster gracefully and exits 0.
ENTRYPOINT ["mydatastore"]
CMD ["server"]
