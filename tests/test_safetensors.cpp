// safetensors checkpoints: round trips, the PyTorch-written fixture, atomic writes, state
// dicts of modules, and hostile files (each a FormatError naming the file and the problem).
#include <doctest/doctest.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>
#include <memory>
#include <nnlite/io/safetensors.hpp>
#include <nnlite/nn/module.hpp>
#include <string>
#include <vector>

using namespace nnlite;
namespace fs = std::filesystem;

namespace {

/// A fresh directory under the system temp dir, removed with everything in it at scope end.
struct TempDir {
    fs::path path;
    TempDir() {
        static int counter = 0;
        path =
            fs::temp_directory_path() / ("nnlite_safetensors_test_" + std::to_string(::getpid()) +
                                         "_" + std::to_string(counter++));
        fs::remove_all(path);
        fs::create_directories(path);
    }
    ~TempDir() {
        std::error_code ec;
        fs::permissions(path, fs::perms::owner_all, fs::perm_options::add, ec);
        fs::remove_all(path, ec);
    }
    std::string file(const std::string& name) const { return (path / name).string(); }
    std::vector<std::string> entries() const {
        std::vector<std::string> out;
        for (const auto& e : fs::directory_iterator(path)) out.push_back(e.path().filename());
        std::sort(out.begin(), out.end());
        return out;
    }
};

/// doctest::Contains for a std::string (it takes a doctest::String, which it copies).
doctest::Contains contains(const std::string& s) {
    return doctest::Contains(s.c_str());
}

std::string read_bytes(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
}

void write_bytes(const std::string& path, const std::string& bytes) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

std::string le64(std::uint64_t n) {
    std::string s(8, '\0');
    for (auto& c : s) {
        c = static_cast<char>(n & 0xff);
        n >>= 8;
    }
    return s;
}

/// A file with the given header text (length prefix computed) and `data_bytes` zero bytes.
std::string raw_file(const std::string& header, std::size_t data_bytes) {
    return le64(header.size()) + header + std::string(data_bytes, '\0');
}

/// open() must throw FormatError whose message names the file and contains `problem`.
void check_rejected(const std::string& path, const std::string& problem) {
    INFO("file: ", path, "\nexpected problem: ", problem);
    std::string message;
    try {
        (void)io::SafetensorsFile::open(path);
    } catch (const FormatError& e) {
        message = e.what();
    }
    INFO("message: ", message);
    REQUIRE_FALSE(message.empty());
    CHECK(message.find(path) != std::string::npos);
    CHECK(message.find(problem) != std::string::npos);
}

/// Writes `header` + `data_bytes` zero bytes to a file and checks it is rejected.
void check_header_rejected(const TempDir& dir, const std::string& header, std::size_t data_bytes,
                           const std::string& problem) {
    const auto path = dir.file("bad.safetensors");
    write_bytes(path, raw_file(header, data_bytes));
    check_rejected(path, problem);
}

template <class T>
void check_same(const Tensor<T>& a, const Tensor<T>& b) {
    CHECK(a.shape() == b.shape());
    const auto va = a.to_vector(), vb = b.to_vector();
    REQUIRE(va.size() == vb.size());
    // Bitwise: a checkpoint must reproduce values exactly (also -0.0, NaN payloads).
    CHECK((va.empty() || std::memcmp(va.data(), vb.data(), va.size() * sizeof(T)) == 0));
}

/// A module tree with a parameter, a child module and a buffer, like a real model.
struct Head : nn::Module<float> {
    Tensor<float> weight, bias;
    Head() {
        weight = register_parameter("weight", Tensor<float>::uniform({2, 3}, -1.f, 1.f));
        bias = register_parameter("bias", Tensor<float>::uniform({2}, -1.f, 1.f));
    }
};
struct Net : nn::Module<float> {
    Tensor<float> embedding, steps;
    std::shared_ptr<Head> fc;
    Net() {
        embedding = register_parameter("embedding", Tensor<float>::normal({4, 3}, 0.f, 1.f));
        steps = register_buffer("steps", Tensor<float>::full({1}, 0.f));
        fc = register_module("fc", std::make_shared<Head>());
    }
};

}  // namespace

