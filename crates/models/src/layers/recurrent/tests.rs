//! The fused recurrences against the step-by-step tensor code and against
//! burn-nn's own layers: outputs, final states and every gradient.

use burn::nn::{GruConfig, LstmConfig};
use burn::tensor::{Distribution, Gradients, TensorData};

use super::*;

/// (batch, time, hidden): a small odd shape, one large enough to be split
/// across threads, and a single step of a single sequence (sampling).
const SHAPES: [(usize, usize, usize); 3] = [(3, 5, 8), (8, 8, 64), (1, 1, 4)];

fn random<const D: usize>(shape: [usize; D], scale: f32, device: &Device) -> TensorData {
    Tensor::<D>::random(shape, Distribution::Uniform(-1.0, 1.0), device)
        .mul_scalar(scale)
        .into_data()
}

fn tracked<const D: usize>(data: &TensorData, device: &Device) -> Tensor<D> {
    Tensor::from_data(data.clone(), device).require_grad()
}

fn assert_close(what: &str, got: &TensorData, want: &TensorData, tolerance: f32) {
    assert_eq!(got.shape(), want.shape(), "{what}: shapes differ");
    let got = got.try_to_vec::<f32>().unwrap_or_else(|e| panic!("{what}: {e:?}"));
    let want = want.try_to_vec::<f32>().unwrap_or_else(|e| panic!("{what}: {e:?}"));
    let (at, worst) = got
        .iter()
        .zip(&want)
        .map(|(g, w)| (g - w).abs())
        .enumerate()
        .fold((0, 0.0f32), |best, (i, e)| if e > best.1 { (i, e) } else { best });
    assert!(
        worst <= tolerance,
        "{what}: |difference| {worst} at {at} (fused {}, reference {})",
        got[at],
        want[at]
    );
}

/// An LSTM layer's inputs (x, w_ih, bias, w_hh, h0, c0) for a shape.
fn lstm_inputs((batch, time, hidden): (usize, usize, usize), device: &Device) -> Vec<TensorData> {
    let (input, g) = (hidden + 3, 4 * hidden);
    vec![
        random([batch, time, input], 1.0, device),
        random([input, g], 0.5, device),
        random([g], 0.5, device),
        random([hidden, g], 0.5, device),
        random([batch, hidden], 1.0, device),
        random([batch, hidden], 1.0, device),
    ]
}

/// A GRU layer's inputs (x, w_ih, bias, w_hh, bn, h0) for a shape.
fn gru_inputs((batch, time, hidden): (usize, usize, usize), device: &Device) -> Vec<TensorData> {
    let (input, g) = (hidden + 3, 3 * hidden);
    vec![
        random([batch, time, input], 1.0, device),
        random([input, g], 0.5, device),
        random([g], 0.5, device),
        random([hidden, g], 0.5, device),
        random([hidden], 0.5, device),
        random([batch, hidden], 1.0, device),
    ]
}

/// Runs an LSTM layer (fused or reference) on `inputs` and, on an autodiff
/// device, differentiates a random linear function of its outputs: returns
/// the outputs, then the gradient of every input.
fn lstm_run(device: &Device, inputs: &[TensorData], weights: &[TensorData], fused: bool) -> Vec<TensorData> {
    let t = |i: usize| Tensor::<2>::from_data(inputs[i].clone(), device);
    let (x, w_ih, bias, w_hh, h0, c0) = (
        Tensor::<3>::from_data(inputs[0].clone(), device),
        t(1),
        Tensor::<1>::from_data(inputs[2].clone(), device),
        t(3),
        t(4),
        t(5),
    );
    let tracked = device.is_autodiff();
    let (x, w_ih, bias, w_hh, h0, c0) = if tracked {
        (
            x.require_grad(),
            w_ih.require_grad(),
            bias.require_grad(),
            w_hh.require_grad(),
            h0.require_grad(),
            c0.require_grad(),
        )
    } else {
        (x, w_ih, bias, w_hh, h0, c0)
    };
    let layer = if fused { lstm_layer } else { reference_lstm };
    let (h, c) = layer(
        x.clone(),
        w_ih.clone(),
        bias.clone(),
        w_hh.clone(),
        h0.clone(),
        c0.clone(),
    );
    let mut all = vec![h.clone().into_data(), c.clone().into_data()];
    if tracked {
        let loss = (h * Tensor::from_data(weights[0].clone(), device)).sum()
            + (c * Tensor::from_data(weights[1].clone(), device)).sum();
        let grads = loss.backward();
        let missing = "every input has a gradient";
        all.push(x.grad(&grads).expect(missing).into_data());
        all.push(w_ih.grad(&grads).expect(missing).into_data());
        all.push(bias.grad(&grads).expect(missing).into_data());
        all.push(w_hh.grad(&grads).expect(missing).into_data());
        all.push(h0.grad(&grads).expect(missing).into_data());
        all.push(c0.grad(&grads).expect(missing).into_data());
    }
    all
}

