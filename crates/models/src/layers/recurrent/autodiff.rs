//! The fused layers as burn operations on the `flex` backend.
//!
//! burn 0.22's tensors are dispatched at run time, so a tensor may live on
//! `flex`, on `Autodiff<flex>` (training) or elsewhere (CUDA). With burn's
//! `extension` feature a tensor can be unwrapped into its backend primitive:
//! on `flex` the kernels run on the primitive's buffer; under autodiff the
//! whole layer becomes one node of the graph whose [`Backward`] step is the
//! hand-written BPTT of [`super::kernels`] — burn's extension point for
//! custom operations with their own gradient. Anything else (another
//! backend, another dtype) answers `None` and the caller takes the
//! plain-tensor path.

use std::fmt;
use std::sync::Arc;

use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::{BalancedCheckpointing, CheckpointStrategy, NoCheckpointing};
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, NodeGuard, Ops, OpsKind};
use burn::backend::flex::FlexTensor;
use burn::backend::{Autodiff, BackendTensor, DispatchKindConversion, Flex};
use burn::tensor::{DType, DispatchTensor, Tensor, TensorData};

use super::kernels::{self, Dims, GruForward, GruParams, LstmForward, LstmParams};

/// `t` as a dense `f32` buffer (copied only when it is a strided view), or
/// `None` for another dtype.
pub(in crate::layers) fn dense(t: FlexTensor) -> Option<FlexTensor> {
    if t.dtype() != DType::F32 {
        return None;
    }
    if t.as_slice::<f32>().is_some() {
        Some(t)
    } else {
        Some(t.to_contiguous())
    }
}

/// The elements of a tensor that went through [`dense`] (empty otherwise,
/// which the kernels' length checks refuse).
pub(in crate::layers) fn values(t: &FlexTensor) -> &[f32] {
    t.as_slice::<f32>().unwrap_or(&[])
}

pub(in crate::layers) fn flex_tensor<const N: usize>(values: Vec<f32>, shape: [usize; N]) -> FlexTensor {
    FlexTensor::from_data(TensorData::new(values, shape))
}

/// The inputs' dense buffers when they all live on `flex` without autodiff.
pub(in crate::layers) fn all_on_flex<const N: usize>(inputs: &[DispatchTensor; N]) -> Option<[FlexTensor; N]> {
    let buffers = inputs
        .iter()
        .map(
            |t| match <DispatchTensor as DispatchKindConversion<Flex>>::try_into_backend(t.clone()).ok()? {
                BackendTensor::Float(t) => dense(t),
                _ => None,
            },
        )
        .collect::<Option<Vec<_>>>()?;
    buffers.try_into().ok()
}

/// The inputs' dense buffers and graph nodes when they all live on
/// `Autodiff<flex, C>`.
#[allow(clippy::type_complexity)]
pub(in crate::layers) fn all_on_autodiff<C: CheckpointStrategy, const N: usize>(
    inputs: &[DispatchTensor; N],
) -> Option<([FlexTensor; N], [NodeGuard; N])>
where
    DispatchTensor: DispatchKindConversion<Autodiff<Flex, C>>,
{
    let mut buffers = Vec::with_capacity(N);
    let mut nodes = Vec::with_capacity(N);
    for t in inputs {
        let BackendTensor::Float(t) =
            <DispatchTensor as DispatchKindConversion<Autodiff<Flex, C>>>::try_into_backend(t.clone()).ok()?
        else {
            return None;
        };
        let (primitive, node) = t.into_parts();
        buffers.push(dense(primitive)?);
        nodes.push(node);
    }
    Some((buffers.try_into().ok()?, nodes.try_into().ok()?))
}

/// Registers the gradient `grad` of `shape` for a parent that wants one.
macro_rules! register {
    ($grads:expr, $parent:expr, $grad:expr, $shape:expr) => {
        if let Some(node) = $parent {
            $grads.register::<Flex>(node.id, flex_tensor($grad, $shape));
        }
    };
}
pub(in crate::layers) use register;

// ------------------------------------------------------------------ LSTM --

/// An LSTM's inputs on `flex`: a layer's (x, w_ih, bias, w_hh, h0, c0) or a
/// bare recurrence's (x = the input projection, w_hh, h0, c0).
#[derive(Clone)]
struct LstmInputs {
    x: FlexTensor,
    projection: Option<(FlexTensor, FlexTensor)>,
    w_hh: FlexTensor,
    h0: FlexTensor,
    c0: FlexTensor,
}

impl LstmInputs {
    fn layer([x, w_ih, bias, w_hh, h0, c0]: [FlexTensor; 6]) -> Self {
        Self {
            x,
            projection: Some((w_ih, bias)),
            w_hh,
            h0,
            c0,
        }
    }

    fn recurrence([x, w_hh, h0, c0]: [FlexTensor; 4]) -> Self {
        Self {
            x,
            projection: None,
            w_hh,
            h0,
            c0,
        }
    }