TEST_CASE_TEMPLATE("round trip keeps shape, dtype and exact values", T, float, double, std::int32_t,
                   std::int64_t) {
    TempDir dir;
    const auto path = dir.file("t.safetensors");
    Generator gen(7);
    std::vector<T> values(24);
    for (auto& v : values) v = static_cast<T>(gen.uniform(-1000.0, 1000.0));
    const auto matrix = Tensor<T>::from(values, {2, 3, 4});
    const auto scalar = Tensor<T>::scalar(T(-42));
    const auto empty = Tensor<T>::zeros({0, 5});
    const auto row = Tensor<T>::from({T(1), T(2)});

    io::SafetensorsWriter w;
    w.add("matrix", matrix);
    w.add("scalar", scalar);
    w.add("empty", empty);
    w.add("row", row);
    w.write(path);

    const auto f = io::SafetensorsFile::open(path);
    CHECK(f.names() == std::vector<std::string>{"empty", "matrix", "row", "scalar"});
    CHECK(f.dtype("matrix") == dtype_traits<T>::safetensors);
    CHECK(f.shape("scalar") == Shape{});
    CHECK(f.shape("empty") == Shape{0, 5});
    CHECK(f.metadata().empty());
    check_same(f.get<T>("matrix"), matrix);
    check_same(f.get<T>("scalar"), scalar);
    check_same(f.get<T>("empty"), empty);
    check_same(f.get<T>("row"), row);
}

TEST_CASE("floats round trip bit for bit, including -0, inf, nan and subnormals") {
    TempDir dir;
    const auto path = dir.file("special.safetensors");
    const float inf = std::numeric_limits<float>::infinity();
    const auto t = Tensor<float>::from({-0.0f, inf, -inf, std::numeric_limits<float>::quiet_NaN(),
                                        std::numeric_limits<float>::denorm_min(),
                                        std::numeric_limits<float>::max()});
    io::SafetensorsWriter w;
    w.add("x", t);
    w.write(path);
    check_same(io::SafetensorsFile::open(path).get<float>("x"), t);
}

TEST_CASE("the file layout follows the format: padded header, sorted keys, aligned data") {
    TempDir dir;
    const auto path = dir.file("layout.safetensors");
    io::SafetensorsWriter w;
    w.add("b_int", Tensor<std::int32_t>::from({1, 2, 3}));
    w.add("a_f64", Tensor<double>::from({1.5}));
    w.add("c_f32", Tensor<float>::from({2.5f, -1.f}));
    w.set_metadata("epoch", "3");
    w.write(path);

    const std::string bytes = read_bytes(path);
    REQUIRE(bytes.size() >= 8);
    std::uint64_t n = 0;
    for (int i = 7; i >= 0; --i) n = (n << 8) | static_cast<unsigned char>(bytes[i]);
    CHECK((8 + n) % 8 == 0);
    const std::string header = bytes.substr(8, n);
    // __metadata__ first, then names sorted; data laid out by element size (8-byte first),
    // then name, so each tensor starts aligned to its element size; padding is spaces.
    CHECK(
        header.rfind(
            R"({"__metadata__":{"epoch":"3"},"a_f64":{"dtype":"F64","shape":[1],"data_offsets":[0,8]},)"
            R"("b_int":{"dtype":"I32","shape":[3],"data_offsets":[8,20]},)"
            R"("c_f32":{"dtype":"F32","shape":[2],"data_offsets":[20,28]}})",
            0) == 0);
    CHECK(header.find_first_not_of(' ', header.find_last_of('}') + 1) == std::string::npos);
    CHECK(bytes.size() == 8 + n + 28);
    // Little-endian data: the first I32 (1) at data offset 8.
    CHECK(bytes.substr(8 + n + 8, 4) == std::string("\x01\x00\x00\x00", 4));
}

TEST_CASE("metadata round trips; mixed dtypes read by their own type") {
    TempDir dir;
    const auto path = dir.file("mixed.safetensors");
    io::SafetensorsWriter w;
    w.add("weights", Tensor<float>::from({1.f, 2.f}));
    w.add("ids", Tensor<std::int64_t>::from({5, -6}));
    w.set_metadata("format", "pt");
    w.set_metadata("epoch", "1");
    w.set_metadata("epoch", "2");  // replaces
    w.set_metadata("note", "UTF-8 \xC3\xA9t\xC3\xA9, quotes \" and \\ backslash");
    w.write(path);

    const auto f = io::SafetensorsFile::open(path);
    CHECK(f.metadata() == std::map<std::string, std::string>{
                              {"epoch", "2"},
                              {"format", "pt"},
                              {"note", "UTF-8 \xC3\xA9t\xC3\xA9, quotes \" and \\ backslash"}});
    CHECK(f.get<std::int64_t>("ids").to_vector() == std::vector<std::int64_t>{5, -6});
    CHECK(f.get<float>("weights").to_vector() == std::vector<float>{1.f, 2.f});
    CHECK(f.contains("ids"));
    CHECK_FALSE(f.contains("bias"));

    CHECK_THROWS_WITH_AS(
        f.get<float>("ids"),
        contains("safetensors '" + path + "': tensor 'ids' has dtype I64, not F32 (float32)"),
        FormatError);
    CHECK_THROWS_WITH_AS(f.get<std::int32_t>("weights"),
                         doctest::Contains("tensor 'weights' has dtype F32, not I32 (int32)"),
                         FormatError);
    CHECK_THROWS_WITH_AS(f.get<float>("bias"),
                         contains("'" + path +
                                  "': no tensor named 'bias' (the file holds 2 tensors: "
                                  "'ids', 'weights')"),
                         FormatError);
    CHECK_THROWS_WITH_AS(f.shape("bias"), doctest::Contains("no tensor named 'bias'"), FormatError);
}

