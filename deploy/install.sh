#!/usr/bin/env bash
# Install, upgrade or remove ebookserver on Debian 12/13 or Ubuntu 22.04/24.04 (run as root).
#
#   deploy/install.sh [OPTIONS]              install, or upgrade in place when already installed
#   deploy/install.sh uninstall [--purge]    remove the program; keep data, config and backups
#                                            unless --purge
#
# Options:
#   --bundle FILE    install from an offline bundle made by deploy/build-bundle (no network used)
#   --package PATH   install this wheel, sdist or source folder (default: this checkout)
#   --port N         port written into a new config file (default 80)
#   --python PATH    the Python 3.11+ to build the virtualenv with (default: the newest found)
#   --no-start       install and enable, but do not start or restart anything
#   --root DIR       install into DIR as if it were / (for tests and images): no user is created,
#                    no owner changed, systemctl is never called
#   -h, --help       this text
#
# Layout: program /opt/ebookserver (a virtualenv), config /etc/ebookserver/ebookserver.toml,
# data /var/lib/ebookserver, backups /var/backups/ebookserver, units /etc/systemd/system.
# Re-running it upgrades: back up first, upgrade the database, restart; config and data stay.
set -euo pipefail

PREFIX=/opt/ebookserver
CONF_DIR=/etc/ebookserver
CONFIG=$CONF_DIR/ebookserver.toml
DATA_DIR=/var/lib/ebookserver
BACKUP_DIR=/var/backups/ebookserver
UNIT_DIR=/etc/systemd/system
SERVICE_USER=ebookserver
UNITS=(ebookserver.service ebookserver-backup.service ebookserver-backup.timer ebookserver-stats.service ebookserver-stats.timer)
ENABLED=(ebookserver.service ebookserver-backup.timer ebookserver-stats.timer)

SCRIPT_DIR=$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")" && pwd)
ROOT=""
BUNDLE=""
PACKAGE=""
PORT=80
PYTHON=""
START=1
PURGE=0
ACTION=install
ARGUMENTS=("$@")

say() { printf '%s\n' "$*"; }
step() { printf '\n== %s\n' "$*"; }
die() {
    printf 'install.sh: %s\n' "$*" >&2
    exit 1
}
usage() { sed -n '2,20s/^# \{0,1\}//p' "$0"; }

while [[ $# -gt 0 ]]; do
    case $1 in
    install | uninstall) ACTION=$1 ;;
    --root) ROOT=$(readlink -m "${2:?--root needs a directory}") && shift ;;
    --bundle) BUNDLE=$(readlink -f "${2:?--bundle needs a file}") && shift ;;
    --package) PACKAGE=$(readlink -f "${2:?--package needs a path}") && shift ;;
    --port) PORT=${2:?--port needs a number} && shift ;;
    --python) PYTHON=$(command -v "${2:?--python needs a path}" || readlink -f "$2") && shift ;;
    --no-start) START=0 ;;
    --purge) PURGE=1 ;;
    -h | --help)
        usage
        exit 0
        ;;
    *)
        usage >&2
        die "unknown argument: $1"
        ;;
    esac
    shift
done
[[ $PORT =~ ^[0-9]+$ ]] || die "--port must be a number, not '$PORT'"

R=$ROOT # every path written below is "$R/…"; empty for a real install
cd / # the service user runs commands below; it may not read the caller's folder
if [[ -z $ROOT && $(id -u) -ne 0 ]]; then
    die "run as root: sudo $0 ${ARGUMENTS[*]} (or use --root DIR to install into a folder)"
fi
real_system() { [[ -z $ROOT ]]; }
systemd_running() { real_system && [[ -d /run/systemd/system ]] && command -v systemctl >/dev/null; }

WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

# Run the installed command as the service user (as the current user under --root).
ebookserver_as_service() {
    local command=("$R$PREFIX/bin/ebookserver" --config "$R$CONFIG" --data-dir "$R$DATA_DIR" "$@")
    if real_system; then
        runuser -u "$SERVICE_USER" -- "${command[@]}"
    else
        "${command[@]}"
    fi
}

# --- uninstall -----------------------------------------------------------------------------

