// safetensors checkpoints: the format the Python ecosystem reads (safetensors.torch,
// transformers), so a model saved here loads into PyTorch by name and back.
//
// Layout (https://github.com/huggingface/safetensors):
//   [8 bytes]  N = header length, unsigned little-endian
//   [N bytes]  UTF-8 JSON object: {"<name>": {"dtype": "F32", "shape": [2, 3],
//                                             "data_offsets": [begin, end]}, ...,
//                                  "__metadata__": {"<key>": "<value>", ...}}   (optional)
//              (writers pad it with spaces so the data section starts 8-byte aligned)
//   [rest]     the data section; tensor <name> is bytes [begin, end) of it, row-major,
//              little-endian. The tensors cover the data section exactly: no gaps, no
//              overlap, no trailing bytes (the spec forbids them to rule out polyglot files).
//
// The reader treats a file as untrusted input. open() reads only the 8-byte prefix and the
// header, and validates every length, dtype, shape and offset against the real file size
// before anything of a declared size is allocated; a bad file is a FormatError naming the
// file and the problem. get<T>() then reads one tensor's bytes at offsets known to be valid
// straight into the new tensor's storage (no second copy of the file in memory).
//
// Usage:
//   io::save("model.safetensors", model.state_dict(), {{"epoch", "3"}});
//   model.load_state_dict(io::load<float>("model.safetensors"));
//
//   auto f = io::SafetensorsFile::open("mixed.safetensors");
//   auto ids = f.get<std::int64_t>("token_ids");     // FormatError if it is not I64
#pragma once

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <functional>
#include <limits>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "nnlite/core/dtype.hpp"
#include "nnlite/core/error.hpp"
#include "nnlite/core/shape.hpp"
#include "nnlite/io/file.hpp"
#include "nnlite/nn/module.hpp"
#include "nnlite/tensor/tensor.hpp"

namespace nnlite::io {

namespace safetensors_detail {

/// Headers larger than this are refused before they are read (the reference
/// implementation's limit; real headers are kilobytes to a few megabytes).
inline constexpr std::uint64_t max_header_bytes = 100'000'000;

/// Byte size of a safetensors dtype code; 0 for a code this reader does not know.
inline std::size_t dtype_size(const std::string& code) {
    static const std::map<std::string, std::size_t> sizes = {
        {"BOOL", 1}, {"U8", 1},  {"I8", 1},  {"F8_E5M2", 1}, {"F8_E4M3", 1}, {"F8_E8M0", 1},
        {"I16", 2},  {"U16", 2}, {"F16", 2}, {"BF16", 2},    {"I32", 4},     {"U32", 4},
        {"F32", 4},  {"I64", 8}, {"U64", 8}, {"F64", 8}};
    const auto it = sizes.find(code);
    return it == sizes.end() ? 0 : it->second;
}

inline bool host_is_little_endian() {
    const std::uint16_t one = 1;
    unsigned char first;
    std::memcpy(&first, &one, 1);
    return first == 1;
}

/// Reverses the bytes of each `element_size`-byte element (big-endian hosts only).
inline void swap_bytes(unsigned char* p, std::size_t count, std::size_t element_size) {
    for (std::size_t i = 0; i < count; ++i, p += element_size) std::reverse(p, p + element_size);
}

/// nlohmann's name for a JSON value's type ("array", "number", ...), for messages.
inline std::string json_kind(const nlohmann::json& j) {
    return j.type_name();
}

}  // namespace safetensors_detail

/// A validated safetensors file, open for reading tensors by name.
class SafetensorsFile {
  public:
    /// Reads and validates the header of `path`. IoError if the file cannot be read,
    /// FormatError (naming the file and the problem) if it is not a valid safetensors file.
    static SafetensorsFile open(const std::string& path) {
        auto file = ReadOnlyFile::open(path);
        SafetensorsFile out(path);
        out.read_ = [file](std::uint64_t offset, void* dst, std::size_t n) {
            file->read_at(offset, dst, n);
        };
        out.parse(file->size());
        return out;
    }

    /// The same validation over bytes in memory (copied), e.g. a download or a fuzzer input;
    /// `label` stands for the file name in messages.
    static SafetensorsFile open_from_memory(const void* data, std::size_t size,
                                            const std::string& label = "<memory>") {
        const auto* bytes = static_cast<const unsigned char*>(data);
        auto buffer = std::make_shared<const std::vector<unsigned char>>(bytes, bytes + size);
        SafetensorsFile out(label);
        out.read_ = [buffer, label](std::uint64_t offset, void* dst, std::size_t n) {
            check<IoError>(offset <= buffer->size() && n <= buffer->size() - offset, "'", label,
                           "': read of ", n, " bytes at offset ", offset, " past the end");
            if (n) std::memcpy(dst, buffer->data() + offset, n);
        };
        out.parse(buffer->size());
        return out;
    }

