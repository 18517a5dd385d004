#!/usr/bin/env bash
# Builds the seed corpora of the fuzz targets into fuzz/corpus/<target>/ from the shared
# captures (../shared/pcaps next to the workspace, or the directory given as $1) plus a
# few captures generated with jj-gen. The corpus is derived from third-party captures:
# it is not committed (fuzz/.gitignore); rebuild it with this script.
#
#   fuzz/make_corpus.sh [PCAP_DIR]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
pcaps="${1:-$here/../../shared/pcaps}"
# A plain (uninstrumented) build in its own target directory, so it neither needs
# cargo-fuzz nor invalidates the fuzz build.
CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$here/target/corpus-tool}" \
    cargo run --quiet --release --manifest-path "$here/Cargo.toml" --example make_corpus -- \
    "$pcaps" "$here/corpus"
