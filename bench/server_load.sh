#!/usr/bin/env bash
# Load test of the HTTP server (issue 26): starts `mystyle serve` with its default settings on a free
# loopback port with WORKSPACE (or uses --url, e.g. nginx in front of one), then runs bench/http_load
# (closed-loop clients, each sending its next request as soon as the last is answered) at each
# connection count, keep-alive and a connection per request: photo uploads (POST /api/recommend)
# mixed with reads (the page, item thumbnails, catalog pages), then photos alone. Prints, per run,
# requests/s, p50/p90/p99/max per kind, 503s (and their own p99), client timeouts (2 s), connection
# errors, and the fair-queue limit (requests in flight / throughput, and 3x it) beside them.
#
#   bench/server_load.sh WORKSPACE [--duration 15] [--warmup 3] [--connections "16 64 256"]
#                                  [--modes "keep-alive per-request"] [--photo-share 0.8]
#                                  [--photo-only "64"] [--serve-args "..."] [--load-args "..."]
#                                  [--url URL] [--json FILE]
#
# The binaries are $MYSTYLE_BIN (else build/release/src/cli/mystyle) and $HTTP_LOAD (else http_load
# beside it, build/release/bench/http_load); the photo is a MANGO product shot under
# $MYSTYLE_DATASETS (default ../shared/datasets). --load-args go to every http_load run (e.g.
# --ignore-retry-after). Exits non-zero when the server fails or a run saw connection errors.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

usage() { sed -n '2,19p' "$0" | sed 's/^# \{0,1\}//'; exit 2; }
[[ $# -ge 1 && $1 != -* ]] || usage
workspace=$1; shift
duration=15 warmup=3 connections="16 64 256" modes="keep-alive per-request" photo_share=0.8 photo_only="64"
serve_args="" load_args="" url="" json=""
photo="${MYSTYLE_DATASETS:-$root/../shared/datasets}/mango/images/2019_41085800_02.jpg"
while [[ $# -gt 0 ]]; do
  case "$1" in
    --duration) duration=$2; shift 2 ;;
    --warmup) warmup=$2; shift 2 ;;
    --connections) connections=$2; shift 2 ;;
    --modes) modes=$2; shift 2 ;;
    --photo-share) photo_share=$2; shift 2 ;;
    --photo-only) photo_only=$2; shift 2 ;;
    --serve-args) serve_args=$2; shift 2 ;;
    --load-args) load_args=$2; shift 2 ;;
    --url) url=$2; shift 2 ;;
    --json) json=$2; shift 2 ;;
    --photo) photo=$2; shift 2 ;;
    *) usage ;;
  esac
done
bin=${MYSTYLE_BIN:-$root/build/release/src/cli/mystyle}
load=${HTTP_LOAD:-$(dirname "$(dirname "$(dirname "$bin")")")/bench/http_load}
[[ -x $load ]] || { echo "server_load: no http_load at $load (build the bench targets, or set HTTP_LOAD)" >&2; exit 1; }
[[ -f $photo ]] || { echo "server_load: no photo at $photo (use --photo FILE)" >&2; exit 1; }

scratch=$(mktemp -d)
server_pid=""
cleanup() {
  if [[ -n $server_pid ]] && kill -0 "$server_pid" 2>/dev/null; then kill -TERM "$server_pid"; wait "$server_pid" || true; fi
  rm -rf "$scratch"
}
trap cleanup EXIT

if [[ -z $url ]]; then
  [[ -x $bin ]] || { echo "server_load: no mystyle binary at $bin (build first, or set MYSTYLE_BIN)" >&2; exit 1; }
  # shellcheck disable=SC2086  # serve_args is a list of options
  "$bin" serve --workspace "$workspace" --port 0 $serve_args >"$scratch/stdout" 2>"$scratch/server.log" &
  server_pid=$!
  for _ in $(seq 1 1200); do
    url=$(sed -n 's/.*listening on \(http:[^ ]*\).*/\1/p' "$scratch/stdout")
    [[ -n $url ]] && break
    kill -0 "$server_pid" 2>/dev/null || { echo "server_load: the server did not start:" >&2; cat "$scratch/server.log" >&2; exit 1; }
    sleep 0.1
  done
  [[ -n $url ]] || { echo "server_load: the server printed no URL in 120 s" >&2; exit 1; }
fi
url=${url%/}

# One request first: it must succeed.
status=$(curl -s -o "$scratch/first.json" -w '%{http_code}' -F "image=@$photo;type=image/jpeg" "$url/api/recommend")
[[ $status == 200 ]] || { echo "server_load: first request answered $status: $(head -c 300 "$scratch/first.json")" >&2; exit 1; }

echo "load test: $url, $(basename "$photo") ($(stat -c %s "$photo") bytes), ${serve_args:-default settings}${load_args:+, clients: $load_args}," \
  "$(nproc) cores, load generator on the same machine; $(uptime | sed 's/.*load average/load average/')"
[[ -n $json ]] && : >"$json"
failed=0
run() {
  # shellcheck disable=SC2086  # load_args is a list of options
  "$load" --url "$url" --photo "$photo" --duration "$duration" --warmup "$warmup" --json "${json:-/dev/null}" $load_args "$@" \
    | tee -a "$scratch/load.txt"
}
for mode in $modes; do
  for n in $connections; do run --mode "$mode" --connections "$n" --photo-share "$photo_share" --label mixed; done
done
for mode in $modes; do
  for n in $photo_only; do run --mode "$mode" --connections "$n" --photo-share 1 --label photos; done
done
if grep -q 'conn errors [1-9]' "$scratch/load.txt"; then failed=1; fi
echo "after the runs: $(uptime | sed 's/.*load average/load average/')"

if [[ -n $server_pid ]]; then
  kill -TERM "$server_pid"
  wait "$server_pid" && server_status=0 || server_status=$?
  server_pid=""
  # Request lines only ("[info] POST /api/recommend 200 29.3 ms"): "every 500 ms" is not a 500.
  answered() { grep -cE "\] [A-Z]+ [^ ]+ $1 [0-9.]+ ms" "$scratch/server.log" || true; }
  echo "server exit $server_status; answered: $(answered 200) x 200, $(answered 503) x 503, $(answered '5[0-9][0-9]') x 5xx in all"
  [[ $server_status -eq 0 ]] || failed=1
fi
exit $failed