    /// A layer outputs only the final `c`, a bare recurrence every step's.
    fn params(&self) -> LstmParams<'_> {
        LstmParams {
            x: values(&self.x),
            w_ih: self.projection.as_ref().map(|(w, _)| values(w)),
            bias: self.projection.as_ref().map(|(_, b)| values(b)),
            w_hh: values(&self.w_hh),
            h0: values(&self.h0),
            c0: values(&self.c0),
            all_cells: self.projection.is_none(),
        }
    }

    fn output(&self, d: Dims, out: Vec<f32>) -> FlexTensor {
        let rows = out.len() / d.hidden.max(1);
        flex_tensor(out, [rows, d.hidden])
    }
}

/// What the LSTM's backward pass keeps from its forward pass.
#[derive(Clone)]
struct LstmSaved {
    d: Dims,
    inputs: LstmInputs,
    forward: Arc<LstmForward>,
    out: FlexTensor,
}

impl fmt::Debug for LstmSaved {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LstmSaved")
            .field("dims", &self.d)
            .finish_non_exhaustive()
    }
}

impl LstmSaved {
    fn grads(&self, grad: FlexTensor) -> kernels::LstmGrads {
        let grad = dense(grad).expect("the LSTM's output gradient is f32");
        kernels::lstm_backward(
            self.d,
            &self.inputs.params(),
            &self.forward,
            values(&self.out),
            values(&grad),
        )
    }
}

/// The LSTM layer's backward step: parents x, w_ih, bias, w_hh, h0, c0.
#[derive(Debug)]
struct LstmLayerBackward;

impl Backward<Flex, 6> for LstmLayerBackward {
    type State = LstmSaved;

    fn backward(self, ops: Ops<Self::State, 6>, grads: &mut Gradients, _checkpointer: &mut Checkpointer) {
        let s = &ops.state;
        let d = s.d;
        let g = s.grads(grads.consume::<Flex>(&ops.node));
        let [x, w_ih, bias, w_hh, h0, c0] = ops.parents;
        let gates = 4 * d.hidden;
        register!(grads, x, g.x, [d.batch, d.time, d.input]);
        if let Some(dw) = g.w_ih {
            register!(grads, w_ih, dw, [d.input, gates]);
        }
        register!(grads, bias, g.bias, [gates]);
        register!(grads, w_hh, g.w_hh, [d.hidden, gates]);
        register!(grads, h0, g.h0, [d.batch, d.hidden]);
        register!(grads, c0, g.c0, [d.batch, d.hidden]);
    }
}

/// The bare recurrence's backward step: parents x (the projection), w_hh, h0, c0.
#[derive(Debug)]
struct LstmRecurrenceBackward;

impl Backward<Flex, 4> for LstmRecurrenceBackward {
    type State = LstmSaved;

    fn backward(self, ops: Ops<Self::State, 4>, grads: &mut Gradients, _checkpointer: &mut Checkpointer) {
        let s = &ops.state;
        let d = s.d;
        let g = s.grads(grads.consume::<Flex>(&ops.node));
        let [x, w_hh, h0, c0] = ops.parents;
        register!(grads, x, g.x, [d.batch, d.time, d.input]);
        register!(grads, w_hh, g.w_hh, [d.hidden, 4 * d.hidden]);
        register!(grads, h0, g.h0, [d.batch, d.hidden]);
        register!(grads, c0, g.c0, [d.batch, d.hidden]);
    }
}

/// Runs the LSTM forward pass on `flex` buffers, as one node of the graph
/// when the inputs are tracked.
macro_rules! lstm_op {
    ($d:expr, $t:expr, $make:path, $backward:expr) => {{
        let (d, t) = ($d, $t);
        if let Some(buffers) = all_on_flex(t) {
            let inputs = $make(buffers);
            let forward = kernels::lstm_forward(d, &inputs.params());
            return Some(Tensor::from_primitive::<Flex>(inputs.output(d, forward.out)));
        }
        fn tracked<C: CheckpointStrategy>(d: Dims, t: &[DispatchTensor; N]) -> Option<Tensor<2>>
        where
            DispatchTensor: DispatchKindConversion<Autodiff<Flex, C>>,
        {
            let (buffers, nodes) = all_on_autodiff::<C, N>(t)?;
            let inputs = $make(buffers);
            let out = match $backward.prepare::<C>(nodes).compute_bound().stateful() {
                OpsKind::Tracked(prep) => {
                    let mut forward = kernels::lstm_forward(d, &inputs.params());
                    let out = inputs.output(d, std::mem::take(&mut forward.out));
                    let saved = LstmSaved {
                        d,
                        inputs,
                        forward: Arc::new(forward),
                        out: out.clone(),
                    };
                    prep.finish(saved, out)
                }
                OpsKind::UnTracked(prep) => {
                    let forward = kernels::lstm_forward(d, &inputs.params());
                    prep.finish(inputs.output(d, forward.out))
                }
            };
            Some(Tensor::from_primitive::<Autodiff<Flex, C>>(out))
        }
        tracked::<NoCheckpointing>(d, t).or_else(|| tracked::<BalancedCheckpointing>(d, t))
    }};
}

