-- Single-use credentials (refresh tokens, authorization codes): every request takes the next
-- one of a pool file (one a line) and sends BEFORE .. credential .. AFTER as its form body, or,
-- given COOKIE, sends the credential as that cookie and BEFORE .. AFTER as the body (a
-- cookie-mode client's refresh). With several wrk threads, thread k of n takes lines k, k+n,
-- k+2n, ... so none is sent twice. A pool that runs dry sends "pool-exhausted", which the
-- server refuses with 400 and wrk counts as non-2xx.
--
-- usage: wrk ... -s pool.lua URL -- POOL_FILE AUTH THREADS BEFORE [AFTER [COOKIE [HEADER ...]]]
--   AUTH     the whole Authorization value of the client the credentials were issued to, "-"
--            for none (a public client, named in the body)
--   THREADS  the same number as wrk's -t
--   BEFORE   the body up to the credential, e.g. "grant_type=refresh_token&refresh_token="
--   AFTER    the rest of the body, e.g. "&redirect_uri=...&code_verifier=..." (default: none)
--   COOKIE   the name of the cookie that carries the credential, "-" (default) for the body
--   HEADER   any number of "Name: value", sent with every request (e.g. "Origin: http://...")
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
  before = args[4] or ""
  after = args[5] or ""
  cookie = args[6] or "-"
  used = 0
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
  if args[2] ~= "-" then
    wrk.headers["Authorization"] = args[2]
  end
  wrk.headers["Accept"] = "application/json"
  for i = 7, #args do
    local name, value = string.match(args[i], "^([^:]+):%s*(.*)$")
    if name then
      wrk.headers[name] = value
    end
  end
  if cookie ~= "-" then
    wrk.body = before .. after  -- the same body every time: only the cookie changes
    -- wrk.format takes the headers it is given instead of wrk.headers: one table, reused
    headers = {}
    for name, value in pairs(wrk.headers) do
      headers[name] = value
    end
  end
end

request = function()
  used = used + 1
  local token = tokens[used] or "pool-exhausted"
  if cookie ~= "-" then
    headers["Cookie"] = cookie .. "=" .. token
    return wrk.format(nil, nil, headers)
  end
  return wrk.format(nil, nil, nil, before .. token .. after)
end
