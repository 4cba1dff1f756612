#!/usr/bin/env bash
# Starts scim2-server (https://pypi.org/project/scim2-server/, an independent SCIM 2.0 server
# in Python) on 127.0.0.1:$1 accepting the bearer token $2, in the foreground. The package is
# installed once into a virtualenv beside the build's target directory.
set -euo pipefail
port="$1"
token="$2"
root="${CARGO_TARGET_DIR:-$(dirname "$0")/../../../../target}/scim2-peer"
venv="$root/venv"
if [ ! -x "$venv/bin/scim2-server" ]; then
  mkdir -p "$root"
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check 'scim2-server==0.8.3' >&2
fi
exec "$venv/bin/scim2-server" --hostname 127.0.0.1 --port "$port" --bearer-token "$token"
