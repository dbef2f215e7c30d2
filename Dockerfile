# The IceCone gateway as a container image: the `icecone` binary on Debian slim, run as an
# unprivileged user. `docker build -t icecone .`, then `docker run -p 8080:8080 icecone`
# starts it in development mode (SQLite and a generated key in /var/lib/icecone/data);
# docker-compose.yml runs it in production mode on PostgreSQL.

# --- Build -------------------------------------------------------------------------------
FROM rust:1-bookworm AS skeleton
WORKDIR /src
COPY . .
# Keep only what decides the dependency build: the manifests, the lock file, and every .rs
# file emptied to `fn main() { }` (so each declared target still exists). Editing code then
# leaves this stage's output unchanged, and the dependency layer below stays cached.
RUN find . -type f ! -name Cargo.toml ! -name Cargo.lock ! -name '*.rs' \
        ! -path './.cargo/config.toml' ! -name 'rust-toolchain*' -delete \
    && find . -type f -name '*.rs' -exec sh -c 'for f; do echo "fn main() { }" > "$f"; done' sh {} +

FROM rust:1-bookworm AS builder
WORKDIR /src
COPY --from=skeleton /src .
RUN cargo build --release --locked -p icecone-gateway
COPY . .
# The real sources may be older than the stub build: touch them so cargo rebuilds our crates.
RUN find . -path ./target -prune -o -name '*.rs' -exec touch {} + \
    && cargo build --release --locked -p icecone-gateway \
    && install -m 0755 target/release/icecone /usr/local/bin/icecone

# --- Run ---------------------------------------------------------------------------------
FROM debian:bookworm-slim
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates curl \
    && rm -rf /var/lib/apt/lists/*
RUN groupadd --system --gid 10001 icecone \
    && useradd --system --uid 10001 --gid icecone --home-dir /var/lib/icecone \
        --shell /usr/sbin/nologin icecone \
    && install -d -o icecone -g icecone -m 0750 /var/lib/icecone /var/lib/icecone/data
COPY --from=builder /usr/local/bin/icecone /usr/local/bin/icecone

USER 10001:10001
WORKDIR /var/lib/icecone
ENV ICECONE_LISTEN=0.0.0.0:8080 \
    ICECONE_DATA_DIR=/var/lib/icecone/data
EXPOSE 8080
# Liveness only (no database round trip); docker-compose.yml probes /readyz instead.
HEALTHCHECK --interval=30s --timeout=3s --start-period=10s --retries=3 \
    CMD curl -fsS http://127.0.0.1:8080/healthz || exit 1
ENTRYPOINT ["icecone"]
CMD ["serve"]
