#include "app/progress.hpp"

#include <unistd.h>

#include <cmath>

namespace imdb {

bool stdout_is_tty() {
    return ::isatty(::fileno(stdout)) != 0;
}

std::string format_duration(double seconds) {
    const long s = std::lround(seconds);
    char buf[32];
    if (s >= 3600)
        std::snprintf(buf, sizeof buf, "%ldh%02ldm%02lds", s / 3600, (s / 60) % 60, s % 60);
    else
        std::snprintf(buf, sizeof buf, "%ldm%02lds", s / 60, s % 60);
    return buf;
}

Progress::Progress(std::string title, std::size_t total_batches, bool tty)
    : title_(std::move(title)),
      total_(total_batches),
      tty_(tty),
      start_(std::chrono::steady_clock::now()),
      last_print_(start_) {}

double Progress::seconds() const {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
}

void Progress::update(std::size_t done, std::size_t samples, double loss, double acc) {
    const auto now = std::chrono::steady_clock::now();
    const double since = std::chrono::duration<double>(now - last_print_).count();
    // A terminal gets ~4 redraws a second; a log gets a line every 30 s.
    if (since < (tty_ ? 0.25 : 30.0) && done != total_) return;
    last_print_ = now;
    const double elapsed = seconds();
    const double rate = elapsed > 0 ? static_cast<double>(samples) / elapsed : 0.0;
    const double eta =
        done ? elapsed * static_cast<double>(total_ - done) / static_cast<double>(done) : 0.0;
    if (tty_) {
        const int width = 28;
        const int filled = total_ ? static_cast<int>(width * done / total_) : width;
        std::string bar(static_cast<std::size_t>(filled), '#');
        bar.resize(width, '.');
        std::printf("\r%s [%s] %zu/%zu  %.0f samples/s  loss %.4f  acc %.2f%%  ETA %s   ",
                    title_.c_str(), bar.c_str(), done, total_, rate, loss, 100 * acc,
                    format_duration(eta).c_str());
    } else {
        std::printf("%s %zu/%zu batches  %.0f samples/s  loss %.4f  acc %.2f%%  ETA %s\n",
                    title_.c_str(), done, total_, rate, loss, 100 * acc,
                    format_duration(eta).c_str());
    }
    std::fflush(stdout);
}

void Progress::message(const std::string& line) {
    if (tty_) std::printf("\r\033[K");
    std::printf("%s\n", line.c_str());
    std::fflush(stdout);
}

void Progress::finish(double loss, double acc) {
    if (tty_) std::printf("\r\033[K");
    std::printf("%s done in %s  loss %.4f  acc %.2f%%\n", title_.c_str(),
                format_duration(seconds()).c_str(), loss, 100 * acc);
    std::fflush(stdout);
}

}  // namespace imdb
