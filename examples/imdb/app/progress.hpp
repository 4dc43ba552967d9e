// Training progress: a live bar on a terminal (batches, samples/s, loss, accuracy, ETA),
// plain periodic lines when stdout is not a TTY (logs, CI).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdio>
#include <string>

namespace imdb {

class Progress {
  public:
    Progress(std::string title, std::size_t total_batches, bool tty);
    void update(std::size_t batches_done, std::size_t samples_done, double mean_loss,
                double accuracy);
    void finish(double mean_loss, double accuracy);
    /// One line of its own (a warning): on a terminal the bar is cleared first and redrawn
    /// by the next update.
    void message(const std::string& line);
    double seconds() const;

  private:
    std::string title_;
    std::size_t total_;
    bool tty_;
    std::chrono::steady_clock::time_point start_;
    std::chrono::steady_clock::time_point last_print_;
};

bool stdout_is_tty();
std::string format_duration(double seconds);

}  // namespace imdb
