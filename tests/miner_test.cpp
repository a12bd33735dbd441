// The mining kernels against a plain scan with the reference Keccak, the shares they
// find against the scalar verifier, and the sharegate-mine binary end to end.
#include "miner.hpp"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "kernel_list.hpp"
#include "sharegate/verifier.hpp"
#include "test_util.hpp"

namespace sharegate_test {
namespace {

using sharegate::cpu::Found;
using sharegate::cpu::MiningJob;
using sharegate::cpu::MiningKernel;

std::vector<MiningKernel> available_kernels() {
    std::vector<MiningKernel> kernels;
    for (const sharegate::cpu::CpuKernel& kernel : sharegate::cpu::cpu_kernels()) {
        if (sharegate::cpu::mining_kernel_available(&kernel)) kernels.push_back(&kernel);
    }
    return kernels;
}

// The nonce layout written out independently of mining_nonce: prefix, then the counter
// big-endian.
Bytes32 reference_nonce(const std::array<std::uint8_t, 24>& prefix, std::uint64_t counter) {
    Bytes32 nonce{};
    for (std::size_t i = 0; i < 24; ++i) nonce[i] = prefix[i];
    for (std::size_t i = 0; i < 8; ++i) nonce[31 - i] = static_cast<std::uint8_t>(counter >> (8 * i));
    return nonce;
}

// Every share of the range, by the reference Keccak and U256 comparison.
std::vector<Found> reference_scan(const MiningJob& job, std::uint64_t first, std::size_t count) {
    std::vector<Found> found;
    for (std::size_t i = 0; i < count; ++i) {
        const std::uint64_t counter = first + i;
        const Bytes32 nonce = reference_nonce(job.nonce_prefix, counter);
        const Bytes32 digest = sharegate::share_digest(job.challenge, job.pool, nonce);
        if (U256::from_be_bytes(digest) < job.target) found.push_back(Found{counter, nonce, digest});
    }
    return found;
}

MiningJob random_job(Rng& rng, const U256& target) {
    MiningJob job;
    job.challenge = rng.bytes<32>();
    job.pool = rng.bytes<20>();
    job.nonce_prefix = rng.bytes<24>();
    job.target = target;
    return job;
}

std::string describe(const std::vector<Found>& shares) {
    std::string text;
    for (const Found& share : shares) {
        // Two appends rather than " " + to_string(): GCC 12 reports the latter as an
        // overlapping memcpy (-Wrestrict, GCC bug 105329).
        text += ' ';
        text += std::to_string(share.counter);
    }
    return text.empty() ? " (none)" : text;
}

// Runs the kernel and compares with the reference scan, share by share.
void expect_same_as_reference(MiningKernel kernel, const MiningJob& job, std::uint64_t first, std::size_t count) {
    SCOPED_TRACE(std::string("kernel ") + sharegate::cpu::to_string(kernel) + ", counters from " +
                 std::to_string(first) + ", count " + std::to_string(count) + ", target " + job.target.to_hex());
    const std::vector<Found> expected = reference_scan(job, first, count);
    // A share already in the vector must stay: kernels append.
    const Found sentinel{0x5eed, Bytes32{1}, Bytes32{2}};
    std::vector<Found> got{sentinel};
    const std::size_t appended = sharegate::cpu::mining_function(kernel)(job, first, count, got);
    ASSERT_FALSE(got.empty());
    EXPECT_EQ(got.front().counter, sentinel.counter);
    EXPECT_EQ(got.front().nonce, sentinel.nonce);
    got.erase(got.begin());
    EXPECT_EQ(appended, got.size());
    ASSERT_EQ(got.size(), expected.size()) << "found" << describe(got) << "\nexpected" << describe(expected);
    for (std::size_t i = 0; i < got.size(); ++i) {
        EXPECT_EQ(got[i].counter, expected[i].counter) << "share " << i;
        EXPECT_EQ(got[i].nonce, expected[i].nonce) << "share " << i;
        EXPECT_EQ(got[i].digest, expected[i].digest) << "share " << i;
    }
}

// Ragged counts around the SIMD widths, and ranges across the 32-bit boundary between
// the counter's halves (they land in different Keccak lanes) and across 2^64.
const std::pair<std::uint64_t, std::size_t> kRanges[] = {
    {0, 0},
    {0, 1},
    {0, 3},
    {5, 7},
    {1, 9},
    {0, 13},
    {11, 17},
    {100, 1003},
    {0xffffffffULL - 150, 301},
    {0x12345678ffffff00ULL, 517},
    {~0ULL - 60, 123},
};

TEST(MinerTest, KernelsFindExactlyTheReferenceShares) {
    Rng rng(0x6d696e65);
    // About one hash in 64, one in 192 (a target with every limb non-zero), and one in
    // two (most hashes pass the top-limb filter).
    const U256 targets[] = {sharegate::share_target(250, 1), sharegate::share_target(250, 3),
                            sharegate::share_target(255, 1)};
    for (const U256& target : targets) {
        const MiningJob job = random_job(rng, target);
        for (const MiningKernel kernel : available_kernels()) {
            for (const auto& [first, count] : kRanges) expect_same_as_reference(kernel, job, first, count);
        }
    }
}

TEST(MinerTest, TargetEqualToADigestExcludesIt) {
    // A target whose top limb equals a digest's: only the exact comparison after the
    // kernels' top-limb filter tells the share apart, and digest == target is no share.
    Rng rng(0x7461726765);
    MiningJob job = random_job(rng, U256{});
    const std::uint64_t counter = 0x1000000ffULL;
    const U256 digest = U256::from_be_bytes(
        sharegate::share_digest(job.challenge, job.pool, reference_nonce(job.nonce_prefix, counter)));
    for (const U256& target : {digest, add_u64(digest, 1), sub_u64(digest, 1)}) {
        job.target = target;
        for (const MiningKernel kernel : available_kernels()) expect_same_as_reference(kernel, job, counter - 20, 41);
    }
}

TEST(MinerTest, FoundSharesAreAcceptedByTheScalarVerifier) {
    Rng rng(0x766572);
    const U256 target = sharegate::share_target(250, 1);
    const MiningJob job = random_job(rng, target);
    auto made = sharegate::make_verifier("cpu-scalar");
    ASSERT_TRUE(made) << made.error;
    for (const MiningKernel kernel : available_kernels()) {
        SCOPED_TRACE(sharegate::cpu::to_string(kernel));
        std::vector<Found> found;
        sharegate::cpu::mining_function(kernel)(job, 0xfffff000ULL, 20000, found);
        // About 312 expected; far fewer means the filter drops shares.
        ASSERT_GT(found.size(), 150u);
        ShareBatch batch(job.challenge, Address(job.pool));
        for (const Found& share : found) batch.add(share.nonce, U256::from_be_bytes(share.digest), target);
        // A control: the same share with its digest off by one must be refused.
        batch.add(found[0].nonce, add_u64(U256::from_be_bytes(found[0].digest), 1), target);
        std::vector<Verdict> verdicts(batch.size(), kNoVerdict);
        made.verifier->verify(batch, verdicts);
        for (std::size_t i = 0; i < found.size(); ++i) {
            EXPECT_EQ(verdicts[i], Verdict::accepted) << "share " << i << " counter " << found[i].counter;
        }
        EXPECT_EQ(verdicts.back(), Verdict::invalid_digest);
    }
}

TEST(MinerTest, DispatchAndNames) {
    EXPECT_TRUE(sharegate::cpu::mining_kernel_available(sharegate::cpu::find_kernel("scalar")));
    EXPECT_TRUE(sharegate::cpu::mining_kernel_available(sharegate::cpu::best_mining_kernel()));
    for (const sharegate::cpu::CpuKernel& entry : sharegate::cpu::cpu_kernels()) {
        const MiningKernel kernel = &entry;
        EXPECT_EQ(sharegate::cpu::parse_mining_kernel(sharegate::cpu::to_string(kernel)), kernel);
    }
    EXPECT_FALSE(sharegate::cpu::parse_mining_kernel("avx"));
    EXPECT_FALSE(sharegate::cpu::parse_mining_kernel(""));
    std::array<std::uint8_t, 24> prefix{};
    for (std::size_t i = 0; i < prefix.size(); ++i) prefix[i] = static_cast<std::uint8_t>(i * 7 + 1);
    for (const std::uint64_t counter : {0ULL, 1ULL, 0xffffffffULL, 0x0102030405060708ULL, ~0ULL}) {
        EXPECT_EQ(sharegate::cpu::mining_nonce(prefix, counter), reference_nonce(prefix, counter));
    }
}

// ---- the sharegate-mine binary ----

// One line of the corpus: a flat JSON object of string values, keys in file order.
// Strict on purpose: anything unexpected is a failure, not something to skip.
std::optional<std::vector<std::pair<std::string, std::string>>> parse_flat_object(std::string_view line) {
    std::size_t at = 0;
    auto skip_space = [&] {
        while (at < line.size() && (line[at] == ' ' || line[at] == '\t' || line[at] == '\r')) ++at;
    };
    auto expect = [&](char c) {
        skip_space();
        if (at >= line.size() || line[at] != c) return false;
        ++at;
        return true;
    };
    // The corpus's strings are hex: no escapes are needed, so none are accepted.
    auto string = [&]() -> std::optional<std::string> {
        if (!expect('"')) return std::nullopt;
        const std::size_t end = line.find('"', at);
        if (end == std::string_view::npos) return std::nullopt;
        std::string text(line.substr(at, end - at));
        if (text.find('\\') != std::string::npos) return std::nullopt;
        at = end + 1;
        return text;
    };
    std::vector<std::pair<std::string, std::string>> fields;
    if (!expect('{')) return std::nullopt;
    skip_space();
    if (at < line.size() && line[at] == '}') {
        ++at;
    } else {
        for (;;) {
            auto key = string();
            if (!key || !expect(':')) return std::nullopt;
            auto value = string();
            if (!value) return std::nullopt;
            fields.emplace_back(std::move(*key), std::move(*value));
            skip_space();
            if (at < line.size() && line[at] == ',') {
                ++at;
                continue;
            }
            if (!expect('}')) return std::nullopt;
            break;
        }
    }
    skip_space();
    if (at != line.size()) return std::nullopt;
    return fields;
}

TEST(MinerTest, ParserRefusesMalformedLines) {
    EXPECT_TRUE(parse_flat_object(R"({"a":"b", "c" : "d"})"));
    EXPECT_FALSE(parse_flat_object(R"({"a":"b",})"));
    EXPECT_FALSE(parse_flat_object(R"({"a":1})"));
    EXPECT_FALSE(parse_flat_object(R"({"a":"b"} x)"));
    EXPECT_FALSE(parse_flat_object(R"({"a":"b")"));
    EXPECT_FALSE(parse_flat_object(R"({"a":"b\"c"})"));
}

class TempFile {
public:
    explicit TempFile(const std::string& name)
        : path_(std::filesystem::temp_directory_path() /
                ("sharegate_miner_test_" + std::to_string(::getpid()) + "_" + name)) {
        std::filesystem::remove(path_);
    }
    ~TempFile() {
        std::error_code ignored;
        std::filesystem::remove(path_, ignored);
    }
    TempFile(const TempFile&) = delete;
    TempFile& operator=(const TempFile&) = delete;
    const std::filesystem::path& path() const { return path_; }

private:
    std::filesystem::path path_;
};

// Runs sharegate-mine with the arguments (no shell metacharacters in them) and returns
// its exit status, or -1 if it did not exit normally.
int run_miner(const std::string& arguments, const std::filesystem::path& stdout_path) {
    const std::string command =
        std::string("'") + SHAREGATE_MINE_BINARY + "' " + arguments + " > '" + stdout_path.string() + "' 2>/dev/null";
    const int status = std::system(command.c_str());
    if (status == -1 || !WIFEXITED(status)) return -1;
    return WEXITSTATUS(status);
}

std::vector<std::string> read_lines(const std::filesystem::path& path) {
    std::ifstream in(path);
    std::vector<std::string> lines;
    for (std::string line; std::getline(in, line);) lines.push_back(line);
    return lines;
}

std::string lower(std::string text) {
    for (char& c : text) {
        if (c >= 'A' && c <= 'F') c = static_cast<char>(c - 'A' + 'a');
    }
    return text;
}

TEST(MinerBinaryTest, MinesValidSharesInTheVectorFormat) {
    Rng rng(0x62696e);
    const Bytes32 challenge = rng.bytes<32>();
    const Address pool(rng.bytes<20>());
    const TempFile output("shares.jsonl");
    const TempFile stdout_file("stdout.txt");
    constexpr std::size_t kCount = 20;
    // The pool in lower case, one of the forms the option accepts.
    const std::string arguments = "--challenge " + sharegate::to_hex(challenge) + " --pool " + pool.normalized() +
                                  " --max-target-bits 250 --count " + std::to_string(kCount) +
                                  " --threads 2 --quiet --output '" + output.path().string() + "'";
    ASSERT_EQ(run_miner(arguments, stdout_file.path()), 0) << arguments;
    EXPECT_TRUE(read_lines(stdout_file.path()).empty()) << "shares went to stdout as well as --output";

    const std::vector<std::string> lines = read_lines(output.path());
    ASSERT_EQ(lines.size(), kCount);
    const U256 target = sharegate::share_target(250, 1);
    std::set<Bytes32> nonces;
    for (const std::string& line : lines) {
        SCOPED_TRACE(line);
        const auto fields = parse_flat_object(line);
        ASSERT_TRUE(fields) << "not a flat JSON object of strings";
        // valid_d1.jsonl's fields, in its order.
        ASSERT_EQ(fields->size(), 4u);
        EXPECT_EQ((*fields)[0].first, "challenge");
        EXPECT_EQ((*fields)[1].first, "pool");
        EXPECT_EQ((*fields)[2].first, "nonce");
        EXPECT_EQ((*fields)[3].first, "digest");
        EXPECT_EQ((*fields)[0].second, sharegate::to_hex(challenge));
        EXPECT_EQ((*fields)[1].second, pool.checksummed());
        const auto parsed_pool = Address::parse((*fields)[1].second);
        const auto nonce = sharegate::parse_hex32((*fields)[2].second);
        const auto digest = sharegate::parse_hex32((*fields)[3].second);
        ASSERT_TRUE(parsed_pool && nonce && digest);
        EXPECT_EQ((*fields)[2].second, lower((*fields)[2].second));
        EXPECT_EQ((*fields)[3].second, lower((*fields)[3].second));
        EXPECT_EQ(*digest, sharegate::share_digest(challenge, parsed_pool->bytes(), *nonce));
        EXPECT_LT(U256::from_be_bytes(*digest), target);
        EXPECT_TRUE(nonces.insert(*nonce).second) << "nonce written twice";
    }
}

TEST(MinerBinaryTest, OneThreadAndASeedRepeatTheRun) {
    const TempFile first("seed_a.jsonl");
    const TempFile second("seed_b.jsonl");
    const TempFile other("seed_c.jsonl");
    const std::string common = " --max-target-bits 250 --count 5 --threads 1 --quiet";
    ASSERT_EQ(run_miner("--seed 99" + common, first.path()), 0);
    ASSERT_EQ(run_miner("--seed 99" + common, second.path()), 0);
    ASSERT_EQ(run_miner("--seed 100" + common, other.path()), 0);
    const auto lines = read_lines(first.path());
    ASSERT_EQ(lines.size(), 5u);
    EXPECT_EQ(lines, read_lines(second.path()));
    EXPECT_NE(lines, read_lines(other.path()));
}

TEST(MinerBinaryTest, BadOptionsExitTwo) {
    const TempFile stdout_file("bad.txt");
    for (const char* arguments :
         {"--count 0", "--count x", "--difficulty 0", "--max-target-bits 0", "--max-target-bits 256",
          "--challenge 0x1234", "--pool 0x1234", "--pool 0x1b7bfB694eE51913c347971c7090a74AEFbd41F6", "--kernel avx",
          "--threads 0", "--benchmark 0", "--frobnicate", "--count", "--max-target-bits 8 --difficulty 257"}) {
        EXPECT_EQ(run_miner(arguments, stdout_file.path()), 2) << arguments;
        EXPECT_TRUE(read_lines(stdout_file.path()).empty()) << arguments;
    }
}

}  // namespace
}  // namespace sharegate_test
