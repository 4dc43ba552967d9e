// POSIX file helpers for checkpoints: a read-only file read at explicit offsets, and a
// writer that replaces a file atomically.
//
// Atomic replacement (AtomicFileWriter): bytes go to a fresh temporary file in the target's
// directory (same file system, so rename() is atomic), which is fsync'ed, closed and then
// renamed over the target; finally the directory is fsync'ed so the rename itself survives
// a power cut. Readers see either the old file or the complete new one, never a mix, and a
// failure at any step removes the temporary file and leaves the old file untouched.
#pragma once

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>

#include "nnlite/core/error.hpp"

namespace nnlite::io {

namespace detail {

/// The OS's text for an errno value (std::generic_category is thread-safe, strerror is not).
inline std::string os_error_text(int err) {
    return std::generic_category().message(err);
}

}  // namespace detail

/// A regular file opened read-only. Reads use pread() at explicit offsets, so there is no
/// shared file position and one open file may serve several readers at once.
class ReadOnlyFile {
  public:
    /// Opens `path`; IoError naming the file and the OS error if it cannot be opened or is
    /// not a regular file. Opened non-blocking, so a FIFO or device in the file's place is
    /// refused at once instead of waiting for a writer (reads of a regular file are not
    /// affected by O_NONBLOCK).
    static std::shared_ptr<const ReadOnlyFile> open(const std::string& path) {
        int fd;
        do {
            fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
        } while (fd < 0 && errno == EINTR);
        check<IoError>(fd >= 0, "cannot open '", path,
                       "' for reading: ", detail::os_error_text(errno));
        std::shared_ptr<ReadOnlyFile> file(new ReadOnlyFile(path, fd));
        struct stat st {};
        check<IoError>(::fstat(fd, &st) == 0, "cannot stat '", path,
                       "': ", detail::os_error_text(errno));
        check<IoError>(S_ISREG(st.st_mode), "'", path, "' is not a regular file");
        file->size_ = static_cast<std::uint64_t>(st.st_size);
        return file;
    }

    ReadOnlyFile(const ReadOnlyFile&) = delete;
    ReadOnlyFile& operator=(const ReadOnlyFile&) = delete;
    ~ReadOnlyFile() { ::close(fd_); }

    const std::string& path() const { return path_; }
    /// Size in bytes when the file was opened.
    std::uint64_t size() const { return size_; }

    /// Reads exactly n bytes at `offset` into dst. IoError if the OS fails or the file ends
    /// early (it shrank after it was opened).
    void read_at(std::uint64_t offset, void* dst, std::size_t n) const {
        auto* out = static_cast<unsigned char*>(dst);
        std::size_t done = 0;
        while (done < n) {
            // pread may return less than asked for (signals, huge requests): loop.
            const std::size_t chunk = std::min<std::size_t>(n - done, std::size_t{1} << 30);
            const ::ssize_t got =
                ::pread(fd_, out + done, chunk, static_cast<::off_t>(offset + done));
            if (got < 0 && errno == EINTR) continue;
            check<IoError>(got >= 0, "cannot read '", path_, "': ", detail::os_error_text(errno));
            check<IoError>(got > 0, "'", path_, "' ended at byte ", offset + done,
                           " while reading ", n, " bytes at offset ", offset,
                           " (was it truncated while open?)");
            done += static_cast<std::size_t>(got);
        }
    }

  private:
    ReadOnlyFile(std::string path, int fd) : path_(std::move(path)), fd_(fd) {}

