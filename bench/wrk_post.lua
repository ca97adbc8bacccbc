-- wrk script: POST one query and print a JSON summary (requests, errors, p50/p99 in microseconds).
wrk.method = "POST"
wrk.body = '{"user_id": "u-1001", "limit": 5}'
wrk.headers["Content-Type"] = "application/json"

done = function(summary, latency, requests)
  local errors = summary.errors.connect + summary.errors.read + summary.errors.write
    + summary.errors.status + summary.errors.timeout
  io.write(string.format(
    'WRK_JSON {"requests": %d, "duration_us": %d, "errors": %d, "p50_us": %d, "p99_us": %d}\n',
    summary.requests, summary.duration, errors, latency:percentile(50), latency:percentile(99)))
end
