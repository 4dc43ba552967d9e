// nnlite::distributed under mpirun (ctest runs it with 1 and with 2 ranks): process group,
// MPI errors as exceptions, gradient buckets, broadcast, consistency checks, and a
// 20-step data-parallel training run that must reproduce the 1-process run on the same
// global batches. Every rank runs every test case in the same order (the cases are
// collective); a failing CHECK fails the rank, and mpirun's exit status with it.
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <nnlite/distributed.hpp>
#include <nnlite/nnlite.hpp>
#include <string>
#include <vector>

#include "synthetic_task.hpp"

namespace dist = nnlite::distributed;
using nnlite::Tensor;

namespace {

dist::ProcessGroup* g_pg = nullptr;
dist::ProcessGroup& pg() {
    return *g_pg;
}

template <class T>
Tensor<T> filled(const nnlite::Shape& shape, T value) {
    return Tensor<T>::full(shape, value);
}

// max over elements of |a - b| / max(|b|, floor): relative error, absolute near zero.
template <class T>
double max_rel_diff(const nnlite::nn::Module<T>& a, const nnlite::nn::Module<T>& b,
                    double floor = 1e-2) {
    double worst = 0;
    auto pa = a.named_parameters(), pb = b.named_parameters();
    REQUIRE(pa.size() == pb.size());
    for (std::size_t i = 0; i < pa.size(); ++i) {
        const auto va = pa[i].second.to_vector(), vb = pb[i].second.to_vector();
        REQUIRE(va.size() == vb.size());
        for (std::size_t k = 0; k < va.size(); ++k)
            worst = std::max(worst, std::abs(double(va[k]) - double(vb[k])) /
                                        std::max(std::abs(double(vb[k])), floor));
    }
    return worst;
}

}  // namespace

TEST_CASE("ProcessGroup: rank and size, a private communicator, barrier") {
    CHECK(pg().rank() >= 0);
    CHECK(pg().rank() < pg().size());
    int world_size = 0;
    MPI_Comm_size(MPI_COMM_WORLD, &world_size);
    CHECK(pg().size() == world_size);
    int cmp = MPI_UNEQUAL;
    MPI_Comm_compare(pg().comm(), MPI_COMM_WORLD, &cmp);
    CHECK(cmp == MPI_CONGRUENT);  // a duplicate, not WORLD itself
    CHECK(pg().owns_mpi());
    pg().barrier();
    // A second group on the initialised MPI neither initialises nor finalizes it.
    dist::ProcessGroup second;
    CHECK_FALSE(second.owns_mpi());
    CHECK(second.rank() == pg().rank());
}

TEST_CASE("MPI error codes become DistributedError naming the call") {
    int x = 0;
    // An invalid root: MPI_ERRORS_RETURN on the group's communicator returns the code.
    const int rc = MPI_Bcast(&x, 1, MPI_INT, pg().size() + 5, pg().comm());
    REQUIRE(rc != MPI_SUCCESS);
    CHECK_THROWS_WITH_AS(dist::detail::mpi_check(rc, "MPI_Bcast", "test value"),
                         doctest::Contains("MPI_Bcast (test value) failed: "),
                         dist::DistributedError);
    // And the DistributedError is an nnlite::Error.
    CHECK_THROWS_AS(dist::detail::mpi_check(rc, "MPI_Bcast"), nnlite::Error);
}

