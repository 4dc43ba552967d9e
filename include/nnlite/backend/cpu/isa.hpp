// What the CPU can run and what this program was compiled for, and whether the BLAS
// library's kernels match the CPU.
//
// - cpu_features(): the x86 features read with cpuid once per process (plus xgetbv: the OS
//   must save the AVX / AVX-512 registers too). On other architectures every flag is false.
// - compiled_isa(): the widest vector ISA nnlite's own kernels (backend/cpu/gemm/) were
//   compiled for, from the user's flags (__AVX512F__, __AVX2__ + __FMA__, else portable).
//   require_compiled_isa() throws one clear error when the CPU lacks it, so a binary built
//   with -march=native on one machine and run on an older one fails at the first kernel
//   call with a message instead of SIGILL somewhere inside it.
// - classify_blas_core(core, features): whether an OpenBLAS core name (openblas_get_corename)
//   is a slow fallback for this CPU (e.g. Debian's OpenBLAS 0.3.21 picks its SSE3
//   "Prescott" kernels on Sapphire Rapids, 5-6x below the AVX-512 "SkylakeX" ones), and the
//   one-line fix. Pure function, so tests can check known pairs; backend/cpu/blas.hpp uses
//   it to warn once per process.
#pragma once

#include <algorithm>
#include <cctype>
#include <initializer_list>
#include <string>

#include "nnlite/core/error.hpp"

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#endif

