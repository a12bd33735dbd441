// Boost.Asio, included through here because Boost 1.74's asio/awaitable.hpp uses
// std::exchange without including <utility>, which GCC 12 in C++20 mode rejects.
#pragma once

#include <utility>
// (kept apart so that include sorting leaves <utility> first)
#include <boost/asio.hpp>
