//! Fused LSTM and GRU layers over whole sequences.
//!
//! burn-nn's `Lstm` and `Gru` compute a step as eight (six) small matrix
//! products, one per gate and side, and a dozen element-wise operations,
//! each a node of the autodiff graph that allocates its output; the backward
//! pass walks all of them again and slices every step out of and back into
//! the sequence. On a CPU that made fugue's LSTM language model train 8×
//! slower than PyTorch (issue 6; the profile is in `docs/BENCHMARKS.md`).
//! This module computes the same layers the way the arithmetic wants, as one
//! operation per layer with its own forward and backward over the whole
//! sequence ([`kernels`]): the input side of every gate at every step is one
//! matrix product `[b·t, d] × [d, G·H]`; the recurrence is per step one
//! `[b, H] × [H, G·H]` product into that buffer and one pass of gate
//! arithmetic; backwards, per step one gate pass and one product, then the
//! weight and input gradients as three large products. On the `flex`
//! backend the operation is registered with burn's autodiff as a custom
//! operation ([`autodiff`]); on any other backend (CUDA) the same layer runs
//! as plain tensor operations ([`reference_lstm`], [`reference_gru`]) —
//! also what the tests hold the fused kernels to.
//!
//! The parameters stay burn-nn's modules, so a model's tensor names, its
//! initialisation and its checkpoints are unchanged: the gates' weights are
//! concatenated at each call (a few hundred kB, negligible next to the
//! sequence). Only the standard cells are fused (sigmoid/tanh, no clipping,
//! batch first, forward direction, GRU with the reset gate applied after
//! the product as in PyTorch); any other configuration runs burn-nn's own
//! forward.

pub(in crate::layers) mod autodiff;
mod kernels;
pub(crate) mod primitives;

use burn::nn::activation::Activation;
use burn::nn::{GateController, Gru, Linear, Lstm, LstmState};
use burn::tensor::activation::{sigmoid, tanh};
use burn::tensor::{Device, Tensor};

use kernels::Dims;

/// burn-nn's `lstm` over `x` `[b, t, d]` from `state` (zeros when `None`):
/// every step's hidden state `[b, t, H]` and the state after the last step.
/// The same function as `Lstm::forward`, computed by the fused layer.
pub fn lstm_forward(lstm: &Lstm, x: Tensor<3>, state: Option<LstmState<2>>) -> (Tensor<3>, LstmState<2>) {
    let [b, t, _] = x.dims();
    let forget = match &lstm.forget_gate {
        Some(forget) if t > 0 && is_standard_lstm(lstm) => forget,
        _ => return lstm.forward(x, state),
    };
    let hd = lstm.d_hidden;
    let device = x.device();
    let gates = [&lstm.input_gate, forget, &lstm.cell_gate, &lstm.output_gate];
    let (w_ih, w_hh) = gate_weights(&gates);
    let bias = Tensor::cat(
        gates
            .iter()
            .map(|g| bias_or_zeros(&g.input_transform, hd, &device) + bias_or_zeros(&g.hidden_transform, hd, &device))
            .collect(),
        0,
    );
    let (h0, c0) = match state {
        Some(state) => (state.hidden, state.cell),
        None => (Tensor::zeros([b, hd], &device), Tensor::zeros([b, hd], &device)),
    };
    let (h, c_last) = lstm_layer(x, w_ih, bias, w_hh, h0, c0);
    let h_last = h.clone().slice([0..b, t - 1..t, 0..hd]).reshape([b, hd]);
    (h, LstmState::new(c_last, h_last))
}

