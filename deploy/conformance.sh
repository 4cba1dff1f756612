#!/usr/bin/env bash
# make conformance: two independent SCIM 2.0 conformance checkers (PyPI: scim2-cli, scim-sanity)
# against a freshly started daemon with one tenant and one scim integration. Exits non-zero if
# either reports an error.
set -euo pipefail
cd "$(dirname "$0")/.."
# The release binaries: from make, or wherever cargo builds ($CARGO_TARGET_DIR, a shared cache).
RELEASE=${GATEHOUSE_RELEASE_DIR:-$(cargo metadata --format-version 1 --no-deps | sed -E 's/.*"target_directory":"([^"]*)".*/\1/')/release}

VENV=${CONFORMANCE_VENV:-target/conformance-venv}
ADDR=127.0.0.1:${CONFORMANCE_PORT:-18099}
DATA_DIR=$(mktemp -d)
export GATEHOUSE_OPERATOR_KEY="gh_op_conformance_$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')"

if [ ! -x "$VENV/bin/scim2" ] || [ ! -x "$VENV/bin/scim-sanity" ]; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet scim2-cli scim-sanity
fi

"$RELEASE"/gatehouse serve --listen "$ADDR" --data-dir "$DATA_DIR" --log-format json 2>"$DATA_DIR.log" &
PID=$!
trap 'kill $PID 2>/dev/null; rm -rf "$DATA_DIR" "$DATA_DIR.log"' EXIT
for _ in $(seq 1 100); do curl -sf "http://$ADDR/readyz" >/dev/null 2>&1 && break; sleep 0.1; done

api() { curl -sf -H "Authorization: Bearer $GATEHOUSE_OPERATOR_KEY" -H 'Content-Type: application/json' "$@"; }
api -X POST "http://$ADDR/v1/tenants" -d '{"name": "Conformance", "id": "ten_conformance"}' >/dev/null
TOKEN=$(api -X POST "http://$ADDR/v1/integrations" -d '{"type": "scim", "tenant_id": "ten_conformance"}' \
  | sed -E 's/.*"token":"(gh_scim_[^"]+)".*/\1/')
BASE="http://$ADDR/v1/scim/v2"

echo "== scim2-cli =="
"$VENV/bin/scim2" --url "$BASE" -h "Authorization: Bearer $TOKEN" test | tee "$DATA_DIR.scim2"
ok=$(grep -c '^SUCCESS' "$DATA_DIR.scim2" || true)
errors=$(grep -c '^ERROR' "$DATA_DIR.scim2" || true)
echo "scim2-cli: $ok checks passed, $errors errors"

echo "== scim-sanity =="
"$VENV/bin/scim-sanity" probe "$BASE" --token "$TOKEN" --i-accept-side-effects | tee "$DATA_DIR.sanity"
rm -f "$DATA_DIR.scim2"
if [ "$errors" != "0" ] || ! grep -q "All tests passed" "$DATA_DIR.sanity"; then
  rm -f "$DATA_DIR.sanity"
  echo "conformance: FAILED"
  exit 1
fi
rm -f "$DATA_DIR.sanity"
echo "conformance: both checkers report no errors"