if [[ $ACTION == uninstall ]]; then
    step "Removing ebookserver"
    if systemd_running; then
        systemctl disable --now "${UNITS[@]}" ebookserver-mdns.service 2>/dev/null || true
    fi
    for unit in "${UNITS[@]}" ebookserver-mdns.service; do
        rm -f "$R$UNIT_DIR/$unit"
    done
    systemd_running && systemctl daemon-reload
    rm -f "$R/etc/avahi/services/ebookserver.service"
    rm -rf "$R$PREFIX"
    say "Removed the program ($PREFIX) and its systemd units."
    if [[ $PURGE -eq 1 ]]; then
        rm -rf "$R$CONF_DIR" "$R$DATA_DIR" "$R$BACKUP_DIR"
        real_system && getent passwd "$SERVICE_USER" >/dev/null && userdel "$SERVICE_USER"
        say "Removed the configuration, the library's data and its backups (--purge)."
    else
        say "Kept: the library's data $DATA_DIR, the configuration $CONF_DIR and the backups $BACKUP_DIR."
        say "Installing again later uses them as they are. To delete them too: $0 uninstall --purge"
    fi
    exit 0
fi

# --- what to install from ------------------------------------------------------------------

if [[ -z $BUNDLE && -d $SCRIPT_DIR/wheels ]]; then
    BUNDLE_DIR=$SCRIPT_DIR # this script is inside an unpacked bundle
elif [[ -n $BUNDLE ]]; then
    [[ -f $BUNDLE ]] || die "the bundle $BUNDLE does not exist"
    step "Unpacking $(basename "$BUNDLE")"
    tar -xzf "$BUNDLE" -C "$WORK" || die "$BUNDLE is not a readable bundle (.tar.gz from deploy/build-bundle)"
    BUNDLE_DIR=$(find "$WORK" -mindepth 2 -maxdepth 2 -name BUNDLE-INFO -printf '%h\n' | head -n 1)
    [[ -n $BUNDLE_DIR ]] || die "$BUNDLE has no BUNDLE-INFO: it was not made by deploy/build-bundle"
else
    BUNDLE_DIR=""
fi
if [[ -n $BUNDLE_DIR ]]; then
    UNIT_SOURCE=$BUNDLE_DIR/systemd
    AVAHI_SOURCE=$BUNDLE_DIR/avahi
    (cd "$BUNDLE_DIR" && sha256sum --quiet --check SHA256SUMS) ||
        die "the bundle is damaged (a wheel does not match SHA256SUMS): copy it again"
    bundle_python=$(sed -n 's/^python=//p' "$BUNDLE_DIR/BUNDLE-INFO")
    bundle_arch=$(sed -n 's/^arch=//p' "$BUNDLE_DIR/BUNDLE-INFO")
    [[ $bundle_arch == "$(uname -m)" ]] ||
        die "this bundle is for $bundle_arch, but this machine is $(uname -m); build one with: deploy/build-bundle --arch $(uname -m)"
else
    UNIT_SOURCE=$SCRIPT_DIR/../systemd
    AVAHI_SOURCE=$SCRIPT_DIR/avahi
    bundle_python=""
    PACKAGE=${PACKAGE:-$(readlink -f "$SCRIPT_DIR/..")}
    [[ -e $PACKAGE ]] || die "nothing to install: $PACKAGE does not exist"
fi
[[ -f $UNIT_SOURCE/ebookserver.service ]] || die "the systemd units are missing from $UNIT_SOURCE"

# --- Python --------------------------------------------------------------------------------

python_ok() {
    "$1" -c 'import sys, ensurepip, venv; sys.exit(sys.version_info < (3, 11))' 2>/dev/null
}
python_version() { "$1" -c 'import sys; print("%d.%d" % sys.version_info[:2])'; }
find_python() {
    local candidate
    local candidates=(python3.13 python3.12 python3.11 python3)
    [[ -n $PYTHON ]] && candidates=("$PYTHON") # only the one asked for
    for candidate in "${candidates[@]}"; do
        candidate=$(command -v "$candidate" 2>/dev/null) || continue
        if python_ok "$candidate" && [[ -z $bundle_python || $(python_version "$candidate") == "$bundle_python" ]]; then
            echo "$candidate"
            return 0
        fi
    done
    return 1
}
if ! PY=$(find_python); then
    wanted=${bundle_python:-3.11}
    if real_system && [[ -z $BUNDLE_DIR ]] && command -v apt-get >/dev/null; then
        step "Installing Python (apt-get)"
        { apt-get update -qq && apt-get install -y -qq python3 python3-venv >/dev/null; } || true
    fi
    PY=$(find_python) || die "Python $wanted or newer with venv is needed${bundle_python:+ (exactly $bundle_python for this bundle)}.
  Debian/Ubuntu: apt-get install python3 python3-venv  (Ubuntu 22.04: apt-get install python3.11 python3.11-venv)"
fi
say "Python: $PY ($(python_version "$PY"))"