/// burn-nn's `gru` over `x` `[b, t, d]` from `state` (zeros when `None`):
/// every step's hidden state `[b, t, H]`. The same function as
/// `Gru::forward`, computed by the fused layer.
pub fn gru_forward(gru: &Gru, x: Tensor<3>, state: Option<Tensor<2>>) -> Tensor<3> {
    let [b, t, _] = x.dims();
    if t == 0 || !is_standard_gru(gru) {
        return gru.forward(x, state);
    }
    let hd = gru.d_hidden;
    let device = x.device();
    let gates = [&gru.update_gate, &gru.reset_gate, &gru.new_gate];
    let (w_ih, w_hh) = gate_weights(&gates);
    // The candidate's recurrent bias sits inside the reset gate, so only the
    // update and reset gates' recurrent biases fold into the input side.
    let both = |g: &GateController| {
        bias_or_zeros(&g.input_transform, hd, &device) + bias_or_zeros(&g.hidden_transform, hd, &device)
    };
    let bias = Tensor::cat(
        vec![
            both(&gru.update_gate),
            both(&gru.reset_gate),
            bias_or_zeros(&gru.new_gate.input_transform, hd, &device),
        ],
        0,
    );
    let bn = bias_or_zeros(&gru.new_gate.hidden_transform, hd, &device);
    let h0 = state.unwrap_or_else(|| Tensor::zeros([b, hd], &device));
    gru_layer(x, w_ih, bias, w_hh, bn, h0)
}

/// One LSTM layer over whole sequences: `x` `[b, t, d]`, the gates (i, f,
/// g, o) side by side in `w_ih` `[d, 4H]`, `bias` `[4H]` (input and
/// recurrent biases summed) and `w_hh` `[H, 4H]`, the initial state `h0`,
/// `c0` `[b, H]`. Returns every step's `h` `[b, t, H]` and the final `c`
/// `[b, H]`; both are differentiable.
///
/// # Panics
/// When the shapes do not agree, like burn's own operations.
pub fn lstm_layer(
    x: Tensor<3>,
    w_ih: Tensor<2>,
    bias: Tensor<1>,
    w_hh: Tensor<2>,
    h0: Tensor<2>,
    c0: Tensor<2>,
) -> (Tensor<3>, Tensor<2>) {
    let [batch, time, input] = x.dims();
    let [hidden, g] = w_hh.dims();
    assert_eq!(g, 4 * hidden, "lstm_layer: w_hh must be [hidden, 4 × hidden]");
    assert_eq!(w_ih.dims(), [input, g], "lstm_layer: w_ih must be [input, 4 × hidden]");
    assert_eq!(bias.dims(), [g], "lstm_layer: bias must be [4 × hidden]");
    assert_eq!(h0.dims(), [batch, hidden], "lstm_layer: h0 must be [batch, hidden]");
    assert_eq!(c0.dims(), [batch, hidden], "lstm_layer: c0 must be [batch, hidden]");
    let d = Dims {
        batch,
        time,
        input,
        hidden,
    };
    let inputs = [
        x.clone().into_dispatch(),
        w_ih.clone().into_dispatch(),
        bias.clone().into_dispatch(),
        w_hh.clone().into_dispatch(),
        h0.clone().into_dispatch(),
        c0.clone().into_dispatch(),
    ];
    match (input > 0).then(|| autodiff::lstm_layer(d, &inputs)).flatten() {
        // Rows 0..b·t are every step's h, the last b rows the final c.
        Some(out) => {
            let steps = batch * time;
            let h = out.clone().slice([0..steps, 0..hidden]).reshape([batch, time, hidden]);
            (h, out.slice([steps..steps + batch, 0..hidden]))
        }
        None => reference_lstm(x, w_ih, bias, w_hh, h0, c0),
    }
}

