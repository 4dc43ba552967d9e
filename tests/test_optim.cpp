// Optimizers, schedulers and early stopping: five steps of SGD (momentum, dampening,
// nesterov, weight decay), Adam (L2, amsgrad) and AdamW against PyTorch; exact resume
// through state_dict; skipped parameters; StepLR and ReduceLROnPlateau against PyTorch's
// documented semantics; EarlyStopping; bad options and bad state dicts.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <memory>
#include <nnlite/io/safetensors.hpp>
#include <nnlite/optim/adam.hpp>
#include <nnlite/optim/early_stopping.hpp>
#include <nnlite/optim/scheduler.hpp>
#include <nnlite/optim/sgd.hpp>

#include "test_util.hpp"

using namespace nnlite;
using nnlite::testing::check_close;
using nnlite::testing::fixture_path;

namespace {

using Factory = std::function<std::unique_ptr<optim::Optimizer<float>>(std::vector<Tensor<float>>)>;

// The hyperparameters of tests/fixtures/make_layers_optim.py's OPTIMIZERS table.
std::vector<std::pair<std::string, Factory>> golden_optimizers() {
    return {
        {"adam",
         [](auto ps) {
             return std::make_unique<optim::Adam<float>>(
                 ps, optim::AdamOptions(0.01).betas({0.9, 0.99}).eps(1e-8).weight_decay(0.1));
         }},
        {"adam_amsgrad",
         [](auto ps) {
             return std::make_unique<optim::Adam<float>>(
                 ps, optim::AdamOptions(0.01).betas({0.9, 0.99}).amsgrad(true));
         }},
        {"adamw",
         [](auto ps) {
             return std::make_unique<optim::AdamW<float>>(
                 ps, optim::AdamWOptions(0.01).betas({0.9, 0.999}).weight_decay(0.1));
         }},
        {"sgd_nesterov",
         [](auto ps) {
             return std::make_unique<optim::SGD<float>>(
                 ps, optim::SGDOptions(0.1).momentum(0.9).nesterov(true).weight_decay(0.01));
         }},
        {"sgd_momentum",
         [](auto ps) {
             return std::make_unique<optim::SGD<float>>(
                 ps, optim::SGDOptions(0.1).momentum(0.9).dampening(0.3));
         }},
    };
}

std::vector<Tensor<float>> golden_params(const io::SafetensorsFile& f, const std::string& name) {
    return {f.get<float>(name + ".param0.init").requires_grad_(),
            f.get<float>(name + ".param1.init").requires_grad_()};
}

void set_golden_grads(const io::SafetensorsFile& f, const std::string& name, int s,
                      std::vector<Tensor<float>>& ps) {
    for (std::size_t k = 0; k < ps.size(); ++k)
        ps[k].set_grad(
            f.get<float>(name + ".param" + std::to_string(k) + ".grad" + std::to_string(s)));
}

}  // namespace

TEST_CASE("SGD, Adam and AdamW match torch.optim over five steps") {
    const auto f = io::SafetensorsFile::open(fixture_path("layers_optim.safetensors"));
    for (const auto& [name, make] : golden_optimizers()) {
        CAPTURE(name);
        auto ps = golden_params(f, name);
        auto opt = make(ps);
        for (int s = 0; s < 5; ++s) {
            set_golden_grads(f, name, s, ps);
            opt->step();
            for (std::size_t k = 0; k < 2; ++k) {
                const std::string key =
                    name + ".param" + std::to_string(k) + ".after" + std::to_string(s);
                check_close(ps[k], f.get<float>(key), 1e-5, 1e-6, key);
            }
        }
        CHECK(opt->step_count() == 5);
    }
}

