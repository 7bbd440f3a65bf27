-- POST the same Alertmanager body on every request, with its bearer token; a distinct groupKey per request so the API
-- grows real groups. Env: BODY_FILE, TOKEN, PATH_ (default /alertmanager), DELAY_MS (per-connection pacing, 0 = none).
local body_file = io.open(os.getenv("BODY_FILE"), "rb")
local template = body_file:read("*a")
body_file:close()
local token = os.getenv("TOKEN") or ""
local path = os.getenv("PATH_") or "/alertmanager"
local pause = tonumber(os.getenv("DELAY_MS") or "0")
local counter = 0
local run = os.getenv("RUN") or "run"

local threads = 0
function setup(thread)
  threads = threads + 1
  thread:set("tid", threads)
end

function request()
  counter = counter + 1
  local body = template:gsub("__GROUP__", run .. "-" .. tid .. "-" .. counter)
  local headers = {["Content-Type"] = "application/json"}
  if token ~= "" then
    headers["Authorization"] = "Bearer " .. token
  end
  return wrk.format("POST", path, headers, body)
end

function delay()
  return pause
end

function done(summary, latency, requests)
  io.write(string.format("RESULT {\"requests\": %d, \"seconds\": %f, \"p50_ms\": %f, \"p99_ms\": %f, \"errors\": %d}\n",
    summary.requests, summary.duration / 1e6, latency:percentile(50) / 1000, latency:percentile(99) / 1000,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.status + summary.errors.timeout))
end
