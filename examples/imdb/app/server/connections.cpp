#include "app/server/connections.hpp"

#include <poll.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <limits>

namespace {
// The socket accept(2) last returned on this thread. httplib's listen loop accepts and then,
// on the same thread, hands the connection to the task queue (ConnectionPool::enqueue).
thread_local int last_accepted = -1;
}  // namespace

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
}
void request_finished() {
    set_deadline(&ConnectionLimits::header_timeout);
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
        ++metrics_.open_connections;
        job.second();  // httplib serves the connection (keep-alive included) and closes it
        --metrics_.open_connections;
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
