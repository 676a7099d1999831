-- wrk script for bench/run: POSTs one distinct alert per request.
--   wrk ... -s bench/post.lua URL -- MODE TAG
-- MODE: "webhook"  -> Alertmanager v4 webhook body with 1 alert (nightwatch /webhook/alertmanager)
--       "am"       -> Alertmanager API v2 body, a JSON array of 1 alert (Alertmanager /api/v2/alerts)
-- TAG keeps label sets distinct between runs; a per-thread id and a per-thread counter keep
-- them distinct between requests. done() prints one machine-readable "BENCH ..." line.

local threads = {}

function setup(thread)
  table.insert(threads, thread)
  thread:set("tid", #threads)
end

function init(args)
  mode = args[1] or "webhook"
  tag = args[2] or "0"
  counter = 0
  starts_at = os.date("!%Y-%m-%dT%H:%M:%SZ")
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/json"
end

local function alert_fields(id, i)
  local labels = string.format(
    '{"alertname":"BenchAlert","namespace":"team-%d","pod":"svc-%s-7d9f8c6b5","container":"app","severity":"warning","instance":"%s"}',
    i % 37, id, id)
  local annotations = string.format(
    '{"summary":"BenchAlert on team-%d/svc-%s","description":"Synthetic alert %s from wrk."}',
    i % 37, id, id)
  return labels, annotations
end

function request()
  counter = counter + 1
  local id = string.format("%s-%d-%d", tag, tid, counter)
  local labels, annotations = alert_fields(id, counter)
  local body
  if mode == "am" then
    body = string.format(
      '[{"labels":%s,"annotations":%s,"startsAt":"%s","generatorURL":"http://prometheus.bench:9090/graph"}]',
      labels, annotations, starts_at)
  else
    body = string.format(
      '{"version":"4","groupKey":"{}:{alertname=\\"BenchAlert\\"}","truncatedAlerts":0,"status":"firing",'
      .. '"receiver":"nightwatch","groupLabels":{"alertname":"BenchAlert"},"commonLabels":%s,'
      .. '"commonAnnotations":%s,"externalURL":"http://alertmanager.bench:9093","alerts":[{"status":"firing",'
      .. '"labels":%s,"annotations":%s,"startsAt":"%s","endsAt":"0001-01-01T00:00:00Z",'
      .. '"generatorURL":"http://prometheus.bench:9090/graph","fingerprint":"%08x%08x"}]}',
      labels, annotations, labels, annotations, starts_at, tid, counter)
  end
  return wrk.format(nil, nil, nil, body)
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "BENCH requests=%d duration_us=%d rps=%.1f p50_us=%d p90_us=%d p99_us=%d max_us=%d non2xx=%d connect=%d read=%d write=%d timeout=%d\n",
    summary.requests, summary.duration, summary.requests / (summary.duration / 1e6),
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max,
    e.status, e.connect, e.read, e.write, e.timeout))
end
