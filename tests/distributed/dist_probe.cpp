// A small data-parallel program that fails on purpose, for the fault tests
// (expect_job_failure.cmake runs it under mpirun and checks how the whole job ends):
//   dist_probe throw <rank> <step>   <rank> feeds a batch of the wrong shape at <step>: a
//                                    ShapeError on that rank only, while the others wait
//                                    in the gradient all-reduce
//   dist_probe mismatch <rank>       <rank> builds a model with a different hidden size;
//                                    check_same_model fails on every rank
// Both run the body through run_or_abort, so the job must end non-zero within seconds and
// stderr must name the rank.
#include <cstdlib>
#include <nnlite/distributed.hpp>
#include <nnlite/nnlite.hpp>
#include <string>

#include "synthetic_task.hpp"

namespace dist = nnlite::distributed;

int main(int argc, char** argv) {
    dist::ProcessGroup pg(argc, argv);
    return dist::run_or_abort(pg, [&] {
        nnlite::check<nnlite::ValueError>(argc >= 3,
                                          "usage: dist_probe throw <rank> <step> | "
                                          "mismatch <rank>");
        const std::string mode = argv[1];
        const int bad_rank = std::atoi(argv[2]);
        const int bad_step = argc > 3 ? std::atoi(argv[3]) : -1;
        const std::size_t hidden = mode == "mismatch" && pg.rank() == bad_rank ? 5 : 6;
        dist_test::Classifier<float> model(40, 8, hidden, 3);
        dist::check_same_model(pg, model);
        dist::broadcast_module(pg, model);
        const auto data = dist_test::make_dataset(64, 40, 10, 1);
        dist::DistributedBatchSampler sampler(64, 8, pg.rank(), pg.size(), 2);
        nnlite::optim::Adam<float> opt(model.parameters());
        dist::GradientBucketer<float> bucketer(model.parameters());
        for (int step = 0; step < 1000; ++step) {
            const auto lb = sampler.local_batch(static_cast<std::size_t>(step) % 8);
            auto b = dist_test::make_batch<float>(data, lb.indices);
            if (pg.rank() == bad_rank && step == bad_step)  // wrong shape: [n, 1] labels
                b.labels = nnlite::Tensor<float>::zeros({lb.indices.size(), 1});
            opt.zero_grad();
            nnlite::ops::bce_with_logits(model.forward(b.ids, b.lengths), b.labels).backward();
            bucketer.allreduce(pg);
            opt.step();
        }
        return 0;
    });
}
