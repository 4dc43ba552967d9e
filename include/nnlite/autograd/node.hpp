// A node of the autograd graph: the backward function of one op application.
//
// Each node knows, for every input of its op, where that input's gradient goes (an Edge):
// either to the node that produced the input (fn, output_nr) or, for a leaf tensor that
// requires grad, straight into that tensor's .grad (leaf). The engine (engine.hpp) calls
// apply() with the gradients of the op's outputs and routes the returned input gradients
// along the edges. Nodes hold what backward needs (saved tensors) until released.
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "nnlite/core/shape.hpp"

namespace nnlite {

template <class T, class B>
class Tensor;

namespace detail {
template <class T, class B>
struct TensorImpl;
}

namespace autograd {

template <class T, class B>
struct Node;

template <class T, class B>
struct Edge {
    std::shared_ptr<Node<T, B>> fn;                  // producer of the input, or null
    std::size_t output_nr = 0;                       // which output of fn
    std::shared_ptr<detail::TensorImpl<T, B>> leaf;  // leaf input accumulating .grad, or null
};

template <class T, class B>
struct Node {
    using tensor_list = std::vector<Tensor<T, B>>;
    /// Computes input gradients from output gradients. `grads` has one entry per output,
    /// zero-filled by the engine where an output received no gradient (undefined instead when
    /// materialize_grads is false). Returns one entry per
    /// edge; an undefined tensor means "no gradient for that input".
    using backward_fn = std::function<tensor_list(const tensor_list& grads)>;

    Node(std::string name, backward_fn fn) : name_(std::move(name)), fn_(std::move(fn)) {}

    /// Destroying the last handle to a deep graph would destroy each producer from inside
    /// its consumer's destructor, one stack frame per op: a chain of a million ops (a long
    /// unrolled loop that is never backpropagated) overflowed the stack. Producers owned
    /// only by this graph are instead detached into a local list and destroyed one by one.
    ~Node() {
        std::vector<std::shared_ptr<Node>> pending;
        auto take_sole_producers = [&pending](std::vector<Edge<T, B>>& edges) {
            for (auto& e : edges)
                if (e.fn && e.fn.use_count() == 1) pending.push_back(std::move(e.fn));
            edges.clear();
        };
        take_sole_producers(next_edges);
        while (!pending.empty()) {
            std::shared_ptr<Node> n = std::move(pending.back());
            pending.pop_back();
            take_sole_producers(n->next_edges);
        }  // n dies here with no edges left, so its destructor does not recurse
    }
    Node(const Node&) = delete;
    Node& operator=(const Node&) = delete;

    const std::string& name() const { return name_; }
    bool released() const { return !fn_; }

    tensor_list apply(const tensor_list& grads) { return fn_(grads); }

    /// Frees saved tensors and edges; a later backward through this node is an error.
    void release() {
        fn_ = nullptr;
        next_edges.clear();
    }

    std::vector<Edge<T, B>> next_edges;
    std::vector<Shape> output_shapes;
    /// Whether the engine zero-fills the gradient of an output that received none before
    /// apply() (the default, as the `grads` comment above says). A node recorded with
    /// materialize_grads = false gets an undefined tensor there instead and treats it as
    /// zeros itself (PyTorch's ctx.set_materialize_grads(False)): the LSTM, whose unused
    /// per-step output of the last layer would otherwise cost a [T, B, H] fill and a pass
    /// reading those zeros per direction and step.
    bool materialize_grads = true;

  private:
    std::string name_;
    backward_fn fn_;
};

}  // namespace autograd
}  // namespace nnlite
