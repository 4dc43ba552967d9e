// The backward engine: walks the graph from a root tensor in reverse topological order
// (Kahn's algorithm over dependency counts, so each node runs once, after every gradient
// flowing into it has been summed), accumulates leaf gradients into .grad, and releases
// each node's saved tensors unless the caller retains the graph.
#pragma once

#include <memory>
#include <unordered_map>
#include <vector>

#include "nnlite/autograd/grad_mode.hpp"
#include "nnlite/autograd/node.hpp"
#include "nnlite/tensor/tensor.hpp"

namespace nnlite::autograd {

/// True when an op applied to these inputs must be recorded.
template <class T, class B, class... Ts>
bool any_requires_grad(const Tensor<T, B>& first, const Ts&... rest) {
    if (!is_grad_enabled()) return false;
    return (first.requires_grad() || ... || rest.requires_grad());
}

template <class T, class B>
bool any_requires_grad(const std::vector<Tensor<T, B>>& inputs) {
    if (!is_grad_enabled()) return false;
    for (const auto& t : inputs)
        if (t.requires_grad()) return true;
    return false;
}

template <class T, class B>
Edge<T, B> edge_to(const Tensor<T, B>& input) {
    Edge<T, B> e;
    if (!input.requires_grad()) return e;
    if (input.grad_fn()) {
        e.fn = input.grad_fn();
        e.output_nr = input.output_nr();
    } else {
        e.leaf = input.impl_ptr();
    }
    return e;
}

/// Records `fn` as the backward of an op mapping `inputs` to `outputs`. Call only when
/// any_requires_grad(inputs...) is true. fn receives one gradient per output and returns
/// one per input (undefined where the input needs none). An output that received no
/// gradient gets zeros, or with materialize_grads = false an undefined tensor (fn then
/// reads it as zeros; see Node::materialize_grads).
template <class T, class B>
void record(const char* name, const std::vector<Tensor<T, B>>& inputs,
            const std::vector<Tensor<T, B>>& outputs, typename Node<T, B>::backward_fn fn,
            bool materialize_grads = true) {
    auto node = std::make_shared<Node<T, B>>(name, std::move(fn));
    node->materialize_grads = materialize_grads;
    node->next_edges.reserve(inputs.size());
    for (const auto& in : inputs) node->next_edges.push_back(edge_to(in));
    for (std::size_t i = 0; i < outputs.size(); ++i) {
        auto& impl = outputs[i].impl();
        impl.requires_grad = true;
        impl.grad_fn = node;
        impl.output_nr = i;
        node->output_shapes.push_back(impl.shape);
    }
}

namespace detail {

/// Adds g into slot; an undefined slot takes g's values. When g is the only handle on its
/// storage (a backward's fresh result, held by nothing but the engine's list of results),
/// the slot takes that storage as it is instead of a copy: the embedding's dense gradient
/// (20,002 x 96 floats in the showcase) is then not copied into .grad on every step after
/// zero_grad(set_to_none). A gradient that anything else still holds (a backward that
/// passes its incoming gradient through, one tensor returned for two inputs, an alias) is
/// copied, so a later accumulation into the slot cannot write into it.
template <class T, class B>
void accumulate(Tensor<T, B>& slot, const Tensor<T, B>& g) {
    if (!slot.defined()) {
        const auto& impl = g.impl_ptr();
        const bool sole = impl.use_count() == 1 && impl->storage.use_count() == 1;
        slot = sole && !g.requires_grad() ? g.detach() : g.clone();
    } else {
        kernels<B>::axpy(slot.data(), g.data(), slot.numel(), T(1));
    }
}

}  // namespace detail

template <class T, class B>
void run_backward(const Tensor<T, B>& root, Tensor<T, B> grad, bool retain_graph) {
    check<AutogradError>(root.requires_grad(),
                         "backward: the tensor does not require grad and has no grad_fn");
    if (!grad.defined()) {
        check<AutogradError>(root.numel() == 1,
                             "backward: grad can be implicitly created only for ",
                             "scalar outputs, but the tensor has shape ", to_string(root.shape()),
                             "; pass a gradient of that shape");
        grad = Tensor<T, B>::ones(root.shape());
    }
    check<ShapeError>(grad.shape() == root.shape(), "backward: gradient of shape ",
                      to_string(grad.shape()), " for a tensor of shape ", to_string(root.shape()));
    NoGradGuard no_grad;

    if (!root.grad_fn()) {  // a leaf: its gradient is the seed itself
        Tensor<T, B> slot = root.grad();
        detail::accumulate(slot, grad);
        const_cast<Tensor<T, B>&>(root).set_grad(slot);
        return;
    }

    // Count, for every reachable node, how many edges point at it.
    using NodeP = Node<T, B>*;
    std::unordered_map<NodeP, int> deps;
    std::vector<NodeP> stack{root.grad_fn().get()};
    deps[root.grad_fn().get()] = 0;
    while (!stack.empty()) {
        NodeP n = stack.back();
        stack.pop_back();
        check<AutogradError>(!n->released(), "backward: trying to backward through the graph a ",
                             "second time (node ", n->name(),
                             " was freed); pass retain_graph=true ",
                             "to the first backward if you need to");
        for (auto& e : n->next_edges) {
            if (!e.fn) continue;
            auto it = deps.find(e.fn.get());
            if (it == deps.end()) {
                deps.emplace(e.fn.get(), 1);
                stack.push_back(e.fn.get());
            } else {
                ++it->second;
            }
        }
    }

    std::unordered_map<NodeP, std::vector<Tensor<T, B>>> buffers;
    buffers[root.grad_fn().get()].resize(root.grad_fn()->output_shapes.size());
    buffers[root.grad_fn().get()][root.output_nr()] = grad;
    // Keep the root node alive while we run even if the caller drops everything else.
    std::vector<std::shared_ptr<Node<T, B>>> ready{root.grad_fn()};
    while (!ready.empty()) {
        auto node = ready.back();
        ready.pop_back();
        auto grads = std::move(buffers[node.get()]);
        buffers.erase(node.get());
        grads.resize(node->output_shapes.size());
        for (std::size_t i = 0; i < grads.size(); ++i)
            if (!grads[i].defined() && node->materialize_grads)
                grads[i] = Tensor<T, B>::zeros(node->output_shapes[i]);
        auto input_grads = node->apply(grads);
        check<AutogradError>(input_grads.size() == node->next_edges.size(), "backward: node ",
                             node->name(), " returned ", input_grads.size(), " gradients for ",
                             node->next_edges.size(), " inputs");
        auto edges = node->next_edges;  // copy: release() clears them
        if (!retain_graph) node->release();
        for (std::size_t i = 0; i < edges.size(); ++i) {
            auto& e = edges[i];
            const auto& g = input_grads[i];
            if (e.fn) {
                auto& buf = buffers[e.fn.get()];
                buf.resize(e.fn->output_shapes.size());
                if (g.defined()) detail::accumulate(buf[e.output_nr], g);
                if (--deps[e.fn.get()] == 0) ready.push_back(e.fn);
            } else if (e.leaf && g.defined()) {
                Tensor<T, B> leaf(e.leaf);
                check<ShapeError>(g.shape() == leaf.shape(), "backward: node ", node->name(),
                                  " produced a gradient of shape ", to_string(g.shape()),
                                  " for an input of shape ", to_string(leaf.shape()));
                Tensor<T, B> slot = leaf.grad();
                detail::accumulate(slot, g);
                leaf.set_grad(slot);
            }
        }
    }
}

}  // namespace nnlite::autograd
