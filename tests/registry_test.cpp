#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <ostream>
#include <set>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

#include "kernel_list.hpp"
#include "sharegate/backend_list.hpp"
#include "sharegate/self_test.hpp"
#include "sharegate/verifier.hpp"
#include "test_util.hpp"

namespace sharegate {

// So that gtest names a refusal in failure messages.
inline void PrintTo(Refusal refusal, std::ostream* os) { *os << to_string(refusal); }

}  // namespace sharegate

namespace sharegate_test {
namespace {

using sharegate::make_verifier;
using sharegate::Refusal;
using sharegate::VerifierOptions;
using sharegate::cpu::cpu_has_avx2;
using sharegate::cpu::cpu_has_avx512;

bool starts_with(const std::string& text, const std::string& prefix) { return text.rfind(prefix, 0) == 0; }

TEST(RegistryTest, NameListsAreReadFromTheBackendList) {
    std::vector<std::string> all;
    std::vector<std::string> concrete;
    for (const auto& entry : sharegate::backend_list()) {
        all.push_back(entry.name);
        if (!entry.alias) concrete.push_back(entry.name);
    }
    EXPECT_EQ(sharegate::verifier_names(), all);
    EXPECT_EQ(sharegate::backend_names(), concrete);
    // Every CPU kernel is a backend, and the aliases are no backend.
    for (const auto& kernel : sharegate::cpu::cpu_kernels()) {
        const std::string name = "cpu-" + std::string(kernel.name);
        EXPECT_NE(std::find(concrete.begin(), concrete.end(), name), concrete.end()) << name;
    }
    for (const std::string alias : {"auto", "cpu"}) {
        ASSERT_NE(sharegate::find_backend(alias), nullptr) << alias;
        EXPECT_TRUE(sharegate::find_backend(alias)->alias) << alias;
    }
}

TEST(BackendListTest, EveryEntryIsWhole) {
    const auto list = sharegate::backend_list();
    ASSERT_FALSE(list.empty());
    const std::string help = sharegate::verifier_help("  ");
    std::set<std::string> names;
    for (const auto& entry : list) {
        SCOPED_TRACE(entry.name);
        EXPECT_FALSE(entry.name.empty());
        EXPECT_TRUE(names.insert(entry.name).second) << "a second entry named " << entry.name;
        EXPECT_FALSE(entry.description.empty());
        EXPECT_EQ(entry.description.find('\n'), std::string::npos) << entry.description;
        EXPECT_TRUE(entry.make != nullptr);
        // Its own line of the help text: indent, name, then its description.
        EXPECT_NE(help.find("  " + entry.name + " "), std::string::npos) << help;
        EXPECT_NE(help.find(entry.description), std::string::npos) << help;
        // Lookup by its name gives this very entry.
        EXPECT_EQ(sharegate::find_backend(entry.name), &entry);
    }
    EXPECT_EQ(sharegate::find_backend("no-such-backend"), nullptr);
    EXPECT_EQ(static_cast<std::size_t>(std::count(help.begin(), help.end(), '\n')), list.size()) << help;
}

TEST(BackendListTest, AutoTriesGpusBeforeTheCpu) {
    std::vector<const sharegate::BackendEntry*> ranked;
    for (const auto& entry : sharegate::backend_list()) {
        if (entry.auto_rank != 0) ranked.push_back(&entry);
    }
    std::sort(ranked.begin(), ranked.end(), [](auto* a, auto* b) { return a->auto_rank < b->auto_rank; });
    ASSERT_FALSE(ranked.empty());
    // The last resort must be one that every machine has.
    EXPECT_EQ(ranked.back()->name, "cpu");
    EXPECT_EQ(sharegate::find_backend("auto")->auto_rank, 0u) << "auto must not try itself";
    std::string order;
    for (const auto* entry : ranked) order += (order.empty() ? "" : ", ") + entry->name;
    EXPECT_NE(sharegate::find_backend("auto")->description.find(order), std::string::npos)
        << sharegate::find_backend("auto")->description;
}

TEST(BackendListTest, AnEntryNotBuiltRefusesAsUnavailable) {
    for (const auto& entry : sharegate::backend_list()) {
        if (entry.built) continue;
        const auto result = make_verifier(entry.name);
        EXPECT_FALSE(result) << entry.name;
        EXPECT_EQ(result.refusal, Refusal::unavailable) << result.error;
        EXPECT_TRUE(starts_with(result.error, entry.name + ": this build has no")) << result.error;
    }
}

TEST(CpuKernelListTest, EveryKernelIsWholeAndFoundByName) {
    const auto kernels = sharegate::cpu::cpu_kernels();
    ASSERT_FALSE(kernels.empty());
    EXPECT_TRUE(kernels.front().supported()) << "the first kernel must run on any CPU";
    const std::string help = sharegate::cpu::kernel_help("  ");
    const auto names = sharegate::cpu::kernel_names();
    ASSERT_EQ(names.size(), kernels.size());
    std::set<std::string> seen;
    for (std::size_t i = 0; i < kernels.size(); ++i) {
        const auto& kernel = kernels[i];
        SCOPED_TRACE(std::string(kernel.name));
        EXPECT_EQ(names[i], kernel.name);
        EXPECT_TRUE(seen.insert(std::string(kernel.name)).second);
        EXPECT_FALSE(kernel.description.empty());
        EXPECT_TRUE(kernel.supported != nullptr && kernel.verify != nullptr && kernel.mine != nullptr);
        EXPECT_EQ(sharegate::cpu::find_kernel(kernel.name), &kernel);
        EXPECT_NE(help.find("  " + std::string(kernel.name) + " "), std::string::npos) << help;
        // A kernel some CPUs lack says what they lack; the backend's refusal quotes it.
        if (!kernel.supported()) {
            EXPECT_FALSE(kernel.requirement.empty());
            const auto refused = make_verifier("cpu-" + std::string(kernel.name));
            EXPECT_EQ(refused.error,
                      "cpu-" + std::string(kernel.name) + ": this CPU lacks " + std::string(kernel.requirement));
        }
    }
    EXPECT_EQ(sharegate::cpu::find_kernel("avx"), nullptr);
    EXPECT_TRUE(sharegate::cpu::best_kernel().supported());
}

TEST(RegistryTest, UnknownNameNamesTheChoices) {
    for (const std::string name : {"gpu", "", "CPU", "cpu-avx", "cpu-avx512 ", "cpu-", "autox", "cuda0"}) {
        const auto result = make_verifier(name);
        EXPECT_FALSE(result) << "'" << name << "'";
        EXPECT_EQ(result.verifier, nullptr);
        // Neither a missing backend (a test would skip it) nor a broken one.
        EXPECT_EQ(result.refusal, Refusal::unknown) << "'" << name << "': " << result.error;
        if (!name.empty()) {
            EXPECT_NE(result.error.find(name), std::string::npos) << result.error;
        }
        for (const auto& choice : sharegate::verifier_names()) {
            EXPECT_NE(result.error.find(choice), std::string::npos) << "'" << name << "': " << result.error;
        }
    }
}

TEST(RegistryTest, ScalarIsAlwaysAvailable) {
    const auto result = make_verifier("cpu-scalar");
    ASSERT_TRUE(result) << result.error;
    EXPECT_TRUE(result.error.empty()) << result.error;
    EXPECT_EQ(result.refusal, Refusal::none);
    EXPECT_EQ(result.verifier->name(), "cpu-scalar");
    EXPECT_FALSE(result.verifier->description().empty());
}

TEST(RegistryTest, FeatureDetectionAgreesWithTheCompiler) {
#if defined(__x86_64__) || defined(__i386__)
    // GCC and Clang also check that the OS saves the wide registers.
    EXPECT_EQ(cpu_has_avx2(), __builtin_cpu_supports("avx2") != 0);
    EXPECT_EQ(cpu_has_avx512(), __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl") &&
                                    __builtin_cpu_supports("avx512bw"));
#else
    EXPECT_FALSE(cpu_has_avx2());
    EXPECT_FALSE(cpu_has_avx512());
#endif
}

TEST(RegistryTest, Avx512IsMadeExactlyWhenTheCpuHasIt) {
    const auto result = make_verifier("cpu-avx512");
    if (cpu_has_avx512()) {
        ASSERT_TRUE(result) << result.error;
        EXPECT_EQ(result.verifier->name(), "cpu-avx512");
        EXPECT_EQ(result.error.find("lacks AVX-512"), std::string::npos);
    } else {
        EXPECT_FALSE(result);
        EXPECT_EQ(result.refusal, Refusal::unavailable) << result.error;
        EXPECT_TRUE(starts_with(result.error, "cpu-avx512:")) << result.error;
        EXPECT_NE(result.error.find("lacks AVX-512"), std::string::npos) << result.error;
    }
}

TEST(RegistryTest, Avx2IsMadeExactlyWhenTheCpuHasIt) {
    const auto result = make_verifier("cpu-avx2");
    if (cpu_has_avx2()) {
        ASSERT_TRUE(result) << result.error;
        EXPECT_EQ(result.verifier->name(), "cpu-avx2");
    } else {
        EXPECT_FALSE(result);
        EXPECT_EQ(result.refusal, Refusal::unavailable) << result.error;
        EXPECT_TRUE(starts_with(result.error, "cpu-avx2:")) << result.error;
    }
}

TEST(RegistryTest, CpuPicksTheWidestKernel) {
    const auto result = make_verifier("cpu");
    ASSERT_TRUE(result) << result.error;
    const std::string expected = cpu_has_avx512() ? "cpu-avx512" : cpu_has_avx2() ? "cpu-avx2" : "cpu-scalar";
    EXPECT_EQ(result.verifier->name(), expected);
}

TEST(RegistryTest, AutoGivesAConcreteBackend) {
    const auto result = make_verifier("auto");
    ASSERT_TRUE(result) << result.error;
    const auto backends = sharegate::backend_names();
    const std::string name(result.verifier->name());
    EXPECT_NE(std::find(backends.begin(), backends.end(), name), backends.end()) << name;
    EXPECT_TRUE(result.error.empty()) << result.error;
    EXPECT_EQ(result.refusal, Refusal::none);
    if (!SHAREGATE_TEST_HAVE_CUDA && !SHAREGATE_TEST_HAVE_OPENCL) {
        EXPECT_EQ(name, make_verifier("cpu").verifier->name());
        // Why the GPUs were passed over is kept for the log.
        EXPECT_NE(result.note.find("cuda:"), std::string::npos) << result.note;
        EXPECT_NE(result.note.find("opencl:"), std::string::npos) << result.note;
    }
}

// A GPU backend is either made or refused as unavailable, with a reason: a refusal as
// `failed` means a driver, device or kernel that is there but broken, and fails here.
TEST(RegistryTest, GpuBackendsExplainTheirAbsence) {
    const auto cuda = make_verifier("cuda");
    if (!SHAREGATE_TEST_HAVE_CUDA) {
        EXPECT_FALSE(cuda) << "this build has no CUDA backend";
        EXPECT_NE(cuda.error.find("no CUDA support"), std::string::npos) << cuda.error;
    }
    if (!cuda) {
        EXPECT_TRUE(starts_with(cuda.error, "cuda:")) << cuda.error;
        EXPECT_EQ(cuda.refusal, Refusal::unavailable) << cuda.error;
    }
    const auto opencl = make_verifier("opencl");
    if (!SHAREGATE_TEST_HAVE_OPENCL) {
        EXPECT_FALSE(opencl) << "this build has no OpenCL backend";
        EXPECT_NE(opencl.error.find("no OpenCL support"), std::string::npos) << opencl.error;
    }
    if (!opencl) {
        EXPECT_TRUE(starts_with(opencl.error, "opencl:")) << opencl.error;
        EXPECT_EQ(opencl.refusal, Refusal::unavailable) << opencl.error;
    }
}

TEST(RegistryTest, RefusalsHaveNames) {
    EXPECT_EQ(sharegate::to_string(Refusal::none), "none");
    EXPECT_EQ(sharegate::to_string(Refusal::unavailable), "unavailable");
    EXPECT_EQ(sharegate::to_string(Refusal::failed), "failed");
    EXPECT_EQ(sharegate::to_string(Refusal::unknown), "unknown");
    EXPECT_EQ(sharegate::VerifierResult::unavailable("x").refusal, Refusal::unavailable);
    EXPECT_EQ(sharegate::VerifierResult::failed("y").refusal, Refusal::failed);
}

TEST(RegistryTest, HonoursThreadOptions) {
    for (unsigned threads : {1u, 2u, 7u}) {
        const auto result =
            make_verifier("cpu-scalar", VerifierOptions{.threads = threads, .min_shares_per_thread = 1});
        ASSERT_TRUE(result) << result.error;
        EXPECT_NE(result.verifier->description().find(std::to_string(threads)), std::string::npos)
            << result.verifier->description();
    }
}

TEST(KnownAnswerBatchTest, AgreesWithTheTestReference) {
    const auto kat = sharegate::known_answer_batch();
    const ShareBatch& batch = kat.batch;
    ASSERT_EQ(kat.expected.size(), batch.size());
    // Long enough for two 8-wide groups and not a multiple of 8, so that tails run.
    EXPECT_GT(batch.size(), 16u);
    EXPECT_NE(batch.size() % 8, 0u);
    std::set<Verdict> seen;
    for (std::size_t i = 0; i < batch.size(); ++i) {
        const U256 digest = true_digest(batch.challenge(), batch.pool().bytes(), batch.nonce(i));
        EXPECT_EQ(reference_verdict(digest, batch.claimed_digest(i), batch.target(i)), kat.expected[i])
            << "share " << i;
        seen.insert(kat.expected[i]);
    }
    EXPECT_EQ(seen.size(), 3u);
}

// A Verifier written here, correct unless told to make one mistake.
enum class Flaw {
    none,
    accepts_everything,
    writes_nothing,
    throws,
    accepts_digest_equal_to_target,
    ignores_top_digest_limb,
    skips_the_tail,
    hashes_without_the_pool,
    never_checks_the_digest,
    swaps_the_rejection_reasons,
    wrong_on_a_tail_of_five,  // like a SIMD kernel that mishandles one remainder length
};

std::string flaw_name(Flaw flaw) {
    switch (flaw) {
        case Flaw::none: return "none";
        case Flaw::accepts_everything: return "accepts_everything";
        case Flaw::writes_nothing: return "writes_nothing";
        case Flaw::throws: return "throws";
        case Flaw::accepts_digest_equal_to_target: return "accepts_digest_equal_to_target";
        case Flaw::ignores_top_digest_limb: return "ignores_top_digest_limb";
        case Flaw::skips_the_tail: return "skips_the_tail";
        case Flaw::hashes_without_the_pool: return "hashes_without_the_pool";
        case Flaw::never_checks_the_digest: return "never_checks_the_digest";
        case Flaw::swaps_the_rejection_reasons: return "swaps_the_rejection_reasons";
        case Flaw::wrong_on_a_tail_of_five: return "wrong_on_a_tail_of_five";
    }
    return "unknown";
}

class FlawedVerifier final : public sharegate::Verifier {
public:
    explicit FlawedVerifier(Flaw flaw) : flaw_(flaw) {}
    std::string_view name() const override { return "flawed-for-test"; }
    std::string description() const override { return "a verifier with a deliberate flaw"; }

private:
    void do_verify(const ShareBatch& batch, std::span<Verdict> verdicts) override {
        if (flaw_ == Flaw::throws) throw std::runtime_error("device lost");
        if (flaw_ == Flaw::writes_nothing) return;
        const std::size_t end = flaw_ == Flaw::skips_the_tail ? batch.size() / 8 * 8 : batch.size();
        for (std::size_t i = 0; i < end; ++i) {
            const Bytes20 pool = flaw_ == Flaw::hashes_without_the_pool ? Bytes20{} : batch.pool().bytes();
            const U256 digest = true_digest(batch.challenge(), pool, batch.nonce(i));
            const U256 claimed = batch.claimed_digest(i);
            const U256 target = batch.target(i);
            Verdict verdict = reference_verdict(digest, claimed, target);
            switch (flaw_) {
                case Flaw::accepts_everything: verdict = Verdict::accepted; break;
                case Flaw::accepts_digest_equal_to_target:
                    if (claimed == digest && claimed == target) verdict = Verdict::accepted;
                    break;
                case Flaw::ignores_top_digest_limb: {
                    U256 masked = claimed;
                    masked.limbs[3] = digest.limbs[3];
                    verdict = reference_verdict(digest, masked, target);
                    break;
                }
                case Flaw::never_checks_the_digest:
                    verdict = claimed < target ? Verdict::accepted : Verdict::target_not_met;
                    break;
                case Flaw::swaps_the_rejection_reasons:
                    if (verdict == Verdict::invalid_digest) {
                        verdict = Verdict::target_not_met;
                    } else if (verdict == Verdict::target_not_met) {
                        verdict = Verdict::invalid_digest;
                    }
                    break;
                default: break;
            }
            verdicts[i] = verdict;
        }
        if (flaw_ == Flaw::wrong_on_a_tail_of_five && batch.size() % 8 == 5)
            verdicts[batch.size() - 1] = Verdict::accepted;
    }

