-- wrk script for bench_load: rotates request bodies and reports the run as one JSON line.
--
--   wrk -t2 -c16 -d5s --latency -s bench/wrk/chaja.lua http://127.0.0.1:8080/v1/search -- BODIES
--
-- BODIES is a file of JSON request bodies, one a line (bench_load writes it; Korean and English
-- questions): each request POSTs the next one, every thread starting at a different line. Without
-- it every request is a GET of the URL's path (the /healthz baseline), made through the same Lua
-- calls so that both pay the same client cost.
--
-- done() prints one line, `CHAJA_WRK {json}`, with the request count, duration (us), bytes, wrk's
-- error counters (connect, read, write, status >= 400, timeout), latency percentiles in ms and
-- the count of every status other than 2xx, by status: responses that are not 2xx are counted,
-- never hidden.

bodies = {}
next_body = 0
non2xx = {}

local threads = {}

function setup(thread)
  thread:set("thread_index", #threads)
  table.insert(threads, thread)
end

function init(args)
  local file = args[1]
  if file ~= nil then
    for line in io.lines(file) do
      if #line > 0 then
        bodies[#bodies + 1] = line
      end
    end
    if #bodies == 0 then
      error("no request bodies in " .. file)
    end
    -- Threads start apart so that they do not send the same question at the same moment.
    next_body = (thread_index * 7) % #bodies
  end
end

local json_headers = { ["Content-Type"] = "application/json" }

function request()
  if #bodies == 0 then
    return wrk.format("GET")
  end
  next_body = next_body % #bodies + 1
  return wrk.format("POST", nil, json_headers, bodies[next_body])
end

function response(status, headers, body)
  if status < 200 or status > 299 then
    non2xx[status] = (non2xx[status] or 0) + 1
  end
end

function done(summary, latency, requests)
  local counts = {}
  for _, thread in ipairs(threads) do
    local t = thread:get("non2xx")
    if t ~= nil then
      for status, n in pairs(t) do
        counts[status] = (counts[status] or 0) + n
      end
    end
  end
  local parts = {}
  for status, n in pairs(counts) do
    parts[#parts + 1] = string.format('"%d":%d', status, n)
  end
  local e = summary.errors
  io.write(string.format(
    'CHAJA_WRK {"requests":%d,"duration_us":%d,"bytes":%d,' ..
    '"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},' ..
    '"latency_ms":{"p50":%.3f,"p90":%.3f,"p99":%.3f,"mean":%.3f,"max":%.3f},' ..
    '"non2xx":{%s}}\n',
    summary.requests, summary.duration, summary.bytes,
    e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50) / 1000, latency:percentile(90) / 1000, latency:percentile(99) / 1000,
    latency.mean / 1000, latency.max / 1000,
    table.concat(parts, ",")))
end
