// The backend-generic checks of backend_checks.hpp on the CPU backend (the CUDA suite in
// tests/cuda runs the same bodies on nnlite::cuda).
#include "backend_checks.hpp"

using namespace nnlite;

TEST_CASE("cpu: creation and backend conversion") {
    backend_checks::creation_and_conversion<cpu>();
}
TEST_CASE("cpu: arithmetic and pointwise") {
    backend_checks::arithmetic_and_pointwise<cpu>();
}
TEST_CASE("cpu: reductions and softmax") {
    backend_checks::reductions_and_softmax<cpu>();
}
TEST_CASE("cpu: matmul and shape ops") {
    backend_checks::matmul_and_shapes<cpu>();
}
TEST_CASE("cpu: embedding and gather") {
    backend_checks::embedding_and_gather<cpu>();
}
TEST_CASE("cpu: bce_with_logits") {
    backend_checks::bce_loss<cpu>();
}
TEST_CASE("cpu: dropout mask equals the next_u32 stream") {
    backend_checks::dropout_mask_matches_host_stream<cpu>();
}
TEST_CASE("cpu: optimizer steps") {
    backend_checks::optimizer_steps<cpu>();
}
TEST_CASE("cpu: gradient clipping") {
    backend_checks::clipping<cpu>();
}
TEST_CASE("cpu: module conversion") {
    backend_checks::module_conversion<cpu>();
}

TEST_CASE("Generator::reserve_u32 advances exactly like next_u32") {
    for (std::uint64_t skip : {0u, 2u, 4u, 7u})
        for (std::uint64_t n : {0u, 1u, 3u, 4u, 9u}) {
            Generator a(99), b(99);
            for (std::uint64_t i = 0; i < skip; ++i) {
                (void)a.next_u32();
                (void)b.next_u32();
            }
            for (std::uint64_t i = 0; i < n; ++i) (void)a.next_u32();
            (void)b.reserve_u32(n);
            INFO("skip " << skip << ", n " << n);
            CHECK(a.offset() == b.offset());
            CHECK(a.next_u64() == b.next_u64());
        }
}

TEST_CASE("Generator::set_state: the state is (seed, offset) alone, whatever came before") {
    Generator a(5), b(5);
    (void)a.next_u32();  // a is mid-block
    a.set_state(5, 13);  // offset counts 32-bit words: block 3, word 1
    b.set_state(5, 13);
    CHECK(a.next_u32() == b.next_u32());
    CHECK(a.next_u32() == Generator::philox(5, 3)[2]);
}
