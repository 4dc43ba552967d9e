// imdb_compare_safetensors: do two safetensors files hold the same float tensors, within a
// relative tolerance? The 2-rank test compares a data-parallel run's model with one process's.
//
//   imdb_compare_safetensors A B [TOL=1e-5] [PREFIX]
//
// Every tensor name must be in both files with the same shape; F32 tensors are compared
// (the F64 scheduler and early-stopping scalars of a checkpoint are skipped; with PREFIX only
// the names that start with it, e.g. "model." of a checkpoint). The criterion
// is per tensor: ||a - b||_2 <= TOL * ||a||_2. It also reports the largest element-wise
// relative difference |a - b| / max(|a|, |b|, 1e-3), for information: with Adam a few
// elements whose gradient is close to 0 (near Adam's eps) turn rounding differences of the
// gradient (sums in another order) into update differences of up to ~1e-3 of the step, so
// an element-wise bound is not what "the same model" can mean in float.
// Exit 0 within TOL, 1 otherwise.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <nnlite/io/safetensors.hpp>
#include <string>

int main(int argc, char** argv) {
    if (argc < 3 || argc > 5) {
        std::fprintf(stderr, "usage: %s A.safetensors B.safetensors [TOL] [PREFIX]\n", argv[0]);
        return 2;
    }
    const double tol = argc >= 4 ? std::atof(argv[3]) : 1e-5;
    const std::string prefix = argc == 5 ? argv[4] : "";
    try {
        const auto a = nnlite::io::SafetensorsFile::open(argv[1]);
        const auto b = nnlite::io::SafetensorsFile::open(argv[2]);
        const auto names = a.names();
        if (names != b.names()) {
            std::fprintf(stderr, "error: the files hold different tensor names\n");
            return 1;
        }
        double worst = 0, worst_elem = 0;
        std::string where = "(none)", where_elem = "(none)";
        std::size_t count = 0, tensors = 0;
        for (const auto& name : names) {
            if (name.rfind(prefix, 0) != 0) continue;
            if (a.dtype(name) != "F32" || b.dtype(name) != "F32") continue;
            const auto ta = a.get<float>(name), tb = b.get<float>(name);
            if (ta.shape() != tb.shape()) {
                std::fprintf(stderr, "error: %s has different shapes\n", name.c_str());
                return 1;
            }
            const auto va = ta.to_vector(), vb = tb.to_vector();
            double diff2 = 0, norm2 = 0;
            for (std::size_t i = 0; i < va.size(); ++i) {
                const double x = va[i], y = vb[i];
                diff2 += (x - y) * (x - y);
                norm2 += x * x;
                const double rel = std::fabs(x - y) / std::max({std::fabs(x), std::fabs(y), 1e-3});
                if (!(rel <= worst_elem)) {  // also catches NaN
                    worst_elem = std::isnan(rel) ? INFINITY : rel;
                    where_elem = name + "[" + std::to_string(i) + "]";
                }
            }
            const double rel = norm2 > 0 ? std::sqrt(diff2 / norm2) : std::sqrt(diff2);
            if (!(rel <= worst)) {
                worst = std::isnan(rel) ? INFINITY : rel;
                where = name;
            }
            count += va.size();
            ++tensors;
        }
        std::printf(
            "%zu tensors, %zu values: largest relative difference (2-norm per tensor) "
            "%.3g in %s (tolerance %.3g); largest element-wise %.3g at %s\n",
            tensors, count, worst, where.c_str(), tol, worst_elem, where_elem.c_str());
        return worst <= tol ? 0 : 1;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "error: %s\n", e.what());
        return 1;
    }
}