TEST_CASE("an optimizer resumed from state_dict continues exactly (bitwise)") {
    const auto f = io::SafetensorsFile::open(fixture_path("layers_optim.safetensors"));
    for (const auto& [name, make] : golden_optimizers()) {
        CAPTURE(name);
        // Reference: five uninterrupted steps.
        auto ref = golden_params(f, name);
        auto ref_opt = make(ref);
        for (int s = 0; s < 5; ++s) {
            set_golden_grads(f, name, s, ref);
            ref_opt->step();
        }
        // Interrupted: two steps, save params + optimizer, restore into fresh objects.
        auto ps = golden_params(f, name);
        auto opt = make(ps);
        for (int s = 0; s < 2; ++s) {
            set_golden_grads(f, name, s, ps);
            opt->step();
        }
        const auto saved = opt->state_dict();
        CHECK(saved.at("step").item() == 2.f);
        std::vector<Tensor<float>> resumed{ps[0].clone().requires_grad_(),
                                           ps[1].clone().requires_grad_()};
        auto opt2 = make(resumed);
        opt2->load_state_dict(saved);
        CHECK(opt2->step_count() == 2);
        CHECK(opt2->lr() == opt->lr());
        for (int s = 2; s < 5; ++s) {
            set_golden_grads(f, name, s, resumed);
            opt2->step();
        }
        CHECK(resumed[0].to_vector() == ref[0].to_vector());
        CHECK(resumed[1].to_vector() == ref[1].to_vector());
    }
}

TEST_CASE("Adam's host-side step count follows a state_dict loaded into the same optimizer") {
    auto p = Tensor<float>::from({1.f, -2.f, 3.f}).requires_grad_();
    optim::Adam<float> adam({p}, optim::AdamOptions(0.1));
    auto step = [&] {
        p.set_grad(Tensor<float>::from({0.5f, 0.25f, -1.f}));
        adam.step();
    };
    step();
    step();
    const auto saved = adam.state_dict();
    const auto p_after_2 = p.to_vector();
    step();
    const auto p_after_3 = p.to_vector();
    CHECK(adam.state(0).at("step").item() == 3.f);
    // Back to step 2: the next step is step 3 again (a stale host count would make it 4).
    adam.load_state_dict(saved);
    std::copy(p_after_2.begin(), p_after_2.end(), p.data());
    step();
    CHECK(adam.state(0).at("step").item() == 3.f);
    CHECK(adam.state_dict().at("state.0.step").item() == 3.f);
    CHECK(p.to_vector() == p_after_3);
}

TEST_CASE("state_dict keys follow torch.optim's state names") {
    auto p = Tensor<float>::zeros({2, 3}).requires_grad_();
    auto q = Tensor<float>::zeros({4}).requires_grad_();
    optim::Adam<float> adam({p, q}, optim::AdamOptions(1e-3).amsgrad(true));
    CHECK(adam.state_dict().size() == 2);  // lr and step only before any update
    p.set_grad(Tensor<float>::ones({2, 3}));
    adam.step();  // q has no grad: skipped, no state
    const auto sd = adam.state_dict();
    CHECK(sd.count("lr") == 1);
    CHECK(sd.at("lr").item() == 1e-3f);
    CHECK(sd.at("step").item() == 1.f);
    CHECK(sd.at("state.0.step").item() == 1.f);
    CHECK(sd.at("state.0.exp_avg").shape() == Shape{2, 3});
    CHECK(sd.at("state.0.exp_avg_sq").shape() == Shape{2, 3});
    CHECK(sd.at("state.0.max_exp_avg_sq").shape() == Shape{2, 3});
    CHECK(sd.count("state.1.exp_avg") == 0);
    CHECK(q.to_vector() == std::vector<float>(4, 0.f));
    // First Adam step moves each element by lr (m/sqrt(v) = 1 after bias correction).
    for (float v : p.to_vector()) CHECK(v == doctest::Approx(-1e-3f).epsilon(1e-4));

    optim::SGD<float> sgd({p}, optim::SGDOptions(0.1).momentum(0.5));
    sgd.step();
    CHECK(sgd.state_dict().at("state.0.momentum_buffer").shape() == Shape{2, 3});
    optim::SGD<float> plain({p}, optim::SGDOptions(0.1));
    plain.step();
    CHECK(plain.state_dict().size() == 2);
}

