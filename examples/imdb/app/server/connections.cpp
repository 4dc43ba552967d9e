#include "app/server/connections.hpp"

#include <poll.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <limits>
#include <string>

namespace {
// The socket accept(2) last returned on this thread. httplib's listen loop accepts and then,
// on the same thread, hands the connection to the task queue (ConnectionPool::enqueue).
thread_local int last_accepted = -1;

// The header byte budget of the connection this thread serves (see recv below).
constexpr std::size_t kUnlimited = std::numeric_limits<std::size_t>::max();
thread_local int budget_fd = -1;
thread_local std::size_t header_budget = kUnlimited;
thread_local std::size_t header_limit = kUnlimited;
thread_local bool headers_refused = false;  // 431 sent: the connection reads nothing more

// Answers 431 on a connection whose request line and headers passed the budget, then closes
// our side for writing so that httplib's own answer to the cut-off headers goes nowhere.
void refuse_headers(int fd) {
    const std::string body = "{\"error\": \"request line and headers too large (limit " +
                             std::to_string(header_limit / 1024) + " KiB)\"}\n";
    const std::string answer =
        "HTTP/1.1 431 Request Header Fields Too Large\r\nContent-Type: application/json\r\n"
        "Connection: close\r\nContent-Length: " +
        std::to_string(body.size()) + "\r\n\r\n" + body;
    (void)::send(fd, answer.data(), answer.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    ::shutdown(fd, SHUT_WR);
}
}  // namespace

// Interposes recv(2) the same way, to bound a request's line and headers. httplib 0.11.4
// reads a header line into a string until its newline and accepts any number of headers, so
// one client sending a header line without end grew the server by 350 MiB in 8 s within the
// header deadline. While a connection thread reads a request's headers (from the start of
// the connection or the end of the previous response until request_started()), every byte
// received counts against ConnectionLimits::max_header_bytes; past it the client gets 431
// and the connection ends (recv reports end of stream). Other sockets and threads, and
// bodies, are not affected (a body has its own limit: --max-body-bytes after decompression).
extern "C" ssize_t recv(int fd, void* buf, size_t len, int flags) {
    const bool counted = fd == budget_fd && header_budget != kUnlimited;
    if (counted) {
        if (header_budget == 0) {
            // End of stream from now on: httplib takes a 0 as the end of the current line and
            // asks again, and it must get nothing more on this connection.
            if (!headers_refused) refuse_headers(fd);
            headers_refused = true;
            return 0;
        }
        len = std::min(len, header_budget);
    }
    const auto n =
        static_cast<ssize_t>(::syscall(SYS_recvfrom, fd, buf, len, flags, nullptr, nullptr));
    if (counted && n > 0) header_budget -= static_cast<std::size_t>(n);
    return n;
}

// Interposes the C library's accept for this program (the executable's definition wins over
// libc's for libcpp-httplib's calls), to learn each accepted socket; see connections.hpp.
// It also raises the listening socket's backlog: httplib listens with a backlog of 5, and a
// burst of new connections beyond it waits for SYN retransmits (1 s, 3 s, ...). listen(2) on
// a listening socket only changes the backlog.
extern "C" int accept(int fd, sockaddr* addr, socklen_t* len) {
    static std::atomic<int> widened{-1};
    if (widened.exchange(fd) != fd) ::listen(fd, SOMAXCONN);
    const int s = static_cast<int>(::syscall(SYS_accept4, fd, addr, len, 0));
    if (s >= 0) last_accepted = s;
    return s;
}

namespace imdb::server {

using Clock = std::chrono::steady_clock;
constexpr std::int64_t kNever = std::numeric_limits<std::int64_t>::max();

struct ConnectionPool::Slot {
    std::mutex mutex;  // fd and deadline change together; the watchdog shuts down under it
    int fd = -1;
    std::int64_t deadline = kNever;  // steady_clock ticks
    const ConnectionLimits* limits = nullptr;
};

namespace {
thread_local ConnectionPool::Slot* current_slot = nullptr;
std::int64_t ticks_from_now(std::chrono::milliseconds d) {
    return (Clock::now() + d).time_since_epoch().count();
}
void set_deadline(std::chrono::milliseconds ConnectionLimits::*which) {
    if (auto* s = current_slot) {
        const std::lock_guard<std::mutex> lock(s->mutex);
        if (s->fd >= 0 && s->deadline != kNever) s->deadline = ticks_from_now(s->limits->*which);
    }
}
}  // namespace

void request_started() {
    set_deadline(&ConnectionLimits::request_timeout);
    if (current_slot != nullptr && !headers_refused) header_budget = kUnlimited;  // headers in
}
void request_finished() {
    set_deadline(&ConnectionLimits::header_timeout);
    if (current_slot != nullptr && !headers_refused)
        header_budget = header_limit;  // the next request's headers
}
int current_socket() {
    if (auto* s = current_slot) {
        const std::lock_guard<std::mutex> lock(s->mutex);
        return s->fd;
    }
    return -1;
}

bool peer_gone(int socket) {
    if (socket < 0) return false;
    pollfd p{socket, POLLRDHUP, 0};
    return ::poll(&p, 1, 0) > 0 && (p.revents & (POLLRDHUP | POLLHUP | POLLERR)) != 0;
}

ConnectionPool::ConnectionPool(const ConnectionLimits& limits, Metrics& metrics)
    : limits_(limits), metrics_(metrics) {
    if (limits_.threads < 1) limits_.threads = 1;
    for (std::size_t i = 0; i < limits_.threads; ++i) {
        slots_.push_back(std::make_unique<Slot>());
        slots_.back()->limits = &limits_;
    }
    for (std::size_t i = 0; i < limits_.threads; ++i)
        threads_.emplace_back([this, i] {
            current_slot = slots_[i].get();
            serve();
        });
    watchdog_ = std::thread([this] { watch(); });
}

ConnectionPool::~ConnectionPool() {
    shutdown();
}

void ConnectionPool::enqueue(std::function<void()> fn) {
    const int fd = last_accepted;
    last_accepted = -1;
    {
        const std::lock_guard<std::mutex> lock(mutex_);
        if (backlog_.size() >= limits_.max_backlog && fd >= 0) {
            // Too many waiting: httplib still closes the socket, but it finds it shut down.
            ::shutdown(fd, SHUT_RDWR);
            ++metrics_.connections_refused;
        }
        backlog_.emplace_back(fd, std::move(fn));
        waiting_.store(backlog_.size(), std::memory_order_relaxed);
    }
    cv_.notify_one();
}

void ConnectionPool::serve() {
    Slot& slot = *current_slot;
    for (;;) {
        std::pair<int, std::function<void()>> job;
        {
            std::unique_lock<std::mutex> lock(mutex_);
            cv_.wait(lock, [&] { return stopping_ || !backlog_.empty(); });
            if (backlog_.empty()) return;
            job = std::move(backlog_.front());
            backlog_.pop_front();
            waiting_.store(backlog_.size(), std::memory_order_relaxed);
        }
        {
            const std::lock_guard<std::mutex> lock(slot.mutex);
            slot.fd = job.first;
            slot.deadline = job.first >= 0 ? ticks_from_now(limits_.header_timeout) : kNever;
        }
        budget_fd = job.first;
        header_limit = header_budget = limits_.max_header_bytes;
        headers_refused = false;
        ++metrics_.open_connections;
        job.second();  // httplib serves the connection (keep-alive included) and closes it
        --metrics_.open_connections;
        budget_fd = -1;
        header_limit = header_budget = kUnlimited;
        headers_refused = false;
        const std::lock_guard<std::mutex> lock(slot.mutex);
        slot.fd = -1;
        slot.deadline = kNever;
    }
}

void ConnectionPool::watch() {
    for (;;) {
        {
            std::unique_lock<std::mutex> lock(mutex_);
            if (cv_.wait_for(lock, std::chrono::milliseconds(50), [&] { return stopping_; }))
                return;
        }
        const std::int64_t now = Clock::now().time_since_epoch().count();
        for (auto& s : slots_) {
            const std::lock_guard<std::mutex> lock(s->mutex);
            if (s->fd >= 0 && s->deadline < now) {
                ::shutdown(s->fd, SHUT_RDWR);  // its reads and writes fail; httplib closes it
                s->deadline = kNever;
                ++metrics_.connections_timed_out;
            }
        }
    }
}

void ConnectionPool::shutdown() {
    {
        const std::lock_guard<std::mutex> lock(mutex_);
        if (stopping_) return;
        stopping_ = true;
    }
    cv_.notify_all();
    for (auto& t : threads_) t.join();
    if (watchdog_.joinable()) watchdog_.join();
}

}  // namespace imdb::server
