#!/usr/bin/env bash
# The whole product at catalog scale (issue 13, docs/benchmarks.md "A million items"): makes a
# synthetic workspace of N items and measures, against the targets,
#   1. import: `mystyle import csv` of make_scale_catalog's CSVs (items/s);
#   2. vectors: make_scale_vectors (the model file, the photos encoded, the rest drawn);
#   3. in process (bench/scale_bench): exact and FAISS HNSW index builds from the embeddings,
#      the start from the saved index stage by stage, recommend p50/p99 with HNSW on one thread
#      (real MANGO photos not in the catalog) and recall@10 against the exact index, also on
#      near-duplicate designs (make_scale_vectors gives each catalog photo eight other colours);
#   3b. edits in process: recommend while a writer thread makes 10 edits a second through the
#      server's write path, then --memory-edits edits in memory and recall@10 again;
#   4. the server: `mystyle serve --index hnsw` from the saved index, seconds from launch to the
#      first 200 from /healthz, VmRSS/VmHWM after its warm-up and after sequential photo queries
#      over HTTP (curl, one at a time; their latency is printed too);
#   5. admin edits on that server (issue 25, docs/live-edits.md): --edits photos added through
#      POST /api/items one at a time, then deleted, each request's time (the item is served, or gone,
#      when the answer comes), /healthz's in-place count, VmHWM against the steady VmRSS; then the
#      same adds at 10 a second while a client sends photos, the server's own recommend times then.
#
#   bench/scale_bench.sh [--items 1000000] [--dir /tmp/mystyle-scale] [--fit-from TRAINED_WS]
#                        [--queries 500] [--http-queries 200] [--edits 100] [--memory-edits 10000]
#                        [--seed 1] [--keep]
#
# --fit-from: a workspace with a trained style model and its embeddings (MANGO after ./run demo):
#   its model is used and the vectors are drawn from a mixture fitted to its embeddings; without it
#   an untrained model and a seeded clustered mixture (make_scale_vectors.cpp says how).
# --keep: reuse DIR's workspace and index files when they are there (steps 1-2 and the builds are
#   then skipped; the figures printed for them are load times).
# Everything lands in DIR (several GB at 1M items; never in the repository). Binaries: $MYSTYLE_BUILD
# (default build/release). Datasets: $MYSTYLE_DATASETS (default ../shared/datasets).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

usage() { sed -n '2,28p' "$0" | sed 's/^# \{0,1\}//'; exit 2; }
items=1000000 dir=/tmp/mystyle-scale fit_from="" queries=500 http_queries=200 edits=100 memory_edits=10000 seed=1 keep=0
while [[ $# -gt 0 ]]; do
  case "$1" in
    --items) items=$2; shift 2 ;;
    --dir) dir=$2; shift 2 ;;
    --fit-from) fit_from=$2; shift 2 ;;
    --queries) queries=$2; shift 2 ;;
    --http-queries) http_queries=$2; shift 2 ;;
    --edits) edits=$2; shift 2 ;;
    --memory-edits) memory_edits=$2; shift 2 ;;
    --seed) seed=$2; shift 2 ;;
    --keep) keep=1; shift ;;
    *) usage ;;
  esac
done
build=${MYSTYLE_BUILD:-$root/build/release}
mystyle=$build/src/cli/mystyle
mango=${MYSTYLE_DATASETS:-$root/../shared/datasets}/mango
for bin in "$mystyle" "$build/bench/make_scale_catalog" "$build/bench/make_scale_vectors" "$build/bench/scale_bench"; do
  [[ -x $bin ]] || { echo "scale_bench: $bin is missing (cmake --build $build)" >&2; exit 1; }
done
[[ -d $mango/images ]] || { echo "scale_bench: no MANGO data set at $mango" >&2; exit 1; }
csv=$dir/csv ws=$dir/workspace
now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }
summary=()
note() { summary+=("$1"); echo "$1"; }

