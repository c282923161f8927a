# dockfix in a container, built the way dockfix wants Dockerfiles to be: a Rust builder, a
# slim runtime that runs as an unprivileged user, no setuid bits. `dockfix fix --check
# Dockerfile` passes on this file (.ci/run checks it).
#
#   docker build -t dockfix .
#   docker run --rm -v "$PWD:/src" dockfix fix --check .
#   docker run --rm -v "$PWD:/src" --user "$(id -u):$(id -g)" dockfix fix --write .
#
# The image runs as `dockfix` (UID 10001), which can read a mounted repository but not write
# to it: `--write` runs as the caller's UID and GID (`--user`), which have no passwd entry
# here, so Docker sets HOME=/ (not writable). dockfix needs no home: its cache of image facts
# goes to DOCKFIX_CACHE_DIR (below: mode 1777 like /tmp, which a new named volume mounted
# there takes over, so `-v dockfix-cache:/tmp/dockfix-cache` keeps it between runs), and
# it runs no git, so git's ownership checks do not apply. scripts/container-check runs the
# binary that way (an unknown UID, no home, the ENV below) on a tree that UID owns.
#
# The base images are pinned by tag only: no digest could be verified where this file was
# written (no registry access), and an unverified digest is worse than none. Add the digests
# with `dockfix fix --pin digest --update Dockerfile` (pin-images) from a machine that can
# reach Docker Hub. The runtime's Debian release must match the builder's (glibc).

FROM rust:1.90-slim-bookworm AS builder
WORKDIR /build
COPY Cargo.toml Cargo.lock ./
COPY src ./src
COPY transforms ./transforms
RUN cargo build --release --locked --bin dockfix

FROM debian:bookworm-slim
RUN groupadd --system --gid 10001 dockfix \
    && useradd --system --uid 10001 --gid dockfix --no-log-init dockfix \
    && install -d -m 1777 /tmp/dockfix-cache
COPY --from=builder /build/target/release/dockfix /usr/local/bin/dockfix
RUN find / -xdev -perm /6000 -type f -exec chmod a-s {} + || true
ENV DOCKFIX_CACHE_DIR=/tmp/dockfix-cache
USER dockfix
WORKDIR /src
ENTRYPOINT ["dockfix"]
CMD ["--help"]