TEST_CASE("zero_grad zeroes in place or drops gradients; set_lr changes the step") {
    auto p = Tensor<double>::from({1.0, 2.0}).requires_grad_();
    optim::SGD<double> sgd({p}, optim::SGDOptions(0.5));
    p.set_grad(Tensor<double>::from({1.0, -1.0}));
    sgd.step();
    CHECK(p.to_vector() == std::vector<double>{0.5, 2.5});
    sgd.set_lr(1.0);
    CHECK(sgd.lr() == 1.0);
    sgd.step();
    CHECK(p.to_vector() == std::vector<double>{-0.5, 3.5});
    sgd.zero_grad();
    CHECK(p.grad().to_vector() == std::vector<double>{0.0, 0.0});
    sgd.zero_grad(true);
    CHECK_FALSE(p.grad().defined());
    sgd.step();  // no gradient: nothing moves
    CHECK(p.to_vector() == std::vector<double>{-0.5, 3.5});
    CHECK(sgd.step_count() == 3);
}

TEST_CASE("AdamW decays decoupled from the gradient; Adam folds decay into it") {
    // With a zero gradient, Adam's L2 term still produces an adaptive step of ~lr, while
    // AdamW only shrinks p by the factor 1 - lr * wd.
    auto a = Tensor<double>::from({2.0}).requires_grad_();
    auto w = Tensor<double>::from({2.0}).requires_grad_();
    a.set_grad(Tensor<double>::from({0.0}));
    w.set_grad(Tensor<double>::from({0.0}));
    optim::Adam<double> adam({a}, optim::AdamOptions(0.1).weight_decay(0.5));
    optim::AdamW<double> adamw({w}, optim::AdamWOptions(0.1).weight_decay(0.5));
    adam.step();
    adamw.step();
    CHECK(a.item() == doctest::Approx(2.0 - 0.1).epsilon(1e-7));
    CHECK(w.item() == doctest::Approx(2.0 * (1 - 0.05)).epsilon(1e-12));
}

TEST_CASE("load_state_dict rejects bad state with errors naming the key") {
    auto p = Tensor<float>::zeros({2, 3}).requires_grad_();
    p.set_grad(Tensor<float>::ones({2, 3}));
    optim::Adam<float> adam({p});
    adam.step();
    auto good = adam.state_dict();
    const auto before = adam.state(0).at("exp_avg").to_vector();

    auto wrong_shape = good;
    wrong_shape["state.0.exp_avg"] = Tensor<float>::zeros({3, 2});
    CHECK_THROWS_WITH_AS(adam.load_state_dict(wrong_shape),
                         doctest::Contains("key 'state.0.exp_avg' has shape [3,2], expected [2,3]"),
                         ShapeError);
    CHECK(adam.state(0).at("exp_avg").to_vector() == before);  // nothing changed

    auto missing = good;
    missing.erase("state.0.exp_avg_sq");
    CHECK_THROWS_WITH_AS(adam.load_state_dict(missing),
                         doctest::Contains("missing key 'state.0.exp_avg_sq'"), FormatError);
    auto no_lr = good;
    no_lr.erase("lr");
    CHECK_THROWS_WITH_AS(adam.load_state_dict(no_lr), doctest::Contains("missing key 'lr'"),
                         FormatError);
    auto extra = good;
    extra["state.0.momentum_buffer"] = Tensor<float>::zeros({2, 3});
    CHECK_THROWS_WITH_AS(adam.load_state_dict(extra),
                         doctest::Contains("unexpected key 'state.0.momentum_buffer'"),
                         FormatError);
    auto out_of_range = good;
    out_of_range["state.3.exp_avg"] = Tensor<float>::zeros({2, 3});
    CHECK_THROWS_WITH_AS(adam.load_state_dict(out_of_range),
                         doctest::Contains("'state.3.exp_avg' refers to parameter 3"), FormatError);
    auto garbage = good;
    garbage["weight"] = Tensor<float>::zeros({1});
    CHECK_THROWS_WITH_AS(adam.load_state_dict(garbage),
                         doctest::Contains("unexpected key 'weight'"), FormatError);
    auto bad_step = good;
    bad_step["state.0.step"] = Tensor<float>::zeros({2});
    CHECK_THROWS_WITH_AS(adam.load_state_dict(bad_step),
                         doctest::Contains("'state.0.step' has shape [2], expected []"),
                         ShapeError);
    adam.load_state_dict(good);  // still loads
}