# --- user, folders, program ----------------------------------------------------------------

UPGRADE=0
[[ -x $R$PREFIX/bin/ebookserver ]] && UPGRADE=1

if real_system; then
    if ! getent passwd "$SERVICE_USER" >/dev/null; then
        step "Creating the system user $SERVICE_USER"
        useradd --system --user-group --home-dir "$DATA_DIR" --no-create-home \
            --shell /usr/sbin/nologin --comment "ebookserver library server" "$SERVICE_USER"
    fi
fi
install -d -m 0755 "$R$PREFIX" "$R$UNIT_DIR"
install -d -m 0750 "$R$CONF_DIR" "$R$DATA_DIR"
install -d -m 0700 "$R$BACKUP_DIR"
if real_system; then
    chown "root:$SERVICE_USER" "$R$CONF_DIR"
    chown "$SERVICE_USER:$SERVICE_USER" "$R$DATA_DIR" "$R$BACKUP_DIR"
fi

if [[ $UPGRADE -eq 1 ]] && systemd_running && [[ $START -eq 1 ]]; then
    step "Stopping the server for the upgrade"
    systemctl stop ebookserver.service || true
fi

# A virtualenv made by another Python (e.g. after a Debian upgrade) is made anew.
if [[ -x $R$PREFIX/bin/python ]] && [[ $(python_version "$R$PREFIX/bin/python" 2>/dev/null) != "$(python_version "$PY")" ]]; then
    rm -rf "$R$PREFIX"
fi
if [[ ! -x $R$PREFIX/bin/python ]]; then
    step "Creating the virtualenv $PREFIX"
    "$PY" -m venv "$R$PREFIX"
fi
PIP=("$R$PREFIX/bin/python" -m pip --disable-pip-version-check --quiet)
step "Installing ebookserver into $PREFIX"
if [[ -n $BUNDLE_DIR ]]; then
    # Only the bundle's wheels: no index, no other pip configuration, no network.
    wheel=$(find "$BUNDLE_DIR/wheels" -maxdepth 1 -name 'ebookserver-*.whl' | head -n 1)
    [[ -n $wheel ]] || die "the bundle has no ebookserver wheel"
    offline_pip() {
        env -u PIP_INDEX_URL -u PIP_EXTRA_INDEX_URL -u PIP_FIND_LINKS -u PIP_CONSTRAINT PIP_CONFIG_FILE=/dev/null \
            "${PIP[@]}" install --no-index --find-links "$BUNDLE_DIR/wheels" "$@"
    }
    offline_pip --upgrade "$wheel" || die "installing from the bundle failed (see above)"
    offline_pip --force-reinstall --no-deps "$wheel"
else
    if [[ -d $PACKAGE ]]; then
        # Built from a copy: building in place would leave build/ behind in the source folder.
        mkdir "$WORK/source"
        tar -C "$PACKAGE" -c --exclude=./.git --exclude=./.venv --exclude=./data --exclude=./build --exclude=./dist \
            --exclude='*.egg-info' --exclude=__pycache__ . | tar -x -C "$WORK/source"
        "${PIP[@]}" wheel --no-deps --wheel-dir "$WORK/wheel" "$WORK/source" || die "building ebookserver from $PACKAGE failed"
        PACKAGE=$(find "$WORK/wheel" -name 'ebookserver-*.whl' | head -n 1)
    fi
    "${PIP[@]}" install --upgrade "$PACKAGE" || die "installing $PACKAGE failed (no network? use --bundle)"
    "${PIP[@]}" install --force-reinstall --no-deps "$PACKAGE"
fi
say "Installed: $("$R$PREFIX/bin/python" -m pip --disable-pip-version-check show ebookserver | sed -n 's/^Version: /ebookserver /p')"

# --- configuration -------------------------------------------------------------------------

"$R$PREFIX/bin/ebookserver" config --example >"$R$CONF_DIR/ebookserver.toml.example"
chmod 0644 "$R$CONF_DIR/ebookserver.toml.example"
if [[ -e $R$CONFIG ]]; then
    say "Configuration kept: $CONFIG"
else
    step "Writing the configuration $CONFIG"
    secret_key=$("$R$PREFIX/bin/python" -c 'import secrets; print(secrets.token_hex(32))')
    (
        umask 0077
        cat >"$R$CONFIG.new" <<EOF
# ebookserver configuration, written by deploy/install.sh on $(date -u +%Y-%m-%d).
# Every setting, with its help text: $CONF_DIR/ebookserver.toml.example
# After a change: systemctl restart ebookserver

data_dir = "$DATA_DIR"
host = "0.0.0.0"
port = $PORT

# Signs the cookies of sign-ins; keep it secret. A new key signs everybody out.
secret_key = "$secret_key"
EOF
    )
    real_system && chown "root:$SERVICE_USER" "$R$CONFIG.new"
    chmod 0640 "$R$CONFIG.new"
    mv "$R$CONFIG.new" "$R$CONFIG"