    /// The file name (or memory label) used in messages.
    const std::string& source() const { return source_; }

    /// Tensor names, sorted.
    std::vector<std::string> names() const {
        std::vector<std::string> out;
        out.reserve(entries_.size());
        for (const auto& kv : entries_) out.push_back(kv.first);
        return out;
    }
    std::size_t size() const { return entries_.size(); }
    bool contains(const std::string& name) const { return entries_.count(name) != 0; }
    /// The safetensors dtype code of a tensor: "F32", "I64", ...
    std::string dtype(const std::string& name) const { return entry(name).dtype; }
    Shape shape(const std::string& name) const { return entry(name).shape; }
    /// The "__metadata__" map (empty when the file has none).
    const std::map<std::string, std::string>& metadata() const { return metadata_; }

    /// Reads one tensor. Its dtype must be T's (dtype_traits<T>::safetensors): no silent
    /// conversion. FormatError naming the key and the file if it is missing or of another
    /// dtype.
    template <class T>
    Tensor<T, cpu> get(const std::string& name) const {
        const Entry& e = entry(name);
        check<FormatError>(e.dtype == dtype_traits<T>::safetensors, prefix(), "tensor '", name,
                           "' has dtype ", e.dtype, ", not ", dtype_traits<T>::safetensors, " (",
                           dtype_traits<T>::name, ") as requested");
        auto t = Tensor<T, cpu>::empty(e.shape);
        // Validated at open: (end - begin) == numel * sizeof(T) and lies inside the file.
        const auto nbytes = static_cast<std::size_t>(e.end - e.begin);
        if (nbytes) read_(data_start_ + e.begin, t.data(), nbytes);
        if (!safetensors_detail::host_is_little_endian())
            safetensors_detail::swap_bytes(reinterpret_cast<unsigned char*>(t.data()), t.numel(),
                                           sizeof(T));
        return t;
    }

  private:
    struct Entry {
        std::string dtype;
        Shape shape;
        std::uint64_t begin = 0;  // relative to the data section
        std::uint64_t end = 0;
    };

    explicit SafetensorsFile(std::string source) : source_(std::move(source)) {}

    std::string prefix() const { return "safetensors '" + source_ + "': "; }

    const Entry& entry(const std::string& name) const {
        const auto it = entries_.find(name);
        if (it != entries_.end()) return it->second;
        std::string held;
        std::size_t shown = 0;
        for (const auto& kv : entries_) {
            if (shown == 8) {
                held += ", ...";
                break;
            }
            held += (shown++ ? ", '" : "'") + kv.first + "'";
        }
        throw FormatError(prefix() + "no tensor named '" + name + "' (the file holds " +
                          std::to_string(entries_.size()) + " tensors" +
                          (entries_.empty() ? "" : ": " + held) + ")");
    }

    // Validation, in the order a hostile file would try to break it: lengths before
    // reading, JSON structure before use, sizes overflow-checked, offsets against the real
    // data section size, then exact coverage of the data section.
    void parse(std::uint64_t file_size) {
        check<FormatError>(file_size >= 8, prefix(), "file is ", file_size,
                           " bytes, shorter than the 8-byte header length prefix (truncated?)");
        unsigned char prefix_bytes[8];
        read_(0, prefix_bytes, 8);
        std::uint64_t header_len = 0;
        for (int i = 7; i >= 0; --i) header_len = (header_len << 8) | prefix_bytes[i];
        check<FormatError>(header_len <= file_size - 8, prefix(), "header length ", header_len,
                           " is larger than the ", file_size - 8,
                           " bytes after the length prefix (truncated file?)");
        check<FormatError>(header_len <= safetensors_detail::max_header_bytes, prefix(),
                           "header length ", header_len, " exceeds the limit of ",
                           safetensors_detail::max_header_bytes, " bytes");
        std::string text(static_cast<std::size_t>(header_len), '\0');
        if (header_len) read_(8, text.data(), text.size());
        data_start_ = 8 + header_len;
        const std::uint64_t data_size = file_size - data_start_;

        const nlohmann::json header = parse_json(text);
        check<FormatError>(header.is_object(), prefix(), "header is not a JSON object (found ",
                           safetensors_detail::json_kind(header), ")");
        for (const auto& item : header.items()) {
            if (item.key() == "__metadata__")
                parse_metadata(item.value());
            else
                entries_.emplace(item.key(), parse_entry(item.key(), item.value(), data_size));
        }
        check_coverage(data_size);
    }

