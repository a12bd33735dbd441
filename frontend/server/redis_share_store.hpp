// The server's share store: pool::ShareIntake's pushes go to Redis's queued_shares_list.
#pragma once

#include <functional>
#include <string>
#include <utility>

#include "pool/share_store.hpp"
#include "redis/redis_store.hpp"

namespace sharegate::server {

class RedisShareStore final : public pool::ShareStore {
public:
    explicit RedisShareStore(redis::RedisStore& redis) : redis_(redis) {}

    // done runs on the store's thread (RedisStore::push_share).
    void push(std::string queued_share_json, std::function<void(bool stored)> done) override {
        redis_.push_share(std::move(queued_share_json), std::move(done));
    }

private:
    redis::RedisStore& redis_;
};

}  // namespace sharegate::server
