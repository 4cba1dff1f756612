#!/usr/bin/env bash
# make demo: the Okta simulator and the daemon on loopback, a demo tenant onboarded with an Okta
# integration pointed at the simulator, a first pull, and what to curl next. Ctrl-C stops both.
set -euo pipefail
cd "$(dirname "$0")/.."
# The release binaries: from make, or wherever cargo builds ($CARGO_TARGET_DIR, a shared cache).
RELEASE=${GATEHOUSE_RELEASE_DIR:-$(cargo metadata --format-version 1 --no-deps | sed -E 's/.*"target_directory":"([^"]*)".*/\1/')/release}

SIM_ADDR=127.0.0.1:9001
GH_ADDR=127.0.0.1:8080
DATA_DIR=$(mktemp -d)
OKTA_TOKEN=demo-okta-token
export GATEHOUSE_OPERATOR_KEY="gh_op_demo_$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')"
export GATEHOUSE_ALLOW_CUSTOM_ENDPOINTS=true

"$RELEASE"/gatehouse-idp-sim okta --users 200 --events 2000 --listen "$SIM_ADDR" --token "$OKTA_TOKEN" &
SIM_PID=$!
"$RELEASE"/gatehouse serve --listen "$GH_ADDR" --data-dir "$DATA_DIR" &
GH_PID=$!
trap 'kill $SIM_PID $GH_PID 2>/dev/null; rm -rf "$DATA_DIR"' EXIT

for _ in $(seq 1 100); do
  curl -sf "http://$GH_ADDR/readyz" >/dev/null 2>&1 && curl -s "http://$SIM_ADDR/api/v1/users/me" >/dev/null 2>&1 && break
  sleep 0.2
done

api() { curl -s -H "Authorization: Bearer $GATEHOUSE_OPERATOR_KEY" -H 'Content-Type: application/json' "$@"; }
api -X POST "http://$GH_ADDR/v1/tenants" -d '{"name": "Demo Corp", "id": "ten_demo"}' >/dev/null
INTEGRATION=$(api -X POST "http://$GH_ADDR/v1/integrations" -d "{\"type\": \"okta\", \"tenant_id\": \"ten_demo\",
  \"credentials\": {\"domain\": \"http://$SIM_ADDR\", \"api_token\": \"$OKTA_TOKEN\"},
  \"config\": {\"ingest_users\": true, \"ingest_system_log\": true, \"enable_response_actions\": true, \"system_log_lookback_hours\": 2160}}")
ID=$(printf '%s' "$INTEGRATION" | sed -E 's/.*"id":"(int_[a-z0-9]+)".*/\1/')
echo "check:  $(api -X POST "http://$GH_ADDR/v1/integrations/$ID/test")"
api -X POST "http://$GH_ADDR/v1/integrations/$ID/sync" >/dev/null
sleep 5

cat <<TXT

Gatehouse is serving on http://$GH_ADDR with the Okta simulator on http://$SIM_ADDR.
  export GATEHOUSE_OPERATOR_KEY=$GATEHOUSE_OPERATOR_KEY
  curl -s -H "Authorization: Bearer \$GATEHOUSE_OPERATOR_KEY" "http://$GH_ADDR/v1/integrations/$ID"
  curl -s -H "Authorization: Bearer \$GATEHOUSE_OPERATOR_KEY" "http://$GH_ADDR/v1/users?tenant_id=ten_demo&limit=5"
  curl -s -H "Authorization: Bearer \$GATEHOUSE_OPERATOR_KEY" "http://$GH_ADDR/v1/signins?tenant_id=ten_demo&outcome=failure&limit=5"
  curl -s -H "Authorization: Bearer \$GATEHOUSE_OPERATOR_KEY" "http://$GH_ADDR/v1/detections?tenant_id=ten_demo"
  curl -s -H "Authorization: Bearer \$GATEHOUSE_OPERATOR_KEY" -H 'Content-Type: application/json' \\
       -X POST "http://$GH_ADDR/v1/actions" -d '{"tenant_id": "ten_demo", "user_id": "<usr_… from /v1/users>", "action": "revoke_sessions"}'
Ctrl-C stops both.
TXT
wait $GH_PID