fn gru_run(device: &Device, inputs: &[TensorData], weights: &TensorData, fused: bool) -> Vec<TensorData> {
    let t = |i: usize| Tensor::<2>::from_data(inputs[i].clone(), device);
    let v = |i: usize| Tensor::<1>::from_data(inputs[i].clone(), device);
    let (x, w_ih, bias, w_hh, bn, h0) = (
        Tensor::<3>::from_data(inputs[0].clone(), device),
        t(1),
        v(2),
        t(3),
        v(4),
        t(5),
    );
    let tracked = device.is_autodiff();
    let (x, w_ih, bias, w_hh, bn, h0) = if tracked {
        (
            x.require_grad(),
            w_ih.require_grad(),
            bias.require_grad(),
            w_hh.require_grad(),
            bn.require_grad(),
            h0.require_grad(),
        )
    } else {
        (x, w_ih, bias, w_hh, bn, h0)
    };
    let layer = if fused { gru_layer } else { reference_gru };
    let h = layer(
        x.clone(),
        w_ih.clone(),
        bias.clone(),
        w_hh.clone(),
        bn.clone(),
        h0.clone(),
    );
    let mut all = vec![h.clone().into_data()];
    if tracked {
        let grads = (h * Tensor::from_data(weights.clone(), device)).sum().backward();
        let missing = "every input has a gradient";
        all.push(x.grad(&grads).expect(missing).into_data());
        all.push(w_ih.grad(&grads).expect(missing).into_data());
        all.push(bias.grad(&grads).expect(missing).into_data());
        all.push(w_hh.grad(&grads).expect(missing).into_data());
        all.push(bn.grad(&grads).expect(missing).into_data());
        all.push(h0.grad(&grads).expect(missing).into_data());
    }
    all
}

const LSTM_NAMES: [&str; 8] = ["h", "final c", "d x", "d w_ih", "d bias", "d w_hh", "d h0", "d c0"];
const GRU_NAMES: [&str; 7] = ["h", "d x", "d w_ih", "d bias", "d w_hh", "d bn", "d h0"];

/// Plain flex, autodiff, autodiff with gradient checkpointing.
fn devices() -> [Device; 3] {
    [
        Device::flex(),
        Device::flex().autodiff(),
        Device::flex().autodiff().gradient_checkpointing(),
    ]
}

#[test]
fn fused_lstm_equals_the_step_by_step_reference_outputs_and_gradients() {
    for (k, device) in devices().into_iter().enumerate() {
        device.seed(13);
        for shape in SHAPES {
            let (b, t, h) = shape;
            let inputs = lstm_inputs(shape, &device);
            let weights = [random([b, t, h], 1.0, &device), random([b, h], 1.0, &device)];
            let fused = lstm_run(&device, &inputs, &weights, true);
            let reference = lstm_run(&device, &inputs, &weights, false);
            assert_eq!(fused.len(), if k == 0 { 2 } else { 8 });
            for ((name, got), want) in LSTM_NAMES.iter().zip(&fused).zip(&reference) {
                assert_close(&format!("LSTM {shape:?} on device {k}: {name}"), got, want, 1e-5);
            }
        }
    }
}