TEST_CASE("GradientBucketer: bucket layout, average and sum, missing gradients as zeros") {
    const int R = pg().size(), r = pg().rank();
    // Sizes 3, 5, 2, 10 (+ a frozen one) with a cap of 8 floats: {3,5}, {2}, {10 alone}.
    std::vector<Tensor<float>> params;
    for (std::size_t n : {3, 5, 2, 10})
        params.push_back(Tensor<float>::zeros({n}).requires_grad_());
    auto frozen = Tensor<float>::zeros({4});
    params.push_back(frozen);
    dist::GradientBucketer<float> bucketer(params, 8 * sizeof(float));
    REQUIRE(bucketer.num_buckets() == 3);
    CHECK(bucketer.bucket_bytes(0) == 8 * sizeof(float));
    CHECK(bucketer.bucket_tensors(0) == 2);
    CHECK(bucketer.bucket_bytes(1) == 2 * sizeof(float));
    CHECK(bucketer.bucket_bytes(2) == 10 * sizeof(float));
    CHECK(bucketer.total_bytes() == 20 * sizeof(float));

    SUBCASE("average and sum of rank-dependent gradients") {
        for (std::size_t i = 0; i < 4; ++i)
            params[i].set_grad(filled<float>(params[i].shape(), float(i + 1) * float(r + 1)));
        bucketer.allreduce(pg(), dist::GradReduce::average);
        const float mean_factor = float(R + 1) / 2.f;  // mean of 1..R
        for (std::size_t i = 0; i < 4; ++i)
            for (float v : params[i].grad().to_vector())
                CHECK(v == doctest::Approx(float(i + 1) * mean_factor));
        CHECK_FALSE(frozen.grad().defined());
        bucketer.allreduce(pg(), dist::GradReduce::sum);  // now sum R copies of the mean
        for (float v : params[3].grad().to_vector())
            CHECK(v == doctest::Approx(4.f * mean_factor * float(R)));
    }
    SUBCASE("a gradient missing on rank 0 takes part as zeros") {
        for (std::size_t i = 0; i < 4; ++i)
            params[i].set_grad(r == 0 && i == 1 ? Tensor<float>()
                                                : filled<float>(params[i].shape(), 2.f));
        dist::allreduce_gradients(pg(), params, dist::GradReduce::sum, 8 * sizeof(float));
        if (R == 1) {  // one rank: nothing to reduce, gradients left as they are
            CHECK_FALSE(params[1].grad().defined());
            return;
        }
        REQUIRE(params[1].grad().defined());
        for (float v : params[1].grad().to_vector()) CHECK(v == 2.f * float(R - 1));
        for (float v : params[0].grad().to_vector()) CHECK(v == 2.f * float(R));
    }
}

TEST_CASE("broadcast_module and check_parameters_equal") {
    const int r = pg().rank();
    dist_test::Classifier<float> model(50, 8, 6, 100 + static_cast<std::uint64_t>(r));
    dist_test::Classifier<float> rank0(50, 8, 6, 100);
    if (pg().size() > 1) {
        CHECK_THROWS_WITH_AS(dist::check_parameters_equal(pg(), model),
                             doctest::Contains("'embedding.weight' on rank 1 differs from rank 0"),
                             dist::DistributedError);
    }
    dist::broadcast_module(pg(), model);
    CHECK(max_rel_diff(model, rank0) == 0.0);
    dist::check_parameters_equal(pg(), model);  // no throw
    if (pg().size() > 1) {
        // One element changed on the last rank is caught and named.
        if (r == pg().size() - 1) {
            auto w = model.fc->named_parameters()[0].second;
            w.data()[0] += 1e-6f;
        }
        const std::string expected =
            "'fc.weight' on rank " + std::to_string(pg().size() - 1) + " differs";
        CHECK_THROWS_WITH_AS(dist::check_parameters_equal(pg(), model),
                             doctest::Contains(expected.c_str()), dist::DistributedError);
    }
}

TEST_CASE("check_same_across_ranks and check_same_model name the first differing rank") {
    const int r = pg().rank();
    dist::check_same_across_ranks(pg(), "config", std::string("lr=0.001\nbatch=64\n"));
    dist::check_same_across_ranks(pg(), "global batch", std::int64_t{64});
    if (pg().size() < 2) return;
    const std::string mine = std::string("lr=0.001\nbatch=") + (r == 1 ? "32" : "64") + "\n";
    CHECK_THROWS_WITH_AS(
        dist::check_same_across_ranks(pg(), "config", mine),
        "check_same_across_ranks: config on rank 1 differs from rank 0 at byte 15: rank 1 has "
        "\"batch=32\", rank 0 has \"batch=64\" (18 vs 18 bytes)",
        dist::DistributedError);
    CHECK_THROWS_WITH_AS(
        dist::check_same_across_ranks(pg(), "global batch", std::int64_t{r == 0 ? 64 : 32}),
        doctest::Contains("global batch on rank 1 differs from rank 0"), dist::DistributedError);
    dist_test::Classifier<float> model(50, 8, r == 1 ? 5 : 6, 1);
    CHECK_THROWS_WITH_AS(dist::check_same_model(pg(), model),
                         doctest::Contains("model (parameter names and shapes) on rank 1 differs "
                                           "from rank 0 at byte"),
                         dist::DistributedError);
    CHECK_THROWS_WITH_AS(dist::check_same_model(pg(), model),
                         doctest::Contains("rank 1 has \"lstm.weight_ih_l0 [20,8]"),
                         dist::DistributedError);
}

