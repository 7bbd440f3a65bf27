-- Shared by the API benchmark's wrk scripts: the API key, optional pacing to a fixed rate, and one JSON line of results.
--
-- Environment: SC_KEY (bearer key, optional), SC_RATE (requests/s per connection; unset or 0: as fast as possible).
-- Pacing uses the monotonic clock through LuaJIT's FFI (wrk's Lua has no other sub-second clock): each connection
-- sends on its own fixed schedule, so latency is measured at an offered rate rather than in a closed loop.
local ffi = require("ffi")
ffi.cdef[[
  typedef struct { long tv_sec; long tv_nsec; } sc_timespec;
  int clock_gettime(int clock_id, sc_timespec *tp);
]]
local now_spec = ffi.new("sc_timespec")
local function now_ms()
  ffi.C.clock_gettime(1, now_spec)  -- CLOCK_MONOTONIC
  return tonumber(now_spec.tv_sec) * 1000 + tonumber(now_spec.tv_nsec) / 1e6
end

local M = {}
local key = os.getenv("SC_KEY")
local rate = tonumber(os.getenv("SC_RATE") or "0") or 0
local interval = rate > 0 and 1000 / rate or 0
local next_due = nil

function M.headers(extra)
  local headers = {}
  if key and key ~= "" then headers["Authorization"] = "Bearer " .. key end
  for name, value in pairs(extra or {}) do headers[name] = value end
  return headers
end

function M.read(path)
  local file = assert(io.open(path, "rb"))
  local text = file:read("*a")
  file:close()
  return text
end

-- wrk calls delay() before each request of a connection; 0 means send now.
function M.delay()
  if interval == 0 then return 0 end
  local now = now_ms()
  if next_due == nil then next_due = now + math.random() * interval end
  local wait = next_due - now
  next_due = next_due + interval
  if wait < 0 then return 0 end
  return wait
end

function M.done(summary, latency, requests)
  local errors = summary.errors
  io.write(string.format(
    '{"requests": %d, "duration_us": %d, "p50_us": %d, "p99_us": %d, "mean_us": %.1f, "max_us": %d, '
      .. '"status_errors": %d, "socket_errors": %d}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99), latency.mean, latency.max,
    errors.status, errors.connect + errors.read + errors.write + errors.timeout))
end

return M