    // JSON with two extra rules the DOM parser does not enforce: no duplicate key in any
    // object (which value would win is ambiguous, so refuse), and no nesting deeper than a
    // header needs (root > tensor entry > shape), which also bounds recursion on hostile
    // input like "[[[[...".
    nlohmann::json parse_json(const std::string& text) const {
        std::vector<std::set<std::string>> open_objects;
        const auto on_event = [&](int depth, nlohmann::json::parse_event_t event,
                                  nlohmann::json& parsed) {
            using ev = nlohmann::json::parse_event_t;
            if (event == ev::object_start || event == ev::array_start) {
                check<FormatError>(depth <= 2, prefix(),
                                   "header nests JSON deeper than a safetensors header can "
                                   "(object > tensor entry > shape)");
                if (event == ev::object_start) open_objects.emplace_back();
            } else if (event == ev::object_end) {
                open_objects.pop_back();
            } else if (event == ev::key) {
                const auto& key = parsed.get_ref<const std::string&>();
                check<FormatError>(open_objects.back().insert(key).second, prefix(),
                                   "duplicate key '", key, "' in the header");
            }
            return true;
        };
        try {
            return nlohmann::json::parse(text, on_event);
        } catch (const nlohmann::json::exception& e) {
            throw FormatError(prefix() + "header is not valid JSON: " + e.what());
        }
    }

    void parse_metadata(const nlohmann::json& m) {
        check<FormatError>(m.is_object(), prefix(), "__metadata__ is not a JSON object (found ",
                           safetensors_detail::json_kind(m), ")");
        for (const auto& kv : m.items()) {
            check<FormatError>(kv.value().is_string(), prefix(), "__metadata__ value of '",
                               kv.key(), "' is not a string (found ",
                               safetensors_detail::json_kind(kv.value()), ")");
            metadata_.emplace(kv.key(), kv.value().get<std::string>());
        }
    }

    // A JSON number that must be a non-negative integer (a dimension or an offset).
    std::uint64_t parse_count(const nlohmann::json& v, const std::string& tensor,
                              const char* what) const {
        const auto fail = [&](const std::string& why) {
            throw FormatError(prefix() + "tensor '" + tensor + "': " + what + " " + why);
        };
        if (v.is_number_unsigned()) return v.get<std::uint64_t>();
        if (v.is_number_integer()) fail(std::to_string(v.get<std::int64_t>()) + " is negative");
        if (v.is_number_float()) fail(v.dump() + " is not a non-negative integer");
        fail("is not a number (found " + safetensors_detail::json_kind(v) + ")");
        return 0;
    }

    Entry parse_entry(const std::string& name, const nlohmann::json& j,
                      std::uint64_t data_size) const {
        const std::string where = prefix() + "tensor '" + name + "': ";
        check<FormatError>(j.is_object(), where, "entry is not a JSON object (found ",
                           safetensors_detail::json_kind(j), ")");
        for (const char* field : {"dtype", "shape", "data_offsets"})
            check<FormatError>(j.contains(field), where, "missing \"", field, "\"");
        Entry e;
        const auto& dtype = j.at("dtype");
        check<FormatError>(dtype.is_string(), where, "dtype is not a string (found ",
                           safetensors_detail::json_kind(dtype), ")");
        e.dtype = dtype.get<std::string>();
        const std::size_t element_size = safetensors_detail::dtype_size(e.dtype);
        check<FormatError>(element_size != 0, where, "unknown dtype '", e.dtype, "'");

        const auto& shape = j.at("shape");
        check<FormatError>(shape.is_array(), where, "shape is not an array (found ",
                           safetensors_detail::json_kind(shape), ")");
        bool has_zero = false;
        for (const auto& d : shape) {
            const std::uint64_t extent = parse_count(d, name, "shape entry");
            check<FormatError>(extent <= std::numeric_limits<std::size_t>::max(), where,
                               "shape entry ", extent, " does not fit in memory indices");
            e.shape.push_back(static_cast<std::size_t>(extent));
            has_zero = has_zero || extent == 0;
        }
        // numel * element_size, refusing to wrap around: a shape like [2^62, 8] must be a
        // clear error, not a small (wrapped) byte count that happens to match the offsets.
        std::uint64_t nbytes = 0;
        if (!has_zero) {
            constexpr std::uint64_t max = std::numeric_limits<std::uint64_t>::max();
            std::uint64_t count = 1;
            for (const auto d : e.shape) {
                check<FormatError>(count <= max / d, where, "shape ", to_string(e.shape),
                                   " has more elements than fit in 64 bits");
                count *= d;
            }
            check<FormatError>(count <= max / element_size, where, "shape ", to_string(e.shape),
                               " of ", e.dtype, " needs more bytes than fit in 64 bits");
            nbytes = count * element_size;
        }

        const auto& offsets = j.at("data_offsets");
        check<FormatError>(offsets.is_array() && offsets.size() == 2, where,
                           "data_offsets is not an array of 2 offsets (found ", offsets.dump(),
                           ")");
        e.begin = parse_count(offsets[0], name, "data_offsets begin");
        e.end = parse_count(offsets[1], name, "data_offsets end");
        check<FormatError>(e.begin <= e.end, where, "data_offsets [", e.begin, ",", e.end,
                           "] end before they begin");
        check<FormatError>(e.end <= data_size, where, "data_offsets [", e.begin, ",", e.end,
                           "] are out of range of the ", data_size, "-byte data section");
        check<FormatError>(e.end - e.begin == nbytes, where, "shape ", to_string(e.shape), " of ",
                           e.dtype, " needs ", nbytes, " bytes but data_offsets [", e.begin, ",",
                           e.end, "] span ", e.end - e.begin);
        return e;
    }

