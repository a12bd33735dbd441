// The test harness itself: tests run as root, where kill() with a pid of -1 reaches every
// process on the machine. A server that fails to start must be reported as a failure and
// must leave the harness with nothing to signal.
#include <grp.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <thread>

#include "support/redis_server.hpp"
#include "support/seed_share.hpp"
#include "support/server_process.hpp"

namespace {

using sharegate_test::ServerProcess;
using sharegate_test::TestRedisServer;

// Bits of the checking child's exit status, one a broken promise.
enum : int {
    kStartSucceeded = 1,
    kStillRunning = 2,
    kStopSignalled = 4,
    kSignalSent = 8,
    kSentinelKilled = 16,
    kCannotDrop = 32,
};

TEST(ServerProcessHarness, ServerThatCannotStartIsAFailureAndSignalsNothingElse) {
    if (::geteuid() != 0) {
        GTEST_SKIP() << "needs root: the check runs as an unprivileged user so that a broken guard could only "
                        "reach that user's processes";
    }
    TestRedisServer redis;
    const pid_t child = ::fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
        // From here on a stray kill(-1, …) reaches only processes of this uid: the sentinel.
        constexpr uid_t kNobody = 65534;
        if (::setgroups(0, nullptr) != 0 || ::setgid(kNobody) != 0 || ::setuid(kNobody) != 0) ::_exit(kCannotDrop);
        const pid_t sentinel = ::fork();
        if (sentinel == 0) {
            for (;;) ::pause();
        }
        int broken = 0;
        {
            ServerProcess server;
            // An invalid port: sharegate exits with status 2 before it listens.
            const std::string why =
                server.start(SHAREGATE_BINARY, redis, sharegate_test::seed::kPool, {"--port", "not-a-port"});
            if (why.empty()) broken |= kStartSucceeded;
            if (server.running()) broken |= kStillRunning;
            if (server.stop() != -2) broken |= kStopSignalled;
            if (server.signal(SIGTERM)) broken |= kSignalSent;
        }  // and its destructor
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
        int status = 0;
        if (::waitpid(sentinel, &status, WNOHANG) != 0) broken |= kSentinelKilled;
        ::kill(sentinel, SIGKILL);
        ::waitpid(sentinel, &status, 0);
        ::_exit(broken);
    }
    int status = 0;
    ASSERT_EQ(::waitpid(child, &status, 0), child);
    ASSERT_TRUE(WIFEXITED(status)) << "the checking child died of signal " << WTERMSIG(status);
    const int broken = WEXITSTATUS(status);
    EXPECT_EQ(broken & kCannotDrop, 0) << "could not drop to an unprivileged user";
    EXPECT_EQ(broken & kStartSucceeded, 0) << "a server that exited at start-up was reported as started";
    EXPECT_EQ(broken & kStillRunning, 0) << "the harness still thinks it has a child";
    EXPECT_EQ(broken & kStopSignalled, 0) << "stop() signalled something";
    EXPECT_EQ(broken & kSignalSent, 0) << "signal() sent a signal without a child";
    EXPECT_EQ(broken & kSentinelKilled, 0) << "a process that is not the server's was signalled";
}

// The harness's own view of a normal start and stop, for contrast: one child, and it is gone after.
TEST(ServerProcessHarness, StartedServerIsStoppedAndReaped) {
    TestRedisServer redis;
    ServerProcess server;
    ASSERT_EQ(server.start(SHAREGATE_BINARY, redis, sharegate_test::seed::kPool), "");
    const pid_t pid = server.pid();
    ASSERT_GT(pid, 0);
    EXPECT_EQ(server.stop(), 0);
    EXPECT_FALSE(server.running());
    int status = 0;
    EXPECT_EQ(::waitpid(pid, &status, WNOHANG), -1) << "the child was not reaped";
    EXPECT_EQ(server.stop(), -2);
}

}  // namespace