note "machine: $(nproc) hardware threads; load average at the start: $(cut -d' ' -f1-3 /proc/loadavg)"
if [[ $keep == 0 || ! -f $ws/embeddings/style-flat.bin ]]; then
  rm -rf "$csv" "$ws"  # only what this script makes there
  mkdir -p "$dir"
  echo "== 1. catalog: $items items (make_scale_catalog), then mystyle import csv"
  "$build/bench/make_scale_catalog" --out "$csv" --items "$items" --queries "$queries" --seed "$seed" --mango "$mango"
  t=$(now)
  "$mystyle" import csv --workspace "$ws" --items "$csv/items.csv" --outfits "$csv/outfits.csv" --source scale \
    --images-root "$mango/images"
  s=$(elapsed "$t")
  note "import: $items items + $(($(wc -l <"$csv/outfits.csv") - 1)) outfit rows in $s s ($(awk -v n="$items" -v s="$s" 'BEGIN { printf "%.0f", n / s }') items/s), catalog.db $(du -m "$ws/catalog.db" | cut -f1) MB"
  echo "== 2. model and vectors (make_scale_vectors${fit_from:+ --fit-from $fit_from})"
  t=$(now)
  "$build/bench/make_scale_vectors" --workspace "$ws" --seed "$seed" ${fit_from:+--fit-from "$fit_from"}
  note "vectors: $(elapsed "$t") s ($( [[ -n $fit_from ]] && echo "fitted to $fit_from" || echo "untrained model, seeded mixture"))"
fi

echo "== 3-4. in process: index builds, start stages, recommend with HNSW, recall@10, edits (bench/scale_bench)"
# The catalog's photos (the last CSV field): near-duplicate designs' queries.
awk -F, 'NR > 1 && $NF != "" { print $NF }' "$csv/items.csv" >"$csv/catalog_photos.txt"
"$build/bench/scale_bench" "$ws" --queries "$csv/queries.txt" --catalog-photos "$csv/catalog_photos.txt" \
  --limit "$queries" --edits "$memory_edits" $([[ $keep == 1 ]] && echo --reuse-index)

