-- Claims a batch of accepted shares pool-wide and pushes the ones it claimed, in one
-- round trip whatever the batch's size (docs/protocol.md section 4, "Share claims").
-- Compiled into sharegate (frontend/redis/claim_script.hpp, generated from this file)
-- and read by bench/run-redis-scaling.sh, so that the benchmark runs what the server runs.
--
-- KEYS[1]          the list: queued_shares_list
-- KEYS[1 + i]      share i's claim key: sharegate:pushed:<challenge hex>:<nonce hex>
-- ARGV[1]          the claims' expiry, in seconds
-- ARGV[2i]         share i's claim token: unique to this push of this share, kept with
--                  it in a spool, so that a retry or a replay knows its own claim;
--                  empty for a record spooled before tokens existed (any claim is its own)
-- ARGV[2i + 1]     share i's queued_shares_list entry
--
-- Returns one integer per share, in order: 1 claimed and pushed now; 2 claimed before
-- under the same token (a retry after a lost reply, a replay): stored, not pushed again;
-- 0 claimed by another push (another instance, or another miner's earlier submit): a
-- duplicate, not pushed.
--
-- Reads first, then writes: Redis does not undo a script's writes when a later command
-- fails, so the one command that can be refused (LPUSH: WRONGTYPE, or OOM, which Redis
-- checks at a script's first write) comes before any claim is set, and a refused batch
-- leaves nothing behind to make its retry look like a duplicate.
local ttl = ARGV[1]
local results = {}
local fresh = {}
local claims = {}
local holders = {}
for i = 2, #KEYS do
  local key = KEYS[i]
  local token = ARGV[2 * i - 2]
  local holder = holders[key]
  if holder == nil then holder = redis.call('GET', key) end
  if not holder then
    holders[key] = token
    fresh[#fresh + 1] = ARGV[2 * i - 1]
    claims[#claims + 1] = i
    results[i - 1] = 1
  elseif holder == token or token == '' then
    results[i - 1] = 2
  else
    results[i - 1] = 0
  end
end
if #fresh > 0 then redis.call('LPUSH', KEYS[1], unpack(fresh)) end
for _, i in ipairs(claims) do
  redis.call('SET', KEYS[i], ARGV[2 * i - 2], 'EX', ttl)
end
return results