// 20 Adam steps with global-norm clipping, data parallel vs the 1-process run on the same
// global batches (computed in every rank). `average`: mean loss per rank + GradReduce::average
// (exact only with equal slices: global batch divisible by the world size); otherwise loss
// normalised by the global batch + GradReduce::sum.
// Returns the largest relative parameter difference from the 1-process run. skip_allreduce
// is the negative control: each rank then trains on its own slice only.
template <class T>
double train_and_compare(bool average, std::size_t global_batch, double tolerance,
                         bool skip_allreduce = false) {
    const std::size_t vocab = 60, embed = 8, hidden = 6, steps = 20;
    const auto data = dist_test::make_dataset(200, vocab, 12, 5);
    dist_test::Classifier<T> model(vocab, embed, hidden, 11), reference(vocab, embed, hidden, 11);
    dist::broadcast_module(pg(), model);
    dist::check_same_model(pg(), model);
    nnlite::optim::Adam<T> opt(model.parameters(), nnlite::optim::AdamOptions(0.02));
    nnlite::optim::Adam<T> ref_opt(reference.parameters(), nnlite::optim::AdamOptions(0.02));
    dist::GradientBucketer<T> bucketer(model.parameters());
    dist::DistributedBatchSampler sampler(data.labels.size(), global_batch, pg().rank(),
                                          pg().size(), 99);
    const double max_norm = 0.05;
    int clipped = 0;
    for (std::size_t step = 0; step < steps; ++step) {
        const auto lb = sampler.local_batch(step % sampler.num_batches());
        // Data parallel.
        opt.zero_grad();
        if (!lb.indices.empty()) {
            auto b = dist_test::make_batch<T>(data, lb.indices);
            auto logits = model.forward(b.ids, b.lengths);
            auto loss = average ? nnlite::ops::bce_with_logits(logits, b.labels)
                                : nnlite::ops::bce_with_logits(logits, b.labels,
                                                               nnlite::ops::Reduction::sum) *
                                      (T(1) / static_cast<T>(lb.global_size));
            loss.backward();
        }
        if (!skip_allreduce)
            bucketer.allreduce(pg(), average ? dist::GradReduce::average : dist::GradReduce::sum);
        const double norm = nnlite::nn::clip_grad_norm(model.parameters(), max_norm);
        if (!skip_allreduce) dist::check_same_across_ranks(pg(), "gradient norm", norm);
        // The 1-process reference on the whole global batch.
        ref_opt.zero_grad();
        auto gb =
            dist_test::make_batch<T>(data, sampler.global_batch(step % sampler.num_batches()));
        nnlite::ops::bce_with_logits(reference.forward(gb.ids, gb.lengths), gb.labels).backward();
        const double ref_norm = nnlite::nn::clip_grad_norm(reference.parameters(), max_norm);
        if (!skip_allreduce) CHECK(norm == doctest::Approx(ref_norm).epsilon(tolerance));
        clipped += ref_norm > max_norm;
        opt.step();
        ref_opt.step();
    }
    CHECK(clipped > 0);  // the clipping path was exercised
    CHECK(max_rel_diff(reference, dist_test::Classifier<T>(vocab, embed, hidden, 11)) > 1e-2);
    const double diff = max_rel_diff(model, reference);
    if (skip_allreduce) return diff;
    dist::check_parameters_equal(pg(), model);
    MESSAGE("max relative parameter difference vs 1 process: ", diff);
    CHECK(diff <= tolerance);
    return diff;
}

TEST_CASE("20 data-parallel steps reproduce the 1-process run") {
    SUBCASE("double, loss / global batch + sum, uneven slices (global batch 15)") {
        train_and_compare<double>(false, 15, 1e-9);
    }
    SUBCASE("float, mean loss + average (global batch 16)") {
        train_and_compare<float>(true, 16, 1e-5);
    }
    SUBCASE("negative control: without the all-reduce the ranks leave the 1-process run") {
        const double diff = train_and_compare<double>(false, 15, 1e-9, /*skip_allreduce=*/true);
        if (pg().size() > 1) CHECK(diff > 1e-3);
    }
}

int main(int argc, char** argv) {
    dist::ProcessGroup group(argc, argv);
    g_pg = &group;
    doctest::Context context(argc, argv);
    const int rc = context.run();
    // Every rank exits with the worst status of all, so mpirun reports any failure.
    int worst = rc;
    MPI_Allreduce(&rc, &worst, 1, MPI_INT, MPI_MAX, group.comm());
    return worst;
}