TEST_CASE("the writer keeps handles: write() stores the values at write time") {
    TempDir dir;
    auto t = Tensor<float>::from({1.f, 2.f});
    io::SafetensorsWriter w;
    w.add("t", t);
    t.data()[0] = 10.f;
    w.write(dir.file("a.safetensors"));
    CHECK(io::SafetensorsFile::open(dir.file("a.safetensors")).get<float>("t").to_vector() ==
          std::vector<float>{10.f, 2.f});
}

TEST_CASE("the writer refuses bad names and undefined tensors") {
    io::SafetensorsWriter w;
    w.add("w", Tensor<float>::zeros({2}));
    CHECK_THROWS_WITH_AS(w.add("w", Tensor<double>::zeros({1})),
                         doctest::Contains("tensor 'w' was already added"), ValueError);
    CHECK_THROWS_WITH_AS(w.add("__metadata__", Tensor<float>::zeros({1})),
                         doctest::Contains("'__metadata__' is reserved"), ValueError);
    CHECK_THROWS_WITH_AS(w.add("u", Tensor<float>()), doctest::Contains("tensor 'u' is undefined"),
                         ValueError);
    CHECK_THROWS_WITH_AS(w.add("bad\xff", Tensor<float>::zeros({1})),
                         doctest::Contains("tensor name 'bad\xff' is not valid UTF-8"), ValueError);
    CHECK_THROWS_WITH_AS(w.set_metadata("k", "\xc3"),
                         doctest::Contains("metadata value '\xc3' is not valid UTF-8"), ValueError);
    CHECK(w.size() == 1);
}

TEST_CASE("an empty writer writes a valid file with no tensors") {
    TempDir dir;
    const auto path = dir.file("empty.safetensors");
    io::SafetensorsWriter().write(path);
    CHECK(read_bytes(path) == le64(8) + "{}      ");
    const auto f = io::SafetensorsFile::open(path);
    CHECK(f.size() == 0);
    CHECK_THROWS_WITH_AS(f.get<float>("x"),
                         doctest::Contains("no tensor named 'x' (the file holds 0 tensors)"),
                         FormatError);
}

TEST_CASE("a file written by PyTorch (tests/fixtures/safetensors_io.py) reads exactly") {
    const std::string path = NNLITE_FIXTURES_DIR "/safetensors_python.safetensors";
    const auto f = io::SafetensorsFile::open(path);
    CHECK(f.names() == std::vector<std::string>{"empty_f32", "half", "ids_i32", "ids_i64",
                                                "linear.bias", "linear.weight", "scalar_f64",
                                                "transposed"});
    CHECK(f.metadata() ==
          std::map<std::string, std::string>{{"format", "pt"}, {"producer", "safetensors_io.py"}});
    const auto w = f.get<float>("linear.weight");
    CHECK(w.shape() == Shape{2, 3});
    check_same(w, Tensor<float>::from({-1.5f, 0.1f, 3.25f, 1e-8f, -0.0f, 65504.f}, {2, 3}));
    check_same(f.get<float>("linear.bias"), Tensor<float>::from({0.5f, -2.f}));
    const auto pi = f.get<double>("scalar_f64");
    CHECK(pi.shape() == Shape{});
    CHECK(pi.item() == 3.141592653589793);
    CHECK(f.get<std::int32_t>("ids_i32").to_vector() ==
          std::vector<std::int32_t>{-2, 0, 7, 2147483647});
    const auto ids = f.get<std::int64_t>("ids_i64");
    CHECK(ids.shape() == Shape{2, 2});
    CHECK(ids.to_vector() ==
          std::vector<std::int64_t>{-9007199254740993LL, 1, 2, std::int64_t{1} << 62});
    CHECK(f.get<float>("empty_f32").shape() == Shape{0, 3});
    // Torch wrote the transpose of arange(6).reshape(2, 3) row-major.
    CHECK(f.get<double>("transposed").to_vector() == std::vector<double>{0, 3, 1, 4, 2, 5});
    // F16 has no nnlite element type, but is a valid dtype of the file.
    CHECK(f.dtype("half") == "F16");
    CHECK(f.shape("half") == Shape{2});
    CHECK_THROWS_WITH_AS(f.get<float>("half"),
                         doctest::Contains("tensor 'half' has dtype F16, not F32"), FormatError);
}

