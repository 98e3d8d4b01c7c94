# cpe-sim container image. Build: docker build -t cpe-sim .
# Run:   docker run --rm -p 7548:7548 -p 9100:9100 cpe-sim --acs-url http://acs:7547/ --cpes 1000
# The image listens on 0.0.0.0 for connection requests (7548) and metrics (9100) by default
# (CPE_SIM_CR_BIND_ADDR, CPE_SIM_METRICS_BIND_ADDR); with a metrics listener a run is a
# daemon that stops on SIGTERM (README "Scaling past one machine").

# Build stage: every dependency, then TypeScript to dist/, then the dev dependencies dropped.
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json tsconfig.json ./
COPY src ./src
COPY workers ./workers
COPY scripts ./scripts
# --ignore-scripts: the native dependencies (uWebSockets.js, lmdb, bufferutil) ship prebuilt
# binaries, so no compiler toolchain is needed; tsc is then run explicitly.
RUN npm ci --ignore-scripts \
 && npx tsc -p tsconfig.json \
 && npm prune --omit=dev --ignore-scripts

# Runtime stage: production dependencies, the compiled code, the USP schema and the shipped
# profiles and scenarios; no compiler, no sources, run as the unprivileged "node" user.
FROM node:20-bookworm-slim AS runtime
ENV NODE_ENV=production \
    CPE_SIM_CR_BIND_ADDR=0.0.0.0:7548 \
    CPE_SIM_METRICS_BIND_ADDR=0.0.0.0:9100
WORKDIR /app
COPY --from=build /app/package.json ./package.json
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist/src ./dist/src
COPY --from=build /app/dist/workers ./dist/workers
COPY --from=build /app/dist/scripts/healthcheck.js ./dist/scripts/healthcheck.js
COPY --from=build /app/src/usp/proto ./src/usp/proto
COPY profiles ./profiles
COPY scenarios ./scenarios
COPY LICENSE ./LICENSE
RUN mkdir -p /var/lib/cpe-sim && chown node:node /var/lib/cpe-sim
USER node
EXPOSE 7548 9100
HEALTHCHECK --interval=30s --timeout=10s --start-period=20s --retries=3 CMD ["node", "dist/scripts/healthcheck.js"]
ENTRYPOINT ["node", "dist/src/cli/main.js"]
