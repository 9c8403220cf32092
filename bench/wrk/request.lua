-- One static request per thread, built once in init(): wrk's cost per request stays at zero.
--
-- usage: wrk ... -s request.lua URL -- METHOD BODY AUTH [HEADER ...]
--   METHOD  GET or POST
--   BODY    application/x-www-form-urlencoded body, "-" for none
--   AUTH    the whole Authorization value, e.g. "Basic Y2xpZW50OnNlY3JldA==", "-" for none
--   HEADER  any number of "Name: value" (e.g. 'If-None-Match: "0a1b..."')
init = function(args)
  wrk.method = args[1] or "GET"
  local body = args[2] or "-"
  local auth = args[3] or "-"
  if body ~= "-" then
    wrk.body = body
    wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
  end
  if auth ~= "-" then
    wrk.headers["Authorization"] = auth
  end
  wrk.headers["Accept"] = "application/json"
  for i = 4, #args do
    local name, value = string.match(args[i], "^([^:]+):%s*(.*)$")
    if name then
      wrk.headers[name] = value
    end
  end
end
