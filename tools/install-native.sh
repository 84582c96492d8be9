#!/bin/sh
# Native packages from Debian, pinned. Each is installed when it is missing and this machine can
# (root with apt-get); otherwise the script says so in one line and carries on, and the tests
# that need the package say why they skip.
# - bubblewrap: DockLock's native mode runs executables under it.
# - chromium: the dashboard's end-to-end tests drive it headless (Playwright, no browser
#   download of its own). Pinned to its major release: Debian's security archive serves only
#   the latest build of it (156.0.8078.114 was replaced by .129 and could no longer be
#   installed, so the browser tests skipped on a fresh machine).
# - haproxy: the gateway front of deploy/haproxy/, run in front of real nodes by its tests.
# - tshark: tests/net/test_hybrid.py captures a hybrid link handshake on loopback with it.
# - iproute2 (ip, tc netem) and faketime: `metanode testnet --netns` puts each validator in a
#   network namespace with a shaped link, and skews one host's clock (docs/testnet.md).
# - iptables: on a kernel without netem, the testnet's loss (statistic drop) and latency
#   (NFQUEUE to its delayer) faults (docs/decisions/testnet-shaping.md).
set -eu
BUBBLEWRAP_VERSION="0.8.0-2+deb12u1"
CHROMIUM_VERSION="156.*"
TSHARK_VERSION="4.0.17-0+deb12u3"
HAPROXY_VERSION="2.6.12-1+deb12u4"
IPROUTE2_VERSION="6.1.0-3"
FAKETIME_VERSION="0.9.10-2.1"
IPTABLES_VERSION="1.8.9-2"

# install COMMAND PACKAGE VERSION WHAT: the pinned Debian package that provides COMMAND.
install() {
    if command -v "$1" >/dev/null 2>&1; then
        return 0
    fi
    if [ "$(id -u)" != "0" ] || ! command -v apt-get >/dev/null 2>&1; then
        echo "$4: $2 not installed (needs root and apt-get: apt-get install $2=$3)"
        return 0
    fi
    if ! DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$2=$3" >/dev/null 2>&1; then
        apt-get update -q >/dev/null 2>&1 || true
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$2=$3" >/dev/null 2>&1 \
            || install_unpinned "$2" "$3" "$4"
    fi
}

# install_unpinned PACKAGE VERSION WHAT: Debian's security archive keeps only the latest build
# of some packages, so a pin can stop resolving on a fresh machine; the build Debian serves
# then is taken, said in one line, rather than the tests that need it skipping.
install_unpinned() {
    if DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$1" >/dev/null 2>&1; then
        echo "$3: $1 $2 is no longer served; installed $(dpkg-query -W -f '${Version}' "$1") (move the pin)"
    else
        echo "$3: could not install $1 $2; its tests will skip"
    fi
}

install bwrap bubblewrap "$BUBBLEWRAP_VERSION" "docklock native mode"
install tshark tshark "$TSHARK_VERSION" "hybrid link capture test"
install chromium chromium "$CHROMIUM_VERSION" "dashboard browser tests"
install haproxy haproxy "$HAPROXY_VERSION" "gateway front tests (deploy/haproxy)"
install tc iproute2 "$IPROUTE2_VERSION" "metanode testnet --netns"
install faketime faketime "$FAKETIME_VERSION" "metanode testnet --netns clock skew"
install iptables iptables "$IPTABLES_VERSION" "metanode testnet --netns latency and loss without netem"
