#!/usr/bin/env bash
# Build gwb's Debian package, target/debian/gwb_<version>-1_<arch>.deb: the binary, a man page
# per command and the bash, zsh and fish completions (see [package.metadata.deb] in Cargo.toml).
# Install it with `apt install ./target/debian/gwb_*.deb`; no Rust toolchain is needed there.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v cargo-deb >/dev/null 2>&1; then
  cargo install cargo-deb --locked
fi
cargo build --release --locked

assets=target/assets
rm -rf "$assets"
mkdir -p "$assets/man" "$assets/completions"
target/release/gwb man --dir "$assets/man"
target/release/gwb completions bash >"$assets/completions/gwb"
target/release/gwb completions zsh >"$assets/completions/_gwb"
target/release/gwb completions fish >"$assets/completions/gwb.fish"
gzip -9n "$assets"/man/*.1

cargo deb --no-build --locked
