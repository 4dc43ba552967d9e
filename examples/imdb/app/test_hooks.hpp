// Fault-injection hooks for the command-line tests (examples/imdb/tests/*.sh), read from
// the environment. Unset, as everywhere but in those tests, they do nothing.
//
//   IMDB_TEST_PAUSE_BEFORE_COMMIT=FILE:EPOCH   e.g. checkpoint.safetensors:1
//       once `train` has written FILE of epoch EPOCH completely to its temporary file, and
//       before the rename that replaces FILE, it prints
//       "test hook: paused before committing <temp file>" and sleeps 30 s: a test can then
//       kill -9 the process exactly inside the atomic write (tests/kill_resume.sh).
#pragma once

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <thread>

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

}  // namespace imdb::test_hooks
