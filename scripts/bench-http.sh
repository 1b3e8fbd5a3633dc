#!/usr/bin/env bash
# HTTP throughput and latency of the tool routes in embedded mode (release build, SQLite):
# starts marketplace-api on a scratch database, lists 50 tools, then runs wrk against
# GET /v1/tools/{id} and GET /v1/tools. Usage: scripts/bench-http.sh [seconds] [connections]
# The request rate limiter is set by RATE and BURST (requests per second and burst per key,
# passed as MARKETPLACE_RATE_LIMIT_PER_SEC and _BURST): RATE=0 turns it off; the default here,
# 1,000,000, counts every request but refuses none (its cost); RATE=50 BURST=100 is the product's
# default, under which one key's flood is answered 429 (the cost of refusing).
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-15}
conns=${2:-32}
port=18080
rate=${RATE:-1000000}
burst=${BURST:-$rate}
dir=$(mktemp -d)
trap 'kill $pid 2>/dev/null || true; rm -rf "$dir"' EXIT
cargo build --release -p api --quiet
MARKETPLACE_BIND=127.0.0.1:$port MARKETPLACE_RATE_LIMIT_PER_SEC=$rate MARKETPLACE_RATE_LIMIT_BURST=$burst \
  MARKETPLACE_SIGNUPS_PER_HOUR=1000 DATABASE_URL="sqlite://$dir/bench.db" RUST_LOG=warn \
  "${CARGO_TARGET_DIR:-target}/release/marketplace-api" > "$dir/api.log" 2>&1 &
pid=$!
api=http://127.0.0.1:$port
for _ in $(seq 1 100); do curl -fs $api/healthz >/dev/null && break; sleep 0.1; done
key=$(curl -fs -X POST $api/v1/accounts -H 'content-type: application/json' -d '{"name":"bench"}' | jq -r .api_key)
for i in $(seq 1 50); do
  tool=$(curl -fs -X POST $api/v1/tools -H "authorization: Bearer $key" -H 'content-type: application/json' \
    -d "{\"name\":\"tool $i\",\"category\":\"trading\",\"family\":\"sma_crossover\",\"monthly_price\":29.99,\"parameters\":{\"fast\":10,\"slow\":30}}" | jq -r .tool.id)
done
echo "== GET /v1/tools/{id} =="
wrk -t2 -c"$conns" -d"${secs}s" --latency -H "Authorization: Bearer $key" "$api/v1/tools/$tool"
echo "== GET /v1/tools (first page, 20 of 50) =="
wrk -t2 -c"$conns" -d"${secs}s" --latency -H "Authorization: Bearer $key" "$api/v1/tools"
