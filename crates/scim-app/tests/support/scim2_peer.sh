#!/usr/bin/env bash
# Starts scim2-server (https://pypi.org/project/scim2-server/, an independent SCIM 2.0 server
# in Python) on 127.0.0.1:$1 accepting the bearer token $2, in the foreground. The package is
# installed once into a virtualenv beside the build's target directory.
set -euo pipefail
port="$1"
token="$2"
root="${CARGO_TARGET_DIR:-$(dirname "$0")/../../../../target}/scim2-peer"
venv="$root/venv"
mkdir -p "$root"
# Several tests start a peer at once: one installs while the others wait on the lock, and a
# half-made virtualenv left by an interrupted install is made again rather than used.
exec 9>"$root/install.lock"
flock 9
if [ ! -e "$root/installed" ]; then
  rm -rf "$venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check 'scim2-server==0.8.3' >&2
  touch "$root/installed"
fi
flock -u 9
exec 9>&-
exec "$venv/bin/scim2-server" --hostname 127.0.0.1 --port "$port" --bearer-token "$token"
