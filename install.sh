#!/bin/sh
# Install Metanode from its wheel and set up one of three tiers (docs/deploy.md "install.sh"):
#   dev          a local network home; run it with `metanode up`
#   community    a node that joins a running network (--peer) and registers as community
#   enterprise   a validator home with its keys and the bpci server systemd unit
# Every step looks first and does only what is missing, so running it again changes nothing
# (and finishes a step that failed before, such as registering once the node has coins).
#
# usage: sh install.sh --tier TIER [--root DIR] [--prefix DIR] [--home DIR] [--wheel FILE]
#                      [--requirements FILE] [--peer URL] [--name NAME] [--validators N]
#                      [--port-base N] [--api-port-base N]   (dev, enterprise: `metanode init`'s)
# The wheel and its requirements (uv.lock's pins, with hashes) come from `make dist`
# (dist/metanode-*.whl, dist/requirements.txt). UV=path/to/uv installs with uv (offline
# from its cache with UV_OFFLINE=1) instead of pip. Exit codes: 0 done, 1 a step failed,
# 2 a usage error (nothing done).
set -eu

here=$(cd "$(dirname "$0")" && pwd)
tier="" root="" prefix="" home="" peer="" name="node" validators=1 ports=""
wheel="" requirements="$here/dist/requirements.txt"

usage() {
    echo "install.sh: $1" >&2
    echo "usage: sh install.sh --tier dev|community|enterprise [--root DIR] [--prefix DIR]" \
        "[--home DIR] [--wheel FILE] [--requirements FILE] [--peer URL] [--name NAME]" \
        "[--validators N] [--port-base N] [--api-port-base N]" >&2
    exit 2
}

while [ $# -gt 0 ]; do
    [ $# -ge 2 ] || usage "$1 needs a value"
    case "$1" in
        --tier) tier=$2 ;;
        --root) root=$2 ;;
        --prefix) prefix=$2 ;;
        --home) home=$2 ;;
        --wheel) wheel=$2 ;;
        --requirements) requirements=$2 ;;
        --peer) peer=$2 ;;
        --name) name=$2 ;;
        --validators) validators=$2 ;;
        --port-base) ports="$ports --port-base $2" ;;
        --api-port-base) ports="$ports --api-port-base $2" ;;
        *) usage "unknown option $1" ;;
    esac
    shift 2
done

case "$tier" in
    dev) : "${prefix:=$PWD/metanode}" "${home:=$prefix/network}" ;;
    community)
        [ -n "$peer" ] || usage "--tier community joins a running network: give --peer URL"
        : "${prefix:=$PWD/metanode}" "${home:=$prefix/node}" ;;
    # The unit (deploy/systemd/bpci-server.service) runs /opt/metanode/.venv/bin/bpci.
    enterprise)
        [ -z "$prefix" ] || usage "--tier enterprise installs in ROOT/opt/metanode (the unit's)"
        prefix="$root/opt/metanode"
        : "${home:=$root/var/lib/metanode}" ;;
    "") usage "give --tier" ;;
    *) usage "unknown tier $tier (dev, community or enterprise)" ;;
esac
if [ -z "$wheel" ]; then
    for found in "$here"/dist/metanode-*.whl; do wheel=$found; done
fi
[ -f "$wheel" ] || usage "no wheel (${wheel:-dist/metanode-*.whl}); build one with \`make dist\`"
[ -f "$requirements" ] || usage "no $requirements; \`make dist\` writes it beside the wheel"

say() { echo "install.sh: $*"; }
# place MODE FILE: stdin into FILE, unless FILE holds exactly that already (a rerun then
# changes nothing, not even a modification time).
place() {
    new="$2.new.$$"
    cat >"$new"
    if cmp -s "$new" "$2"; then rm -f "$new"; else chmod "$1" "$new" && mv "$new" "$2"; fi
}
venv="$prefix/.venv"
bin="$venv/bin"

# 1. The package, in its own venv: the pinned dependencies (hash-checked), then the wheel.
if [ ! -x "$bin/python" ]; then
    say "creating $venv"
    mkdir -p "$prefix"
    "${PYTHON:-python3}" -m venv "$venv"
fi
wanted=$(basename "$wheel" | cut -d- -f2)
installed=$("$bin/python" -c 'import importlib.metadata as m; print(m.version("metanode"))' \
    2>/dev/null || true)
