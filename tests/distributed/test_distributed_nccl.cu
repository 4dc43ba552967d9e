// nnlite::distributed_nccl under mpirun (ctest: 1 rank, and 2): the NCCL communicator
// (MPI-bootstrapped, one GPU per rank), NcclGradientBucketer against known sums and
// averages and against the host-staging GradientBucketer<float, cuda>, nccl_allreduce of
// one tensor (an NCCL call even with one rank), nccl_broadcast_module.
//
// Every rank runs every case in the same order (they are collective). When a node has
// fewer CUDA devices than ranks (none at all, or 2 ranks on 1 GPU) only the case checking
// NcclCommunicator's error runs; then every rank prints why and exits 77, which ctest
// reports as skipped (SKIP_RETURN_CODE), never as passed.
#include <nnlite/distributed/nccl.cuh>  // first: the header compiles on its own under nvcc

#define DOCTEST_CONFIG_IMPLEMENT  // main() below
#include <doctest/doctest.h>

#include <cstdio>
#include <memory>
#include <nnlite/cuda.hpp>
#include <nnlite/distributed.hpp>
#include <vector>

namespace dist = nnlite::distributed;
using nnlite::cuda;
using CudaF = nnlite::Tensor<float, cuda>;

namespace {

dist::ProcessGroup* g_pg = nullptr;
dist::ProcessGroup& pg() {
    return *g_pg;
}
dist::NcclCommunicator* g_nccl = nullptr;
dist::NcclCommunicator& nccl() {
    REQUIRE_MESSAGE(g_nccl != nullptr, "no NCCL communicator (not enough CUDA devices)");
    return *g_nccl;
}

constexpr int skipped_exit_code = 77;
constexpr const char* no_device_case =
    "fewer CUDA devices than ranks on a node: NcclCommunicator is a clear DistributedError";

const std::vector<nnlite::Shape> shapes = {{3}, {5, 4}, {7}, {2, 2}, {1}};

// Gradient element k of parameter p on rank r: integers, so every sum is exact.
float grad_value(std::size_t p, std::size_t k, int r) {
    return float(r + 1) * float(k + 1) + 100.0f * float(p);
}

// Parameters of `shapes` (plus one that does not require grad, and one without a gradient
// on rank 0), with this rank's gradients.
std::vector<CudaF> make_params() {
    std::vector<CudaF> params;
    for (std::size_t p = 0; p < shapes.size(); ++p) {
        auto t = CudaF::zeros(shapes[p]);
        t.requires_grad_(true);
        std::vector<float> g(t.numel());
        for (std::size_t k = 0; k < g.size(); ++k) g[k] = grad_value(p, k, pg().rank());
        t.set_grad(CudaF::from(g, shapes[p]));
        params.push_back(t);
    }
    params.push_back(CudaF::zeros({4}));  // no grad required: not reduced
    auto sparse = CudaF::zeros({2});
    sparse.requires_grad_(true);
    if (pg().rank() != 0) sparse.set_grad(CudaF::full({2}, 1.0f));
    params.push_back(sparse);
    return params;
}

void check_expected(const std::vector<CudaF>& params, dist::GradReduce op) {
    const int R = pg().size();
    for (std::size_t p = 0; p < shapes.size(); ++p) {
        const auto got = params[p].grad().to_vector();
        for (std::size_t k = 0; k < got.size(); ++k) {
            float sum = 0;
            for (int r = 0; r < R; ++r) sum += grad_value(p, k, r);
            float want = sum;
            if (op == dist::GradReduce::average && R > 1) want = sum * (1.0f / float(R));
            REQUIRE_MESSAGE(got[k] == want, "parameter ", p, " element ", k);
        }
    }
    CHECK_FALSE(params[shapes.size()].grad().defined());
    const auto& sparse = params[shapes.size() + 1];
    if (R == 1) {
        CHECK_FALSE(sparse.grad().defined());  // one rank: left as it is
    } else {
        const float want =
            op == dist::GradReduce::sum ? float(R - 1) : float(R - 1) * (1.0f / float(R));
        for (float v : sparse.grad().to_vector()) CHECK(v == want);
    }
}

}  // namespace

int main(int argc, char** argv) {
    dist::ProcessGroup group(argc, argv);
    g_pg = &group;
    // Enough devices on every node (one per rank) on every rank, or the job is skipped.
    MPI_Comm node = MPI_COMM_NULL;
    MPI_Comm_split_type(group.comm(), MPI_COMM_TYPE_SHARED, group.rank(), MPI_INFO_NULL, &node);
    int node_size = 1;
    MPI_Comm_size(node, &node_size);
    MPI_Comm_free(&node);
    const int devices = nnlite::cuda_device_count();
    int enough = devices >= node_size ? 1 : 0;
    MPI_Allreduce(MPI_IN_PLACE, &enough, 1, MPI_INT, MPI_MIN, group.comm());

    int rc = 0;
    {
        std::unique_ptr<dist::NcclCommunicator> comm;
        if (enough) {
            comm = std::make_unique<dist::NcclCommunicator>(group);
            g_nccl = comm.get();
        }
        doctest::Context context(argc, argv);
        if (!enough) context.addFilter("test-case", no_device_case);
        rc = context.run();
        g_nccl = nullptr;
    }
    // Every rank exits with the worst status of all, so mpirun reports any failure.
    int worst = rc;
    MPI_Allreduce(&rc, &worst, 1, MPI_INT, MPI_MAX, group.comm());
    if (worst != 0) return worst;
    if (!enough) {
        if (group.rank() == 0)
            std::printf(
                "skipped: %d rank(s) on a node but this process sees %d CUDA device(s); NCCL "
                "needs one GPU per rank, so only the error case ran\n",
                node_size, devices);
        return skipped_exit_code;
    }
    return 0;
}