TEST_CASE("state dicts: io::save / io::load round trip through a module") {
    TempDir dir;
    const auto path = dir.file("net.safetensors");
    manual_seed(1);
    Net a;
    a.steps.data()[0] = 123.f;
    io::save(path, a.state_dict(), {{"epoch", "4"}});

    const auto f = io::SafetensorsFile::open(path);
    CHECK(f.names() == std::vector<std::string>{"embedding", "fc.bias", "fc.weight", "steps"});
    CHECK(f.metadata().at("epoch") == "4");

    manual_seed(2);
    Net b;
    const auto fc_weight_handle = b.fc->weight;
    b.load_state_dict(io::load<float>(path));
    for (const auto& kv : a.state_dict()) {
        INFO(kv.first);
        check_same(b.state_dict().at(kv.first), kv.second);
    }
    // Values are copied into the existing parameters: handles held elsewhere (an
    // optimizer's parameter list) see the loaded values.
    CHECK(fc_weight_handle.shares_storage_with(b.fc->weight));
    check_same(fc_weight_handle, a.fc->weight);
    CHECK(b.fc->weight.requires_grad());

    const auto dict = io::load<float>(path);
    CHECK(dict.size() == 4);
    CHECK(dict.at("steps").item() == 123.f);
}

TEST_CASE("state dicts: wrong dtype, extra keys and shape mismatches are errors") {
    TempDir dir;
    const auto path = dir.file("ids.safetensors");
    io::SafetensorsWriter w;
    w.add("embedding", Tensor<float>::zeros({4, 3}));
    w.add("ids", Tensor<std::int64_t>::zeros({2}));
    w.write(path);
    CHECK_THROWS_WITH_AS(io::load<float>(path),
                         doctest::Contains("tensor 'ids' has dtype I64, not F32"), FormatError);
    CHECK_THROWS_WITH_AS(io::load<double>(path),
                         doctest::Contains("tensor 'embedding' has dtype F32, not F64"),
                         FormatError);

    Net net;
    const auto before = net.embedding.to_vector();
    auto extra = net.state_dict();
    extra.emplace("dropout.p", Tensor<float>::scalar(0.5f));
    io::save(dir.file("extra.safetensors"), extra);
    CHECK_THROWS_WITH_AS(net.load_state_dict(io::load<float>(dir.file("extra.safetensors"))),
                         doctest::Contains("unexpected key 'dropout.p'"), FormatError);

    auto wrong = net.state_dict();
    wrong["fc.weight"] = Tensor<float>::zeros({3, 2});
    io::save(dir.file("wrong.safetensors"), wrong);
    CHECK_THROWS_WITH_AS(net.load_state_dict(io::load<float>(dir.file("wrong.safetensors"))),
                         doctest::Contains("key 'fc.weight' has shape [3,2]"), ShapeError);
    CHECK(net.embedding.to_vector() == before);  // a failed load changes nothing
}

