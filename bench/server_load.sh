#!/usr/bin/env bash
# Load test of the HTTP API: starts `mystyle serve` on a free loopback port with WORKSPACE, runs wrk
# (POST /api/recommend with a MANGO photo, multipart) and prints requests/s, p50/p99 latency and
# errors, then stops the server. Exits non-zero when any request failed.
#
#   bench/server_load.sh WORKSPACE [--duration 30] [--connections 16] [--wrk-threads 2]
#                                  [--server-threads 16] [--photo FILE] [--query 'k=10&outfits=9']
#
# WORKSPACE must hold a trained model and embeddings (mystyle import/train/embed). The binary is
# $MYSTYLE_BIN, else build/release/src/cli/mystyle; the photo defaults to a MANGO product shot
# under $MYSTYLE_DATASETS (default ../shared/datasets). Needs wrk (scripts/install-deps bench).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

usage() { sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'; exit 2; }
[[ $# -ge 1 && $1 != -* ]] || usage
workspace=$1; shift
duration=30 connections=16 wrk_threads=2 server_threads=16 query='k=10&outfits=9'
photo="${MYSTYLE_DATASETS:-$root/../shared/datasets}/mango/images/2019_41085800_02.jpg"
while [[ $# -gt 0 ]]; do
  case "$1" in
    --duration) duration=$2; shift 2 ;;
    --connections) connections=$2; shift 2 ;;
    --wrk-threads) wrk_threads=$2; shift 2 ;;
    --server-threads) server_threads=$2; shift 2 ;;
    --photo) photo=$2; shift 2 ;;
    --query) query=$2; shift 2 ;;
    *) usage ;;
  esac
done
bin=${MYSTYLE_BIN:-$root/build/release/src/cli/mystyle}
command -v wrk >/dev/null || { echo "server_load: wrk not found; install it with scripts/install-deps bench" >&2; exit 1; }
[[ -x $bin ]] || { echo "server_load: no mystyle binary at $bin (build first, or set MYSTYLE_BIN)" >&2; exit 1; }
[[ -f $photo ]] || { echo "server_load: no photo at $photo (use --photo FILE)" >&2; exit 1; }

scratch=$(mktemp -d)
server_pid=""
cleanup() {
  if [[ -n $server_pid ]] && kill -0 "$server_pid" 2>/dev/null; then kill -TERM "$server_pid"; wait "$server_pid" || true; fi
  rm -rf "$scratch"
}
trap cleanup EXIT

"$bin" serve --workspace "$workspace" --port 0 --threads "$server_threads" >"$scratch/stdout" 2>"$scratch/server.log" &
server_pid=$!
url=""
for _ in $(seq 1 600); do
  url=$(sed -n 's/.*listening on \(http:[^ ]*\).*/\1/p' "$scratch/stdout")
  [[ -n $url ]] && break
  kill -0 "$server_pid" 2>/dev/null || { echo "server_load: the server did not start:" >&2; cat "$scratch/server.log" >&2; exit 1; }
  sleep 0.1
done
[[ -n $url ]] || { echo "server_load: the server printed no URL in 60 s" >&2; exit 1; }
url=${url%/}

# One request first: it must succeed, and it warms the encoder and the thumbnail-free path.
status=$(curl -s -o "$scratch/first.json" -w '%{http_code}' -F "image=@$photo;type=image/jpeg" "$url/api/recommend?$query")
[[ $status == 200 ]] || { echo "server_load: first request answered $status: $(head -c 300 "$scratch/first.json")" >&2; exit 1; }

echo "load test: POST $url/api/recommend?$query with $(basename "$photo") ($(stat -c %s "$photo") bytes)," \
  "$connections connections, $duration s, server threads $server_threads, $(nproc) cores"
wrk -t "$wrk_threads" -c "$connections" -d "${duration}s" --timeout 10s -s bench/server_load.lua "$url" -- "$photo" "$query" \
  | tee "$scratch/wrk.txt"
result=$(grep '^RESULT ' "$scratch/wrk.txt") || { echo "server_load: wrk printed no result" >&2; exit 1; }

kill -TERM "$server_pid"
wait "$server_pid" && server_status=0 || server_status=$?
server_pid=""
served_ok=$(grep -c ' POST /api/recommend 200 ' "$scratch/server.log" || true)

eval "${result#RESULT }"
errors=$((non_2xx + socket_errors))
printf '\nrequests/s %s   p50 %s ms   p99 %s ms   errors %d (non-2xx %d, socket %d)   server exit %d, %d answered 200\n' \
  "$rps" "$p50_ms" "$p99_ms" "$errors" "$non_2xx" "$socket_errors" "$server_status" "$served_ok"
[[ $errors -eq 0 && $server_status -eq 0 ]]
