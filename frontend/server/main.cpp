// sharegate: the stratum server. Exit codes: 0 after a clean shutdown, 1 when it cannot
// start (no verifier, port taken), 2 for a bad option.
#include <spdlog/spdlog.h>

#include <cstdio>

#include "server/options.hpp"
#include "server/server.hpp"

int main(int argc, char** argv) {
    using namespace sharegate;
    server::ParseResult parsed = server::parse_options(argc, argv);
    if (parsed.action == server::ParseResult::Action::exit_ok) {
        std::fputs(parsed.message.c_str(), stdout);
        return 0;
    }
    if (parsed.action == server::ParseResult::Action::error) {
        std::fprintf(stderr, "sharegate: %s\n", parsed.message.c_str());
        return 2;
    }
    const server::Options& options = parsed.options;
    spdlog::set_level(spdlog::level::from_str(options.log_level));

    VerifierOptions verifier_options;
    verifier_options.threads = options.verifier_threads;
    VerifierResult made = make_verifier(options.verifier, verifier_options);
    if (!made) {
        std::fprintf(stderr, "sharegate: %s\n", made.error.c_str());
        return 1;
    }
    spdlog::info("verifier {}: {}", made.verifier->name(), made.verifier->description());
    if (!made.note.empty()) spdlog::info("verifier auto passed over: {}", made.note);

    server::Server server(options, *made.verifier);
    return server.run();
}
