# Dockerfile — switchyard in a container. Multi-stage: the build stage compiles the C addon
# (node-gyp against the image's own Node headers) and the TypeScript; the runtime stage keeps
# only what runs. The container needs the host's network and the rights to open packet
# sockets and TAP devices:
#
#   docker build -t switchyard .
#   docker run --rm --network host --cap-add NET_ADMIN --cap-add NET_RAW \
#     --device /dev/net/tun -v /run/switchyard:/run/switchyard \
#     -v "$PWD/lab.yaml:/etc/switchyard.yaml:ro" switchyard run -c /etc/switchyard.yaml
FROM node:20-bookworm AS build
WORKDIR /src
COPY package.json package-lock.json tsconfig.json ./
COPY scripts ./scripts
COPY native ./native
COPY src ./src
RUN npm ci --no-audit --no-fund && npm prune --omit=dev

FROM node:20-bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends iproute2 \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY --from=build /src/package.json ./
COPY --from=build /src/node_modules ./node_modules
COPY --from=build /src/dist ./dist
COPY --from=build /src/native/build/Release/switchyard.node ./native/build/Release/switchyard.node
COPY bin ./bin
COPY examples ./examples
ENTRYPOINT ["node", "/app/bin/switchyard.js"]
CMD ["run", "-c", "/app/examples/vm-lab.yaml"]
