// libFuzzer target for the safetensors loader: any byte string is either a valid file
// whose every tensor reads back with the declared shape, or a FormatError. Anything else
// (a crash, a sanitizer report, another exception such as std::bad_alloc from allocating
// a declared size) is a bug.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <nnlite/io/safetensors.hpp>
#include <string>

namespace {

template <class T>
void read_and_verify(const nnlite::io::SafetensorsFile& file, const std::string& name) {
    const auto t = file.get<T>(name);
    if (t.shape() != file.shape(name)) std::abort();
    // Touch every element so ASan sees any read past the tensor's storage.
    volatile T sink{};
    const T* p = t.data();
    for (std::size_t i = 0; i < t.numel(); ++i) sink = p[i];
    (void)sink;
}

// Asking for the wrong element type must be a FormatError, never a read.
template <class T>
void expect_dtype_refused(const nnlite::io::SafetensorsFile& file, const std::string& name) {
    try {
        (void)file.get<T>(name);
    } catch (const nnlite::FormatError&) {
        return;
    }
    std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using nnlite::io::SafetensorsFile;
    try {
        const auto file = SafetensorsFile::open_from_memory(data, size, "fuzz-input");
        for (const auto& name : file.names()) {
            if (!file.contains(name)) std::abort();
            const std::string dtype = file.dtype(name);
            if (dtype == "F32") {
                read_and_verify<float>(file, name);
                expect_dtype_refused<double>(file, name);
            } else if (dtype == "F64") {
                read_and_verify<double>(file, name);
                expect_dtype_refused<std::int64_t>(file, name);
            } else if (dtype == "I32") {
                read_and_verify<std::int32_t>(file, name);
                expect_dtype_refused<float>(file, name);
            } else if (dtype == "I64") {
                read_and_verify<std::int64_t>(file, name);
                expect_dtype_refused<std::int32_t>(file, name);
            } else {
                expect_dtype_refused<float>(file, name);
            }
        }
        for (const auto& kv : file.metadata()) (void)kv.second.size();
    } catch (const nnlite::FormatError&) {
        // The expected outcome for malformed input.
    }
    return 0;
}