TEST_CASE("optimizers reject invalid hyperparameters") {
    auto p = Tensor<float>::zeros({1}).requires_grad_();
    CHECK_THROWS_WITH_AS(optim::SGD<float>({p}, optim::SGDOptions(-0.1)),
                         doctest::Contains("invalid learning rate -0.1"), ValueError);
    CHECK_THROWS_WITH_AS(optim::SGD<float>({p}, optim::SGDOptions(0.1).nesterov(true)),
                         doctest::Contains("nesterov momentum requires momentum > 0"), ValueError);
    CHECK_THROWS_AS(optim::SGD<float>({p}, optim::SGDOptions(0.1).momentum(-1)), ValueError);
    CHECK_THROWS_WITH_AS(optim::Adam<float>({p}, optim::AdamOptions().betas({1.0, 0.999})),
                         doctest::Contains("invalid beta1 1"), ValueError);
    CHECK_THROWS_AS(optim::AdamW<float>({p}, optim::AdamWOptions().eps(-1)), ValueError);
    CHECK_THROWS_AS(optim::Adam<float>({p}, optim::AdamOptions().weight_decay(-1)), ValueError);
    CHECK_THROWS_AS(optim::Adam<float>({Tensor<float>()}), ValueError);
    optim::Adam<float> ok({p});
    CHECK_THROWS_AS(ok.set_lr(-1), ValueError);
}

TEST_CASE("StepLR decays every step_size epochs and resumes") {
    auto p = Tensor<double>::zeros({1}).requires_grad_();
    optim::SGD<double> sgd({p}, optim::SGDOptions(1.0));
    optim::StepLR<double> sched(sgd, 3, 0.5);
    // PyTorch: lr after epoch e = 1.0 * 0.5^(e // 3)
    const std::vector<double> expected{1, 1, 0.5, 0.5, 0.5, 0.25, 0.25, 0.25, 0.125};
    std::vector<double> got;
    for (int e = 0; e < 9; ++e) {
        sched.step();
        got.push_back(sgd.lr());
    }
    CHECK(got == expected);
    CHECK(sched.last_epoch() == 9);

    optim::SGD<double> sgd2({p}, optim::SGDOptions(1.0));
    optim::StepLR<double> sched2(sgd2, 3, 0.5);
    sched2.load_state_dict(sched.state_dict());
    CHECK(sgd2.lr() == 0.125);
    for (int e = 10; e <= 12; ++e) {  // epoch 12 is the next multiple of 3
        sched.step();
        sched2.step();
        CHECK(sgd2.lr() == sgd.lr());
    }
    CHECK(sgd2.lr() == 0.0625);
    CHECK_THROWS_AS(optim::StepLR<double>(sgd, 0), ValueError);
    CHECK_THROWS_WITH_AS(sched2.load_state_dict({}), doctest::Contains("missing key 'last_epoch'"),
                         FormatError);
}