if [ "$installed" = "$wanted" ]; then
    say "metanode $wanted already installed in $venv"
elif [ -n "${UV:-}" ]; then
    say "installing metanode $wanted in $venv (uv)"
    "$UV" pip install --quiet --python "$bin/python" --require-hashes -r "$requirements"
    "$UV" pip install --quiet --python "$bin/python" --no-deps --reinstall "$wheel"
else
    say "installing metanode $wanted in $venv (pip)"
    "$bin/pip" install --quiet --disable-pip-version-check --require-hashes -r "$requirements"
    "$bin/pip" install --quiet --disable-pip-version-check --no-deps --force-reinstall "$wheel"
fi

# 2. The tier's home.
case "$tier" in
    dev)
        if [ -f "$home/genesis.json" ]; then
            say "dev network already in $home"
        else
            # shellcheck disable=SC2086 # $ports is a list of options
            "$bin/metanode" init --dev --home "$home" $ports
        fi
        say "run it: $bin/metanode up --home $home"
        ;;
    community)
        if [ -f "$home/genesis.json" ]; then
            say "node home already in $home"
        else
            "$bin/bpci" join --peer "$peer" --home "$home" --name "$name"
        fi
        node_id=$("$bin/python" -c 'import pathlib, sys
from metanode.net import tls
print(tls.node_id(tls.certificate_key(pathlib.Path(sys.argv[1]).read_bytes())))' \
            "$home/nodes/$name/node.pem")
        if "$bin/bpci" nodes "$node_id" --home "$home" --node "$peer" --json >/dev/null 2>&1; then
            say "$node_id is already registered"
        elif ! "$bin/bpci" register --key "$name" --node-type community --home "$home" \
            --node "$peer"; then
            say "registering failed; give $node_id coins for the fee and any stake" \
                "(metanode tx send --to $node_id …), then run install.sh again"
            exit 1
        fi
        say "run it: $bin/metanode start --home $home/nodes/$name"
        ;;
    enterprise)
        if [ -f "$home/genesis.json" ]; then
            say "validator home already in $home"
        elif [ -n "$peer" ]; then
            "$bin/bpci" join --peer "$peer" --home "$home" --name "$name"
        else
            # A testnet of its own: keys under METANODE_KEY_PASSWORD (asked for if unset).
            # shellcheck disable=SC2086 # $ports is a list of options
            "$bin/metanode" init --testnet --validators "$validators" --home "$home" $ports
            name=v0
        fi
        node_dir=$(ls -d "$home"/nodes/*/ | head -n 1)
        node_dir=${node_dir%/}
        unit="$here/deploy/systemd/bpci-server.service"
        sysusers="$here/deploy/systemd/metanode.conf"
        if [ ! -f "$unit" ] || [ ! -f "$sysusers" ]; then
            say "no $unit or $sysusers: this checkout lacks the bpci server unit (docs/server.md)"
            exit 1
        fi
        units="$root/etc/systemd/system"
        mkdir -p "$units/bpci-server.service.d" "$root/usr/lib/sysusers.d" "$root/etc/metanode"
        place 0644 "$units/bpci-server.service" <"$unit"
        place 0644 "$root/usr/lib/sysusers.d/metanode.conf" <"$sysusers"
        # The unit's home is a path on the installed system, so ROOT is not part of it.
        printf '[Service]\nEnvironment=METANODE_HOME=%s\n' "${node_dir#"$root"}" \
            | place 0644 "$units/bpci-server.service.d/home.conf"
        env_file="$root/etc/metanode/bpci-server.env"
        if [ ! -f "$env_file" ]; then
            (umask 077 && printf 'METANODE_KEY_PASSWORD=%s\n' "${METANODE_KEY_PASSWORD:-}" \
                >"$env_file")
        fi
        if [ -z "$root" ] && command -v systemctl >/dev/null 2>&1; then
            systemd-sysusers "$root/usr/lib/sysusers.d/metanode.conf"
            chown -R metanode:metanode "$home"
            systemctl daemon-reload
        fi
        say "validator home $node_dir; unit $units/bpci-server.service"
        say "start it: systemctl enable --now bpci-server"
        ;;
esac
