//! fugue's networks, on `burn`.
//!
//! A model here sees token ids and tensors, never a `Score`: encodings live
//! in `fugue-tokens`, training in `fugue-train`, decoding in
//! `fugue-sample`. One file per family, each reading top-down: config,
//! modules, forward, loss, sampling entry point. Shared layers live in
//! [`layers`].
//!
//! Backends are chosen at run time ([`device`]): burn's `flex` CPU backend
//! always, `cuda` or `vulkan` (a GPU through wgpu) when the crate is built
//! with the feature of that name.

pub mod bachprop;
pub mod coconet;
pub mod deepbach;
pub mod eck_schmidhuber;
pub mod harmonet;
pub mod layers;
pub mod lstm;
pub mod music_transformer;
pub mod rnn_nade;
pub mod todd;
pub mod tonicnet;

use burn::module::Module;
use burn::store::{ModuleSnapshot, SafetensorsStore};
use burn::tensor::{Device, Int, Tensor};

pub use burn;

/// Everything that can go wrong building, saving or loading a model.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    #[error("bad model config: `{field}`: {why}")]
    Config { field: &'static str, why: String },
    #[error("unknown device `{0}` (expected `cpu`, `cuda` or `vulkan`)")]
    UnknownDevice(String),
    #[error("device `{0}` needs fugue built with `--features fugue-models/{0}`")]
    GpuNotBuilt(&'static str),
    #[error("device `{device}`: no usable GPU (no driver, or for `vulkan` no Vulkan loader?): {why}")]
    GpuUnavailable { device: &'static str, why: String },
    #[error("weights: {0}")]
    Weights(String),
}

/// The device for a `--device` argument. `autodiff` wraps it for training.
pub fn device(name: &str, autodiff: bool) -> Result<Device, ModelError> {
    let device = match name {
        "cpu" | "flex" => Device::flex(),
        #[cfg(feature = "cuda")]
        "cuda" => started(Device::cuda(0usize), "cuda")?,
        #[cfg(not(feature = "cuda"))]
        "cuda" => return Err(ModelError::GpuNotBuilt("cuda")),
        #[cfg(feature = "vulkan")]
        "vulkan" => started(Device::vulkan(burn::tensor::DeviceKind::DefaultDevice), "vulkan")?,
        #[cfg(not(feature = "vulkan"))]
        "vulkan" => return Err(ModelError::GpuNotBuilt("vulkan")),
        other => return Err(ModelError::UnknownDevice(other.to_string())),
    };
    Ok(if autodiff { device.autodiff() } else { device })
}

/// `device` once a one-element tensor has made the round trip to it.
///
/// Why: burn brings a GPU up lazily, at the first tensor, and where none
/// can start (no driver, no Vulkan loader) its runtime thread panics and
/// the caller's thread with it, mid-command. Starting it here turns that
/// into an error before any work is done or any file written. The panic
/// hook is swapped out meanwhile so that the first panic's message becomes
/// the error's reason instead of two backtraces on stderr.
#[cfg(any(feature = "cuda", feature = "vulkan"))]
fn started(device: Device, name: &'static str) -> Result<Device, ModelError> {
    use std::sync::{Arc, Mutex};
    let why = Arc::new(Mutex::new(None::<String>));
    let first = Arc::clone(&why);
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let payload = info.payload();
        let text = payload
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "the GPU runtime panicked".into());
        first.lock().unwrap_or_else(|p| p.into_inner()).get_or_insert(text);
    }));
    let probe = device.clone();
    let read = std::panic::catch_unwind(std::panic::AssertUnwindSafe(move || {
        Tensor::<1>::zeros([1], &probe).into_data()
    }));
    std::panic::set_hook(hook);
    match read {
        Ok(_) => Ok(device),
        Err(_) => Err(ModelError::GpuUnavailable {
            device: name,
            why: why.lock().unwrap_or_else(|p| p.into_inner()).take().unwrap_or_default(),
        }),
    }
}

/// Runs `work` on a thread of rayon's global pool and returns its result.
///
/// Why: every product and fused kernel splits its work with rayon. From a
/// thread outside the pool (a program's main thread) each of those
/// hundreds of calls per training step queues its jobs on the pool and
/// puts the caller to sleep until they are done: two thread wake-ups per
/// call, with a core idle in between. From a pool thread the caller works
/// on its own share at once and only the other threads are woken. A
/// Transformer training step on 2 threads went from 253 to 226 ms (A/B,
/// docs/BENCHMARKS.md). Inside the pool already, this is a plain call.
///
/// The first call from outside builds the global pool (the default size,
/// `RAYON_NUM_THREADS` honoured) with 8 MiB stacks, a main thread's, since
/// `work` may be a whole command; a pool someone built before is used as
/// it is.
pub fn on_pool<R: Send>(work: impl FnOnce() -> R + Send) -> R {
    static BUILD: std::sync::Once = std::sync::Once::new();
    if rayon::current_thread_index().is_none() {
        BUILD.call_once(|| {
            // An error means the pool exists already: it serves as it is.
            let _ = rayon::ThreadPoolBuilder::new().stack_size(8 << 20).build_global();
        });
    }
    rayon::scope(|_| work())
}

/// A next-token model: the interface shared by the one `generate` loop
/// (`fugue-sample`), the trainer and the likelihood harness.
pub trait TokenLm {
    /// What decoding carries from one token to the next (KV cache,
    /// recurrent state).
    type State;