/// The LSTM recurrence alone, for a caller that projects the inputs
/// itself: `xw` `[b, t, 4H]` is every step's input projection with all
/// biases (gates i, f, g, o side by side), `w_hh` `[H, 4H]` the recurrent
/// weights, `h0`, `c0` `[b, H]` the initial state. Returns `[2, b, t, H]`:
/// every step's `h`, then every step's `c`.
///
/// # Panics
/// When the shapes do not agree, like burn's own operations.
pub fn lstm_sequence(xw: Tensor<3>, w_hh: Tensor<2>, h0: Tensor<2>, c0: Tensor<2>) -> Tensor<4> {
    let [batch, time, g] = xw.dims();
    let [hidden, g_hh] = w_hh.dims();
    assert_eq!(g, 4 * hidden, "lstm_sequence: xw must be [batch, time, 4 × hidden]");
    assert_eq!(g_hh, g, "lstm_sequence: w_hh must be [hidden, 4 × hidden]");
    assert_eq!(h0.dims(), [batch, hidden], "lstm_sequence: h0 must be [batch, hidden]");
    assert_eq!(c0.dims(), [batch, hidden], "lstm_sequence: c0 must be [batch, hidden]");
    let d = Dims {
        batch,
        time,
        input: g,
        hidden,
    };
    let inputs = [
        xw.clone().into_dispatch(),
        w_hh.clone().into_dispatch(),
        h0.clone().into_dispatch(),
        c0.clone().into_dispatch(),
    ];
    match (g > 0).then(|| autodiff::lstm_recurrence(d, &inputs)).flatten() {
        Some(out) => out.reshape([2, batch, time, hidden]),
        None => {
            let (hs, cs) = lstm_steps(xw, w_hh, h0, c0);
            Tensor::stack(vec![hs, cs], 0)
        }
    }
}

/// One GRU layer over whole sequences (reset gate applied after the
/// product, as burn-nn and PyTorch do): `x` `[b, t, d]`, the gates (z, r,
/// n) side by side in `w_ih` `[d, 3H]` and `w_hh` `[H, 3H]`, `bias` `[3H]`
/// (the input biases plus the update and reset gates' recurrent ones),
/// `bn` `[H]` the candidate's recurrent bias, `h0` `[b, H]`. Returns every
/// step's `h`, `[b, t, H]`.
///
/// # Panics
/// When the shapes do not agree, like burn's own operations.
pub fn gru_layer(
    x: Tensor<3>,
    w_ih: Tensor<2>,
    bias: Tensor<1>,
    w_hh: Tensor<2>,
    bn: Tensor<1>,
    h0: Tensor<2>,
) -> Tensor<3> {
    let [batch, time, input] = x.dims();
    let [hidden, g] = w_hh.dims();
    assert_eq!(g, 3 * hidden, "gru_layer: w_hh must be [hidden, 3 × hidden]");
    assert_eq!(w_ih.dims(), [input, g], "gru_layer: w_ih must be [input, 3 × hidden]");
    assert_eq!(bias.dims(), [g], "gru_layer: bias must be [3 × hidden]");
    assert_eq!(bn.dims(), [hidden], "gru_layer: bn must be [hidden]");
    assert_eq!(h0.dims(), [batch, hidden], "gru_layer: h0 must be [batch, hidden]");
    let d = Dims {
        batch,
        time,
        input,
        hidden,
    };
    let inputs = [
        x.clone().into_dispatch(),
        w_ih.clone().into_dispatch(),
        bias.clone().into_dispatch(),
        w_hh.clone().into_dispatch(),
        bn.clone().into_dispatch(),
        h0.clone().into_dispatch(),
    ];
    (input > 0)
        .then(|| autodiff::gru(d, &inputs))
        .flatten()
        .unwrap_or_else(|| reference_gru(x, w_ih, bias, w_hh, bn, h0))
}

/// [`lstm_layer`] in plain tensor operations, one step at a time (the
/// input projection still one product for all steps).
pub fn reference_lstm(
    x: Tensor<3>,
    w_ih: Tensor<2>,
    bias: Tensor<1>,
    w_hh: Tensor<2>,
    h0: Tensor<2>,
    c0: Tensor<2>,
) -> (Tensor<3>, Tensor<2>) {
    let [b, t, _] = x.dims();
    let hd = w_hh.dims()[0];
    let (hs, cs) = lstm_steps(project(x, w_ih, bias), w_hh, h0, c0);
    let c_last = cs.slice([0..b, t.saturating_sub(1)..t, 0..hd]).reshape([b, hd]);
    (hs, c_last)
}

