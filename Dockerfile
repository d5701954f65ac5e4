FROM node:20-bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends qemu-utils python3 make g++ \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY bin ./bin
COPY src ./src
RUN npm run build && npm prune --omit=dev
ENV NODE_ENV=production
EXPOSE 7420
CMD ["node", "bin/forkpoint.js", "serve"]