TEST_CASE("writes are atomic: a failed write leaves the old file and no temporary file") {
    TempDir dir;
    const auto path = dir.file("model.safetensors");
    io::SafetensorsWriter first;
    first.add("w", Tensor<float>::from({1.f, 2.f}));
    first.write(path);
    const std::string old_bytes = read_bytes(path);

    io::SafetensorsWriter second;
    second.add("w", Tensor<float>::from({3.f, 4.f, 5.f}));

    SUBCASE("overwriting replaces the file and leaves nothing else behind") {
        second.write(path);
        CHECK(io::SafetensorsFile::open(path).get<float>("w").to_vector() ==
              std::vector<float>{3.f, 4.f, 5.f});
        CHECK(dir.entries() == std::vector<std::string>{"model.safetensors"});
    }
    SUBCASE("nonexistent directory: IoError naming the file") {
        const auto missing = dir.file("no/such/dir/model.safetensors");
        CHECK_THROWS_WITH_AS(second.write(missing), contains("cannot write '" + missing + "'"),
                             IoError);
        CHECK_THROWS_WITH_AS(second.write(missing), doctest::Contains("No such file or directory"),
                             IoError);
        CHECK(read_bytes(path) == old_bytes);
        CHECK(dir.entries() == std::vector<std::string>{"model.safetensors"});
    }
    SUBCASE("the target is a directory: rename fails after the data was written") {
        fs::create_directory(dir.file("taken"));
        const auto target = dir.file("taken");
        CHECK_THROWS_WITH_AS(second.write(target), contains("cannot write '" + target), IoError);
        CHECK(fs::is_directory(target));
        CHECK(read_bytes(path) == old_bytes);
        CHECK(dir.entries() == std::vector<std::string>{"model.safetensors", "taken"});
    }
    SUBCASE("the disk fills up mid-write (file size limit): IoError, old file intact") {
        // RLIMIT_FSIZE makes write() fail with EFBIG part-way through the data, even for
        // root; SIGXFSZ is ignored so the failure is an error code, not a signal.
        io::SafetensorsWriter big;
        big.add("w", Tensor<float>::zeros({1 << 16}));
        struct rlimit saved {};
        REQUIRE(::getrlimit(RLIMIT_FSIZE, &saved) == 0);
        const auto old_handler = std::signal(SIGXFSZ, SIG_IGN);
        struct rlimit small = saved;
        small.rlim_cur = 4096;
        REQUIRE(::setrlimit(RLIMIT_FSIZE, &small) == 0);
        std::string message;
        try {
            big.write(path);
        } catch (const IoError& e) {
            message = e.what();
        }
        ::setrlimit(RLIMIT_FSIZE, &saved);
        std::signal(SIGXFSZ, old_handler);
        CHECK(message.find("cannot write '" + path + "'") != std::string::npos);
        CHECK(message.find("File too large") != std::string::npos);
        CHECK(read_bytes(path) == old_bytes);
        CHECK(dir.entries() == std::vector<std::string>{"model.safetensors"});
    }
    SUBCASE("read-only directory: IoError, old file intact") {
        fs::permissions(dir.path, fs::perms::owner_read | fs::perms::owner_exec);
        if (::access(dir.path.c_str(), W_OK) == 0) {
            MESSAGE("running with privileges that ignore directory permissions; skipped");
        } else {
            CHECK_THROWS_WITH_AS(second.write(path), doctest::Contains("Permission denied"),
                                 IoError);
            CHECK(read_bytes(path) == old_bytes);
        }
        fs::permissions(dir.path, fs::perms::owner_all);
        CHECK(dir.entries() == std::vector<std::string>{"model.safetensors"});
    }
}

TEST_CASE("write(AtomicFileWriter&): the file replaces the old one only at commit") {
    TempDir dir;
    const auto path = dir.file("model.safetensors");
    io::SafetensorsWriter first;
    first.add("w", Tensor<float>::from({1.f, 2.f}));
    first.write(path);
    const std::string old_bytes = read_bytes(path);

    io::SafetensorsWriter second;
    second.add("w", Tensor<float>::from({3.f, 4.f, 5.f}));
    second.set_metadata("epoch", "2");
    std::string temp;
    bool dropped = false;
    {
        io::AtomicFileWriter out(path);
        second.write(out);
        temp = out.temp_path();
        // written but not committed: the old file is still there, the new one complete
        CHECK(read_bytes(path) == old_bytes);
        CHECK(io::SafetensorsFile::open(temp).get<float>("w").to_vector() ==
              std::vector<float>{3.f, 4.f, 5.f});
        SUBCASE("committed: the same bytes as write(path)") {
            out.commit();
            const std::string committed = read_bytes(path);
            second.write(dir.file("direct.safetensors"));
            CHECK(committed == read_bytes(dir.file("direct.safetensors")));
            fs::remove(dir.file("direct.safetensors"));
        }
        SUBCASE("dropped: the old file stays") {
            dropped = true;
        }
    }
    if (dropped) CHECK(read_bytes(path) == old_bytes);
    CHECK(!fs::exists(temp));
    CHECK(dir.entries() == std::vector<std::string>{"model.safetensors"});
}