    // The tensors, sorted by offset, must tile the data section exactly.
    void check_coverage(std::uint64_t data_size) const {
        std::vector<std::pair<const std::string*, const Entry*>> order;
        for (const auto& kv : entries_) order.emplace_back(&kv.first, &kv.second);
        std::sort(order.begin(), order.end(), [](const auto& a, const auto& b) {
            return std::make_pair(a.second->begin, a.second->end) <
                   std::make_pair(b.second->begin, b.second->end);
        });
        std::uint64_t covered = 0;
        const std::string* previous = nullptr;
        for (const auto& [name, e] : order) {
            check<FormatError>(e->begin >= covered, prefix(), "tensors '",
                               previous ? *previous : std::string(), "' and '", *name,
                               "' overlap (data_offsets of '", *name, "' begin at ", e->begin,
                               ", before byte ", covered, ")");
            check<FormatError>(e->begin == covered, prefix(), "bytes [", covered, ",", e->begin,
                               ") of the data section belong to no tensor (gap before '", *name,
                               "')");
            covered = e->end;
            previous = name;
        }
        check<FormatError>(covered == data_size, prefix(), "data section is ", data_size,
                           " bytes but the tensors cover only ", covered,
                           " (trailing bytes after the last tensor)");
    }

    std::string source_;
    std::function<void(std::uint64_t, void*, std::size_t)> read_;
    std::uint64_t data_start_ = 0;
    std::map<std::string, Entry> entries_;
    std::map<std::string, std::string> metadata_;
};

/// Collects named tensors (any mix of dtypes) and metadata, then writes one safetensors
/// file atomically. add() keeps a handle, not a copy: write() stores the values the
/// tensors hold when it runs (like handing a dict to safetensors.torch.save_file).
class SafetensorsWriter {
  public:
    template <class T, class B>
    void add(const std::string& name, const Tensor<T, B>& t) {
        check<ValueError>(t.defined(), "SafetensorsWriter::add: tensor '", name, "' is undefined");
        check<ValueError>(name != "__metadata__",
                          "SafetensorsWriter::add: '__metadata__' is reserved for metadata "
                          "and cannot name a tensor");
        check_utf8(name, "tensor name");
        check<ValueError>(tensors_.count(name) == 0, "SafetensorsWriter::add: tensor '", name,
                          "' was already added");
        Pending p;
        p.dtype = dtype_traits<T>::safetensors;
        p.element_size = sizeof(T);
        p.shape = t.shape();
        p.nbytes = static_cast<std::uint64_t>(t.numel()) * sizeof(T);
        p.write_data = [h = t.detach()](AtomicFileWriter& out) {
            if constexpr (std::is_same_v<B, cpu>) {
                if (safetensors_detail::host_is_little_endian()) {
                    out.write(h.data(), h.numel() * sizeof(T));
                    return;
                }
            }
            std::vector<T> host = h.to_vector();  // device -> host, or a copy to byte-swap
            if (!safetensors_detail::host_is_little_endian())
                safetensors_detail::swap_bytes(reinterpret_cast<unsigned char*>(host.data()),
                                               host.size(), sizeof(T));
            out.write(host.data(), host.size() * sizeof(T));
        };
        tensors_.emplace(name, std::move(p));
    }

