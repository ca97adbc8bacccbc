-- wrk script: POST queries (the demo users in turn) and print a JSON summary: requests,
-- socket errors by kind, non-2xx/3xx answers ("status"), p50/p90/p99 in microseconds.
local users = {"u-1001", "u-1002", "u-1003", "u-1004"}
local n = 0
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"

request = function()
  n = n + 1
  local body = string.format('{"user_id": "%s", "limit": 5}', users[n % #users + 1])
  return wrk.format(nil, nil, nil, body)
end

done = function(summary, latency, requests)
  local e = summary.errors
  local socket = e.connect + e.read + e.write + e.timeout
  io.write(string.format(
    'WRK_JSON {"requests": %d, "duration_us": %d, "errors": %d, "socket_errors": %d, '
    .. '"connect": %d, "read": %d, "write": %d, "timeout": %d, "non_2xx": %d, '
    .. '"p50_us": %d, "p90_us": %d, "p99_us": %d, "max_us": %d}\n',
    summary.requests, summary.duration, socket + e.status, socket, e.connect, e.read, e.write,
    e.timeout, e.status, latency:percentile(50), latency:percentile(90),
    latency:percentile(99), latency.max))
end