#[test]
fn fused_lstm_recurrence_equals_the_step_by_step_reference_outputs_and_gradients() {
    for (k, device) in devices().into_iter().enumerate() {
        device.seed(17);
        for (b, t, h) in SHAPES {
            let xw = random([b, t, 4 * h], 2.0, &device);
            let w_hh = random([h, 4 * h], 0.5, &device);
            let (h0, c0) = (random([b, h], 1.0, &device), random([b, h], 1.0, &device));
            let weights = Tensor::<4>::from_data(random([2, b, t, h], 1.0, &device), &device);
            let run = |fused: bool| {
                let xw = Tensor::<3>::from_data(xw.clone(), &device);
                let w = Tensor::<2>::from_data(w_hh.clone(), &device);
                let (h0, c0) = (
                    Tensor::<2>::from_data(h0.clone(), &device),
                    Tensor::<2>::from_data(c0.clone(), &device),
                );
                let tracked = device.is_autodiff();
                let (xw, w, h0, c0) = if tracked {
                    (
                        xw.require_grad(),
                        w.require_grad(),
                        h0.require_grad(),
                        c0.require_grad(),
                    )
                } else {
                    (xw, w, h0, c0)
                };
                let out = if fused {
                    lstm_sequence(xw.clone(), w.clone(), h0.clone(), c0.clone())
                } else {
                    let (hs, cs) = lstm_steps(xw.clone(), w.clone(), h0.clone(), c0.clone());
                    Tensor::stack(vec![hs, cs], 0)
                };
                let mut all = vec![out.clone().into_data()];
                if tracked {
                    let grads = (out * weights.clone()).sum().backward();
                    let missing = "every input has a gradient";
                    all.push(xw.grad(&grads).expect(missing).into_data());
                    all.push(w.grad(&grads).expect(missing).into_data());
                    all.push(h0.grad(&grads).expect(missing).into_data());
                    all.push(c0.grad(&grads).expect(missing).into_data());
                }
                all
            };
            let names = ["h and c", "d xw", "d w_hh", "d h0", "d c0"];
            for ((name, got), want) in names.iter().zip(&run(true)).zip(&run(false)) {
                assert_close(
                    &format!("LSTM recurrence {b}x{t}x{h} on device {k}: {name}"),
                    got,
                    want,
                    1e-5,
                );
            }
        }
    }
}

#[test]
fn fused_gru_equals_the_step_by_step_reference_outputs_and_gradients() {
    for (k, device) in devices().into_iter().enumerate() {
        device.seed(14);
        for shape in SHAPES {
            let (b, t, h) = shape;
            let inputs = gru_inputs(shape, &device);
            let weights = random([b, t, h], 1.0, &device);
            let fused = gru_run(&device, &inputs, &weights, true);
            let reference = gru_run(&device, &inputs, &weights, false);
            assert_eq!(fused.len(), if k == 0 { 1 } else { 7 });
            for ((name, got), want) in GRU_NAMES.iter().zip(&fused).zip(&reference) {
                assert_close(&format!("GRU {shape:?} on device {k}: {name}"), got, want, 1e-5);
            }
        }
    }
}

/// The gradient of every parameter of a gate, in a fixed order.
fn gate_grads(gate: &GateController, grads: &Gradients) -> Vec<TensorData> {
    let missing = "every parameter has a gradient";
    let mut all = Vec::new();
    for linear in [&gate.input_transform, &gate.hidden_transform] {
        all.push(linear.weight.val().grad(grads).expect(missing).into_data());
        if let Some(bias) = &linear.bias {
            all.push(bias.val().grad(grads).expect(missing).into_data());
        }
    }
    all
}

#[test]
fn fused_lstm_layer_equals_burn_nn_forward_and_gradients() {
    let device = Device::flex().autodiff();
    device.seed(15);
    let lstm = LstmConfig::new(5, 6, true).init(&device);
    let (b, t, h) = (3, 7, 6);
    let x = random([b, t, 5], 1.0, &device);
    let (h0, c0) = (random([b, h], 1.0, &device), random([b, h], 1.0, &device));
    let weights = [
        random([b, t, h], 1.0, &device),
        random([b, h], 1.0, &device),
        random([b, h], 1.0, &device),
    ];
    let run = |fused: bool| {
        let xt = tracked::<3>(&x, &device);
        let state = LstmState::new(tracked(&c0, &device), tracked(&h0, &device));
        let (out, state) = if fused {
            lstm_forward(&lstm, xt.clone(), Some(state))
        } else {
            lstm.forward(xt.clone(), Some(state))
        };
        let loss = (out.clone() * Tensor::from_data(weights[0].clone(), &device)).sum()
            + (state.hidden.clone() * Tensor::from_data(weights[1].clone(), &device)).sum()
            + (state.cell.clone() * Tensor::from_data(weights[2].clone(), &device)).sum();
        let grads = loss.backward();
        let mut all = vec![out.into_data(), state.hidden.into_data(), state.cell.into_data()];
        all.push(xt.grad(&grads).expect("x has a gradient").into_data());
        let forget = lstm.forget_gate.as_ref().expect("a standard LSTM has a forget gate");
        for gate in [&lstm.input_gate, forget, &lstm.cell_gate, &lstm.output_gate] {
            all.extend(gate_grads(gate, &grads));
        }
        all
    };
    let (fused, burn_nn) = (run(true), run(false));
    assert_eq!(fused.len(), 4 + 4 * 4);
    for (i, (got, want)) in fused.iter().zip(&burn_nn).enumerate() {
        assert_close(&format!("LSTM layer tensor {i}"), got, want, 2e-5);
    }
}

