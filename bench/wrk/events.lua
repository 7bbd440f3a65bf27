-- POST one PagerDuty Events v2 trigger per request; dedup keys cycle over SC_ALERTS alerts (default 100) per thread,
-- so the server both creates and updates alerts. The body is the file SC_BODY with the placeholder DEDUP replaced.
package.path = os.getenv("SC_LUA_DIR") .. "/?.lua;" .. package.path
local common = require("common")
local requests = {}
local count = tonumber(os.getenv("SC_ALERTS") or "100")
local index = 0
local threads = 0

function setup(thread)
  threads = threads + 1
  thread:set("thread_id", threads)
end

function init(args)
  local headers = common.headers({["Content-Type"] = "application/json"})
  local template = common.read(os.getenv("SC_BODY"))
  for i = 0, count - 1 do
    local body = template:gsub("DEDUP", string.format("alert-%d-%d", thread_id or 0, i))
    requests[i] = wrk.format("POST", nil, headers, body)
  end
end

function request()
  index = (index + 1) % count
  return requests[index]
end

delay = common.delay
done = common.done
