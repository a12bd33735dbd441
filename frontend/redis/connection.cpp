#include "redis/connection.hpp"

#include <pthread.h>
#include <signal.h>
#include <sys/time.h>

#include <algorithm>

#include "sharegate/decimal.hpp"

namespace sharegate::redis {

std::optional<Endpoint> Endpoint::parse(std::string_view text) {
    Endpoint endpoint;
    std::string_view host = text;
    const auto colon = text.rfind(':');
    if (colon != std::string_view::npos) {
        host = text.substr(0, colon);
        const std::string_view port = text.substr(colon + 1);
        // At most five characters, so "000080" is refused as it always was.
        if (port.size() > 5) return std::nullopt;
        const auto value = parse_positive_u64(port);
        if (!value || *value > 65535) return std::nullopt;
        endpoint.port = static_cast<std::uint16_t>(*value);
    }
    if (host.empty() || host.find(':') != std::string_view::npos) return std::nullopt;
    endpoint.host = std::string(host);
    return endpoint;
}

std::chrono::milliseconds next_backoff(std::chrono::milliseconds backoff) { return std::min(backoff * 2, kBackoffMax); }

timeval to_timeval(std::chrono::milliseconds ms) {
    timeval tv{};
    tv.tv_sec = static_cast<decltype(tv.tv_sec)>(ms.count() / 1000);
    tv.tv_usec = static_cast<decltype(tv.tv_usec)>((ms.count() % 1000) * 1000);
    return tv;
}

Context connect(const Endpoint& endpoint, std::chrono::milliseconds timeout) {
    Context c(redisConnectWithTimeout(endpoint.host.c_str(), endpoint.port, to_timeval(timeout)));
    if (!c || c->err != 0) return nullptr;
    return c;
}

void block_sigpipe() {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &set, nullptr);
}

}  // namespace sharegate::redis
