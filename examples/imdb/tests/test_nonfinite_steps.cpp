// imdb::NonFiniteSteps (app/nonfinite_steps.hpp): `train --skip-nonfinite N` skips up to N
// steps with a non-finite loss or gradient norm in the whole run and stops at the next one.
#include <doctest/doctest.h>

#include <limits>
#include <string>

#include "app/nonfinite_steps.hpp"

using imdb::NonFiniteSteps;

namespace {
constexpr double kNan = std::numeric_limits<double>::quiet_NaN();
constexpr double kInf = std::numeric_limits<double>::infinity();

std::string error_of(NonFiniteSteps& g, int epoch, std::size_t step, double loss, double norm) {
    try {
        g.skip(epoch, step, loss, norm);
    } catch (const nnlite::Error& e) {
        return e.what();
    }
    return "";
}
}  // namespace

TEST_CASE("finite steps are never skipped nor counted") {
    NonFiniteSteps g(0, 0, "runs/x");
    for (std::size_t s = 1; s <= 5; ++s) CHECK_FALSE(g.skip(1, s, 0.69, 1.5));
    CHECK(g.total() == 0);
    CHECK(g.in_epoch() == 0);
}

TEST_CASE("N = 0 (the default) stops at the first non-finite step, naming it") {
    NonFiniteSteps g(0, 0, "runs/x");
    const auto e = error_of(g, 2, 7, kNan, 1.0);
    CHECK(e.find("epoch 2, step 7: the training loss is not finite (") == 0);
    CHECK(e.find("--skip-nonfinite N") != std::string::npos);
    CHECK(e.find("runs/x keeps its last saved model and checkpoint") != std::string::npos);
    NonFiniteSteps h(0, 0, "runs/x");
    CHECK(error_of(h, 1, 3, 0.5, kInf).find("epoch 1, step 3: the gradient norm is not finite") ==
          0);
}

TEST_CASE("up to N steps are skipped in the whole run, the (N+1)-th stops it naming N") {
    NonFiniteSteps g(3, 0, "runs/x");
    CHECK(g.skip(1, 2, kNan, kNan));  // the loss is named when both are bad
    CHECK(g.warning() ==
          "warning: epoch 1, step 2: the training loss is not finite (nan); step skipped, no "
          "update (1 of at most 3 in this run, --skip-nonfinite)");
    CHECK_FALSE(g.skip(1, 3, 0.7, 2.0));
    CHECK(g.skip(1, 4, 0.7, -kInf));
    CHECK(g.warning().find("the gradient norm is not finite (-inf)") != std::string::npos);
    CHECK(g.in_epoch() == 2);
    g.start_epoch();  // the count per epoch restarts, the run's does not
    CHECK(g.in_epoch() == 0);
    CHECK(g.skip(2, 1, kInf, 1.0));
    CHECK(g.in_epoch() == 1);
    CHECK(g.total() == 3);
    const auto e = error_of(g, 2, 5, kNan, 1.0);
    CHECK(e.find("epoch 2, step 5: the training loss is not finite") == 0);
    CHECK(e.find("4 non-finite steps in this run, more than --skip-nonfinite 3") !=
          std::string::npos);
}

TEST_CASE("a resumed run counts on from its checkpoint") {
    NonFiniteSteps g(3, 2, "runs/x");
    CHECK(g.skip(3, 1, kNan, 1.0));
    CHECK(g.total() == 3);
    CHECK(error_of(g, 3, 2, kNan, 1.0).find("more than --skip-nonfinite 3") != std::string::npos);
}
