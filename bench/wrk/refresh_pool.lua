-- refresh_token grant: refresh tokens are single-use, so every request takes the next token
-- of a pool file (one token a line). With several wrk threads, thread k of n takes lines
-- k, k+n, k+2n, ... so no token is sent twice. A pool that runs dry sends "pool-exhausted",
-- which the server refuses with 400 and wrk counts as non-2xx.
--
-- usage: wrk ... -s refresh_pool.lua URL -- POOL_FILE AUTH THREADS
--   AUTH     the whole Authorization value of the client the tokens were issued to
--   THREADS  the same number as wrk's -t
local started = 0

setup = function(thread)
  thread:set("thread_index", started)
  started = started + 1
end

init = function(args)
  local me = thread_index or 0
  local threads = tonumber(args[3] or "1")
  tokens = {}
  local n = 0
  for line in io.lines(args[1]) do
    if n % threads == me and line ~= "" then
      tokens[#tokens + 1] = line
    end
    n = n + 1
  end
  used = 0
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
  wrk.headers["Authorization"] = args[2]
  wrk.headers["Accept"] = "application/json"
end

request = function()
  used = used + 1
  local token = tokens[used] or "pool-exhausted"
  return wrk.format(nil, nil, nil, "grant_type=refresh_token&refresh_token=" .. token)
end