fi

# --- data: back up before an upgrade, then upgrade the database ------------------------------

if [[ $UPGRADE -eq 1 && -f $R$DATA_DIR/catalogue.sqlite3 ]]; then
    step "Backing up the library before the upgrade"
    ebookserver_as_service backup "$R$BACKUP_DIR" ||
        die "the backup failed, so the database was not upgraded and the server was left stopped.
  Fix the cause above (often a full disk: ebookserver doctor) and run $0 again.
  To start the server without a backup anyway (it upgrades the database itself): systemctl start ebookserver"
fi
step "Preparing the data directory $DATA_DIR"
ebookserver_as_service init

# --- systemd ---------------------------------------------------------------------------------

step "Installing the systemd units"
for unit in "${UNITS[@]}"; do
    install -m 0644 "$UNIT_SOURCE/$unit" "$R$UNIT_DIR/$unit"
done
MDNS=0
if command -v avahi-publish >/dev/null && [[ -d $R/etc/avahi/services ]]; then
    install -m 0644 "$UNIT_SOURCE/ebookserver-mdns.service" "$R$UNIT_DIR/ebookserver-mdns.service"
    install -m 0644 "$AVAHI_SOURCE/ebookserver.service" "$R/etc/avahi/services/ebookserver.service"
    MDNS=1
fi
if systemd_running; then
    systemctl daemon-reload
    systemctl enable "${ENABLED[@]}" >/dev/null
    [[ $MDNS -eq 1 ]] && systemctl enable ebookserver-mdns.service >/dev/null
    if [[ $START -eq 1 ]]; then
        systemctl restart ebookserver.service
        systemctl start ebookserver-backup.timer ebookserver-stats.timer
        [[ $MDNS -eq 1 ]] && systemctl restart ebookserver-mdns.service
    fi
elif real_system; then
    say "systemd is not running here: the units are installed but nothing was started."
    say "Start the server by hand: runuser -u $SERVICE_USER -- env EBOOKSERVER_CONFIG=$CONFIG $PREFIX/bin/ebookserver serve"
else
    say "--root: units installed into $R$UNIT_DIR; systemctl not called."
fi

# --- where to find it --------------------------------------------------------------------------

if systemd_running && [[ $START -eq 1 ]]; then
    health_port=$(sed -n 's/^port *= *\([0-9]*\).*/\1/p' "$R$CONFIG" | tail -n 1)
    health_port=${health_port:-8080}
    answered=0
    for _ in $(seq 30); do
        if "$R$PREFIX/bin/python" -c "import urllib.request as u; u.urlopen('http://127.0.0.1:$health_port/healthz', timeout=2)" 2>/dev/null; then
            answered=1
            break
        fi
        sleep 1
    done
    if [[ $answered -eq 1 ]]; then
        say "The server answers on port $health_port."
    else
        say "WARNING: the server does not answer on port $health_port yet. See: journalctl -u ebookserver -n 50"
        say "(Another web server on port $health_port? Check: ss -ltnp | grep :$health_port)"
    fi
fi
step "Done"
addresses=$(hostname -I 2>/dev/null || true)
port_suffix=""
configured_port=$(sed -n 's/^port *= *\([0-9]*\).*/\1/p' "$R$CONFIG" | tail -n 1)
[[ -n $configured_port && $configured_port != 80 ]] && port_suffix=":$configured_port"
say "Open the catalogue on the library's PCs, phones and TV at / Buka katalog di PC, ponsel dan TV perpustakaan:"
for address in $addresses; do
    [[ $address == *:* ]] && continue # IPv4 is what people type
    say "    http://$address$port_suffix/"
done
if [[ $MDNS -eq 1 ]] && systemd_running; then
    say "    http://perpustakaan.local$port_suffix/"
fi
if code=$(ebookserver_as_service setup-code 2>/dev/null); then
    say "First-run setup / Penyiapan pertama: open /kelola/siapkan and enter the code:"
    say "    $code"
fi
say "Check the server at any time / Periksa server kapan saja: sudo -u $SERVICE_USER EBOOKSERVER_CONFIG=$CONFIG $PREFIX/bin/ebookserver doctor"