TEST_CASE("files that cannot be opened are IoErrors naming the file") {
    TempDir dir;
    const auto missing = dir.file("missing.safetensors");
    CHECK_THROWS_WITH_AS(io::SafetensorsFile::open(missing),
                         contains("cannot open '" + missing + "' for reading"), IoError);
    CHECK_THROWS_WITH_AS(io::load<float>(missing), contains(missing), IoError);
    CHECK_THROWS_WITH_AS(io::SafetensorsFile::open(dir.path.string()),
                         doctest::Contains("is not a regular file"), IoError);
}

// ---- hostile files ----------------------------------------------------------------------

TEST_CASE("bad files: lengths") {
    TempDir dir;
    const auto path = dir.file("bad.safetensors");
    SUBCASE("shorter than the length prefix") {
        write_bytes(path, std::string("\x10\x00\x00", 3));
        check_rejected(path, "file is 3 bytes, shorter than the 8-byte header length prefix");
    }
    SUBCASE("empty file") {
        write_bytes(path, "");
        check_rejected(path, "file is 0 bytes");
    }
    SUBCASE("header length larger than the file") {
        write_bytes(path, le64(1000) + "{}");
        check_rejected(path,
                       "header length 1000 is larger than the 2 bytes after the length "
                       "prefix");
    }
    SUBCASE("header length near 2^64 (no overflow in the check)") {
        write_bytes(path, le64(std::numeric_limits<std::uint64_t>::max()) + "{}");
        check_rejected(path, "header length 18446744073709551615 is larger than");
    }
    SUBCASE("header length over the 100 MB limit, in a file that big (sparse)") {
        write_bytes(path, le64(150'000'000) + "{}");
        fs::resize_file(path, 200'000'000);
        check_rejected(path, "header length 150000000 exceeds the limit of 100000000 bytes");
    }
    SUBCASE("a valid file truncated anywhere is rejected") {
        io::SafetensorsWriter w;
        w.add("a", Tensor<float>::from({1.f, 2.f, 3.f}));
        w.add("b", Tensor<std::int64_t>::from({4, 5}));
        w.write(path);
        const std::string full = read_bytes(path);
        for (std::size_t cut = 0; cut < full.size(); ++cut) {
            CAPTURE(cut);
            write_bytes(path, full.substr(0, cut));
            CHECK_THROWS_AS(io::SafetensorsFile::open(path), FormatError);
        }
        write_bytes(path, full.substr(0, full.size() - 4));
        check_rejected(path, "are out of range of the 24-byte data section");
        write_bytes(path, full.substr(0, 20));
        check_rejected(path, "is larger than the 12 bytes after the length prefix");
    }
}

TEST_CASE("bad files: JSON") {
    TempDir dir;
    SUBCASE("invalid JSON") {
        check_header_rejected(dir, R"({"a": {"dtype": "F32",)", 0, "header is not valid JSON");
    }
    SUBCASE("empty header") {
        check_header_rejected(dir, "", 0, "header is not valid JSON");
    }
    SUBCASE("invalid UTF-8") {
        check_header_rejected(dir, "{\"\xff\": 1}", 0, "header is not valid JSON");
    }
    SUBCASE("header not an object") {
        check_header_rejected(dir, "[1, 2]", 0, "header is not a JSON object (found array)");
        check_header_rejected(dir, "\"text\"", 0, "header is not a JSON object (found string)");
    }
    SUBCASE("duplicate tensor name") {
        check_header_rejected(dir,
                              R"({"w":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},)"
                              R"("w":{"dtype":"U8","shape":[1],"data_offsets":[1,2]}})",
                              2, "duplicate key 'w' in the header");
    }
    SUBCASE("duplicate field inside an entry") {
        check_header_rejected(
            dir, R"({"w":{"dtype":"U8","dtype":"F64","shape":[1],"data_offsets":[0,1]}})", 1,
            "duplicate key 'dtype' in the header");
    }
    SUBCASE("nesting deeper than a header needs") {
        check_header_rejected(dir, std::string(100000, '[') + std::string(100000, ']'), 0,
                              "header nests JSON deeper than a safetensors header can");
        check_header_rejected(dir, R"({"w":{"dtype":"U8","shape":[[1]],"data_offsets":[0,1]}})", 1,
                              "header nests JSON deeper");
    }
}

TEST_CASE("bad files: metadata") {
    TempDir dir;
    check_header_rejected(dir, R"({"__metadata__":{"epoch":3}})", 0,
                          "__metadata__ value of 'epoch' is not a string (found number)");
    check_header_rejected(dir, R"({"__metadata__":{"a":"b","n":null}})", 0,
                          "__metadata__ value of 'n' is not a string (found null)");
    check_header_rejected(dir, R"({"__metadata__":["a"]})", 0,
                          "__metadata__ is not a JSON object (found array)");
}

