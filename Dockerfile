# syntax=docker/dockerfile:1
# urocket's image: the compiled binary on distroless (glibc, no shell, no package manager), under
# tini as PID 1, as a non-root user. It carries no config and no handlers: mount them (Kubernetes:
# deploy/kubernetes/), or copy the binary into the image your handlers need (examples/container/).
#
#   docker build -t urocket:0.1.0 .
#   docker run --rm -p 8080:8080 -v "$PWD/my-app:/etc/urocket:ro" urocket:0.1.0
#
# The build context (.dockerignore) and the helper build are tested (tests/unit/
# project/docker_context_test.ts); the image build itself runs where a Docker engine is.

# --- build: Deno compiles urocket into one file (deno compile downloads Deno's runtime) ---
FROM denoland/deno:debian-2.9.6 AS build
USER root
# tini-static: an init with no library to load, for the final stage. gcc and libc6-dev (which
# carries libc.a): the spawn helper (native/urocket_spawn.c) is built static and embedded.
RUN apt-get update \
 && apt-get install -y --no-install-recommends tini gcc libc6-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY deno.json deno.lock main.ts ./
COPY lib/ lib/
COPY native/ native/
COPY tools/ tools/
# Builds the spawn helper, then the binary with the helper inside; the compile script checks that
# the binary answers `--version` as urocket, not as plain Deno. At start urocket copies the helper
# into a private directory under $TMPDIR (/tmp), which must allow exec.
RUN deno task compile \
 && install -d -o 65532 -g 65532 -m 0700 /out/run/urocket

# --- final: glibc (the binary needs it), nothing else ---
FROM gcr.io/distroless/cc-debian12:nonroot
COPY --from=build /usr/bin/tini-static /tini
COPY --from=build /src/dist/urocket /usr/local/bin/urocket
# The socket's directory, writable by urocket's user only; the config sets
# socket: /run/urocket/urocket.sock.
COPY --from=build --chown=65532:65532 /out/run/urocket /run/urocket
# distroless's "nonroot" user.
USER 65532:65532
EXPOSE 8080 9090
# Asks /readyz on the config's admin address (loopback for a 0.0.0.0 bind): the config must set
# `admin`, e.g. 0.0.0.0:9090.
HEALTHCHECK --interval=10s --timeout=5s --start-period=5s --retries=3 \
  CMD ["/usr/local/bin/urocket", "health", "--config", "/etc/urocket/urocket-service.yaml"]
# tini reaps the orphans handlers leave behind (Deno does not) and passes signals on to urocket.
ENTRYPOINT ["/tini", "--", "/usr/local/bin/urocket"]
CMD ["serve", "--config", "/etc/urocket/urocket-service.yaml"]
