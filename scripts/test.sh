#!/usr/bin/env bash
# The test command: installs a nats-server >= 2.10 into .tools/ if none is found,
# points the tests at it (NATS_SERVER_BIN) and runs the whole workspace's tests.
set -euo pipefail
cd "$(dirname "$0")/.."
NATS_SERVER_BIN="$(scripts/install-nats-server.sh)"
export NATS_SERVER_BIN
echo "using $NATS_SERVER_BIN ($("$NATS_SERVER_BIN" --version))" >&2
cargo test --workspace "$@"
