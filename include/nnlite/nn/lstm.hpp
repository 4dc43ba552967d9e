// nn::LSTM and nn::LSTMCell: PyTorch's recurrent layers, same options, same parameter
// names and layouts, same default initialisation, so weights move between the two.
//
// LSTM stacks num_layers layers; with bidirectional each layer runs a forward and a
// reverse direction whose outputs lie side by side ([.., 2H]: forward first). Every
// layer/direction is one fused ops::lstm_layer node (a bidirectional layer is one
// ops::lstm_bidirectional_layer node whose two directions run concurrently and write their
// halves of the [T, B, 2H] output directly). Dropout (probability
// `dropout`) is applied to the input of every layer but the first, i.e. between layers and never
// after the last one, and only in training mode.
//
// Shapes (D = 2 if bidirectional else 1, L = num_layers):
//   input   [T, B, input_size]  ([B, T, input_size] with batch_first; [T, input_size]
//           for one unbatched sequence)
//   lengths empty (every sequence has T steps) or B values in [1, T] (packed semantics:
//           see ops/lstm.hpp and docs/lstm.md)
//   h0, c0  [L*D, B, H] (optional, zeros when absent), index l*D + d
//   output  [T, B, D*H] ([B, T, D*H] with batch_first), zero past each length
//   h_n,c_n [L*D, B, H], each sequence's state after its own last step
//
// Parameters per layer l and direction (suffix "_reverse" for the reverse one):
//   weight_ih_l{l} [4H, in_l], weight_hh_l{l} [4H, H], bias_ih_l{l} [4H], bias_hh_l{l} [4H]
// with in_0 = input_size and in_l = D*H above, gates ordered i, f, g, o; all initialised
// U(-1/sqrt(H), 1/sqrt(H)) like PyTorch.
//
// compute(ComputeType::bf16) runs every GEMM of the stack (forward and backward) with bf16
// inputs and fp32 accumulation, compute(ComputeType::fp16) with scaled fp16 inputs (fp16
// sums over blocks, fp32 across them; CPUs with AVX512-FP16); parameters, gradients, optimizer
// state and the gate math stay fp32 (docs/lstm.md: tolerances, CPU requirement). A backend or CPU
// that cannot run it is an nnlite::Error from the constructor.
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <type_traits>
#include <vector>

#include "nnlite/core/dtype.hpp"
#include "nnlite/core/error.hpp"
#include "nnlite/core/random.hpp"
#include "nnlite/nn/module.hpp"
#include "nnlite/ops/dropout.hpp"
#include "nnlite/ops/lstm.hpp"
#include "nnlite/ops/shape.hpp"
#include "nnlite/tensor/tensor.hpp"

namespace nnlite::nn {

/// Options of nn::LSTM, fluent like libtorch's: LSTMOptions(128, 256).num_layers(2)
/// .bidirectional(true).dropout(0.5). Each setter has a getter of the same name.
class LSTMOptions {
  public:
    LSTMOptions(std::size_t input_size, std::size_t hidden_size)
        : input_size_(input_size), hidden_size_(hidden_size) {}

    LSTMOptions& num_layers(std::size_t n) {
        num_layers_ = n;
        return *this;
    }
    LSTMOptions& bidirectional(bool on) {
        bidirectional_ = on;
        return *this;
    }
    /// Dropout probability on the outputs of every layer but the last (training only).
    LSTMOptions& dropout(double p) {
        dropout_ = p;
        return *this;
    }
    LSTMOptions& batch_first(bool on) {
        batch_first_ = on;
        return *this;
    }
    LSTMOptions& bias(bool on) {
        bias_ = on;
        return *this;
    }
    /// What the GEMMs read their inputs as: fp32 (default) or bf16 (CPUs with AVX512-BF16).
    LSTMOptions& compute(ComputeType c) {
        compute_ = c;
        return *this;
    }

    std::size_t input_size() const { return input_size_; }
    std::size_t hidden_size() const { return hidden_size_; }
    std::size_t num_layers() const { return num_layers_; }
    bool bidirectional() const { return bidirectional_; }
    double dropout() const { return dropout_; }
    bool batch_first() const { return batch_first_; }
    bool bias() const { return bias_; }
    ComputeType compute() const { return compute_; }

