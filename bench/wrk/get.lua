-- GET one resource (or one page: the URL carries the path and query). SC_KEY authenticates.
package.path = os.getenv("SC_LUA_DIR") .. "/?.lua;" .. package.path
local common = require("common")

function init(args)
  wrk.headers = common.headers({})
end

delay = common.delay
done = common.done