echo "== 4. the server: mystyle serve --index hnsw from the saved index"
port=$(/usr/bin/python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
server_pid=""
cleanup() {
  if [[ -n $server_pid ]] && kill -0 "$server_pid" 2>/dev/null; then kill -TERM "$server_pid"; wait "$server_pid" || true; fi
}
trap cleanup EXIT
rss() { awk -v k="$1:" '$1 == k { printf "%.0f", $2 / 1024 }' "/proc/$server_pid/status"; }
# The server's CPU seconds (user + system): on a shared machine, what its start cost it.
cpu() { awk -v hz="$(getconf CLK_TCK)" '{ sub(/.*\) /, ""); printf "%.1f", ($12 + $13) / hz }' "/proc/$server_pid/stat"; }
t=$(now)
token=scale-bench-admin-token-0123456789
"$mystyle" serve --workspace "$ws" --index hnsw --port "$port" --admin-token "$token" >"$dir/serve.out" 2>"$dir/serve.log" &
server_pid=$!
until curl -sf -o /dev/null "http://127.0.0.1:$port/healthz"; do
  kill -0 "$server_pid" 2>/dev/null || { echo "scale_bench: the server died:" >&2; cat "$dir/serve.log" >&2; exit 1; }
  sleep 0.05
done
start_s=$(elapsed "$t")
start_cpu=$(cpu)
grep -m1 "loaded " "$dir/serve.log" || true
rss_warm=$(rss VmRSS)
note "server start (launch to the first 200 from /healthz): $start_s s wall, $start_cpu s of CPU (load average then: $(cut -d' ' -f1-3 /proc/loadavg))"
note "server memory after its warm-up: VmRSS $rss_warm MB, VmHWM $(rss VmHWM) MB"
head -n "$http_queries" "$csv/queries.txt" | while read -r photo; do
  curl -s -o /dev/null -H "Expect:" -w '%{http_code} %{time_total}\n' -F "image=@$photo;type=image/jpeg" \
    "http://127.0.0.1:$port/api/recommend?k=10&outfits=9"
done >"$dir/http_times.txt"
rss_after=$(rss VmRSS)
hwm_after=$(rss VmHWM)
ok=$(awk '$1 == 200' "$dir/http_times.txt" | wc -l)
read -r p50 p99 < <(awk '{ print $2 * 1000 }' "$dir/http_times.txt" | sort -n |
  awk '{ v[NR] = $1 } END { printf "%.2f %.2f\n", v[int(0.5 * (NR - 1)) + 1], v[int(0.99 * (NR - 1)) + 1] }')
# The server's own time per request (its log line), without curl and the loopback.
read -r s50 s99 < <(sed -n 's/.*POST \/api\/recommend 200 \([0-9.]*\) ms$/\1/p' "$dir/serve.log" | sort -n |
  awk '{ v[NR] = $1 } END { printf "%.2f %.2f\n", v[int(0.5 * (NR - 1)) + 1], v[int(0.99 * (NR - 1)) + 1] }')
note "server, $http_queries photos over HTTP one at a time (curl): $ok answered 200, p50 $p50 ms, p99 $p99 ms (the server's own log: p50 $s50 ms, p99 $s99 ms)"
note "server memory after them: VmRSS $rss_after MB, VmHWM $hwm_after MB"

echo "== 5. admin edits: $edits photos added through POST /api/items, then deleted, one at a time"
pctl() { sort -n | awk '{ v[NR] = $1 } END { printf "%.1f %.1f %.1f\n", v[int(0.5 * (NR - 1)) + 1], v[int(0.99 * (NR - 1)) + 1], v[NR] }'; }
in_place() { curl -s "http://127.0.0.1:$port/healthz" | /usr/bin/python3 -c 'import json, sys; d = json.load(sys.stdin); print(d["edits_in_place"], d["reloads"])'; }
add_items() {  # $1: first photo line, $2: count, $3: id prefix, $4: seconds between adds (0: none)
  # sed, not tail | head: head leaving early would kill tail with SIGPIPE, which pipefail makes fatal.
  sed -n "$1,$(($1 + $2 - 1))p" "$csv/queries.txt" | while read -r photo; do
    n=$((n + 1))
    curl -s -H "Expect:" -H "Authorization: Bearer $token" -o "$dir/added.json" -w '%{http_code} %{time_total}\n' \
      -F "image=@$photo;type=image/jpeg" -F "source_id=$3-$n" -F "category=Tops" -F "type=T-shirt" \
      "http://127.0.0.1:$port/api/items"
    /usr/bin/python3 -c 'import json, sys; print(json.load(open(sys.argv[1])).get("item_id", ""))' "$dir/added.json" >>"$dir/added_ids.txt"
    [[ $4 == 0 ]] || sleep "$4"
  done
}
: >"$dir/added_ids.txt"
read -r edits0 reloads0 < <(in_place)
steady=$(rss VmRSS)
hwm_start=$(rss VmHWM)
# The peak during the edits alone: clear_refs 5 resets VmHWM to the current RSS (Linux 4.0+).
echo 5 >"/proc/$server_pid/clear_refs" 2>/dev/null && hwm_reset=1 || hwm_reset=0
first=$((http_queries + 1))
n=0 add_items "$first" "$edits" edit 0 >"$dir/add_times.txt"
hwm_edits=$(rss VmHWM)
while read -r id; do
  [[ -n $id ]] || continue
  curl -s -H "Authorization: Bearer $token" -o /dev/null -w '%{http_code} %{time_total}\n' -X DELETE \
    "http://127.0.0.1:$port/api/items/$id"
done <"$dir/added_ids.txt" >"$dir/delete_times.txt"
read -r edits1 reloads1 < <(in_place)
batch_s=$(awk '{ s += $2 } END { printf "%.1f", s }' "$dir/add_times.txt")
read -r a50 a99 amax < <(awk '{ print $2 * 1000 }' "$dir/add_times.txt" | pctl)
read -r d50 d99 dmax < <(awk '{ print $2 * 1000 }' "$dir/delete_times.txt" | pctl)
note "admin edits: $(awk '$1 == 201' "$dir/add_times.txt" | wc -l) of $edits adds 201, $(awk '$1 == 204' "$dir/delete_times.txt" | wc -l) deletes 204; $((edits1 - edits0)) applied in place, $((reloads1 - reloads0)) reopens"
note "  add, request to answer (stored, embedded, served): p50 $a50 ms, p99 $a99 ms, max $amax ms; all $edits in $batch_s s"
note "  delete, request to answer (stored, gone):          p50 $d50 ms, p99 $d99 ms, max $dmax ms"
if [[ $hwm_reset == 1 ]]; then
  note "  memory: steady VmRSS $steady MB before the edits, VmRSS $(rss VmRSS) MB after; peak during the edits (VmHWM reset before them) $(rss VmHWM) MB = $(awk -v p="$(rss VmHWM)" -v s="$steady" 'BEGIN { printf "%.2f", p / s }')x steady (issue 25: <= 1.3x); the start's peak $hwm_start MB"
else
  note "  memory: steady VmRSS $steady MB before the edits, VmRSS $(rss VmRSS) MB after, VmHWM $(rss VmHWM) MB (peak since the start; $hwm_edits MB after the adds)"
fi
stream=$((edits < 300 ? edits : 300))
echo "   $stream adds at 10 a second while one client sends photos throughout"
: >"$dir/added_ids.txt"
lines_before=$(wc -l <"$dir/serve.log")
rm -f "$dir/stream.done"
( while [[ ! -f $dir/stream.done ]]; do
    head -n "$http_queries" "$csv/queries.txt" | while read -r photo; do
      [[ -f $dir/stream.done ]] && break
      curl -s -o /dev/null -H "Expect:" -F "image=@$photo;type=image/jpeg" "http://127.0.0.1:$port/api/recommend?k=10&outfits=9"
    done
  done ) &
client=$!
n=0 add_items "$first" "$stream" stream 0.1 >"$dir/stream_times.txt"
touch "$dir/stream.done"
wait "$client"
read -r r50 r99 < <(tail -n "+$((lines_before + 1))" "$dir/serve.log" | sed -n 's/.*POST \/api\/recommend 200 \([0-9.]*\) ms$/\1/p' |
  sort -n | awk '{ v[NR] = $1 } END { printf "%.2f %.2f\n", v[int(0.5 * (NR - 1)) + 1], v[int(0.99 * (NR - 1)) + 1] }')
read -r s50 s99 smax < <(awk '{ print $2 * 1000 }' "$dir/stream_times.txt" | pctl)
note "  $stream adds streaming at up to 10/s: recommend in the server meanwhile p50 $r50 ms, p99 $r99 ms ($(tail -n "+$((lines_before + 1))" "$dir/serve.log" | grep -c 'POST /api/recommend 200') photos); the adds p50 $s50 ms, p99 $s99 ms"
while read -r id; do
  [[ -n $id ]] && curl -s -o /dev/null -H "Authorization: Bearer $token" -X DELETE "http://127.0.0.1:$port/api/items/$id"
done <"$dir/added_ids.txt"
cleanup
server_pid=""

echo
echo "== summary ($items items, $dir)"
printf '%s\n' "${summary[@]}"
awk -v s="$start_s" -v r="$rss_after" -v h="$hwm_after" 'BEGIN {
  printf "targets: server start %.1f s <= 30 s: %s (%.2fx of the limit); RSS %d MB <= 4096 MB: %s (%.2fx; peak %d MB)\n",
    s, s <= 30 ? "met" : "NOT met", s / 30, r, r <= 4096 ? "met" : "NOT met", r / 4096, h }'
echo "(recommend p50 and recall@10 against their targets: section 3 above)"
