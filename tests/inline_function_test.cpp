// InlineFunction (core/include/sharegate/inline_function.hpp): std::function's behaviour
// (calls, copies, moves, destruction, empty state) with the callable held inline.
#include "sharegate/inline_function.hpp"

#include <gtest/gtest.h>

#include <array>
#include <functional>
#include <memory>
#include <string>
#include <type_traits>
#include <utility>

namespace sharegate_test {
namespace {

using sharegate::InlineFunction;
using Function = InlineFunction<int(int), 64>;

// Counts the live copies of itself, to show that every one made is destroyed once.
struct Counted {
    explicit Counted(int* live) : live(live) { ++*live; }
    Counted(const Counted& other) : live(other.live) { ++*live; }
    Counted(Counted&& other) noexcept : live(other.live) { ++*live; }
    Counted& operator=(const Counted&) = delete;
    ~Counted() { --*live; }
    int operator()(int x) const { return x + 1; }
    int* live;
};

TEST(InlineFunctionTest, CallsWhatItHolds) {
    int base = 40;  // not const: a const int would not need capturing
    Function add = [base](int x) { return base + x; };
    EXPECT_TRUE(add);
    EXPECT_EQ(add(2), 42);
    InlineFunction<std::string(std::string, char), 16> append = [](std::string s, char c) { return s + c; };
    EXPECT_EQ(append("ab", 'c'), "abc");
}

TEST(InlineFunctionTest, EmptyIsFalseAndThrowsWhenCalled) {
    Function empty;
    EXPECT_FALSE(empty);
    EXPECT_THROW(empty(1), std::bad_function_call);
    Function null = nullptr;
    EXPECT_FALSE(null);
}

TEST(InlineFunctionTest, CopiesAreIndependent) {
    InlineFunction<int(), 32> counter = [n = 0]() mutable { return ++n; };
    EXPECT_EQ(counter(), 1);
    auto copy = counter;  // the state as it was: n == 1
    EXPECT_EQ(counter(), 2);
    EXPECT_EQ(copy(), 2);
    EXPECT_EQ(copy(), 3);
    EXPECT_EQ(counter(), 3);
}

TEST(InlineFunctionTest, MovedFromIsEmpty) {
    auto shared = std::make_shared<int>(7);
    InlineFunction<int(), 32> get = [shared] { return *shared; };
    EXPECT_EQ(shared.use_count(), 2);
    InlineFunction<int(), 32> moved = std::move(get);
    EXPECT_FALSE(get);  // NOLINT(bugprone-use-after-move): the state after a move is the point
    EXPECT_EQ(moved(), 7);
    EXPECT_EQ(shared.use_count(), 2);  // moved, not copied
    InlineFunction<int(), 32> assigned;
    assigned = std::move(moved);
    EXPECT_EQ(assigned(), 7);
    EXPECT_EQ(shared.use_count(), 2);
}

TEST(InlineFunctionTest, EveryCopyIsDestroyedOnce) {
    int live = 0;
    {
        Function f = Counted(&live);
        EXPECT_EQ(live, 1);
        Function g = f;
        EXPECT_EQ(live, 2);
        Function h = std::move(g);
        EXPECT_EQ(live, 2);
        EXPECT_EQ(h(1), 2);
        f = h;  // replaces f's own: one destroyed, one made
        EXPECT_EQ(live, 2);
        f = nullptr;
        EXPECT_EQ(live, 1);
        h = Function([](int x) { return x; });
        EXPECT_EQ(live, 0);
        Function k = Counted(&live);
        const Function& same = k;
        k = same;  // assigning itself keeps it
        EXPECT_EQ(live, 1);
        EXPECT_EQ(k(4), 5);
    }
    EXPECT_EQ(live, 0);
}

TEST(InlineFunctionTest, HoldsUpToItsCapacityInline) {
    std::array<char, 56> payload{};
    payload[55] = 'z';
    Function big = [payload](int x) { return payload[55] + x; };
    EXPECT_EQ(big(1), 'z' + 1);
    // No heap behind it: its size is its capacity plus two pointers, whatever it holds.
    EXPECT_EQ(sizeof(Function), 64 + 2 * sizeof(void*));
    // What does not fit does not compile (a static_assert); what is not callable so is not
    // a candidate at all.
    EXPECT_FALSE((std::is_constructible_v<Function, std::string>));
}

}  // namespace
}  // namespace sharegate_test
