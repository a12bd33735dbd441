// A blocking HTTP/1.1 client for the getwork door's end-to-end tests: raw bytes out (so a
// test can send any malformed request it likes), whole responses in (status, headers,
// Content-Length body), with a read timeout, over a real loopback socket.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <map>
#include <optional>
#include <string>

#include "support/loopback_socket.hpp"

namespace sharegate_test {

struct HttpResponse {
    int status = 0;
    std::map<std::string, std::string> headers;  // names in lower case
    std::string body;
};

class HttpClient {
public:
    // From `source_address` (e.g. 127.0.0.2; empty: the kernel's choice): one test, many peers.
    explicit HttpClient(std::uint16_t port, const std::string& source_address = {})
        : fd_(connect_loopback(port, source_address)) {}
    ~HttpClient() {
        if (fd_ >= 0) ::close(fd_);
    }
    HttpClient(const HttpClient&) = delete;
    HttpClient& operator=(const HttpClient&) = delete;

    bool connected() const { return fd_ >= 0; }

    // False once the server has closed or reset the connection.
    bool send(const std::string& bytes) {
        std::size_t sent = 0;
        while (sent < bytes.size()) {
            const ssize_t n = ::send(fd_, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
            if (n <= 0) return false;
            sent += static_cast<std::size_t>(n);
        }
        return true;
    }

    // A POST of `body` to `/`, as the real clients send it (Content-Type application/json),
    // with any further header lines ("Name: value\r\n" each).
    static std::string post_request(const std::string& body, const std::string& more_headers = {}) {
        return "POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: " +
               std::to_string(body.size()) + "\r\n" + more_headers + "\r\n" + body;
    }

    // Sends the POST and reads its response.
    std::optional<HttpResponse> post(const std::string& body, const std::string& more_headers = {},
                                     std::chrono::milliseconds timeout = std::chrono::milliseconds(10000)) {
        if (!send(post_request(body, more_headers))) return std::nullopt;
        return read_response(timeout);
    }

    // The next whole response; nullopt on timeout, end of stream or a response it cannot read.
    std::optional<HttpResponse> read_response(std::chrono::milliseconds timeout = std::chrono::milliseconds(10000)) {
        const auto deadline = std::chrono::steady_clock::now() + timeout;
        std::size_t head_end;
        while ((head_end = buffer_.find("\r\n\r\n")) == std::string::npos) {
            if (!fill(deadline)) return std::nullopt;
        }
        HttpResponse response;
        const std::string head = buffer_.substr(0, head_end);
        std::size_t line_end = head.find("\r\n");
        const std::string status_line = head.substr(0, line_end);
        if (status_line.rfind("HTTP/1.", 0) != 0 || status_line.size() < 12) return std::nullopt;
        response.status = std::atoi(status_line.substr(9, 3).c_str());
        while (line_end != std::string::npos) {
            const std::size_t start = line_end + 2;
            line_end = head.find("\r\n", start);
            const std::string line =
                head.substr(start, line_end == std::string::npos ? std::string::npos : line_end - start);
            const auto colon = line.find(':');
            if (colon == std::string::npos) continue;
            std::string name = line.substr(0, colon);
            std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::tolower(c); });
            std::string value = line.substr(colon + 1);
            while (!value.empty() && value.front() == ' ') value.erase(0, 1);
            response.headers[name] = value;
        }
        std::size_t length = 0;
        if (auto it = response.headers.find("content-length"); it != response.headers.end())
            length = static_cast<std::size_t>(std::strtoull(it->second.c_str(), nullptr, 10));
        while (buffer_.size() < head_end + 4 + length) {
            if (!fill(deadline)) return std::nullopt;
        }
        response.body = buffer_.substr(head_end + 4, length);
        buffer_.erase(0, head_end + 4 + length);
        return response;
    }

    // True when the server closed the connection (after any bytes still buffered).
    bool closed_by_server(std::chrono::milliseconds timeout = std::chrono::milliseconds(5000)) {
        const auto deadline = std::chrono::steady_clock::now() + timeout;
        while (!eof_ && fill(deadline)) {
        }
        return eof_;
    }

    // Whatever has arrived (and not been read as a response) since.
    const std::string& unread() const { return buffer_; }

private:
    bool fill(std::chrono::steady_clock::time_point deadline) {
        if (eof_ || fd_ < 0) return false;
        const auto left =
            std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0) return false;
        pollfd p{fd_, POLLIN, 0};
        if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) return false;
        char chunk[65536];
        const ssize_t n = ::recv(fd_, chunk, sizeof chunk, 0);
        if (n <= 0) {
            eof_ = true;
            return false;
        }
        buffer_.append(chunk, static_cast<std::size_t>(n));
        return true;
    }

    int fd_ = -1;
    std::string buffer_;
    bool eof_ = false;
};

}  // namespace sharegate_test
