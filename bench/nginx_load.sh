#!/usr/bin/env bash
# The load test of bench/server_load.sh through nginx (docs/deploy.md): starts `mystyle serve` with
# its defaults on a free loopback port, Debian's nginx (as this user, its files in a scratch folder)
# with bench/nginx/mystyle.conf in front of it on another, runs bench/server_load.sh --url at nginx,
# then stops both. Options after WORKSPACE go to server_load.sh. Needs nginx (scripts/install-deps bench).
#
#   bench/nginx_load.sh WORKSPACE [server_load.sh options...]
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
[[ $# -ge 1 && $1 != -* ]] || { sed -n '2,7p' "$0" | sed 's/^# \{0,1\}//'; exit 2; }
workspace=$1; shift
bin=${MYSTYLE_BIN:-$root/build/release/src/cli/mystyle}
nginx=$(command -v nginx || echo /usr/sbin/nginx)
[[ -x $nginx ]] || { echo "nginx_load: nginx not found; install it with scripts/install-deps bench" >&2; exit 1; }
[[ -x $bin ]] || { echo "nginx_load: no mystyle binary at $bin (build first, or set MYSTYLE_BIN)" >&2; exit 1; }

scratch=$(mktemp -d)
server_pid=""
cleanup() {
  [[ -f $scratch/nginx.pid ]] && kill -TERM "$(cat "$scratch/nginx.pid")" 2>/dev/null || true
  if [[ -n $server_pid ]] && kill -0 "$server_pid" 2>/dev/null; then kill -TERM "$server_pid"; wait "$server_pid" || true; fi
  sleep 0.5
  rm -rf "$scratch"
}
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

"$bin" serve --workspace "$workspace" --port 0 >"$scratch/stdout" 2>"$scratch/server.log" &
server_pid=$!
url=""
for _ in $(seq 1 1200); do
  url=$(sed -n 's/.*listening on \(http:[^ ]*\).*/\1/p' "$scratch/stdout")
  [[ -n $url ]] && break
  kill -0 "$server_pid" 2>/dev/null || { echo "nginx_load: the server did not start:" >&2; cat "$scratch/server.log" >&2; exit 1; }
  sleep 0.1
done
[[ -n $url ]] || { echo "nginx_load: the server printed no URL in 120 s" >&2; exit 1; }
server_port=${url%/}; server_port=${server_port##*:}
nginx_port=$(free_port)
sed -e "s/127.0.0.1:8080/127.0.0.1:$server_port/" -e "s/listen 80;/listen 127.0.0.1:$nginx_port;/" \
  -e '/listen \[::\]:80;/d' bench/nginx/mystyle.conf >"$scratch/mystyle.conf"
mkdir -p "$scratch/tmp"
chmod 755 "$scratch"  # nginx's workers (user nobody when started as root) write their temporary files under it
cat >"$scratch/nginx.conf" <<CONF
worker_processes auto;
pid $scratch/nginx.pid;
error_log $scratch/error.log warn;
events { worker_connections 4096; }
http {
    access_log off;
    client_body_temp_path $scratch/tmp/body;
    proxy_temp_path $scratch/tmp/proxy;
    fastcgi_temp_path $scratch/tmp/fastcgi;
    uwsgi_temp_path $scratch/tmp/uwsgi;
    scgi_temp_path $scratch/tmp/scgi;
    include $scratch/mystyle.conf;
}
CONF
"$nginx" -p "$scratch" -c "$scratch/nginx.conf" -g 'daemon on;' 2>&1
echo "nginx $("$nginx" -v 2>&1 | sed 's/.*nginx\///') on 127.0.0.1:$nginx_port in front of $url ($(nproc) cores; nginx, server and load generator share them)"
status=0
bench/server_load.sh "$workspace" --url "http://127.0.0.1:$nginx_port" "$@" || status=$?
echo "nginx errors logged: $(grep -c '\[error\]' "$scratch/error.log" 2>/dev/null || true)"
grep '\[error\]' "$scratch/error.log" 2>/dev/null | sed 's/^[^]]*\] [0-9#*]* //' | cut -c1-160 | sort | uniq -c | sort -rn | head -5 || true
answered() { grep -cE "\\] [A-Z]+ [^ ]+ $1 [0-9.]+ ms" "$scratch/server.log" || true; }
echo "server: $(answered 200) x 200, $(answered 503) x 503, $(answered '5[0-9][0-9]') x 5xx in all"
exit $status
