#!/usr/bin/env bash
# Prints the path of chromedriver, installing Debian's chromium and chromium-driver
# if /usr/bin/chromium or /usr/bin/chromedriver is missing (the browser tests,
# tests/tests/browser.rs, drive a headless chromium through it).
#
# A $CHROMEDRIVER_BIN that is runnable is used as is (with /usr/bin/chromium or
# $CHROMIUM_BIN). Otherwise apt-get installs the packages (through sudo unless
# run as root). Progress goes to stderr; the only line on stdout is the path.
set -euo pipefail
chromium="${CHROMIUM_BIN:-/usr/bin/chromium}"

if [ -n "${CHROMEDRIVER_BIN:-}" ] && [ -x "$CHROMEDRIVER_BIN" ] && [ -x "$chromium" ]; then
    echo "$CHROMEDRIVER_BIN"
    exit 0
fi

if [ ! -x /usr/bin/chromedriver ] || [ ! -x /usr/bin/chromium ]; then
    echo "installing chromium and chromium-driver (apt-get) ..." >&2
    sudo=""
    if [ "$(id -u)" -ne 0 ]; then
        sudo="sudo"
    fi
    export DEBIAN_FRONTEND=noninteractive
    $sudo apt-get update -qq >&2
    $sudo apt-get install -y -qq --no-install-recommends chromium chromium-driver >&2
fi

if [ ! -x /usr/bin/chromedriver ] || [ ! -x /usr/bin/chromium ]; then
    echo "error: /usr/bin/chromedriver or /usr/bin/chromium still missing after apt-get" >&2
    exit 1
fi
echo /usr/bin/chromedriver
