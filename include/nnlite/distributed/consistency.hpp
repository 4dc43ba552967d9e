// Consistency checks across the ranks of a job: start-up configuration, model shape, and
// (as a debugging aid) the parameters themselves.
//
//   check_same_across_ranks(pg, "what", bytes)   every rank passes its own view of something
//       that must agree (a config file's text, the vocabulary, hyper-parameters, the global
//       batch size...). A 64-bit FNV-1a fingerprint and the length are all-gathered; if any
//       rank's differ from rank 0's, every rank throws the same DistributedError naming the
//       first such rank and quoting the line where its text first differs from rank 0's:
//         check_same_across_ranks: model (parameter names and shapes) on rank 1 differs
//         from rank 0 at byte 118: rank 1 has "lstm.weight_ih_l0 [128,16]", rank 0 has
//         "lstm.weight_ih_l0 [128,32]"
//   check_same_model(pg, module)     the same for the module's parameter/buffer names and
//       shapes: run it once before broadcast_module and the first all-reduce, whose
//       bucket layouts depend on them.
//   check_parameters_equal(pg, module)   after some steps, that every parameter and buffer is
//       bitwise identical on every rank (the data-parallel invariant; see
//       gradient_bucketer.hpp for what keeps it). Fingerprints per tensor are all-gathered,
//       the error names the first differing tensor and rank. Costs one pass over the
//       parameters on the host and one small all-gather: a debugging aid, not a per-step
//       check.
// Every function is collective and throws on every rank together, so no rank is left
// waiting in a later collective.
#pragma once

#include <mpi.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <type_traits>
#include <vector>

#include "nnlite/core/error.hpp"
#include "nnlite/distributed/datatype.hpp"
#include "nnlite/distributed/error.hpp"
#include "nnlite/distributed/process_group.hpp"
#include "nnlite/nn/module.hpp"

