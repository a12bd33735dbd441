// server::ReplyQueue's contract, without a socket: answers leave in request order whatever
// order they are known in, one write at a time; "full" stops reading and a finished write
// lets it read again; a close-after answer is the last thing written.
#include "server/reply_queue.hpp"

#include <gtest/gtest.h>

#include <string>

#include "allocation_count.hpp"

namespace {

using sharegate::server::ReplyQueue;

// Small limits, so that each is reached in a few steps.
constexpr ReplyQueue::Limits kLimits{/*soft_output_cap=*/16, /*hard_output_cap=*/32, /*max_awaiting_answers=*/2,
                                     /*max_open_places=*/4};

TEST(ReplyQueue, KeepsRequestOrderWhenAnswersComeOutOfOrder) {
    ReplyQueue queue(kLimits);
    const auto first = queue.reserve();
    const auto second = queue.reserve();
    const auto third = queue.reserve();
    queue.fill(third, "c\n");
    queue.fill(second, "b\n");
    EXPECT_EQ(queue.take_ready(), "");  // the first is still awaited
    queue.fill(first, "a\n");
    EXPECT_EQ(queue.take_ready(), "a\nb\nc\n");  // the whole ready prefix, in one write
    EXPECT_FALSE(queue.written());
    EXPECT_TRUE(queue.finished());
}

TEST(ReplyQueue, OneWriteAtATime) {
    ReplyQueue queue(kLimits);
    queue.add("a\n");
    EXPECT_EQ(queue.take_ready(), "a\n");
    EXPECT_TRUE(queue.writing());
    queue.add("b\n");
    EXPECT_EQ(queue.take_ready(), "");  // a write is in flight
    EXPECT_FALSE(queue.finished());
    EXPECT_FALSE(queue.written());
    EXPECT_EQ(queue.take_ready(), "b\n");
    queue.written();
    EXPECT_TRUE(queue.finished());
    EXPECT_EQ(queue.unsent_bytes(), 0u);
}

TEST(ReplyQueue, TooManyAwaitedAnswersIsFull) {
    ReplyQueue queue(kLimits);
    const auto a = queue.reserve();
    queue.reserve();
    EXPECT_FALSE(queue.is_full());  // at the limit, not past it
    queue.reserve();
    EXPECT_EQ(queue.awaiting(), 3u);
    EXPECT_TRUE(queue.is_full());
    EXPECT_FALSE(queue.output_stalled());
    queue.fill(a, "a\n");
    EXPECT_FALSE(queue.is_full());
}

TEST(ReplyQueue, UnwrittenOutputIsFullUntilWritten) {
    ReplyQueue queue(kLimits);
    queue.add(std::string(10, 'x'));
    EXPECT_FALSE(queue.is_full());
    queue.add(std::string(10, 'y'));
    EXPECT_TRUE(queue.output_stalled());  // 20 bytes over the soft cap of 16
    EXPECT_TRUE(queue.over_soft_cap());
    EXPECT_TRUE(queue.is_full());
    EXPECT_FALSE(queue.over_hard_cap());
    EXPECT_EQ(queue.take_ready().size(), 20u);
    EXPECT_TRUE(queue.is_full());  // a write in flight is still unsent
    EXPECT_FALSE(queue.written());
    EXPECT_FALSE(queue.is_full());  // written: read again
    EXPECT_EQ(queue.unsent_bytes(), 0u);
}

TEST(ReplyQueue, OverTheHardCap) {
    ReplyQueue queue(kLimits);
    queue.add(std::string(33, 'x'));
    EXPECT_TRUE(queue.over_hard_cap());
    EXPECT_EQ(queue.unsent_bytes(), 33u);
}

// Answers ready but never taken (a client that does not read) stall the output by count too.
TEST(ReplyQueue, TooManyOpenPlacesStallsTheOutput) {
    ReplyQueue queue(kLimits);
    const auto first = queue.reserve();  // awaited: holds back the ones after it
    for (int i = 0; i < 4; ++i) queue.add("z");
    EXPECT_TRUE(queue.output_stalled());
    EXPECT_TRUE(queue.is_full());
    queue.fill(first, "a");
    EXPECT_EQ(queue.take_ready(), "azzzz");
    EXPECT_FALSE(queue.output_stalled());  // the places left, their bytes are in flight
}

TEST(ReplyQueue, CloseAfterIsTheLastThingWritten) {
    ReplyQueue queue(kLimits);
    const auto before = queue.reserve();
    queue.add("bye\n", /*close_after=*/true);
    queue.add("never\n");
    EXPECT_EQ(queue.take_ready(), "");
    queue.fill(before, "a\n");
    EXPECT_EQ(queue.take_ready(), "a\nbye\n");
    EXPECT_TRUE(queue.written());       // close now
    EXPECT_EQ(queue.take_ready(), "");  // nothing after it goes out
}

TEST(ReplyQueue, ClearDropsEveryPlaceAndIgnoresLateAnswers) {
    ReplyQueue queue(kLimits);
    const auto late = queue.reserve();
    queue.add("b\n");
    queue.clear();
    EXPECT_TRUE(queue.finished());
    EXPECT_EQ(queue.awaiting(), 0u);
    queue.fill(late, "a\n");  // the verifier answered after the connection closed
    EXPECT_EQ(queue.take_ready(), "");
    EXPECT_TRUE(queue.finished());
    EXPECT_EQ(queue.unsent_bytes(), 0u);
}

// Answers known in order while a write is in flight wait in the next write's text; they
// count toward the open places all the same.
TEST(ReplyQueue, AnswersWaitingBehindAWriteStallTheOutputByCount) {
    ReplyQueue queue(kLimits);
    queue.add("a");
    EXPECT_EQ(queue.take_ready(), "a");
    for (int i = 0; i < 4; ++i) queue.add("z");
    EXPECT_FALSE(queue.output_stalled());  // four: at the limit
    queue.add("z");
    EXPECT_TRUE(queue.output_stalled());
    EXPECT_FALSE(queue.finished());
    EXPECT_FALSE(queue.written());
    EXPECT_EQ(queue.take_ready(), "zzzzz");
    EXPECT_FALSE(queue.output_stalled());
}

using sharegate::test::AllocationCount;

constexpr ReplyQueue::Limits kRoomy{1 << 20, 1 << 21, 1000, 1000};

// What a read of a flood does to its connection's queue: eleven submits take their
// places, their answers come in order, and the read's answers leave in one write.
void one_read(ReplyQueue& queue, std::size_t answer_bytes) {
    ReplyQueue::Ticket tickets[11];
    for (auto& ticket : tickets) ticket = queue.reserve();
    for (const auto ticket : tickets) {
        queue.fill_with(ticket, [&](std::string& out) { out.append(answer_bytes, 'x'); });
    }
    ASSERT_EQ(queue.take_ready().size(), 11 * answer_bytes);
    ASSERT_FALSE(queue.written());
    ASSERT_TRUE(queue.finished());
}

// No heap allocation on a submit's steady-state path: an answer is written straight into
// the next write's text, and the buffers go round.
TEST(ReplyQueue, AStreamOfAnswersInOrderAllocatesNothingOnceWarm) {
    ReplyQueue queue(kRoomy);
    one_read(queue, 60);  // warm: the buffers are allocated once
    const AllocationCount count;
    for (int read = 0; read < 100; ++read) one_read(queue, 60);
    EXPECT_EQ(count.made(), 0u);
}

// An idle connection holds no buffer: the one it wrote from goes to the next connection
// on its thread, which then allocates nothing.
TEST(ReplyQueue, AnIdleConnectionLeavesItsBuffersToTheNextOne) {
    ReplyQueue idle(kRoomy);
    one_read(idle, 2000);  // larger than any buffer an earlier test left on this thread
    ReplyQueue busy(kRoomy);
    const AllocationCount count;
    one_read(busy, 2000);
    EXPECT_EQ(count.made(), 0u);
    EXPECT_TRUE(idle.finished());
}

}  // namespace