  private:
    std::size_t input_size_, hidden_size_;
    std::size_t num_layers_ = 1;
    bool bidirectional_ = false;
    double dropout_ = 0.0;
    bool batch_first_ = false;
    bool bias_ = true;
    ComputeType compute_ = ComputeType::fp32;
};

/// A recurrent state (h, c). Both undefined means "zeros".
template <class T = float, class B = cpu>
struct LSTMState {
    Tensor<T, B> h;
    Tensor<T, B> c;
};

/// What LSTM::forward returns.
template <class T = float, class B = cpu>
struct LSTMOutput {
    Tensor<T, B> output;  // [T, B, D*H] (or [B, T, D*H] with batch_first)
    Tensor<T, B> h_n;     // [L*D, B, H]
    Tensor<T, B> c_n;     // [L*D, B, H]
};

namespace detail {

/// A parameter initialised U(-k, k) with k = 1/sqrt(hidden), PyTorch's RNN default.
template <class T, class B>
Tensor<T, B> lstm_uniform_param(const Shape& shape, std::size_t hidden, Generator& gen) {
    const T k = static_cast<T>(1.0 / std::sqrt(static_cast<double>(hidden)));
    return Tensor<T, B>::uniform(shape, -k, k, gen);
}

}  // namespace detail

template <class T = float, class B = cpu>
class LSTM : public Module<T, B> {
  public:
    using tensor_type = Tensor<T, B>;

    /// Builds the parameters and initialises them from `gen`.
    explicit LSTM(const LSTMOptions& options, Generator& gen = default_generator())
        : options_(options) {
        check<ValueError>(options.input_size() > 0 && options.hidden_size() > 0,
                          "LSTM: input_size and hidden_size must be positive, got ",
                          options.input_size(), " and ", options.hidden_size());
        check<ValueError>(options.num_layers() > 0, "LSTM: num_layers must be at least 1");
        ops::check_dropout_probability(options.dropout(), "LSTM");
        ops::require_lstm_compute<T, B>(options.compute());
        const std::size_t H = options.hidden_size(), D = directions();
        for (std::size_t l = 0; l < options.num_layers(); ++l) {
            const std::size_t in = l == 0 ? options.input_size() : D * H;
            for (std::size_t d = 0; d < D; ++d) {
                const std::string suffix = "_l" + std::to_string(l) + (d ? "_reverse" : "");
                w_ih_.push_back(this->register_parameter(
                    "weight_ih" + suffix, detail::lstm_uniform_param<T, B>({4 * H, in}, H, gen)));
                w_hh_.push_back(this->register_parameter(
                    "weight_hh" + suffix, detail::lstm_uniform_param<T, B>({4 * H, H}, H, gen)));
                if (options.bias()) {
                    b_ih_.push_back(this->register_parameter(
                        "bias_ih" + suffix, detail::lstm_uniform_param<T, B>({4 * H}, H, gen)));
                    b_hh_.push_back(this->register_parameter(
                        "bias_hh" + suffix, detail::lstm_uniform_param<T, B>({4 * H}, H, gen)));
                } else {
                    b_ih_.emplace_back();
                    b_hh_.emplace_back();
                }
            }
        }
    }

    /// Re-draws every parameter from U(-1/sqrt(H), 1/sqrt(H)) in place.
    void reset_parameters(Generator& gen = default_generator()) {
        const std::size_t H = options_.hidden_size();
        for (auto& p : this->parameters()) {
            auto fresh = detail::lstm_uniform_param<T, B>(p.shape(), H, gen);
            kernels<B>::copy(p.data(), fresh.data(), p.numel());
        }
    }

