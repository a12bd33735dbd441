// The command line every binary shares (frontend/cli/command_line.hpp), run as the user
// runs it: --help and --version exit 0 with their text on stdout, an unknown option
// exits 2 with one line "NAME: reason" on stderr, and a --config file's value is used
// unless the command line gives its own.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <ostream>
#include <sstream>
#include <string>
#include <vector>

extern char** environ;

namespace {

struct Binary {
    std::string name;
    std::string path;
};

// The test names' "GetParam() = ..." shows the binary's name.
void PrintTo(const Binary& binary, std::ostream* out) { *out << binary.name; }

std::vector<Binary> binaries() {
    return {
        {"sharegate-mine", SHAREGATE_MINE_BINARY},
        {"sharegate-bench", SHAREGATE_BENCH_BINARY},
#ifdef SHAREGATE_SERVER_BINARY
        {"sharegate", SHAREGATE_SERVER_BINARY},
        {"sharegate-loadgen", SHAREGATE_LOADGEN_BINARY},
#endif
    };
}

// A file under the test's own temporary directory, removed at the end of the test.
class TempFile {
public:
    explicit TempFile(const std::string& name, const std::string& text = "") {
        static int made = 0;
        path_ = (std::filesystem::temp_directory_path() /
                 ("sharegate-cli-" + std::to_string(::getpid()) + "-" + std::to_string(++made) + "-" + name))
                    .string();
        std::ofstream(path_) << text;
    }
    ~TempFile() { std::filesystem::remove(path_); }
    TempFile(const TempFile&) = delete;
    TempFile& operator=(const TempFile&) = delete;
    const std::string& path() const { return path_; }

private:
    std::string path_;
};

std::string read_file(const std::string& path) {
    std::ifstream in(path);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

struct Finished {
    int status = -1;  // the exit status; -1 when it did not exit normally
    std::string out, err;
};

// Runs `path` with `args` to its end, stdout and stderr in files of their own (so that
// neither pipe can fill while the other is read).
Finished run(const std::string& path, const std::vector<std::string>& args) {
    const TempFile out("stdout"), err("stderr");
    std::vector<std::string> argv_text = {path};
    argv_text.insert(argv_text.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (auto& a : argv_text) argv.push_back(a.data());
    argv.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, out.path().c_str(), O_WRONLY | O_TRUNC, 0);
    posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, err.path().c_str(), O_WRONLY | O_TRUNC, 0);
    pid_t pid = 0;
    const int spawned = posix_spawn(&pid, path.c_str(), &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    Finished result;
    if (spawned != 0) {
        result.err = "posix_spawn failed";
        return result;
    }
    int status = 0;
    ::waitpid(pid, &status, 0);
    result.status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    result.out = read_file(out.path());
    result.err = read_file(err.path());
    return result;
}

std::size_t lines(const std::string& text) {
    return static_cast<std::size_t>(std::count(text.begin(), text.end(), '\n'));
}

std::size_t count_of(const std::string& text, const std::string& what) {
    std::size_t n = 0;
    for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
    return n;
}

class CommandLineTest : public ::testing::TestWithParam<Binary> {};

TEST_P(CommandLineTest, VersionPrintsNameAndVersion) {
    const Finished r = run(GetParam().path, {"--version"});
    EXPECT_EQ(r.status, 0) << r.err;
    EXPECT_EQ(r.out, GetParam().name + " " + SHAREGATE_EXPECTED_VERSION + "\n");
    EXPECT_EQ(r.err, "");
}

TEST_P(CommandLineTest, HelpPrintsUsageOnStdout) {
    for (const char* flag : {"--help", "-h"}) {
        const Finished r = run(GetParam().path, {flag});
        EXPECT_EQ(r.status, 0) << flag << ": " << r.err;
        EXPECT_TRUE(r.out.starts_with("Usage: " + GetParam().name + " ")) << flag << ": " << r.out;
        EXPECT_NE(r.out.find("--config FILE"), std::string::npos) << r.out;
        EXPECT_NE(r.out.find("--version"), std::string::npos) << r.out;
        EXPECT_EQ(r.err, "");
    }
}

TEST_P(CommandLineTest, UnknownOptionExitsTwoWithOneLine) {
    for (const std::vector<std::string>& args :
         {std::vector<std::string>{"--no-such-option"}, {"--no-such-option=1"}, {"stray-word"}}) {
        const Finished r = run(GetParam().path, args);
        EXPECT_EQ(r.status, 2) << args[0] << ": " << r.err;
        EXPECT_EQ(r.out, "") << args[0];
        EXPECT_TRUE(r.err.starts_with(GetParam().name + ": ")) << r.err;
        EXPECT_EQ(lines(r.err), 1u) << r.err;
        EXPECT_NE(r.err.find(args[0].substr(0, args[0].find('='))), std::string::npos) << r.err;
    }
}

TEST_P(CommandLineTest, ConfigFileRefusalsNameTheFile) {
    {
        const TempFile config("unknown.conf", "# a comment\nno-such-option = 1\n");
        const Finished r = run(GetParam().path, {"--config", config.path()});
        EXPECT_EQ(r.status, 2) << r.err;
        EXPECT_EQ(r.err, GetParam().name + ": " + config.path() + ": unknown option --no-such-option\n");
    }
    {
        const TempFile config("nested.conf", "config = /etc/hostname\n");
        const Finished r = run(GetParam().path, {"--config", config.path()});
        EXPECT_EQ(r.status, 2) << r.err;
        EXPECT_EQ(r.err, GetParam().name + ": " + config.path() + ": config files do not nest\n");
    }
    const Finished missing = run(GetParam().path, {"--config", "/nonexistent/sharegate.conf"});
    EXPECT_EQ(missing.status, 2) << missing.err;
    EXPECT_EQ(missing.err, GetParam().name + ": cannot read config file /nonexistent/sharegate.conf\n");
}

TEST_P(CommandLineTest, ValueMissingAtTheEndExitsTwoWithOneLine) {
    const Finished r = run(GetParam().path, {"--config"});
    EXPECT_EQ(r.status, 2) << r.err;
    EXPECT_EQ(r.err, GetParam().name + ": --config needs a value\n");
}

// The long names --help lists ("  --port N ...", "  -q,--quiet ...").
std::vector<std::string> help_option_names(const std::string& help) {
    std::vector<std::string> names;
    std::istringstream in(help);
    for (std::string line; std::getline(in, line);) {
        auto at = line.find("--");
        if (!line.starts_with("  -") || at > 5) continue;
        at += 2;
        names.push_back(line.substr(at, line.find_first_of(" ,=", at) - at));
    }
    return names;
}

// --print-options (the generated reference): not in --help, one config line and one
// table row for every option --help lists but --help, --version and --config.
TEST_P(CommandLineTest, PrintOptionsListsEveryOptionOnce) {
    const Finished help = run(GetParam().path, {"--help"});
    EXPECT_EQ(help.out.find("print-options"), std::string::npos) << help.out;
    const std::vector<std::string> names = help_option_names(help.out);
    ASSERT_GE(names.size(), 5u) << help.out;

    const Finished config = run(GetParam().path, {"--print-options=config"});
    EXPECT_EQ(config.status, 0) << config.err;
    EXPECT_EQ(config.err, "");
    EXPECT_TRUE(config.out.starts_with("# " + GetParam().name + " configuration")) << config.out;
    const Finished markdown = run(GetParam().path, {"--print-options", "markdown"});
    EXPECT_EQ(markdown.status, 0) << markdown.err;
    EXPECT_TRUE(markdown.out.starts_with("| option | value | default and meaning |\n|---|---|---|\n")) << markdown.out;
    std::size_t documented = 0;
    for (const std::string& name : names) {
        const bool common = name == "help" || name == "version" || name == "config";
        EXPECT_EQ(count_of(config.out, "\n# " + name + " = "), common ? 0u : 1u) << name << "\n" << config.out;
        EXPECT_EQ(count_of(markdown.out, "| `--" + name + "` |"), common ? 0u : 1u) << name << "\n" << markdown.out;
        if (!common) ++documented;
    }
    EXPECT_EQ(lines(markdown.out), 2 + documented) << markdown.out;
    EXPECT_EQ(count_of(config.out, "print-options ="), 0u);
}

TEST_P(CommandLineTest, PrintOptionsRefusesOtherFormatsAndConfigFiles) {
    const Finished r = run(GetParam().path, {"--print-options=html"});
    EXPECT_EQ(r.status, 2) << r.err;
    EXPECT_EQ(r.out, "");
    EXPECT_EQ(r.err, GetParam().name + ": --print-options: expects one of markdown|config (got \"html\")\n");
    const TempFile config("print.conf", "print-options = config\n");
    const Finished from_file = run(GetParam().path, {"--config", config.path()});
    EXPECT_EQ(from_file.status, 2) << from_file.err;
    EXPECT_EQ(from_file.err, GetParam().name + ": " + config.path() + ": --print-options is for the command line\n");
}

INSTANTIATE_TEST_SUITE_P(Binaries, CommandLineTest, ::testing::ValuesIn(binaries()),
                         [](const ::testing::TestParamInfo<Binary>& info) {
                             std::string name = info.param.name;
                             std::replace(name.begin(), name.end(), '-', '_');
                             return name;
                         });

// The defaults come from the help texts' parentheses: "(9192)", "(default auto: ...)";
// a remark such as "(required; ...)" or "(one per hardware thread)" is no default.
TEST(OptionReference, DefaultsAreReadFromTheHelp) {
    const Finished mine = run(SHAREGATE_MINE_BINARY, {"--print-options=config"});
    EXPECT_NE(mine.out.find("\n# count = 100\n"), std::string::npos) << mine.out;
    EXPECT_NE(mine.out.find("\n# kernel = auto\n"), std::string::npos) << mine.out;
    EXPECT_NE(mine.out.find("\n# threads = <T>\n"), std::string::npos) << mine.out;
    EXPECT_NE(mine.out.find("\n# quiet = true\n"), std::string::npos) << mine.out;
#ifdef SHAREGATE_SERVER_BINARY
    const Finished server = run(SHAREGATE_SERVER_BINARY, {"--print-options=config"});
    EXPECT_NE(server.out.find("\n# port = 9192\n"), std::string::npos) << server.out;
    EXPECT_NE(server.out.find("\n# verifier = auto\n"), std::string::npos) << server.out;
    EXPECT_NE(server.out.find("\n# max-submits-per-s = 100\n"), std::string::npos) << server.out;
    EXPECT_NE(server.out.find("\n# opencl-platform = <N>\n"), std::string::npos) << server.out;
    EXPECT_NE(server.out.find("REQUIRED: sharegate does not start without it; set it and remove the '#'.\n"
                              "# pool-address = <ADDR>\n"),
              std::string::npos)
        << server.out;
    // Which backends a build has is no part of the reference: it is the same from every build.
    EXPECT_EQ(server.out.find("not in this build"), std::string::npos) << server.out;
#endif
}

// sharegate-mine writes one share a line: --count from the file, then from the command
// line. Easy shares (64 hashes each) on the command line, so that a file that went unread
// fails fast rather than mining 100 hard ones.
TEST(ConfigFile, MineTakesTheFileUnderTheCommandLine) {
    const TempFile config("mine.conf",
                          "# three shares, without progress lines\n"
                          "count = 3\n"
                          "quiet\n");
    const std::vector<std::string> easy = {"--max-target-bits", "250", "--threads", "1", "--config", config.path()};
    const Finished from_file = run(SHAREGATE_MINE_BINARY, easy);
    ASSERT_EQ(from_file.status, 0) << from_file.err;
    EXPECT_EQ(lines(from_file.out), 3u) << from_file.out;
    EXPECT_EQ(from_file.err, "");  // quiet, from the file
    std::vector<std::string> overriding = easy;
    overriding.insert(overriding.end(), {"--count", "2"});
    const Finished overridden = run(SHAREGATE_MINE_BINARY, overriding);
    ASSERT_EQ(overridden.status, 0) << overridden.err;
    EXPECT_EQ(lines(overridden.out), 2u) << overridden.out;
}

// sharegate-bench reports the run's size in its JSON.
TEST(ConfigFile, BenchTakesTheFileUnderTheCommandLine) {
    const TempFile config("bench.conf",
                          "backend = cpu-scalar\n"
                          "shares = 2048\n"
                          "batch = 512  # four calls a run\n"
                          "runs = 1\n"
                          "threads = 1\n"
                          "json = true\n");
    const Finished from_file = run(SHAREGATE_BENCH_BINARY, {"--config", config.path()});
    ASSERT_EQ(from_file.status, 0) << from_file.err;
    EXPECT_EQ(count_of(from_file.out, "\"backend\":\"cpu-scalar\""), 1u) << from_file.out;
    EXPECT_EQ(count_of(from_file.out, "\"shares\":2048,\"batch\":512,\"runs\":1"), 1u) << from_file.out;
    const Finished overridden = run(SHAREGATE_BENCH_BINARY, {"--config", config.path(), "--shares=1024"});
    ASSERT_EQ(overridden.status, 0) << overridden.err;
    EXPECT_EQ(count_of(overridden.out, "\"shares\":1024,\"batch\":512,\"runs\":1"), 1u) << overridden.out;
}

TEST(ConfigFile, BadValueInTheFileNamesTheFileAndTheOption) {
    const TempFile config("bad.conf", "runs = many\n");
    const Finished r = run(SHAREGATE_BENCH_BINARY, {"--config", config.path()});
    EXPECT_EQ(r.status, 2) << r.err;
    EXPECT_TRUE(r.err.starts_with("sharegate-bench: " + config.path() + ": --runs: ")) << r.err;
    EXPECT_EQ(lines(r.err), 1u) << r.err;
}

#ifdef SHAREGATE_SERVER_BINARY
// Without a server to talk to, the load generator's first use of the options is reading
// the corpus; its refusal names the file it was given.
TEST(ConfigFile, LoadgenTakesTheFileUnderTheCommandLine) {
    const TempFile config("loadgen.conf",
                          "target = 127.0.0.1:1\n"
                          "workload = valid=50,stale=50\n"
                          "corpus = /nonexistent/from-file.jsonl\n");
    const Finished from_file = run(SHAREGATE_LOADGEN_BINARY, {"--config", config.path(), "--quiet"});
    EXPECT_EQ(from_file.status, 2) << from_file.err;
    EXPECT_EQ(from_file.err, "sharegate-loadgen: --corpus: cannot read /nonexistent/from-file.jsonl\n");
    const Finished overridden =
        run(SHAREGATE_LOADGEN_BINARY, {"--config", config.path(), "--corpus", "/nonexistent/from-command-line.jsonl"});
    EXPECT_EQ(overridden.status, 2) << overridden.err;
    EXPECT_EQ(overridden.err, "sharegate-loadgen: --corpus: cannot read /nonexistent/from-command-line.jsonl\n");
}

// The server binds before it does anything else with the network; an address that is no
// address stops it there, with the address in its log (spdlog writes to stdout).
TEST(ConfigFile, ServerTakesTheFileUnderTheCommandLine) {
    const TempFile config("server.conf",
                          "pool-address = 0x1b7bfB694eE51913c347971c7090a74AEFbd41f6\n"
                          "verifier = cpu\n"
                          "redis = 127.0.0.1:1\n"
                          "spool-dir = off\n"
                          "bind = 256.0.0.1\n");
    const Finished from_file = run(SHAREGATE_SERVER_BINARY, {"--config", config.path()});
    EXPECT_NE(from_file.status, 0);
    const std::string from_file_text = from_file.out + from_file.err;
    EXPECT_NE(from_file_text.find("--bind 256.0.0.1"), std::string::npos) << from_file_text;
    const Finished overridden = run(SHAREGATE_SERVER_BINARY, {"--config", config.path(), "--bind", "256.0.0.2"});
    EXPECT_NE(overridden.status, 0);
    const std::string overridden_text = overridden.out + overridden.err;
    EXPECT_NE(overridden_text.find("--bind 256.0.0.2"), std::string::npos) << overridden_text;
    EXPECT_EQ(overridden_text.find("256.0.0.1"), std::string::npos) << overridden_text;
}

// Every defense option's bad value stops the real binary before it does anything: exit
// status 2 and one line on stderr naming the option (docs/operations.md).
TEST(ServerOptions, DefenseOptionsRefuseBadValuesWithExitTwo) {
    const std::vector<std::pair<std::string, std::string>> bad = {
        {"--max-connections-per-address", "0"},
        {"--max-connections", "-1"},
        {"--allow", "10.0.0.1/8"},
        {"--subscribe-timeout-s", "0"},
        {"--max-submits-per-s", "x"},
        {"--submit-burst", "0"},
        {"--ban-window-s", "1"},
        {"--ban-min-shares", "0"},
        {"--ban-invalid-percent", "101"},
        {"--ban-junk-lines", "0"},
        {"--ban-times", "600,,3600"},
        {"--ban-grace-s", "-1"},
        {"--max-tracked-addresses", "1"},
        {"--max-queued-shares", "0"},
        {"--proxy", "10.0.0.0"},
        {"--max-shares-per-challenge", "10"},
        {"--spool-dir", ""},
        {"--spool-max-bytes", "1000"},
        {"--spool-fsync", "always"},
        {"--redis-bound-ms", "0"},
        {"--getwork-port", "65536"},
        {"--getwork-max-body-bytes", "100"},
        {"--getwork-max-batch", "0"},
        {"--getwork-request-timeout-s", "0"},
        {"--getwork-idle-timeout-s", "x"},
        {"--allow-custom-vardiff", "yes"},
    };
    for (const auto& [option, value] : bad) {
        const Finished r = run(SHAREGATE_SERVER_BINARY,
                               {"--pool-address", "0x1b7bfB694eE51913c347971c7090a74AEFbd41f6", option, value});
        EXPECT_EQ(r.status, 2) << option << " " << value << ": " << r.err;
        EXPECT_EQ(lines(r.err), 1u) << r.err;
        EXPECT_TRUE(r.err.starts_with("sharegate: ")) << r.err;
        EXPECT_NE(r.err.find(option), std::string::npos) << r.err;
        EXPECT_EQ(r.out, "") << option;
    }
    // The two doors on one port.
    const Finished same = run(SHAREGATE_SERVER_BINARY, {"--pool-address", "0x1b7bfB694eE51913c347971c7090a74AEFbd41f6",
                                                        "--port", "9000", "--getwork-port", "9000"});
    EXPECT_EQ(same.status, 2) << same.err;
    EXPECT_EQ(same.err, "sharegate: --getwork-port must differ from --port (both are 9000)\n");
}
#endif

}  // namespace
