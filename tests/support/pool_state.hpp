// The pool state the end-to-end tests start from, written to their private redis-server
// as the pool's back-end would: the seed's challenge and block, a network target of 2^224
// (the seed share's digest is below it: a full solution, still queued as a share), and
// the varDiff of the seed miner (872) and of the difficulty-1 vectors' miner (1).
#pragma once

#include <string>

#include "support/redis_server.hpp"
#include "support/seed_share.hpp"

namespace sharegate_test {

// The miner of tests/vectors/valid_d1.jsonl, all lower case.
inline constexpr const char* kMinerD1 = "0x00000000000000000000000000000000000000d1";

inline void write_pool_state(TestRedisServer& redis) {
    redis.command({"SET", "challengeNumber", std::string("\"") + seed::kChallenge + "\""});
    redis.command({"SET", "ethBlockNumber", "5600000"});
    redis.command({"SET", "miningTarget", "\"26959946667150639794667015087019630673637144422540572481103610249216\""});
    redis.command({"HSET", "miner_data", seed::kMiner,
                   R"({"shareCredits":0,"tokenBalance":0,"tokensAwarded":0,"varDiff":872,)"
                   R"("validSubmittedSolutionsCount":0})"});
    redis.command({"HSET", "miner_data", kMinerD1,
                   R"({"shareCredits":0,"tokenBalance":0,"tokensAwarded":0,"varDiff":1,)"
                   R"("validSubmittedSolutionsCount":0})"});
}

}  // namespace sharegate_test