    Flaw flaw_;
};

TEST(SelfTestTest, PassesACorrectVerifier) {
    FlawedVerifier verifier(Flaw::none);
    EXPECT_EQ(sharegate::run_self_test(verifier), "");
}

class SelfTestFlawTest : public ::testing::TestWithParam<Flaw> {};

TEST_P(SelfTestFlawTest, CatchesTheFlaw) {
    FlawedVerifier verifier(GetParam());
    const std::string failure = sharegate::run_self_test(verifier);
    EXPECT_FALSE(failure.empty());
    EXPECT_NE(failure.find("flawed-for-test"), std::string::npos) << failure;
    if (GetParam() == Flaw::throws) {
        EXPECT_NE(failure.find("device lost"), std::string::npos) << failure;
    }
}

// What make_verifier() does with every backend it makes: a wrong answer is a `failed`
// refusal (never `unavailable`, which a test would turn into a skip), with the reason.
TEST_P(SelfTestFlawTest, SelfTestedRefusesItAsFailed) {
    const auto result = sharegate::self_tested(std::make_unique<FlawedVerifier>(GetParam()));
    EXPECT_FALSE(result);
    EXPECT_EQ(result.refusal, Refusal::failed) << result.error;
    EXPECT_NE(result.error.find("flawed-for-test: self-test failed"), std::string::npos) << result.error;
}

TEST(SelfTestTest, SelfTestedHandsBackACorrectVerifier) {
    const auto result = sharegate::self_tested(std::make_unique<FlawedVerifier>(Flaw::none));
    ASSERT_TRUE(result) << result.error;
    EXPECT_EQ(result.refusal, Refusal::none);
    EXPECT_EQ(result.verifier->name(), "flawed-for-test");
    const auto nothing = sharegate::self_tested(nullptr);
    EXPECT_FALSE(nothing);
    EXPECT_EQ(nothing.refusal, Refusal::failed);
    EXPECT_FALSE(nothing.error.empty());
}

INSTANTIATE_TEST_SUITE_P(Flaws, SelfTestFlawTest,
                         ::testing::Values(Flaw::accepts_everything, Flaw::writes_nothing, Flaw::throws,
                                           Flaw::accepts_digest_equal_to_target, Flaw::ignores_top_digest_limb,
                                           Flaw::skips_the_tail, Flaw::hashes_without_the_pool,
                                           Flaw::never_checks_the_digest, Flaw::swaps_the_rejection_reasons,
                                           Flaw::wrong_on_a_tail_of_five),
                         [](const ::testing::TestParamInfo<Flaw>& info) { return flaw_name(info.param); });

}  // namespace
}  // namespace sharegate_test
