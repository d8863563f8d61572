#!/usr/bin/env bash
# The test command: installs a nats-server >= 2.10 into .tools/ if none is found,
# points the tests at it (NATS_SERVER_BIN), installs chromium and chromedriver
# (apt-get) if missing for the browser tests (CHROMEDRIVER_BIN), the IATI 2.03
# schemas, codelists and ruleset (pyIATI, pip, into .tools/) for the IATI export's
# validation (IATI_STANDARD_DIR) and runs the whole workspace's tests.
set -euo pipefail
cd "$(dirname "$0")/.."
NATS_SERVER_BIN="$(scripts/install-nats-server.sh)"
export NATS_SERVER_BIN
echo "using $NATS_SERVER_BIN ($("$NATS_SERVER_BIN" --version))" >&2
CHROMEDRIVER_BIN="$(scripts/install-chromium.sh)"
export CHROMEDRIVER_BIN
echo "using $CHROMEDRIVER_BIN ($("$CHROMEDRIVER_BIN" --version))" >&2
IATI_STANDARD_DIR="$(scripts/install-iati.sh)"
export IATI_STANDARD_DIR
echo "using the IATI 2.03 standard in $IATI_STANDARD_DIR" >&2
cargo test --workspace "$@"
