# gwb as a small container image: built in the Rust image, run from Debian slim as a non-root
# user with gwb as the entrypoint.
#   docker build -t gwb:0.1.0 .
#   docker run --rm gwb:0.1.0 --emulator report -o json

FROM rust:1.89-bookworm AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends libssl-dev pkg-config \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN cargo build --release --locked --bin gwb \
 && strip target/release/gwb

FROM debian:bookworm-slim
# CA certificates for Graph and the sign-in hosts; libssl3 for certificate sign-in.
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates libssl3 \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --user-group --home-dir /var/lib/gwb --create-home gwb \
 && mkdir -p /var/lib/gwb/state /var/lib/gwb/locks \
 && chown -R gwb:gwb /var/lib/gwb
COPY --from=build /src/target/release/gwb /usr/local/bin/gwb
USER 10001:10001
WORKDIR /var/lib/gwb
# Journals (for gwb restore) and run locks: mount a volume on /var/lib/gwb to keep them.
ENV XDG_STATE_HOME=/var/lib/gwb/state \
    GWB_LOCK_DIR=/var/lib/gwb/locks
ENTRYPOINT ["gwb"]
CMD ["--help"]