    std::string path_;
    int fd_;
    std::uint64_t size_ = 0;
};

/// The whole of a regular file, refused (IoError naming the file and both sizes) when it is
/// larger than `max_bytes`: for files from outside (vocabularies, configs) whose size must
/// be bounded before anything is read. FIFOs, devices and directories are refused at once.
inline std::string read_file(const std::string& path, std::uint64_t max_bytes) {
    const auto file = ReadOnlyFile::open(path);
    check<IoError>(file->size() <= max_bytes, "'", path, "' is ", file->size(),
                   " bytes, more than the limit of ", max_bytes, " bytes for this file");
    std::string bytes(static_cast<std::size_t>(file->size()), '\0');
    file->read_at(0, bytes.data(), bytes.size());
    return bytes;
}

/// Writes a file by atomic replacement: construct (creates the temporary file), write()
/// the bytes, commit() (fsync + rename + directory fsync). Destroying a writer that was not
/// committed removes the temporary file; the target is then exactly as it was before.
class AtomicFileWriter {
  public:
    explicit AtomicFileWriter(std::string path) : path_(std::move(path)) {
        const std::filesystem::path target(path_);
        check<IoError>(!path_.empty() && target.has_filename(), "cannot write '", path_,
                       "': not a file path");
        dir_ = target.has_parent_path() ? target.parent_path().string() : std::string(".");
        // A name no other writer uses: pid + process-wide counter + clock, created with
        // O_EXCL so a collision is detected rather than shared. Mode 0666 lets the umask
        // decide the final permissions, as for any newly created file.
        static std::atomic<std::uint64_t> counter{0};
        int err = 0;
        for (int attempt = 0; attempt < 16; ++attempt) {
            const auto tick = static_cast<std::uint64_t>(
                std::chrono::steady_clock::now().time_since_epoch().count());
            temp_ = (std::filesystem::path(dir_) /
                     ("." + target.filename().string() + ".tmp-" + std::to_string(::getpid()) +
                      "-" + std::to_string(counter.fetch_add(1)) + "-" + std::to_string(tick)))
                        .string();
            do {
                fd_ = ::open(temp_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
            } while (fd_ < 0 && errno == EINTR);
            if (fd_ >= 0) return;
            err = errno;
            if (err != EEXIST) break;
        }
        throw IoError(nnlite::detail::concat("cannot write '", path_,
                                             "': cannot create a temporary file in '", dir_,
                                             "': ", detail::os_error_text(err)));
    }

    AtomicFileWriter(const AtomicFileWriter&) = delete;
    AtomicFileWriter& operator=(const AtomicFileWriter&) = delete;

    ~AtomicFileWriter() {
        if (fd_ >= 0) ::close(fd_);
        if (!committed_) ::unlink(temp_.c_str());
    }

    const std::string& path() const { return path_; }
    /// The temporary file's path (exists until commit() or destruction).
    const std::string& temp_path() const { return temp_; }

    void write(const void* data, std::size_t n) {
        check<IoError>(fd_ >= 0 && !committed_, "cannot write '", path_, "': writer is closed");
        const auto* in = static_cast<const unsigned char*>(data);
        while (n > 0) {
            const std::size_t chunk = std::min<std::size_t>(n, std::size_t{1} << 30);
            const ::ssize_t put = ::write(fd_, in, chunk);
            if (put < 0 && errno == EINTR) continue;
            check<IoError>(put > 0, "cannot write '", path_,
                           "': ", detail::os_error_text(put < 0 ? errno : EIO));
            in += put;
            n -= static_cast<std::size_t>(put);
        }
    }

    /// Makes the written bytes the content of path(). On failure the temporary file is
    /// removed (by the destructor) and the old file is untouched.
    void commit() {
        check<IoError>(fd_ >= 0 && !committed_, "cannot write '", path_, "': writer is closed");
        check<IoError>(::fsync(fd_) == 0, "cannot write '", path_,
                       "': fsync failed: ", detail::os_error_text(errno));
        const int fd = fd_;
        fd_ = -1;
        check<IoError>(::close(fd) == 0, "cannot write '", path_,
                       "': close failed: ", detail::os_error_text(errno));
        check<IoError>(::rename(temp_.c_str(), path_.c_str()) == 0, "cannot write '", path_,
                       "': rename from '", temp_, "' failed: ", detail::os_error_text(errno));
        committed_ = true;
        sync_directory();
    }

  private:
    // Persists the rename. File systems that cannot fsync a directory (EINVAL) are fine:
    // there the rename is as durable as it gets.
    void sync_directory() const {
        const int dfd = ::open(dir_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd < 0) return;
        const int rc = ::fsync(dfd);
        const int err = errno;
        ::close(dfd);
        check<IoError>(
            rc == 0 || err == EINVAL || err == ENOTSUP, "'", path_,
            "' was written but syncing its directory failed: ", detail::os_error_text(err));
    }

    std::string path_;
    std::string dir_;
    std::string temp_;
    int fd_ = -1;
    bool committed_ = false;
};

/// Replaces `path` with `content` atomically (AtomicFileWriter: unique temporary file,
/// fsync, rename, directory fsync). A symlink at `path` is replaced, never followed. Throws
/// IoError naming the file and the OS error.
inline void write_file_atomically(const std::string& path, std::string_view content) {
    AtomicFileWriter w(path);
    w.write(content.data(), content.size());
    w.commit();
}

}  // namespace nnlite::io
