FROM node:20-bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends qemu-utils python3 make g++ \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY bin ./bin
COPY scripts/bundle-cli.mjs ./scripts/
COPY src ./src
RUN npm run build && npm prune --omit=dev
# The service never runs as root (a home's files are private to the user that owns it):
# its own user, owning the home folder (a named volume mounted there starts with this owner).
RUN groupadd --system --gid 10001 forkpoint \
    && useradd --system --uid 10001 --gid forkpoint --home-dir /var/lib/forkpoint --shell /usr/sbin/nologin forkpoint \
    && mkdir -p /var/lib/forkpoint && chown forkpoint:forkpoint /var/lib/forkpoint && chmod 0700 /var/lib/forkpoint
# 16 libuv threads: a batch clone's fsyncs go 4 at a time with the default (docs/qcow2.md, group durability).
ENV NODE_ENV=production FORKPOINT_HOME=/var/lib/forkpoint UV_THREADPOOL_SIZE=16
USER 10001:10001
EXPOSE 7420
CMD ["node", "bin/forkpoint.js", "serve"]
