// sharegate-proxy: a mining farm's getwork rigs on one stratum connection to the pool
// (proxy/proxy.hpp). Exit codes, as the server's: 0 after a clean stop (SIGINT, SIGTERM),
// 1 when it cannot start (a port taken), 2 for a bad option.
#include <spdlog/spdlog.h>
#include <sys/resource.h>

#include <cstdint>
#include <cstdio>

#include "proxy/proxy.hpp"
#include "proxy/proxy_options.hpp"
#include "server/log_format.hpp"

namespace {

// Each rig connection is a file descriptor: the soft limit (often 1024, as many as the
// default --max-connections) goes up to the hard one, so that the cap is met before it.
void raise_file_limit() {
    rlimit limit{};
    if (::getrlimit(RLIMIT_NOFILE, &limit) != 0 || limit.rlim_cur == RLIM_INFINITY) return;
    const rlim_t before = limit.rlim_cur;
    // An unlimited hard limit is still bounded by the kernel's nr_open (1048576 by default).
    const rlim_t wanted = limit.rlim_max == RLIM_INFINITY ? rlim_t{1} << 20 : limit.rlim_max;
    if (before >= wanted) return;
    limit.rlim_cur = wanted;
    if (::setrlimit(RLIMIT_NOFILE, &limit) != 0)
        spdlog::warn("file limit: stays at {} (raising it to {} failed)", static_cast<std::uint64_t>(before),
                     static_cast<std::uint64_t>(wanted));
}

}  // namespace

int main(int argc, char** argv) {
    using namespace sharegate;
    proxy::ProxyParseResult parsed = proxy::parse_proxy_options(argc, argv);
    if (parsed.action == proxy::ProxyParseResult::Action::exit_ok) {
        std::fputs(parsed.message.c_str(), stdout);
        return 0;
    }
    if (parsed.action == proxy::ProxyParseResult::Action::error) {
        std::fprintf(stderr, "sharegate-proxy: %s\n", parsed.message.c_str());
        return 2;
    }
    server::configure_logging(parsed.options.log_level, parsed.options.log_format);
    raise_file_limit();
    proxy::Proxy proxy(parsed.options);
    return proxy.run();
}