TEST_CASE("ReduceLROnPlateau follows PyTorch: patience, threshold, cooldown, min_lr") {
    auto p = Tensor<double>::zeros({1}).requires_grad_();
    optim::SGD<double> sgd({p}, optim::SGDOptions(1.0));
    optim::ReduceLROnPlateau<double> sched(
        sgd, optim::ReduceLROnPlateauOptions().factor(0.5).patience(2).cooldown(1).min_lr(0.2));
    // Hand-traced from torch.optim.lr_scheduler.ReduceLROnPlateau.step with these options.
    const std::vector<double> metrics{10, 9, 9.5, 9.2, 9.1, 9.3, 9.4, 9.5, 9.6, 9.7, 9.8, 9.9, 10};
    const std::vector<double> lrs{1, 1, 1, 1, 0.5, 0.5, 0.5, 0.5, 0.25, 0.25, 0.25, 0.25, 0.2};
    for (std::size_t e = 0; e < metrics.size(); ++e) {
        CAPTURE(e);
        sched.step(metrics[e]);
        CHECK(sgd.lr() == doctest::Approx(lrs[e]));
    }
    CHECK(sched.best() == 9.0);

    // Relative threshold: 8.9995 is not below 9 * (1 - 1e-4), so with patience 0 it is a
    // bad epoch and the lr drops at once; 8.99 is an improvement.
    optim::SGD<double> sgd2({p}, optim::SGDOptions(1.0));
    optim::ReduceLROnPlateau<double> s2(sgd2, optim::ReduceLROnPlateauOptions().patience(0));
    CHECK_FALSE(s2.step(9.0));
    CHECK(s2.step(8.9995));
    CHECK(sgd2.lr() == doctest::Approx(0.1));
    CHECK_FALSE(s2.step(8.99));
    CHECK(s2.best() == 8.99);

    // Mode max with an absolute threshold; NaN is never an improvement.
    optim::SGD<double> sgd3({p}, optim::SGDOptions(1.0));
    optim::ReduceLROnPlateau<double> s3(sgd3, optim::ReduceLROnPlateauOptions()
                                                  .mode(optim::PlateauMode::max)
                                                  .threshold_mode(optim::ThresholdMode::abs)
                                                  .threshold(0.5)
                                                  .patience(1));
    s3.step(1.0);
    s3.step(1.4);  // bad 1
    CHECK(s3.num_bad_epochs() == 1);
    s3.step(1.6);  // better than 1.0 + 0.5
    CHECK(s3.best() == 1.6);
    s3.step(std::nan(""));
    CHECK(s3.step(std::nan("")));
    CHECK(sgd3.lr() == doctest::Approx(0.1));

    // Resume: a restored scheduler makes the same decisions.
    optim::SGD<double> sgd4({p}, optim::SGDOptions(1.0));
    optim::ReduceLROnPlateau<double> s4(
        sgd4, optim::ReduceLROnPlateauOptions().factor(0.5).patience(2).cooldown(1).min_lr(0.2));
    s4.load_state_dict(sched.state_dict());
    CHECK(sgd4.lr() == sgd.lr());
    CHECK(s4.best() == sched.best());
    for (double m : {11.0, 12.0, 13.0, 8.0}) CHECK(s4.step(m) == sched.step(m));
    CHECK(sgd4.lr() == sgd.lr());
    CHECK_THROWS_AS(
        optim::ReduceLROnPlateau<double>(sgd4, optim::ReduceLROnPlateauOptions().factor(1.0)),
        ValueError);
}

TEST_CASE("EarlyStopping stops after patience epochs without improvement") {
    optim::EarlyStopping stop(3, 0.01);
    const std::vector<double> losses{1.0, 0.8, 0.795, 0.81, 0.7, 0.7, 0.71, 0.75};
    std::vector<bool> decisions;
    for (double l : losses) decisions.push_back(stop.step(l));
    // 0.795 is not better than 0.8 - 0.01; 0.7 resets; then three epochs without a gain.
    CHECK(decisions == std::vector<bool>{false, false, false, false, false, false, false, true});
    CHECK(stop.best() == 0.7);
    CHECK(stop.best_epoch() == 4);
    CHECK(stop.bad_epochs() == 3);

    optim::EarlyStopping restored(3, 0.01);
    restored.load_state_dict(stop.state_dict());
    CHECK(restored.should_stop());
    CHECK(restored.best_epoch() == 4);
    CHECK(restored.epochs_seen() == 8);

    optim::EarlyStopping acc(2, 0.0, optim::PlateauMode::max);
    CHECK_FALSE(acc.step(0.80));
    CHECK(acc.improved_last());
    CHECK_FALSE(acc.step(0.85));
    CHECK_FALSE(acc.step(0.85));
    CHECK_FALSE(acc.improved_last());
    CHECK(acc.step(std::nan("")));
    CHECK(acc.best_epoch() == 1);

    CHECK_THROWS_WITH_AS(optim::EarlyStopping(0), doctest::Contains("patience must be >= 1"),
                         ValueError);
    CHECK_THROWS_AS(optim::EarlyStopping(2, -0.1), ValueError);
    CHECK_THROWS_WITH_AS(restored.load_state_dict({}), doctest::Contains("missing key 'best'"),
                         FormatError);
}
