// Fits the rational tanh of backend/cpu/simd_math.hpp and reports its error in float:
//
//   tanh(x) ~ x P(x^2) / Q(x^2),  P with NP coefficients, Q with NQ (Q(0) = 1), on [0, X]
//
//   g++ -O2 scripts/fit_tanh.cpp -o /tmp/fit_tanh && /tmp/fit_tanh 7 4 9
//
// Method: the linearised problem x P(z) - tanh(x) (Q(z) - 1) = tanh(x) (z = x^2) is solved
// by weighted least squares (Householder QR, long double) on 3001 Chebyshev-spaced points,
// each row divided by the previous iterate's Q (so the residual approximates the true error)
// and re-weighted by its error (Lawson's iteration), which drives the fit towards minimax.
// Prints the exact-arithmetic maximum error, then the maximum absolute and relative error
// of the float evaluation (Horner with fma, one division) over [0, 20] with x clamped to X
// and +-1 beyond, as simd_math.hpp evaluates it, and the coefficients rounded to float.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <vector>

namespace {

using ld = long double;

/// Least-squares solution of A x = b (A: m x n, m >= n, full rank) by Householder QR.
std::vector<ld> least_squares(std::vector<std::vector<ld>> a, std::vector<ld> b) {
    const std::size_t m = a.size(), n = a[0].size();
    for (std::size_t k = 0; k < n; ++k) {
        ld norm = 0;
        for (std::size_t i = k; i < m; ++i) norm += a[i][k] * a[i][k];
        norm = std::sqrt(norm);
        if (a[k][k] > 0) norm = -norm;
        std::vector<ld> v(m, 0);
        for (std::size_t i = k; i < m; ++i) v[i] = a[i][k];
        v[k] -= norm;
        ld vv = 0;
        for (std::size_t i = k; i < m; ++i) vv += v[i] * v[i];
        if (vv == 0) continue;
        for (std::size_t j = k; j < n; ++j) {
            ld s = 0;
            for (std::size_t i = k; i < m; ++i) s += v[i] * a[i][j];
            s *= 2 / vv;
            for (std::size_t i = k; i < m; ++i) a[i][j] -= s * v[i];
        }
        ld s = 0;
        for (std::size_t i = k; i < m; ++i) s += v[i] * b[i];
        s *= 2 / vv;
        for (std::size_t i = k; i < m; ++i) b[i] -= s * v[i];
    }
    std::vector<ld> x(n);
    for (std::size_t k = n; k-- > 0;) {
        ld s = b[k];
        for (std::size_t j = k + 1; j < n; ++j) s -= a[k][j] * x[j];
        x[k] = s / a[k][k];
    }
    return x;
}

ld poly(const std::vector<ld>& c, ld z) {
    ld r = 0;
    for (std::size_t k = c.size(); k-- > 0;) r = r * z + c[k];
    return r;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc != 4) {
        std::fprintf(stderr, "usage: fit_tanh NP NQ X   (e.g. fit_tanh 7 4 9)\n");
        return 2;
    }
    const int np = std::atoi(argv[1]), nq = std::atoi(argv[2]);
    const ld X = std::strtold(argv[3], nullptr);
    if (np < 1 || nq < 1 || np + nq > 16 || !(X > 0)) {
        std::fprintf(stderr, "fit_tanh: NP, NQ >= 1 with NP + NQ <= 16, X > 0\n");
        return 2;
    }
    const ld pi = std::acos(ld{-1});
    std::vector<ld> xs;
    for (int i = 0; i <= 3000; ++i) xs.push_back(X * (1 - std::cos(pi * i / 3000)) / 2);
    const std::size_t m = xs.size(), unknowns = static_cast<std::size_t>(np + nq - 1);
    std::vector<ld> w(m, ld{1} / m), q_prev(m, 1), P, Q;
    ld worst = 0;
    for (int it = 0; it < 80; ++it) {
        std::vector<std::vector<ld>> a(m, std::vector<ld>(unknowns));
        std::vector<ld> b(m);
        for (std::size_t i = 0; i < m; ++i) {
            const ld x = xs[i], z = x * x, t = std::tanh(x), s = std::sqrt(w[i]) / q_prev[i];
            ld zk = 1;
            for (int k = 0; k < np; ++k, zk *= z) a[i][k] = x * zk * s;
            zk = z;
            for (int k = 1; k < nq; ++k, zk *= z) a[i][np + k - 1] = -t * zk * s;
            b[i] = t * s;
        }
        const auto c = least_squares(a, b);
        P.assign(c.begin(), c.begin() + np);
        Q.assign(1, ld{1});
        Q.insert(Q.end(), c.begin() + np, c.end());
        ld total = 0;
        worst = 0;
        for (std::size_t i = 0; i < m; ++i) {
            const ld x = xs[i], z = x * x;
            q_prev[i] = poly(Q, z);
            const ld e = std::fabs(x * poly(P, z) / q_prev[i] - std::tanh(x));
            worst = std::max(worst, e);
            w[i] *= e + ld{1e-30};
            total += w[i];
        }
        for (auto& v : w) v /= total;
    }
    std::vector<float> pf(P.begin(), P.end()), qf(Q.begin(), Q.end());
    const float xf = static_cast<float>(X);
    double abs_err = 0, rel_err = 0;
    for (double xd = 0; xd <= 20; xd += 2e-6) {
        const float x = static_cast<float>(xd), xc = std::min(x, xf), z = xc * xc;
        float p = pf[np - 1], q = qf[nq - 1];
        for (int k = np - 2; k >= 0; --k) p = std::fma(p, z, pf[k]);
        for (int k = nq - 2; k >= 0; --k) q = std::fma(q, z, qf[k]);
        const float r = x >= xf ? 1.f : std::min(1.f, p * xc / q);
        const double e = std::fabs(static_cast<double>(r) - std::tanh(static_cast<double>(x)));
        abs_err = std::max(abs_err, e);
        if (x > 0) rel_err = std::max(rel_err, e / std::tanh(static_cast<double>(x)));
    }
    std::printf("P %d / Q %d terms on [0, %.6Lg]: exact-arithmetic max error %.3Le\n", np, nq, X,
                worst);
    std::printf("float evaluation: max abs error %.3e, max rel error %.3e\n", abs_err, rel_err);
    std::printf("P (z^0 first):");
    for (float v : pf) std::printf(" %.9ef", static_cast<double>(v));
    std::printf("\nQ (z^0 first):");
    for (float v : qf) std::printf(" %.9ef", static_cast<double>(v));
    std::printf("\n");
    return 0;
}