    /// Sets (or replaces) one "__metadata__" entry.
    void set_metadata(const std::string& key, const std::string& value) {
        check_utf8(key, "metadata key");
        check_utf8(value, "metadata value");
        metadata_[key] = value;
    }

    std::size_t size() const { return tensors_.size(); }
    bool contains(const std::string& name) const { return tensors_.count(name) != 0; }

    /// Writes the file atomically (see AtomicFileWriter): temp file in the same directory,
    /// fsync, rename, directory fsync. IoError naming the file on failure; the previous
    /// file at `path`, if any, is then untouched and no temporary file is left behind.
    void write(const std::string& path) const {
        AtomicFileWriter out(path);
        write(out);
        out.commit();
    }

    /// Writes the whole file's bytes into `out` without committing it: the caller decides
    /// when the new file replaces the old one (out.commit()) or drops it (destroying `out`).
    void write(AtomicFileWriter& out) const {
        // Data layout: larger elements first, then by name, so every tensor starts aligned
        // to its element size (the data section itself starts 8-byte aligned).
        std::vector<std::pair<const std::string*, const Pending*>> layout;
        for (const auto& kv : tensors_) layout.emplace_back(&kv.first, &kv.second);
        std::stable_sort(layout.begin(), layout.end(), [](const auto& a, const auto& b) {
            return a.second->element_size > b.second->element_size;
        });
        std::map<std::string, std::pair<std::uint64_t, std::uint64_t>> offsets;
        std::uint64_t offset = 0;
        for (const auto& [name, p] : layout) {
            offsets[*name] = {offset, offset + p->nbytes};
            offset += p->nbytes;
        }

        nlohmann::ordered_json header = nlohmann::ordered_json::object();
        if (!metadata_.empty()) header["__metadata__"] = metadata_;
        for (const auto& [name, p] : tensors_) {
            nlohmann::ordered_json e;
            e["dtype"] = p.dtype;
            e["shape"] = p.shape;
            e["data_offsets"] = {offsets[name].first, offsets[name].second};
            header[name] = std::move(e);
        }
        std::string text = header.dump();
        text.append((8 - (8 + text.size()) % 8) % 8, ' ');

        unsigned char length[8];
        std::uint64_t n = text.size();
        for (auto& byte : length) {
            byte = static_cast<unsigned char>(n & 0xff);
            n >>= 8;
        }
        out.write(length, sizeof length);
        out.write(text.data(), text.size());
        for (const auto& [name, p] : layout) p->write_data(out);
    }

  private:
    struct Pending {
        std::string dtype;
        std::size_t element_size = 0;
        Shape shape;
        std::uint64_t nbytes = 0;
        std::function<void(AtomicFileWriter&)> write_data;
    };

    // JSON strings must be UTF-8; refuse bad names when they are given, not at write().
    static void check_utf8(const std::string& s, const char* what) {
        try {
            (void)nlohmann::json(s).dump();
        } catch (const nlohmann::json::exception&) {
            throw ValueError(std::string("SafetensorsWriter: ") + what + " '" + s +
                             "' is not valid UTF-8");
        }
    }

    std::map<std::string, Pending> tensors_;
    std::map<std::string, std::string> metadata_;
};

/// Saves a state dict (PyTorch's key names) and optional metadata to `path`, atomically.
template <class T, class B = cpu>
void save(const std::string& path, const nn::StateDict<T, B>& dict,
          const std::map<std::string, std::string>& metadata = {}) {
    SafetensorsWriter writer;
    for (const auto& kv : dict) writer.add(kv.first, kv.second);
    for (const auto& kv : metadata) writer.set_metadata(kv.first, kv.second);
    writer.write(path);
}

/// Loads every tensor of a safetensors file as a state dict; each must have dtype T
/// (FormatError naming the key otherwise).
template <class T, class B = cpu>
nn::StateDict<T, B> load(const std::string& path) {
    const auto file = SafetensorsFile::open(path);
    nn::StateDict<T, B> out;
    for (const auto& name : file.names()) {
        auto t = file.get<T>(name);
        if constexpr (std::is_same_v<B, cpu>)
            out.emplace(name, std::move(t));
        else
            out.emplace(name, Tensor<T, B>::from(t.to_vector(), t.shape()));
    }
    return out;
}

}  // namespace nnlite::io
