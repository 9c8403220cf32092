-- One static GET (a cookie, a query) per thread, built once in init(), that must answer with a
-- redirect carrying a code: every answer is counted by status, and a redirect whose Location has
-- no "code=" counts apart. done() prints "Statuses: 302=N ..." and "Redirects without a code: N",
-- which bench/load.py reads (wrk itself counts only statuses of 400 and above).
--
-- usage: wrk ... -s redirect.lua URL -- [HEADER ...]
--   HEADER  any number of "Name: value" (e.g. "Cookie: authority_session=...")
local threads = {}

setup = function(thread)
  threads[#threads + 1] = thread
end

init = function(args)
  wrk.method = "GET"
  for i = 1, #args do
    local name, value = string.match(args[i], "^([^:]+):%s*(.*)$")
    if name then
      wrk.headers[name] = value
    end
  end
  statuses = {}
  codeless = 0
end

response = function(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
  if status >= 300 and status < 400 then
    local location = headers["Location"] or headers["location"] or ""
    if not string.find(location, "[?&]code=") then
      codeless = codeless + 1
    end
  end
end

done = function(summary, latency, requests)
  local total, without = {}, 0
  for _, thread in ipairs(threads) do
    for status, n in pairs(thread:get("statuses")) do
      total[status] = (total[status] or 0) + n
    end
    without = without + thread:get("codeless")
  end
  local parts = {}
  for status, n in pairs(total) do
    parts[#parts + 1] = status .. "=" .. n
  end
  table.sort(parts)
  io.write("Statuses: " .. table.concat(parts, " ") .. "\n")
  io.write("Redirects without a code: " .. without .. "\n")
end
