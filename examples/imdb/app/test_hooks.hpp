// Fault-injection hooks for the command-line tests (examples/imdb/tests/*.sh), read from
// the environment. Unset, as everywhere but in those tests, they do nothing.
//
//   IMDB_TEST_PAUSE_BEFORE_COMMIT=FILE:EPOCH   e.g. checkpoint.safetensors:1
//       once `train` has written FILE of epoch EPOCH completely to its temporary file, and
//       before the rename that replaces FILE, it prints
//       "test hook: paused before committing <temp file>" and sleeps 30 s: a test can then
//       kill -9 the process exactly inside the atomic write (tests/kill_resume.sh).
//   IMDB_TEST_NONFINITE_LOSS=E:S[,E:S...][@RANK]   e.g. 1:2,2:5 or 1:2@1
//       the training loss of epoch E, step S (both from 1) becomes NaN, on every rank or
//       only on rank RANK of an mpirun job; the gradients stay finite (NaN is added to the
//       loss's value), so only the loss check can see it (tests/skip_nonfinite.sh,
//       tests/mpi_train.sh).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <utility>

namespace imdb::test_hooks {

/// IMDB_TEST_PAUSE_BEFORE_COMMIT: called between writing `path`'s temporary file `temp`
/// and committing it; `epoch` is the epoch the file belongs to.
inline void pause_before_commit(const std::string& path, const std::string& temp, int epoch) {
    const char* spec = std::getenv("IMDB_TEST_PAUSE_BEFORE_COMMIT");
    if (spec == nullptr || *spec == '\0') return;
    const std::string s(spec);
    const auto colon = s.rfind(':');
    if (colon == std::string::npos) return;
    if (s.substr(0, colon) != std::filesystem::path(path).filename().string() ||
        s.substr(colon + 1) != std::to_string(epoch))
        return;
    std::printf("test hook: paused before committing %s\n", temp.c_str());
    std::fflush(stdout);
    std::this_thread::sleep_for(std::chrono::seconds(30));
}

/// IMDB_TEST_NONFINITE_LOSS: whether the training loss of `epoch`, `step` (from 1) is to be
/// made NaN on rank `rank`. A malformed entry is ignored.
inline bool nonfinite_loss(int epoch, std::size_t step, int rank) {
    struct Spec {
        std::set<std::pair<long, long>> steps;
        long rank = -1;  // -1: every rank
    };
    static const Spec spec = [] {
        Spec out;
        const char* env = std::getenv("IMDB_TEST_NONFINITE_LOSS");
        if (env == nullptr) return out;
        std::string text(env);
        if (const auto at = text.find('@'); at != std::string::npos) {
            out.rank = std::atol(text.c_str() + at + 1);
            text.resize(at);
        }
        std::istringstream in(text);
        std::string item;
        while (std::getline(in, item, ',')) {
            const auto colon = item.find(':');
            if (colon != std::string::npos)
                out.steps.emplace(std::atol(item.c_str()), std::atol(item.c_str() + colon + 1));
        }
        return out;
    }();
    if (spec.steps.empty() || (spec.rank >= 0 && spec.rank != rank)) return false;
    return spec.steps.count({static_cast<long>(epoch), static_cast<long>(step)}) != 0;
}

}  // namespace imdb::test_hooks
