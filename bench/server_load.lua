-- wrk script for bench/server_load.sh: every request is POST /api/recommend with one photo as the
-- multipart field "image". Arguments after `--`: PHOTO [QUERY], e.g. `-- garment.jpg k=10&outfits=9`.
local request_text

function init(args)
  local photo = assert(args[1], "usage: wrk ... -s server_load.lua URL -- PHOTO [QUERY]")
  local query = args[2] or ""
  local file = assert(io.open(photo, "rb"))
  local bytes = file:read("*a")
  file:close()
  local boundary = "mystyle-load-test-boundary-7f3a91"
  local body = "--" .. boundary .. "\r\n"
    .. 'Content-Disposition: form-data; name="image"; filename="garment.jpg"\r\n'
    .. "Content-Type: image/jpeg\r\n\r\n"
    .. bytes .. "\r\n--" .. boundary .. "--\r\n"
  local path = "/api/recommend" .. (query ~= "" and ("?" .. query) or "")
  request_text = wrk.format("POST", path, {["Content-Type"] = "multipart/form-data; boundary=" .. boundary}, body)
end

function request()
  return request_text
end

function done(summary, latency, requests)
  local e = summary.errors
  local socket_errors = e.connect + e.read + e.write + e.timeout
  io.write(string.format(
    "RESULT requests=%d duration_s=%.2f rps=%.1f p50_ms=%.2f p90_ms=%.2f p99_ms=%.2f max_ms=%.2f non_2xx=%d socket_errors=%d\n",
    summary.requests, summary.duration / 1e6, summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(90) / 1000, latency:percentile(99) / 1000, latency.max / 1000,
    e.status, socket_errors))
end
