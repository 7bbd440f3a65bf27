-- PUT replace: two bodies (SC_BODY_A, SC_BODY_B, files) taken in turns, so every request changes the object and is a
-- real write (a new version), never a no-op replace.
package.path = os.getenv("SC_LUA_DIR") .. "/?.lua;" .. package.path
local common = require("common")
local requests = {}
local turn = 0

function init(args)
  local headers = common.headers({["Content-Type"] = "application/json"})
  requests[0] = wrk.format("PUT", nil, headers, common.read(os.getenv("SC_BODY_A")))
  requests[1] = wrk.format("PUT", nil, headers, common.read(os.getenv("SC_BODY_B")))
end

function request()
  turn = 1 - turn
  return requests[turn]
end

delay = common.delay
done = common.done