    /// Runs the stack; see the file comment for shapes. `state` is {h0, c0} or {} (zeros).
    LSTMOutput<T, B> forward(const tensor_type& input,
                             const std::vector<std::int64_t>& lengths = {},
                             const LSTMState<T, B>& state = {}) {
        const std::size_t H = options_.hidden_size(), D = directions(), L = options_.num_layers(),
                          in = options_.input_size();
        const bool bf = options_.batch_first();
        const char* layout = bf ? "[B,T,input_size]" : "[T,B,input_size]";
        check<ShapeError>(input.dim() == 3 || input.dim() == 2, "LSTM: expected input of shape ",
                          layout, " (or [T,input_size] unbatched) with input_size = ", in, ", got ",
                          to_string(input.shape()));
        check<ShapeError>(input.size(-1) == in, "LSTM: expected input of shape ", layout,
                          " with input_size = ", in, ", got ", to_string(input.shape()));
        const bool batched = input.dim() == 3;
        tensor_type x = batched ? input : ops::unsqueeze(input, bf ? 0 : 1);
        if (bf) x = ops::transpose(x, 0, 1);  // time-major from here on
        const std::size_t batch = x.size(1);

        check<ValueError>(state.h.defined() == state.c.defined(),
                          "LSTM: pass both h0 and c0 or neither");
        tensor_type h0 = state.h, c0 = state.c;
        if (h0.defined()) {
            const Shape want = batched ? Shape{L * D, batch, H} : Shape{L * D, H};
            for (const auto* s : {&h0, &c0})
                check<ShapeError>(s->shape() == want, "LSTM: expected ", s == &h0 ? "h0" : "c0",
                                  " of shape ", to_string(want), " (num_layers*directions, ",
                                  batched ? "batch, " : "", "hidden_size), got ",
                                  to_string(s->shape()));
            if (!batched) {
                h0 = ops::unsqueeze(h0, 1);
                c0 = ops::unsqueeze(c0, 1);
            }
        }

        std::vector<tensor_type> hs, cs;
        tensor_type layer_in = x;
        for (std::size_t l = 0; l < L; ++l) {
            if (l > 0)
                layer_in =
                    ops::dropout(layer_in, options_.dropout(), this->is_training(), *dropout_gen_);
            ops::LSTMDirectionParams<T, B> dir[2];
            for (std::size_t d = 0; d < D; ++d) {
                const std::size_t k = l * D + d;
                dir[d] = {w_ih_[k], w_hh_[k], b_ih_[k], b_hh_[k], {}, {}};
                if (h0.defined()) {
                    const auto H64 = static_cast<std::int64_t>(H);
                    dir[d].h0 = ops::reshape(ops::narrow(h0, 0, k, 1), {-1, H64});
                    dir[d].c0 = ops::reshape(ops::narrow(c0, 0, k, 1), {-1, H64});
                }
            }
            if (D == 2) {  // both directions as one node, run concurrently, output [T, B, 2H]
                auto both = ops::lstm_bidirectional_layer(layer_in, lengths, dir[0], dir[1],
                                                          options_.compute());
                layer_in = both.output;
                for (int d = 0; d < 2; ++d) {
                    hs.push_back(both.h_n[d]);
                    cs.push_back(both.c_n[d]);
                }
            } else {
                const auto& p = dir[0];
                auto r = ops::lstm_layer(layer_in, lengths, p.h0, p.c0, p.w_ih, p.w_hh, p.b_ih,
                                         p.b_hh, false, options_.compute());
                layer_in = r.output;
                hs.push_back(r.h_n);
                cs.push_back(r.c_n);
            }
        }

        LSTMOutput<T, B> out;
        out.output = bf ? ops::transpose(layer_in, 0, 1) : layer_in;
        out.h_n = ops::stack(hs, 0);
        out.c_n = ops::stack(cs, 0);
        if (!batched) {
            out.output = ops::squeeze(out.output, bf ? 0 : 1);
            out.h_n = ops::squeeze(out.h_n, 1);
            out.c_n = ops::squeeze(out.c_n, 1);
        }
        return out;
    }

    /// Same, with the lengths in a 1-D integer tensor of B values (e.g. from a padding or
    /// bucketing helper).
    template <class I, class = std::enable_if_t<std::is_integral_v<I>>>
    LSTMOutput<T, B> forward(const tensor_type& input, const Tensor<I, B>& lengths,
                             const LSTMState<T, B>& state = {}) {
        check<ShapeError>(lengths.dim() == 1, "LSTM: expected lengths of shape [batch], got ",
                          to_string(lengths.shape()));
        const auto v = lengths.to_vector();
        return forward(input, std::vector<std::int64_t>(v.begin(), v.end()), state);
    }

    const LSTMOptions& options() const { return options_; }
    std::size_t directions() const { return options_.bidirectional() ? 2 : 1; }

    /// Parameters of layer `layer`, direction `reverse` (bias_* undefined without bias).
    tensor_type weight_ih(std::size_t layer, bool reverse = false) const {
        return w_ih_.at(index(layer, reverse));
    }
    tensor_type weight_hh(std::size_t layer, bool reverse = false) const {
        return w_hh_.at(index(layer, reverse));
    }
    tensor_type bias_ih(std::size_t layer, bool reverse = false) const {
        return b_ih_.at(index(layer, reverse));
    }
    tensor_type bias_hh(std::size_t layer, bool reverse = false) const {
        return b_hh_.at(index(layer, reverse));
    }

    /// Generator for the inter-layer dropout masks (default: the process-wide one). The
    /// generator must outlive the module.
    void set_dropout_generator(Generator& gen) { dropout_gen_ = &gen; }
    /// The generator the dropout masks come from (its seed and offset resume a run).
    Generator& dropout_generator() const { return *dropout_gen_; }

