-- wrk script for bench/run-getwork.sh: getwork (HTTP JSON-RPC) load on keep-alive
-- connections, and a count of what the server answered.
--
--   wrk -t T -c C -d S -s getwork_load.lua URL -- MODE [SLICE_PREFIX] [SHARES_PER_REQUEST] [CHALLENGE]
--
-- MODE "ping": every request the same {"method":"ping"} body, sent as wrk's static
-- request (no Lua per request, answers not parsed: the cheapest wrk can load).
-- MODE "submit": every request carries SHARES_PER_REQUEST (1: a single call; more: a
-- JSON-RPC batch array) fresh valid shares. A share may be submitted only once (the
-- second time it is a duplicate and answered false), so each wrk thread replays its own
-- slice of the corpus, SLICE_PREFIX<thread>.txt (written by the bench script), once,
-- crediting its own miner address (0x…a000<thread>, varDiff 1 in Redis). A slice holds
-- fixed-width records, "0x<nonce> 0x<digest>\n" (134 bytes): init() reads it as one
-- string and request() cuts a share out by offset, because parsing 500 000 lines in init()
-- takes about 2 s here, and wrk starts each thread as soon as its init() returns (the
-- first thread would run for seconds before the clock starts). A thread whose slice runs
-- out stops (the run is then short of load and the bench script calls it broken: the
-- corpus was too small for the rate).
--
-- done() writes one JSON object to the file named by $GETWORK_RESULT: wrk's summary and
-- latency percentiles plus, per thread summed, the requests built, the answers parsed and
-- how many calls were answered true / false (response() counts them in each thread's Lua
-- state; done() reads them with thread:get, as wrk's setup.lua example does).

local threads = {}
RECORD = 134  -- "0x" + 64 hex digits, a space, "0x" + 64 hex digits, a newline

function setup(thread)
    table.insert(threads, thread)
    thread:set("id", #threads)
end

-- The miner a thread credits: the bench script sets varDiff 1 for the same addresses.
local function miner_of(thread_id)
    return string.format("0x%040x", 0xa0000 + thread_id)
end

function init(args)
    mode = args[1] or "ping"
    built, answered, answered_true, answered_false, answered_other, not_ok = 0, 0, 0, 0, 0, 0
    shares_taken, exhausted = 0, false
    wrk.method = "POST"
    wrk.headers["Content-Type"] = "application/json"
    if mode == "ping" then
        wrk.body = '{"jsonrpc":"2.0","id":1,"method":"ping"}'
        -- No request/response functions: wrk sends its one preformatted request and skips
        -- parsing bodies, so the load generator takes as little of the two cores as it can.
        request, response = nil, nil
        return
    end
    if mode ~= "submit" then error("getwork_load.lua: unknown mode " .. tostring(mode)) end
    per_request = tonumber(args[3] or "1")
    challenge = args[4]
    miner = miner_of(id)
    local file = assert(io.open(args[2] .. id .. ".txt", "rb"))
    slice = file:read("*a")
    file:close()
    if #slice % RECORD ~= 0 then error("getwork_load.lua: a slice of whole " .. RECORD .. "-byte records expected") end
    slice_shares = #slice / RECORD
    -- The request line and headers once; per request only the body and its length change.
    head = "POST " .. wrk.path .. " HTTP/1.1\r\nHost: " .. wrk.headers["Host"] ..
        "\r\nContent-Type: application/json\r\nContent-Length: "
    next_id = 0
end

local function submit_call()
    local at = shares_taken * RECORD
    shares_taken = shares_taken + 1
    next_id = next_id + 1
    return string.format('{"jsonrpc":"2.0","id":%d,"method":"submitShare","params":["%s","%s","%s",1,"%s"]}',
        next_id, slice:sub(at + 1, at + 66), miner, slice:sub(at + 68, at + 133), challenge)
end

function request()
    if shares_taken + per_request > slice_shares then
        -- Out of shares: stop this thread rather than send duplicates; what goes out until
        -- the stop takes effect is a ping, counted as neither true nor false.
        exhausted = true
        wrk.thread:stop()
        local body = '{"jsonrpc":"2.0","id":0,"method":"ping"}'
        return head .. #body .. "\r\n\r\n" .. body
    end
    built = built + 1
    local body
    if per_request == 1 then
        body = submit_call()
    else
        local calls = {}
        for i = 1, per_request do calls[i] = submit_call() end
        body = "[" .. table.concat(calls, ",") .. "]"
    end
    return head .. #body .. "\r\n\r\n" .. body
end

function response(status, headers, body)
    answered = answered + 1
    if status ~= 200 then
        not_ok = not_ok + 1
        return
    end
    -- Answers are sharegate's compact JSON: "result":true / "result":false, once per call.
    local _, trues = body:gsub('"result":true', "")
    local _, falses = body:gsub('"result":false', "")
    answered_true = answered_true + trues
    answered_false = answered_false + falses
    if trues + falses == 0 then answered_other = answered_other + 1 end
end

function done(summary, latency, requests)
    local total = {built = 0, answered = 0, answered_true = 0, answered_false = 0, answered_other = 0,
                   not_ok = 0, shares_taken = 0}
    local exhausted_threads = 0
    for _, thread in ipairs(threads) do
        for key in pairs(total) do total[key] = total[key] + (thread:get(key) or 0) end
        if thread:get("exhausted") then exhausted_threads = exhausted_threads + 1 end
    end
    local e = summary.errors
    local fields = {
        string.format('"mode":"%s"', threads[1] and threads[1]:get("mode") or "?"),
        string.format('"threads":%d', #threads),
        string.format('"duration_s":%.6f', summary.duration / 1e6),
        string.format('"requests":%d', summary.requests),
        string.format('"requests_per_second":%.1f', summary.requests / (summary.duration / 1e6)),
        string.format('"bytes":%d', summary.bytes),
        string.format('"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d}',
            e.connect, e.read, e.write, e.status, e.timeout),
        string.format('"latency_us":{"p50":%d,"p90":%d,"p99":%d,"p999":%d,"max":%d,"mean":%.1f}',
            latency:percentile(50), latency:percentile(90), latency:percentile(99), latency:percentile(99.9),
            latency.max, latency.mean),
        string.format('"exhausted_threads":%d', exhausted_threads),
    }
    for key, value in pairs(total) do fields[#fields + 1] = string.format('"%s":%d', key, value) end
    local path = os.getenv("GETWORK_RESULT")
    local out = path and assert(io.open(path, "w")) or io.stdout
    out:write("{" .. table.concat(fields, ",") .. "}\n")
    if path then out:close() end
end