TEST_CASE("bad files: entries, dtypes and shapes") {
    TempDir dir;
    const auto entry = [](const std::string& dtype, const std::string& shape,
                          const std::string& offsets) {
        return R"({"w":{"dtype":)" + dtype + R"(,"shape":)" + shape + R"(,"data_offsets":)" +
               offsets + "}}";
    };
    SUBCASE("entry not an object / fields missing or mistyped") {
        check_header_rejected(dir, R"({"w":[1,2]})", 0,
                              "tensor 'w': entry is not a JSON object (found array)");
        check_header_rejected(dir, R"({"w":{"shape":[1],"data_offsets":[0,4]}})", 4,
                              "tensor 'w': missing \"dtype\"");
        check_header_rejected(dir, R"({"w":{"dtype":"F32","data_offsets":[0,4]}})", 4,
                              "tensor 'w': missing \"shape\"");
        check_header_rejected(dir, R"({"w":{"dtype":"F32","shape":[1]}})", 4,
                              "tensor 'w': missing \"data_offsets\"");
        check_header_rejected(dir, entry("32", "[1]", "[0,4]"), 4,
                              "tensor 'w': dtype is not a string (found number)");
        check_header_rejected(dir, entry(R"("F32")", R"("1")", "[0,4]"), 4,
                              "tensor 'w': shape is not an array (found string)");
    }
    SUBCASE("unknown dtype") {
        check_header_rejected(dir, entry(R"("F128")", "[1]", "[0,16]"), 16,
                              "tensor 'w': unknown dtype 'F128'");
        check_header_rejected(dir, entry(R"("f32")", "[1]", "[0,4]"), 4, "unknown dtype 'f32'");
    }
    SUBCASE("negative, fractional, non-numeric and oversized shape entries") {
        check_header_rejected(dir, entry(R"("F32")", "[-1]", "[0,4]"), 4,
                              "tensor 'w': shape entry -1 is negative");
        check_header_rejected(dir, entry(R"("F32")", "[2.5]", "[0,4]"), 4,
                              "tensor 'w': shape entry 2.5 is not a non-negative integer");
        check_header_rejected(dir, entry(R"("F32")", "[1.0]", "[0,4]"), 4,
                              "shape entry 1.0 is not a non-negative integer");
        check_header_rejected(dir, entry(R"("F32")", "[\"2\"]", "[0,8]"), 8,
                              "shape entry is not a number (found string)");
        check_header_rejected(dir, entry(R"("F32")", "[true]", "[0,4]"), 4,
                              "shape entry is not a number (found boolean)");
        // Larger than any uint64: JSON numbers beyond 2^64 parse as floating point.
        check_header_rejected(dir, entry(R"("F32")", "[18446744073709551616]", "[0,4]"), 4,
                              "is not a non-negative integer");
    }
    SUBCASE("huge declared sizes are refused without allocating them") {
        // 2^62 * 8 elements overflows 64 bits.
        check_header_rejected(dir, entry(R"("F32")", "[4611686018427387904,8]", "[0,4]"), 4,
                              "tensor 'w': shape [4611686018427387904,8] has more elements than "
                              "fit in 64 bits");
        // 2^62 elements fit, 2^62 * 4 bytes do not.
        check_header_rejected(dir, entry(R"("F32")", "[4611686018427387904]", "[0,4]"), 4,
                              "shape [4611686018427387904] of F32 needs more bytes than fit in "
                              "64 bits");
        // 2^40 * 8 F32 = 2^45 bytes: representable, but not what the offsets hold.
        check_header_rejected(dir, entry(R"("F32")", "[1099511627776,8]", "[0,4]"), 4,
                              "shape [1099511627776,8] of F32 needs 35184372088832 bytes but "
                              "data_offsets [0,4] span 4");
        // Wrapping to a small count would be accepted by a naive product: 2^32 * 2^32 = 0.
        check_header_rejected(dir, entry(R"("U8")", "[4294967296,4294967296]", "[0,0]"), 0,
                              "has more elements than fit in 64 bits");
    }
    SUBCASE("a zero extent makes any other extent valid (0 bytes)") {
        const auto path = dir.file("zero.safetensors");
        write_bytes(path, raw_file(entry(R"("F32")", "[4611686018427387904,0]", "[0,0]"), 0));
        const auto f = io::SafetensorsFile::open(path);
        CHECK(f.shape("w") == Shape{4611686018427387904ULL, 0});
        CHECK(f.get<float>("w").numel() == 0);
    }
    SUBCASE("shape / byte count mismatch") {
        check_header_rejected(dir, entry(R"("F32")", "[2,3]", "[0,16]"), 16,
                              "tensor 'w': shape [2,3] of F32 needs 24 bytes but data_offsets "
                              "[0,16] span 16");
        check_header_rejected(dir, entry(R"("F64")", "[]", "[0,4]"), 4,
                              "shape [] of F64 needs 8 bytes but data_offsets [0,4] span 4");
    }
}