namespace nnlite::distributed {

/// 64-bit FNV-1a of a byte range (a fingerprint, not a cryptographic hash).
inline std::uint64_t fingerprint(const void* data, std::size_t bytes,
                                 std::uint64_t h = 0xcbf29ce484222325ULL) {
    const auto* p = static_cast<const unsigned char*>(data);
    for (std::size_t i = 0; i < bytes; ++i) {
        h ^= p[i];
        h *= 0x100000001b3ULL;
    }
    return h;
}

namespace detail {

// The line of `s` around byte k, printable, at most ~80 characters.
inline std::string line_around(const std::string& s, std::size_t k) {
    if (k > s.size()) k = s.size();
    std::size_t begin = s.rfind('\n', k == 0 ? 0 : k - 1);
    begin = (begin == std::string::npos || begin >= k) ? 0 : begin + 1;
    if (k - begin > 40) begin = k - 40;
    std::string out;
    for (std::size_t i = begin; i < s.size() && s[i] != '\n' && out.size() < 80; ++i) {
        const unsigned char c = static_cast<unsigned char>(s[i]);
        if (c >= 0x20 && c < 0x7f) {
            out += static_cast<char>(c);
        } else {
            const char* hex = "0123456789abcdef";
            out += "\\x";
            out += hex[c >> 4];
            out += hex[c & 15];
        }
    }
    return out;
}

inline std::vector<std::uint64_t> allgather_u64(const ProcessGroup& pg,
                                                const std::vector<std::uint64_t>& mine,
                                                const char* what) {
    std::vector<std::uint64_t> all(mine.size() * static_cast<std::size_t>(pg.size()));
    mpi_check(
        MPI_Allgather(mine.data(), static_cast<int>(mine.size()), mpi_datatype<std::uint64_t>(),
                      all.data(), static_cast<int>(mine.size()), mpi_datatype<std::uint64_t>(),
                      pg.comm()),
        "MPI_Allgather", what);
    return all;
}

}  // namespace detail

/// Collective: throws DistributedError on every rank when `bytes` is not the same on every
/// rank, naming the first rank that differs from rank 0 and where.
inline void check_same_across_ranks(const ProcessGroup& pg, const std::string& what,
                                    const std::string& bytes) {
    const std::vector<std::uint64_t> mine{fingerprint(bytes.data(), bytes.size()),
                                          static_cast<std::uint64_t>(bytes.size())};
    const auto all = detail::allgather_u64(pg, mine, "check_same_across_ranks fingerprints");
    int bad = -1;
    for (int r = 1; r < pg.size() && bad < 0; ++r)
        if (all[2 * r] != all[0] || all[2 * r + 1] != all[1]) bad = r;
    if (bad < 0) return;

    // Every rank knows there is a mismatch: gather the texts to say where (error path only).
    std::vector<int> counts(static_cast<std::size_t>(pg.size())), displs(counts.size());
    std::size_t total = 0;
    for (std::size_t r = 0; r < counts.size(); ++r) {
        check<DistributedError>(all[2 * r + 1] <= INT32_MAX && total <= INT32_MAX,
                                "check_same_across_ranks: ", what, " on rank ", bad,
                                " differs from rank 0 (fingerprints ", all[2 * bad], " vs ", all[0],
                                "; too long to compare further)");
        counts[r] = static_cast<int>(all[2 * r + 1]);
        displs[r] = static_cast<int>(total);
        total += all[2 * r + 1];
    }
    std::string texts(total, '\0');
    detail::mpi_check(
        MPI_Allgatherv(bytes.data(), static_cast<int>(bytes.size()), MPI_BYTE, texts.data(),
                       counts.data(), displs.data(), MPI_BYTE, pg.comm()),
        "MPI_Allgatherv", "check_same_across_ranks texts");
    const std::string ref = texts.substr(0, static_cast<std::size_t>(counts[0]));
    const std::string other =
        texts.substr(static_cast<std::size_t>(displs[bad]), static_cast<std::size_t>(counts[bad]));
    std::size_t k = 0;
    while (k < ref.size() && k < other.size() && ref[k] == other[k]) ++k;
    throw DistributedError(nnlite::detail::concat(
        "check_same_across_ranks: ", what, " on rank ", bad, " differs from rank 0 at byte ", k,
        ": rank ", bad, " has \"", detail::line_around(other, k), "\", rank 0 has \"",
        detail::line_around(ref, k), "\" (", other.size(), " vs ", ref.size(), " bytes)"));
}

/// Collective: as above for a trivially copyable value (an int, a POD config struct).
template <class V, class = std::enable_if_t<std::is_trivially_copyable_v<V>>>
void check_same_across_ranks(const ProcessGroup& pg, const std::string& what, const V& value) {
    check_same_across_ranks(pg, what,
                            std::string(reinterpret_cast<const char*>(&value), sizeof(V)));
}

/// One line per parameter, then per buffer: "name [d0,d1,...] requires_grad|buffer".
template <class T, class B>
std::string describe_model(const nn::Module<T, B>& module) {
    std::string out;
    for (auto& kv : module.named_parameters())
        out += kv.first + " " + to_string(kv.second.shape()) +
               (kv.second.requires_grad() ? " requires_grad\n" : " frozen\n");
    for (auto& kv : module.named_buffers())
        out += kv.first + " " + to_string(kv.second.shape()) + " buffer\n";
    return out;
}

/// Collective: same parameter and buffer names, shapes and trainability on every rank.
template <class T, class B>
void check_same_model(const ProcessGroup& pg, const nn::Module<T, B>& module) {
    check_same_across_ranks(pg, "model (parameter names and shapes)", describe_model(module));
}

/// Collective: every parameter and buffer bitwise equal on every rank (checks the model's
/// layout first, so a layout mismatch is reported as such).
template <class T, class B>
void check_parameters_equal(const ProcessGroup& pg, const nn::Module<T, B>& module) {
    check_same_model(pg, module);
    auto named = module.named_parameters();
    for (auto& kv : module.named_buffers()) named.push_back(kv);
    std::vector<std::uint64_t> mine;
    std::vector<T> host;
    for (auto& kv : named) {
        host.resize(kv.second.numel());
        B::copy_to_host(host.data(), kv.second.data(), host.size());
        mine.push_back(fingerprint(host.data(), host.size() * sizeof(T)));
    }
    if (mine.empty()) return;
    const auto all = detail::allgather_u64(pg, mine, "check_parameters_equal fingerprints");
    const std::size_t n = mine.size();
    for (int r = 1; r < pg.size(); ++r)
        for (std::size_t i = 0; i < n; ++i)
            check<DistributedError>(all[static_cast<std::size_t>(r) * n + i] == all[i],
                                    "check_parameters_equal: '", named[i].first, "' on rank ", r,
                                    " differs from rank 0 (the ranks' parameters diverged: "
                                    "see docs/distributed.md on what keeps them equal)");
}

}  // namespace nnlite::distributed
