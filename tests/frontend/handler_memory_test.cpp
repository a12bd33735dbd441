// HandlerMemory: a session's read wait, write and continuation are built in blocks of
// its own, not on the heap; these tests hold the block's bookkeeping and that asio really
// builds the operations there (the socket's own operations, a post on the io_context's
// executor), which is where a flood's allocations went before.
#include "server/handler_memory.hpp"

#include <gtest/gtest.h>

#include "server/asio.hpp"

namespace sharegate::server {
namespace {

namespace asio = boost::asio;

// Two ends of one loopback connection on one io_context, for a socket's own operations.
struct ConnectedSockets {
    asio::io_context io;
    asio::ip::tcp::acceptor acceptor{io, {asio::ip::make_address("127.0.0.1"), 0}};
    asio::ip::tcp::socket client{io};
    asio::ip::tcp::socket server{io};

    ConnectedSockets() {
        client.connect(acceptor.local_endpoint());
        acceptor.accept(server);
    }
};

TEST(HandlerMemory, ServesOneOperationAtATimeFromItsBlock) {
    HandlerMemory<64> memory;
    void* first = memory.allocate(48);
    EXPECT_TRUE(memory.in_use());
    void* second = memory.allocate(48);  // the block is taken: the heap
    EXPECT_NE(first, second);
    memory.deallocate(second);
    EXPECT_TRUE(memory.in_use());
    memory.deallocate(first);
    EXPECT_FALSE(memory.in_use());
    EXPECT_EQ(memory.allocate(64), first);  // the block again, up to its full size
    memory.deallocate(first);
}

TEST(HandlerMemory, ALargerRequestGoesToTheHeap) {
    HandlerMemory<64> memory;
    void* large = memory.allocate(65);
    EXPECT_FALSE(memory.in_use());
    memory.deallocate(large);
    EXPECT_FALSE(memory.in_use());
}

TEST(HandlerMemory, APostOnTheIoContextBuildsItsFunctionInTheBlock) {
    asio::io_context io;
    HandlerMemory<128> memory;
    bool ran = false;
    bool in_use_while_running = true;
    asio::post(io.get_executor(), with_memory(memory, [&] {
                   ran = true;
                   in_use_while_running = memory.in_use();
               }));
    EXPECT_TRUE(memory.in_use());
    io.run();
    EXPECT_TRUE(ran);
    EXPECT_FALSE(in_use_while_running);  // freed before the call: the next post may take it
    EXPECT_FALSE(memory.in_use());
}

TEST(HandlerMemory, ASocketWaitIsBuiltInTheBlockAndItsHandlerMayStartTheNext) {
    ConnectedSockets sockets;
    auto& io = sockets.io;
    auto& client = sockets.client;
    auto& server = sockets.server;

    HandlerMemory<256> memory;
    int waits = 0;
    bool second_in_block = false;
    server.async_wait(asio::ip::tcp::socket::wait_read,
                      with_memory(memory, [&](const boost::system::error_code& error) {
                          ASSERT_FALSE(error) << error.message();
                          ++waits;
                          EXPECT_FALSE(memory.in_use());
                          server.async_wait(asio::ip::tcp::socket::wait_read,
                                            with_memory(memory, [&](const boost::system::error_code& again) {
                                                EXPECT_EQ(again, asio::error::operation_aborted);
                                                ++waits;
                                            }));
                          second_in_block = memory.in_use();
                          server.cancel();
                      }));
    EXPECT_TRUE(memory.in_use());
    asio::write(client, asio::buffer("x", 1));
    io.run();
    EXPECT_EQ(waits, 2);
    EXPECT_TRUE(second_in_block);
    EXPECT_FALSE(memory.in_use());
}

TEST(HandlerMemory, AnAsyncWriteIsBuiltInTheBlock) {
    ConnectedSockets sockets;
    auto& io = sockets.io;
    auto& server = sockets.server;

    HandlerMemory<256> memory;
    std::size_t written = 0;
    asio::async_write(server, asio::buffer("answer\n", 7),
                      with_memory(memory, [&](const boost::system::error_code& error, std::size_t bytes) {
                          EXPECT_FALSE(error) << error.message();
                          written = bytes;
                      }));
    EXPECT_TRUE(memory.in_use());
    io.run();
    EXPECT_EQ(written, 7u);
    EXPECT_FALSE(memory.in_use());
}

}  // namespace
}  // namespace sharegate::server