TEST_CASE("bad files: offsets") {
    TempDir dir;
    const auto two = [](const std::string& a_offsets, const std::string& b_offsets) {
        return R"({"a":{"dtype":"F32","shape":[2],"data_offsets":)" + a_offsets +
               R"(},"b":{"dtype":"F32","shape":[2],"data_offsets":)" + b_offsets + "}}";
    };
    SUBCASE("out of range of the data section") {
        check_header_rejected(dir, two("[0,8]", "[8,16]"), 12,
                              "tensor 'b': data_offsets [8,16] are out of range of the 12-byte "
                              "data section");
        check_header_rejected(dir, two("[0,8]", "[18446744073709551608,0]"), 16,
                              "tensor 'b': data_offsets [18446744073709551608,0] end before "
                              "they begin");
    }
    SUBCASE("malformed offsets") {
        check_header_rejected(dir, two("[0,8]", "[8]"), 16,
                              "tensor 'b': data_offsets is not an array of 2 offsets (found [8])");
        check_header_rejected(dir, two("[0,8]", "[8,16,24]"), 16,
                              "data_offsets is not an array of 2 offsets");
        check_header_rejected(dir, two("[0,8]", "[-8,0]"), 16,
                              "tensor 'b': data_offsets begin -8 is negative");
        check_header_rejected(dir, two("[0,8]", "{}"), 16,
                              "data_offsets is not an array of 2 offsets (found {})");
    }
    SUBCASE("overlapping tensors") {
        check_header_rejected(dir, two("[0,8]", "[4,12]"), 12,
                              "tensors 'a' and 'b' overlap (data_offsets of 'b' begin at 4, "
                              "before byte 8)");
        check_header_rejected(dir, two("[0,8]", "[0,8]"), 8, "tensors 'a' and 'b' overlap");
    }
    SUBCASE("gaps and trailing bytes") {
        check_header_rejected(dir, two("[0,8]", "[12,20]"), 20,
                              "bytes [8,12) of the data section belong to no tensor (gap "
                              "before 'b')");
        check_header_rejected(dir, two("[4,12]", "[12,20]"), 20,
                              "bytes [0,4) of the data section belong to no tensor");
        check_header_rejected(dir, two("[0,8]", "[8,16]"), 20,
                              "data section is 20 bytes but the tensors cover only 16 (trailing "
                              "bytes after the last tensor)");
    }
}

TEST_CASE("open_from_memory applies the same validation, naming its label") {
    io::SafetensorsWriter w;
    TempDir dir;
    w.add("x", Tensor<double>::from({0.25, -8.0}));
    w.write(dir.file("m.safetensors"));
    const std::string bytes = read_bytes(dir.file("m.safetensors"));
    const auto f = io::SafetensorsFile::open_from_memory(bytes.data(), bytes.size(), "upload");
    CHECK(f.source() == "upload");
    CHECK(f.get<double>("x").to_vector() == std::vector<double>{0.25, -8.0});
    CHECK_THROWS_WITH_AS(io::SafetensorsFile::open_from_memory(bytes.data(), bytes.size() - 1),
                         doctest::Contains("safetensors '<memory>': tensor 'x': data_offsets "
                                           "[0,16] are out of range of the 15-byte data section"),
                         FormatError);
}

TEST_CASE("a FIFO or device in a checkpoint's place is refused at once, not waited on") {
    TempDir dir;
    const auto fifo = dir.file("model.safetensors");
    REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
    const auto start = std::chrono::steady_clock::now();
    CHECK_THROWS_WITH_AS(io::SafetensorsFile::open(fifo),
                         doctest::Contains("model.safetensors' is not a regular file"), IoError);
    CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(2));
    CHECK_THROWS_WITH_AS(io::SafetensorsFile::open("/dev/zero"),
                         doctest::Contains("'/dev/zero' is not a regular file"), IoError);
}