    /// Teacher-forced logits `[batch, time, vocab]` for `ids` `[batch, time]`.
    fn logits(&self, ids: Tensor<2, Int>) -> Tensor<3>;

    /// The state before the first token.
    fn start(&self, batch: usize, device: &Device) -> Self::State;

    /// [`TokenLm::start`] for sequences expected to reach `tokens` tokens.
    /// Why: a model whose state grows per token (a KV cache) can reserve it
    /// once instead of growing it by reallocation, which copies the cache
    /// and faults in fresh pages every time it doubles. The hint is only a
    /// reservation: longer sequences still work.
    fn start_with_capacity(&self, batch: usize, _tokens: usize, device: &Device) -> Self::State {
        self.start(batch, device)
    }

    /// Feeds one token per sequence (`[batch]`) and returns the logits of
    /// the next one (`[batch, vocab]`).
    fn step(&self, state: &mut Self::State, ids: Tensor<1, Int>) -> Tensor<2>;
}

/// The weights as safetensors bytes (written to disk by the caller, which
/// owns atomic writes).
pub fn weights_to_bytes<M: Module>(model: &M) -> Result<Vec<u8>, ModelError> {
    let mut store = SafetensorsStore::from_bytes(None);
    model
        .save_into(&mut store)
        .map_err(|e| ModelError::Weights(e.to_string()))?;
    store.get_bytes().map_err(|e| ModelError::Weights(e.to_string()))
}

/// Loads safetensors bytes into a model built from the same config; a
/// missing or misshapen tensor is an error naming it.
pub fn weights_from_bytes<M: Module>(mut model: M, bytes: Vec<u8>) -> Result<M, ModelError> {
    let mut store = SafetensorsStore::from_bytes(Some(bytes));
    let result = model
        .load_from(&mut store)
        .map_err(|e| ModelError::Weights(e.to_string()))?;
    if !result.errors.is_empty() || !result.missing.is_empty() {
        return Err(ModelError::Weights(format!(
            "{} tensors missing ({}), {} errors ({})",
            result.missing.len(),
            result
                .missing
                .iter()
                .take(3)
                .map(|m| format!("{m:?}"))
                .collect::<Vec<_>>()
                .join(", "),
            result.errors.len(),
            result
                .errors
                .iter()
                .take(3)
                .map(|e| format!("{e:?}"))
                .collect::<Vec<_>>()
                .join(", ")
        )));
    }
    Ok(model)
}

/// Test support: decoding one token at a time through `step` must give the
/// teacher-forced logits of `logits` for every position of `ids` (`[b, t]`).
#[cfg(test)]
pub(crate) fn assert_stepping_matches<M: TokenLm>(model: &M, ids: Vec<i64>, shape: [usize; 2], tolerance: f32) {
    use burn::tensor::{TensorData, Tolerance};
    let device = Device::flex();
    let [b, t] = shape;
    let ids = Tensor::<2, Int>::from_data(TensorData::new(ids, shape), &device);
    let full = model.logits(ids.clone());
    let mut state = model.start(b, &device);
    let steps: Vec<Tensor<3>> = (0..t)
        .map(|i| {
            model
                .step(&mut state, ids.clone().slice([0..b, i..i + 1]).reshape([b]))
                .unsqueeze_dim(1)
        })
        .collect();
    Tensor::cat(steps, 1)
        .into_data()
        .assert_approx_eq::<f32>(&full.into_data(), Tolerance::absolute(tolerance));
}

#[cfg(test)]
mod pool_tests {
    #[test]
    fn on_pool_runs_the_work_on_a_pool_thread_and_returns_its_result() {
        let outside = std::thread::current().id();
        let (inside, index, sum) = super::on_pool(|| {
            // Nested: already on the pool, a plain call on the same thread.
            let nested = super::on_pool(|| std::thread::current().id());
            assert_eq!(nested, std::thread::current().id());
            (
                std::thread::current().id(),
                rayon::current_thread_index(),
                (1..=10).sum::<i32>(),
            )
        });
        assert!(index.is_some(), "the work ran outside the pool");
        assert_ne!(inside, outside);
        assert_eq!(sum, 55);
    }
}

#[cfg(test)]
mod device_tests {
    use super::{device, ModelError};

    #[test]
    fn device_names_pick_a_backend_or_say_what_is_missing() {
        assert!(device("cpu", false).is_ok_and(|d| !d.is_autodiff()));
        assert!(device("flex", true).is_ok_and(|d| d.is_autodiff()));
        let unknown = device("tpu", false).map(|_| ()).unwrap_err();
        assert!(matches!(&unknown, ModelError::UnknownDevice(n) if n == "tpu"));
        assert!(unknown.to_string().contains("`cpu`, `cuda` or `vulkan`"));
        #[cfg(not(feature = "vulkan"))]
        {
            let e = device("vulkan", false).map(|_| ()).unwrap_err();
            assert!(matches!(e, ModelError::GpuNotBuilt("vulkan")));
            assert!(e.to_string().contains("--features fugue-models/vulkan"), "{e}");
        }
        #[cfg(not(feature = "cuda"))]
        assert!(matches!(
            device("cuda", true).map(|_| ()),
            Err(ModelError::GpuNotBuilt("cuda"))
        ));
    }
}