#[test]
fn fused_gru_layer_equals_burn_nn_forward_and_gradients() {
    let device = Device::flex().autodiff();
    device.seed(16);
    let gru = GruConfig::new(5, 6, true).init(&device);
    let (b, t, h) = (3, 7, 6);
    let x = random([b, t, 5], 1.0, &device);
    let h0 = random([b, h], 1.0, &device);
    let weights = random([b, t, h], 1.0, &device);
    let run = |fused: bool| {
        let xt = tracked::<3>(&x, &device);
        let state = tracked::<2>(&h0, &device);
        let out = if fused {
            gru_forward(&gru, xt.clone(), Some(state.clone()))
        } else {
            gru.forward(xt.clone(), Some(state.clone()))
        };
        let grads = (out.clone() * Tensor::from_data(weights.clone(), &device))
            .sum()
            .backward();
        let mut all = vec![out.into_data()];
        all.push(xt.grad(&grads).expect("x has a gradient").into_data());
        all.push(state.grad(&grads).expect("h0 has a gradient").into_data());
        for gate in [&gru.update_gate, &gru.reset_gate, &gru.new_gate] {
            all.extend(gate_grads(gate, &grads));
        }
        all
    };
    let (fused, burn_nn) = (run(true), run(false));
    assert_eq!(fused.len(), 3 + 3 * 4);
    for (i, (got, want)) in fused.iter().zip(&burn_nn).enumerate() {
        assert_close(&format!("GRU layer tensor {i}"), got, want, 2e-5);
    }
}

/// The comparisons above would pass trivially if the fused path quietly fell
/// back to the reference one: on every flex device it must be taken.
#[test]
fn flex_devices_take_the_fused_path() {
    for (k, device) in devices().into_iter().enumerate() {
        let (b, t, h) = SHAPES[0];
        let d = Dims {
            batch: b,
            time: t,
            input: h + 3,
            hidden: h,
        };
        let dispatch = |data: &TensorData| match data.shape().num_dims() {
            1 => Tensor::<1>::from_data(data.clone(), &device).into_dispatch(),
            2 => Tensor::<2>::from_data(data.clone(), &device).into_dispatch(),
            _ => Tensor::<3>::from_data(data.clone(), &device).into_dispatch(),
        };
        let lstm: Vec<_> = lstm_inputs(SHAPES[0], &device).iter().map(dispatch).collect();
        let lstm: [_; 6] = lstm.try_into().expect("six inputs");
        assert!(autodiff::lstm_layer(d, &lstm).is_some(), "LSTM layer on device {k}");
        // The bare recurrence takes the projection [b, t, 4H] as its input.
        let xw = dispatch(&random([b, t, 4 * h], 1.0, &device));
        let recurrence = [xw, lstm[3].clone(), lstm[4].clone(), lstm[5].clone()];
        let d_rec = Dims { input: 4 * h, ..d };
        assert!(
            autodiff::lstm_recurrence(d_rec, &recurrence).is_some(),
            "LSTM recurrence on device {k}"
        );
        let gru: Vec<_> = gru_inputs(SHAPES[0], &device).iter().map(dispatch).collect();
        let gru: [_; 6] = gru.try_into().expect("six inputs");
        assert!(autodiff::gru(d, &gru).is_some(), "GRU layer on device {k}");
    }
}