TEST_CASE("fewer CUDA devices than ranks on a node: NcclCommunicator is a clear DistributedError") {
    if (nnlite::cuda_device_count() == 0) {
        CHECK_THROWS_WITH_AS(dist::NcclCommunicator{pg()},
                             doctest::Contains("sees no CUDA device (NCCL needs one GPU per rank)"),
                             dist::DistributedError);
    } else {
        CHECK_THROWS_WITH_AS(dist::NcclCommunicator{pg()},
                             doctest::Contains("NCCL cannot put two ranks on one device"),
                             dist::DistributedError);
    }
}

TEST_CASE("nccl: the communicator spans the process group, one device per rank") {
    CHECK(nccl().rank() == pg().rank());
    CHECK(nccl().size() == pg().size());
    int current = -1;
    REQUIRE(cudaGetDevice(&current) == cudaSuccess);
    CHECK(current == nccl().device());
    int count = 0;
    REQUIRE(ncclCommCount(nccl().comm(), &count) == ncclSuccess);
    CHECK(count == pg().size());
}

TEST_CASE("nccl: nccl_allreduce of one tensor (an NCCL call even with one rank)") {
    const int R = pg().size();
    auto t = CudaF::full({1000}, float(pg().rank() + 1));
    dist::nccl_allreduce(nccl(), t, dist::GradReduce::sum);
    for (float v : t.to_vector()) REQUIRE(v == float(R * (R + 1) / 2));
    auto u = CudaF::full({3}, float(pg().rank() + 1));
    dist::nccl_allreduce(nccl(), u, dist::GradReduce::average);
    const float avg = R > 1 ? float(R * (R + 1) / 2) * (1.0f / float(R)) : 1.0f;
    for (float v : u.to_vector()) CHECK(v == avg);
}

TEST_CASE("nccl: gradient buckets give the known sum and average, as the host path does") {
    for (auto op : {dist::GradReduce::sum, dist::GradReduce::average}) {
        CAPTURE(op == dist::GradReduce::sum ? "sum" : "average");
        auto device_params = make_params();
        auto host_params = make_params();
        // 64 bytes: {3} | {5,4} alone (over the cap) | {7} {2,2} {1} {2}
        dist::NcclGradientBucketer<float> device_bucketer(nccl(), device_params, 64);
        dist::GradientBucketer<float, cuda> host_bucketer(host_params, 64);
        REQUIRE(device_bucketer.num_buckets() == 3);
        REQUIRE(host_bucketer.num_buckets() == 3);
        for (std::size_t i = 0; i < 3; ++i) {
            CHECK(device_bucketer.bucket_bytes(i) == host_bucketer.bucket_bytes(i));
            CHECK(device_bucketer.bucket_tensors(i) == host_bucketer.bucket_tensors(i));
        }
        CHECK(device_bucketer.total_bytes() == host_bucketer.total_bytes());
        device_bucketer.allreduce(op);
        host_bucketer.allreduce(pg(), op);
        check_expected(device_params, op);
        check_expected(host_params, op);
        for (std::size_t p = 0; p < device_params.size(); ++p) {
            const auto& d = device_params[p].grad();
            const auto& h = host_params[p].grad();
            REQUIRE(d.defined() == h.defined());
            if (d.defined()) CHECK(d.to_vector() == h.to_vector());
        }
        // Twice through the same bucketer: the buffers are reused.
        auto again = make_params();
        dist::nccl_allreduce_gradients(nccl(), again, op, 64);
        check_expected(again, op);
    }
}

TEST_CASE("nccl: nccl_broadcast_module makes every rank's parameters rank 0's") {
    nnlite::nn::Linear<float, cuda> device_model(6, 5), host_model(6, 5);
    for (auto* model : {&device_model, &host_model})
        for (auto& kv : model->named_parameters()) {
            std::vector<float> v(kv.second.numel());
            for (std::size_t k = 0; k < v.size(); ++k)
                v[k] = float(k) + 1000.0f * float(pg().rank());
            auto t = kv.second;
            cuda::copy_from_host(t.data(), v.data(), v.size());
        }
    dist::nccl_broadcast_module(nccl(), device_model);
    dist::broadcast_module(pg(), host_model);
    const auto dp = device_model.named_parameters(), hp = host_model.named_parameters();
    REQUIRE(dp.size() == hp.size());
    for (std::size_t i = 0; i < dp.size(); ++i) {
        const auto d = dp[i].second.to_vector();
        for (std::size_t k = 0; k < d.size(); ++k) REQUIRE(d[k] == float(k));
        CHECK(d == hp[i].second.to_vector());
    }
    CHECK_THROWS_AS(dist::nccl_broadcast_tensors(nccl(), std::vector<CudaF>{}, pg().size()),
                    nnlite::ValueError);
}
