#!/bin/sh
# DockLock's native mode runs executables under bubblewrap. Install the pinned Debian package
# when it is missing and this machine can (root with apt-get); otherwise say so in one line and
# carry on: native mode then reports itself unavailable, and its tests say why they skip.
set -eu
BUBBLEWRAP_VERSION="0.8.0-2+deb12u1"
if command -v bwrap >/dev/null 2>&1; then
    exit 0
fi
if [ "$(id -u)" != "0" ] || ! command -v apt-get >/dev/null 2>&1; then
    echo "docklock native mode: bubblewrap not installed (needs root and apt-get: apt-get install bubblewrap=$BUBBLEWRAP_VERSION)"
    exit 0
fi
if ! DEBIAN_FRONTEND=noninteractive apt-get install -y -q "bubblewrap=$BUBBLEWRAP_VERSION" >/dev/null 2>&1; then
    apt-get update -q >/dev/null 2>&1 || true
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q "bubblewrap=$BUBBLEWRAP_VERSION" >/dev/null 2>&1 \
        || echo "docklock native mode: could not install bubblewrap $BUBBLEWRAP_VERSION; native tests will skip"
fi