/// The fused LSTM layer (see [`super::lstm_layer`]) when every input lives on
/// `flex`, with or without autodiff: `[b·t + b, H]`, every step's `h` then
/// the final `c`.
pub(super) fn lstm_layer(d: Dims, t: &[DispatchTensor; 6]) -> Option<Tensor<2>> {
    const N: usize = 6;
    lstm_op!(d, t, LstmInputs::layer, LstmLayerBackward)
}

/// The fused LSTM recurrence (see [`super::lstm_sequence`]): `[2·b·t, H]`,
/// every step's `h` then every step's `c`.
pub(super) fn lstm_recurrence(d: Dims, t: &[DispatchTensor; 4]) -> Option<Tensor<2>> {
    const N: usize = 4;
    lstm_op!(d, t, LstmInputs::recurrence, LstmRecurrenceBackward)
}

// ------------------------------------------------------------------- GRU --

/// A GRU layer's inputs on `flex`: x, w_ih, bias, w_hh, bn, h0.
#[derive(Clone)]
struct GruInputs([FlexTensor; 6]);

impl GruInputs {
    fn params(&self) -> GruParams<'_> {
        let [x, w_ih, bias, w_hh, bn, h0] = &self.0;
        GruParams {
            x: values(x),
            w_ih: values(w_ih),
            bias: values(bias),
            w_hh: values(w_hh),
            bn: values(bn),
            h0: values(h0),
        }
    }
}

/// What the GRU's backward pass keeps from its forward pass.
#[derive(Clone)]
struct GruSaved {
    d: Dims,
    inputs: GruInputs,
    forward: Arc<GruForward>,
    out: FlexTensor,
}

impl fmt::Debug for GruSaved {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GruSaved")
            .field("dims", &self.d)
            .finish_non_exhaustive()
    }
}

#[derive(Debug)]
struct GruBackward;

impl Backward<Flex, 6> for GruBackward {
    type State = GruSaved;

    fn backward(self, ops: Ops<Self::State, 6>, grads: &mut Gradients, _checkpointer: &mut Checkpointer) {
        let GruSaved {
            d,
            inputs,
            forward,
            out,
        } = ops.state;
        let grad = dense(grads.consume::<Flex>(&ops.node)).expect("the GRU's output gradient is f32");
        let g = kernels::gru_backward(d, &inputs.params(), &forward, values(&out), values(&grad));
        let [x, w_ih, bias, w_hh, bn, h0] = ops.parents;
        let gates = 3 * d.hidden;
        register!(grads, x, g.x, [d.batch, d.time, d.input]);
        register!(grads, w_ih, g.w_ih, [d.input, gates]);
        register!(grads, bias, g.bias, [gates]);
        register!(grads, w_hh, g.w_hh, [d.hidden, gates]);
        register!(grads, bn, g.bn, [d.hidden]);
        register!(grads, h0, g.h0, [d.batch, d.hidden]);
    }
}

/// The fused GRU layer (see [`super::gru_layer`]) when every input lives on
/// `flex`, with or without autodiff.
pub(super) fn gru(d: Dims, t: &[DispatchTensor; 6]) -> Option<Tensor<3>> {
    if let Some(inputs) = all_on_flex(t) {
        let forward = kernels::gru_forward(d, &GruInputs(inputs).params());
        let out = flex_tensor(forward.out, [d.batch, d.time, d.hidden]);
        return Some(Tensor::from_primitive::<Flex>(out));
    }
    gru_tracked::<NoCheckpointing>(d, t).or_else(|| gru_tracked::<BalancedCheckpointing>(d, t))
}

fn gru_tracked<C: CheckpointStrategy>(d: Dims, t: &[DispatchTensor; 6]) -> Option<Tensor<3>>
where
    DispatchTensor: DispatchKindConversion<Autodiff<Flex, C>>,
{
    let (inputs, nodes) = all_on_autodiff::<C, 6>(t)?;
    let inputs = GruInputs(inputs);
    let out = match GruBackward.prepare::<C>(nodes).compute_bound().stateful() {
        OpsKind::Tracked(prep) => {
            let mut forward = kernels::gru_forward(d, &inputs.params());
            let out = flex_tensor(std::mem::take(&mut forward.out), [d.batch, d.time, d.hidden]);
            let saved = GruSaved {
                d,
                inputs,
                forward: Arc::new(forward),
                out: out.clone(),
            };
            prep.finish(saved, out)
        }
        OpsKind::UnTracked(prep) => {
            let forward = kernels::gru_forward(d, &inputs.params());
            prep.finish(flex_tensor(forward.out, [d.batch, d.time, d.hidden]))
        }
    };
    Some(Tensor::from_primitive::<Autodiff<Flex, C>>(out))
}