  private:
    std::size_t index(std::size_t layer, bool reverse) const {
        check<IndexError>(layer < options_.num_layers() && (!reverse || options_.bidirectional()),
                          "LSTM: no parameters for layer ", layer, reverse ? " (reverse)" : "",
                          " in a ", options_.num_layers(), "-layer ",
                          options_.bidirectional() ? "bidirectional" : "unidirectional", " LSTM");
        return layer * directions() + (reverse ? 1 : 0);
    }

    LSTMOptions options_;
    std::vector<tensor_type> w_ih_, w_hh_, b_ih_, b_hh_;  // index l*D + d
    Generator* dropout_gen_ = &default_generator();
};

/// Options of nn::LSTMCell.
class LSTMCellOptions {
  public:
    LSTMCellOptions(std::size_t input_size, std::size_t hidden_size)
        : input_size_(input_size), hidden_size_(hidden_size) {}
    LSTMCellOptions& bias(bool on) {
        bias_ = on;
        return *this;
    }
    std::size_t input_size() const { return input_size_; }
    std::size_t hidden_size() const { return hidden_size_; }
    bool bias() const { return bias_; }

  private:
    std::size_t input_size_, hidden_size_;
    bool bias_ = true;
};

/// One LSTM step for users who drive the time loop themselves (PyTorch's LSTMCell):
/// x [B, input_size] (or [input_size]), state {h, c} each [B, H] (or [H]) or {} (zeros)
/// -> {h', c'}. Parameters weight_ih [4H, in], weight_hh [4H, H], bias_ih, bias_hh [4H].
/// Runs as a fused one-step ops::lstm_layer, so it is differentiable in everything.
template <class T = float, class B = cpu>
class LSTMCell : public Module<T, B> {
  public:
    using tensor_type = Tensor<T, B>;

    explicit LSTMCell(const LSTMCellOptions& options, Generator& gen = default_generator())
        : options_(options) {
        check<ValueError>(options.input_size() > 0 && options.hidden_size() > 0,
                          "LSTMCell: input_size and hidden_size must be positive, got ",
                          options.input_size(), " and ", options.hidden_size());
        const std::size_t H = options.hidden_size(), in = options.input_size();
        weight_ih = this->register_parameter("weight_ih",
                                             detail::lstm_uniform_param<T, B>({4 * H, in}, H, gen));
        weight_hh = this->register_parameter("weight_hh",
                                             detail::lstm_uniform_param<T, B>({4 * H, H}, H, gen));
        if (options.bias()) {
            bias_ih = this->register_parameter("bias_ih",
                                               detail::lstm_uniform_param<T, B>({4 * H}, H, gen));
            bias_hh = this->register_parameter("bias_hh",
                                               detail::lstm_uniform_param<T, B>({4 * H}, H, gen));
        }
    }

    LSTMState<T, B> forward(const tensor_type& x, const LSTMState<T, B>& state = {}) {
        const std::size_t H = options_.hidden_size(), in = options_.input_size();
        check<ShapeError>((x.dim() == 2 || x.dim() == 1) && x.size(-1) == in,
                          "LSTMCell: expected input of shape [batch,", in, "] or [", in, "], got ",
                          to_string(x.shape()));
        check<ValueError>(state.h.defined() == state.c.defined(),
                          "LSTMCell: pass both h and c or neither");
        const bool batched = x.dim() == 2;
        const std::size_t batch = batched ? x.size(0) : 1;
        const Shape want = batched ? Shape{batch, H} : Shape{H};
        tensor_type h0 = state.h, c0 = state.c;
        if (h0.defined()) {
            for (const auto* s : {&h0, &c0})
                check<ShapeError>(s->shape() == want, "LSTMCell: expected ", s == &h0 ? "h" : "c",
                                  " of shape ", to_string(want), ", got ", to_string(s->shape()));
            const std::vector<std::int64_t> rows{static_cast<std::int64_t>(batch),
                                                 static_cast<std::int64_t>(H)};
            h0 = ops::reshape(h0, rows);
            c0 = ops::reshape(c0, rows);
        }
        auto x3 =
            ops::reshape(x, {1, static_cast<std::int64_t>(batch), static_cast<std::int64_t>(in)});
        auto r = ops::lstm_layer(x3, {}, h0, c0, weight_ih, weight_hh, bias_ih, bias_hh, false);
        if (batched) return {r.h_n, r.c_n};
        const std::vector<std::int64_t> flat{static_cast<std::int64_t>(H)};
        return {ops::reshape(r.h_n, flat), ops::reshape(r.c_n, flat)};
    }

    const LSTMCellOptions& options() const { return options_; }

    tensor_type weight_ih, weight_hh, bias_ih, bias_hh;  // bias_* undefined without bias

  private:
    LSTMCellOptions options_;
};

}  // namespace nnlite::nn
