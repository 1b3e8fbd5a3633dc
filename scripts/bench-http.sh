#!/usr/bin/env bash
# HTTP throughput and latency of the tool routes in embedded mode (release build, SQLite):
# starts marketplace-api on a scratch database, lists 50 tools, then runs wrk against
# GET /v1/tools/{id} and GET /v1/tools. Usage: scripts/bench-http.sh [seconds] [connections]
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-15}
conns=${2:-32}
port=18080
dir=$(mktemp -d)
trap 'kill $pid 2>/dev/null || true; rm -rf "$dir"' EXIT
cargo build --release -p api --quiet
MARKETPLACE_BIND=127.0.0.1:$port DATABASE_URL="sqlite://$dir/bench.db" RUST_LOG=warn \
  target/release/marketplace-api > "$dir/api.log" 2>&1 &
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