namespace nnlite::cpu_isa {

/// x86 features that matter for the kernels (false everywhere else).
struct CpuFeatures {
    bool sse2 = false, avx = false, avx2 = false, fma = false;
    bool avx512f = false, avx512bw = false, avx512vl = false, avx512dq = false;
    bool avx512_bf16 = false, avx512_fp16 = false, amx_bf16 = false;
};

namespace detail {
#if defined(__x86_64__) || defined(__i386__)
inline unsigned long long xgetbv0() {
    unsigned eax = 0, edx = 0;
    __asm__ volatile("xgetbv" : "=a"(eax), "=d"(edx) : "c"(0));
    return (static_cast<unsigned long long>(edx) << 32) | eax;
}
#endif

inline CpuFeatures read_cpu_features() {
    CpuFeatures f;
#if defined(__x86_64__) || defined(__i386__)
    unsigned a = 0, b = 0, c = 0, d = 0;
    if (!__get_cpuid(1, &a, &b, &c, &d)) return f;
    f.sse2 = (d >> 26) & 1;
    const bool osxsave = (c >> 27) & 1;
    const bool avx_hw = (c >> 28) & 1, fma_hw = (c >> 12) & 1;
    const unsigned long long xcr0 = osxsave ? xgetbv0() : 0;
    const bool ymm_os = (xcr0 & 0x6) == 0x6;          // XMM + YMM state
    const bool zmm_os = (xcr0 & 0xe6) == 0xe6;        // + opmask, ZMM_Hi256, Hi16_ZMM
    const bool amx_os = (xcr0 & 0x60000) == 0x60000;  // XTILECFG + XTILEDATA
    f.avx = avx_hw && ymm_os;
    f.fma = fma_hw && ymm_os;
    unsigned max_leaf = 0, ebx = 0, ecx = 0, edx = 0;
    __get_cpuid(0, &max_leaf, &ebx, &ecx, &edx);
    if (max_leaf >= 7) {
        __cpuid_count(7, 0, a, b, c, d);
        f.avx2 = ((b >> 5) & 1) && ymm_os;
        f.avx512f = ((b >> 16) & 1) && zmm_os;
        f.avx512dq = ((b >> 17) & 1) && zmm_os;
        f.avx512bw = ((b >> 30) & 1) && zmm_os;
        f.avx512vl = ((b >> 31) & 1) && zmm_os;
        f.avx512_fp16 = ((d >> 23) & 1) && zmm_os;
        f.amx_bf16 = ((d >> 22) & 1) && ((d >> 24) & 1) && amx_os;  // + AMX-TILE
        __cpuid_count(7, 1, a, b, c, d);
        f.avx512_bf16 = ((a >> 5) & 1) && zmm_os;
    }
#endif
    return f;
}
}  // namespace detail

/// The running CPU's features, read once.
inline const CpuFeatures& cpu_features() {
    static const CpuFeatures f = detail::read_cpu_features();
    return f;
}

/// One CPU feature a kernel needs: whether the CPU has it, and its /proc/cpuinfo name.
struct FeatureNeed {
    bool have;
    const char* flag;
};

/// "lacks a b (it has c d)" (or "... (it has none of them)") for the needs the CPU lacks;
/// empty when it has them all: the middle of the refusal messages of the bf16 and fp16
/// kernels.
inline std::string lacking_features(std::initializer_list<FeatureNeed> needs) {
    std::string has, lacks;
    for (const auto& n : needs) {
        std::string& list = n.have ? has : lacks;
        if (!list.empty()) list += ' ';
        list += n.flag;
    }
    if (lacks.empty()) return {};
    return "lacks " + lacks +
           (has.empty() ? std::string(" (it has none of them)") : " (it has " + has + ")");
}

/// The vector ISA of nnlite's own kernels, fixed at compile time by the user's flags.
enum class Isa { portable, avx2_fma, avx512 };

// Each ISA's name, written once: isa_name() returns these, and the compile-time choice below
// pastes the chosen one into throw_unsupported_isa()'s literal.
#define NNLITE_DETAIL_ISA_NAME_AVX512 "AVX-512F"
#define NNLITE_DETAIL_ISA_NAME_AVX2_FMA "AVX2+FMA"
#define NNLITE_DETAIL_ISA_NAME_PORTABLE "portable (SSE2 / compiler vectors)"

// The one place that maps the user's flags to an ISA: its enum value and its name.
#if defined(__AVX512F__)
#define NNLITE_DETAIL_COMPILED_ISA ::nnlite::cpu_isa::Isa::avx512
#define NNLITE_DETAIL_COMPILED_ISA_NAME NNLITE_DETAIL_ISA_NAME_AVX512
#elif defined(__AVX2__) && defined(__FMA__)
#define NNLITE_DETAIL_COMPILED_ISA ::nnlite::cpu_isa::Isa::avx2_fma
#define NNLITE_DETAIL_COMPILED_ISA_NAME NNLITE_DETAIL_ISA_NAME_AVX2_FMA
#else
#define NNLITE_DETAIL_COMPILED_ISA ::nnlite::cpu_isa::Isa::portable
#define NNLITE_DETAIL_COMPILED_ISA_NAME NNLITE_DETAIL_ISA_NAME_PORTABLE
#endif

constexpr Isa compiled_isa() {
    return NNLITE_DETAIL_COMPILED_ISA;
}

inline const char* isa_name(Isa isa) {
    switch (isa) {
        case Isa::avx512:
            return NNLITE_DETAIL_ISA_NAME_AVX512;
        case Isa::avx2_fma:
            return NNLITE_DETAIL_ISA_NAME_AVX2_FMA;
        default:
            return NNLITE_DETAIL_ISA_NAME_PORTABLE;
    }
}

/// Whether the CPU can run kernels compiled for `isa`.
inline bool cpu_supports(Isa isa, const CpuFeatures& f = cpu_features()) {
    switch (isa) {
        case Isa::avx512:
            return f.avx512f;
        case Isa::avx2_fma:
            return f.avx2 && f.fma;
        default:
            return true;
    }
}

namespace detail {
/// require_compiled_isa's failure. It runs on a CPU that lacks the instruction set this
/// code was compiled for, so it may execute nothing of that set: the message is one literal
/// handed to std::runtime_error's const char* constructor (libstdc++'s, built for any
/// x86-64), with no std::string or ostringstream built here. (Formatting it with check()
/// did: under ASan at -O1, GCC poisoned that frame's shadow memory with an AVX-512 store,
/// and an AVX2-only CPU got SIGILL instead of the message.)
#if defined(__GNUC__)
#define NNLITE_DETAIL_COLD_NOINLINE __attribute__((noinline, cold))
#else
#define NNLITE_DETAIL_COLD_NOINLINE
#endif
// (Standard attributes first: Clang rejects [[noreturn]] after a GNU attribute.)
[[noreturn]] NNLITE_DETAIL_COLD_NOINLINE inline void throw_unsupported_isa() {
    throw Error("nnlite was compiled for " NNLITE_DETAIL_COMPILED_ISA_NAME
                " (e.g. -march=native on another machine) but this CPU does not support it; "
                "rebuild without -march/-mavx* flags or with -march matching this CPU");
}
}  // namespace detail

/// Throws nnlite::Error naming the missing instruction set when this program's kernels
/// were compiled for one the CPU lacks (checked once; later calls cost one load).
inline void require_compiled_isa() {
    static const bool ok = cpu_supports(compiled_isa());
    if (!ok) detail::throw_unsupported_isa();
}

/// Verdict on a BLAS core for this CPU.
struct BlasCoreVerdict {
    bool slow = false;    // the core leaves the CPU's wide vector units unused
    std::string message;  // one line naming the problem and the fix (empty when fine)
};

/// Classifies an OpenBLAS core name (openblas_get_corename(), case-insensitive) for a CPU
/// with features f. Known cores by the widest ISA their SGEMM kernels use:
///   AVX-512: skylakex, cooperlake, sapphirerapids;   AVX2+FMA: haswell, zen;
///   AVX: sandybridge;   SSE only: prescott, core2, penryn, dunnington, nehalem, atom, ...
/// A core narrower than the CPU's best is slow: an AVX-512 CPU on an AVX2 core loses ~2x,
/// on an SSE core ~5x. Unknown names are not flagged.
inline BlasCoreVerdict classify_blas_core(std::string core, const CpuFeatures& f) {
    std::transform(core.begin(), core.end(), core.begin(),
                   [](unsigned char ch) { return static_cast<char>(std::tolower(ch)); });
    auto in = [&](std::initializer_list<const char*> names) {
        return std::any_of(names.begin(), names.end(), [&](const char* n) { return core == n; });
    };
    int core_level = -1;  // 0 SSE, 1 AVX, 2 AVX2+FMA, 3 AVX-512
    if (in({"skylakex", "cooperlake", "sapphirerapids"}))
        core_level = 3;
    else if (in({"haswell", "zen", "excavator"}))
        core_level = 2;
    else if (in({"sandybridge", "bulldozer", "piledriver", "steamroller"}))
        core_level = 1;
    else if (in({"prescott", "core2", "penryn", "dunnington", "nehalem", "atom", "barcelona",
                 "opteron", "opteron_sse3", "athlon", "katmai", "coppermine", "northwood", "banias",
                 "bobcat", "nano", "generic"}))
        core_level = 0;
    if (core_level < 0) return {};
    const int cpu_level = f.avx512f ? 3 : (f.avx2 && f.fma) ? 2 : f.avx ? 1 : 0;
    if (core_level >= cpu_level) return {};
    const char* fix = cpu_level == 3 ? "SkylakeX" : cpu_level == 2 ? "Haswell" : "Sandybridge";
    BlasCoreVerdict v;
    v.slow = true;
    v.message = "nnlite: OpenBLAS uses its '" + core + "' kernels on this " +
                (cpu_level == 3   ? std::string("AVX-512")
                 : cpu_level == 2 ? std::string("AVX2")
                                  : std::string("AVX")) +
                " CPU, so matrix products outside the LSTM run several times slower than they "
                "could; set OPENBLAS_CORETYPE=" +
                fix + " in the environment or install an OpenBLAS that knows this CPU (>= 0.3.22)";
    return v;
}

/// Whether nnlite's own fp32 kernels, compiled for `compiled`, leave a CPU with features f
/// running narrower vectors than it has (a default build without -march on an AVX-512
/// machine: the portable SSE2 kernel, about 2x slower), and the one-line fix. Pure, for tests.
inline BlasCoreVerdict classify_kernel_build(Isa compiled, const CpuFeatures& f) {
    const Isa best = f.avx512f ? Isa::avx512 : (f.avx2 && f.fma) ? Isa::avx2_fma : Isa::portable;
    if (static_cast<int>(compiled) >= static_cast<int>(best)) return {};
    BlasCoreVerdict v;
    v.slow = true;
    v.message =
        std::string("nnlite: the LSTM's fp32 kernels were compiled for ") + isa_name(compiled) +
        " but this CPU has " + isa_name(best) +
        ", so they run about 2x slower than they could; compile with -march=native " + "(or " +
        (best == Isa::avx512 ? "-mavx512f -mavx512bw -mavx512vl -mfma" : "-mavx2 -mfma") + ")" +
        // the faster reduced precision: bf16 on AMX tiles, else fp16, else bf16
        (f.avx512_bf16 && f.amx_bf16
             ? std::string(", or use LSTMOptions::compute(ComputeType::bf16)")
         : f.avx512_fp16 ? std::string(", or use LSTMOptions::compute(ComputeType::fp16)")
         : f.avx512_bf16 ? std::string(", or use LSTMOptions::compute(ComputeType::bf16)")
                         : std::string()) +
        " (NNLITE_QUIET_BLAS_WARNING=1 silences this line)";
    return v;
}

}  // namespace nnlite::cpu_isa