/// Every step's `h` and `c` of the LSTM recurrence on the projected inputs
/// `xw`, in plain tensor operations.
fn lstm_steps(xw: Tensor<3>, w_hh: Tensor<2>, h0: Tensor<2>, c0: Tensor<2>) -> (Tensor<3>, Tensor<3>) {
    let [b, t, g] = xw.dims();
    let hd = g / 4;
    let (mut h, mut c) = (h0, c0);
    let (mut hs, mut cs) = (Vec::with_capacity(t), Vec::with_capacity(t));
    for s in 0..t {
        let a = xw.clone().slice([0..b, s..s + 1, 0..g]).reshape([b, g]) + h.matmul(w_hh.clone());
        let gate = |k: usize| a.clone().slice([0..b, k * hd..(k + 1) * hd]);
        let (i, f, cand, o) = (sigmoid(gate(0)), sigmoid(gate(1)), tanh(gate(2)), sigmoid(gate(3)));
        c = f * c + i * cand;
        h = o * tanh(c.clone());
        hs.push(h.clone().unsqueeze_dim::<3>(1));
        cs.push(c.clone().unsqueeze_dim::<3>(1));
    }
    (Tensor::cat(hs, 1), Tensor::cat(cs, 1))
}

/// [`gru_layer`] in plain tensor operations, one step at a time (the input
/// projection still one product for all steps).
pub fn reference_gru(
    x: Tensor<3>,
    w_ih: Tensor<2>,
    bias: Tensor<1>,
    w_hh: Tensor<2>,
    bn: Tensor<1>,
    h0: Tensor<2>,
) -> Tensor<3> {
    let [b, t, _] = x.dims();
    let [hd, g] = w_hh.dims();
    let xw = project(x, w_ih, bias);
    let bn = bn.unsqueeze::<2>();
    let mut h = h0;
    let mut hs = Vec::with_capacity(t);
    for s in 0..t {
        let x = xw.clone().slice([0..b, s..s + 1, 0..g]).reshape([b, g]);
        let hw = h.clone().matmul(w_hh.clone());
        let part = |m: &Tensor<2>, k: usize| m.clone().slice([0..b, k * hd..(k + 1) * hd]);
        let z = sigmoid(part(&x, 0) + part(&hw, 0));
        let r = sigmoid(part(&x, 1) + part(&hw, 1));
        let cand = tanh(part(&x, 2) + r * (part(&hw, 2) + bn.clone()));
        h = z.clone().neg().add_scalar(1.0) * cand + z * h;
        hs.push(h.clone().unsqueeze_dim::<3>(1));
    }
    Tensor::cat(hs, 1)
}

fn is_standard_lstm(lstm: &Lstm) -> bool {
    lstm.batch_first
        && !lstm.reverse
        && lstm.clip.is_none()
        && !lstm.input_forget
        && matches!(lstm.gate_activation, Activation::Sigmoid(_))
        && matches!(lstm.cell_activation, Activation::Tanh(_))
        && matches!(lstm.hidden_activation, Activation::Tanh(_))
}

fn is_standard_gru(gru: &Gru) -> bool {
    gru.reset_after
        && gru.clip.is_none()
        && matches!(gru.gate_activation, Activation::Sigmoid(_))
        && matches!(gru.hidden_activation, Activation::Tanh(_))
}

/// The gates' input and recurrent weights side by side: `[d, G·H]`, `[H, G·H]`.
fn gate_weights(gates: &[&GateController]) -> (Tensor<2>, Tensor<2>) {
    (
        Tensor::cat(gates.iter().map(|g| g.input_transform.weight.val()).collect(), 1),
        Tensor::cat(gates.iter().map(|g| g.hidden_transform.weight.val()).collect(), 1),
    )
}

fn bias_or_zeros(linear: &Linear, hidden: usize, device: &Device) -> Tensor<1> {
    match &linear.bias {
        Some(bias) => bias.val(),
        None => Tensor::zeros([hidden], device),
    }
}

/// `x·w + bias` for every step at once: `[b, t, d]` → `[b, t, G·H]`.
fn project(x: Tensor<3>, w: Tensor<2>, bias: Tensor<1>) -> Tensor<3> {
    let [b, t, d] = x.dims();
    let [_, g] = w.dims();
    (x.reshape([b * t, d]).matmul(w) + bias.unsqueeze::<2>()).reshape([b, t, g])
}

#[cfg(test)]
mod tests;
