#!/usr/bin/env bash
# Installs what the in-editor tests need, only when it is missing (idempotent, offline-tolerant):
#   - Debian packages: chromium (the browser Playwright drives), ripgrep (replaces
#     @vscode/ripgrep's GitHub download), build deps for code-server's native modules
#     (kerberos: libkrb5-dev; keytar in @vscode/vsce: libsecret-1-dev; native-keymap: libxkbfile-dev)
#   - code-server@4.100.3 (VS Code 1.100.3, the newest that runs on Node 20), playwright-core and
#     @vscode/vsce@3.9.2 (4.x needs Node 22), in $CAMLENS_E2E_CACHE (default:
#     ~/.cache/camlens-e2e, shared by every checkout on the machine; NOT under node_modules/, which
#     `npm ci` wipes, and not inside the checkout, where vsce would walk its 300 MB on every package).
# Prints `E2E_READY` on success. Exit code 2 = cannot be installed here (the caller skips with
# that reason); anything else non-zero is a real failure.
# Recipe: ../shared/docs/VSCODE-E2E.md.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
CACHE=${CAMLENS_E2E_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/camlens-e2e}
CS_VERSION=4.100.3
PW_VERSION=1.65.1
VSCE_VERSION=3.9.2
RG_PKG_VERSION=1.15.11      # @vscode/ripgrep version code-server 4.100.3 pulls in
RG_VERSION=v13.0.0-10       # the rg release that @vscode/ripgrep version downloads
mkdir -p "$CACHE"
log() { echo "[e2e-setup] $*"; }
cannot() { log "CANNOT INSTALL: $*"; exit 2; }

# ---- Debian packages -------------------------------------------------------------------------
need_pkgs=()
for p in chromium ripgrep build-essential pkg-config python3 libkrb5-dev libsecret-1-dev libx11-dev libxkbfile-dev fonts-liberation; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || need_pkgs+=("$p")
done
if [ ${#need_pkgs[@]} -gt 0 ]; then
  log "installing Debian packages: ${need_pkgs[*]}"
  command -v apt-get >/dev/null || cannot "apt-get not found (not Debian/Ubuntu); install ${need_pkgs[*]} yourself"
  SUDO=""
  if [ "$(id -u)" != 0 ]; then
    if sudo -n true 2>/dev/null; then SUDO="sudo -n"; else cannot "not root and no passwordless sudo to install ${need_pkgs[*]}"; fi
  fi
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get -o DPkg::Lock::Timeout=900 update -qq || cannot "apt-get update failed"
  $SUDO apt-get -o DPkg::Lock::Timeout=900 install -y -qq --no-install-recommends "${need_pkgs[@]}" >/dev/null \
    || cannot "apt-get install ${need_pkgs[*]} failed"
else
  log "Debian packages present"
fi
[ -x /usr/bin/chromium ] || cannot "/usr/bin/chromium missing after install"

# ---- code-server -----------------------------------------------------------------------------
export TMPDIR="$CACHE/tmp"; mkdir -p "$TMPDIR"
CS_DIR="$CACHE/cs-$CS_VERSION"
CS_BIN="$CS_DIR/node_modules/.bin/code-server"
if [ ! -f "$CS_DIR/.installed" ]; then
  log "installing code-server@$CS_VERSION into $CS_DIR (~300 MB, about a minute)"
  rm -rf "$CS_DIR"; mkdir -p "$CS_DIR"
  # @vscode/ripgrep's postinstall downloads rg from GitHub unless its cache in $TMPDIR has it.
  RGD="$TMPDIR/vscode-ripgrep-cache-$RG_PKG_VERSION"; mkdir -p "$RGD"
  RGT=$(mktemp -d); cp /usr/bin/rg "$RGT/rg"
  tar czf "$RGD/ripgrep-$RG_VERSION-x86_64-unknown-linux-musl.tar.gz" -C "$RGT" rg; rm -rf "$RGT"
  echo '{"name":"camlens-e2e-code-server","private":true}' > "$CS_DIR/package.json"
  # root: unsafe_perm; node-pty runs `npx node-gyp` (~/.npmrc may say yes=false).
  ( cd "$CS_DIR" && npm_config_unsafe_perm=true npm_config_yes=true npm_config_fund=false npm_config_audit=false \
      npm install --no-package-lock --foreground-scripts --loglevel=error "code-server@$CS_VERSION" >"$CACHE/cs-install.log" 2>&1 ) \
    || { tail -40 "$CACHE/cs-install.log"; cannot "npm install code-server@$CS_VERSION failed (log: $CACHE/cs-install.log)"; }
  XDG_DATA_HOME="$TMPDIR/xdg-data" XDG_CONFIG_HOME="$TMPDIR/xdg-config" "$CS_BIN" --config /dev/null --version >/dev/null \
    || cannot "code-server does not start"
  touch "$CS_DIR/.installed"
else
  log "code-server@$CS_VERSION present"
fi

# ---- playwright-core + vsce ------------------------------------------------------------------
TOOLS="$CACHE/tools"
want="playwright-core@$PW_VERSION @vscode/vsce@$VSCE_VERSION"
if [ "$(cat "$TOOLS/.installed" 2>/dev/null)" != "$want" ]; then
  log "installing $want into $TOOLS"
  rm -rf "$TOOLS"; mkdir -p "$TOOLS"
  echo '{"name":"camlens-e2e-tools","private":true}' > "$TOOLS/package.json"
  ( cd "$TOOLS" && npm_config_yes=true npm_config_fund=false npm_config_audit=false \
      npm install --no-package-lock --loglevel=error $want >"$CACHE/tools-install.log" 2>&1 ) \
    || { tail -40 "$CACHE/tools-install.log"; cannot "npm install $want failed (log: $CACHE/tools-install.log)"; }
  echo "$want" > "$TOOLS/.installed"
else
  log "$want present"
fi
log "E2E_READY cache=$CACHE"
