//! Checkpoints: a folder with the weights (`model.safetensors`), the
//! optimizer moments (`optimizer.safetensors`, named by parameter path) and
//! `state.json` (step, best validation loss, patience, seed).
//!
//! A checkpoint is written to `NAME.tmp/` (every file fsynced), then
//! swapped in with renames: `NAME` → `NAME.old`, `NAME.tmp` → `NAME`, remove
//! `NAME.old`. A kill at any point leaves either the previous or the new
//! checkpoint whole; [`load`] falls back to `NAME.old` for the one window
//! where only it exists.

use std::collections::HashMap;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use burn::module::Module;
use burn::tensor::Device;
use fugue_models::{weights_from_bytes, weights_to_bytes};
use safetensors::tensor::{Dtype, TensorView};
use serde::{Deserialize, Serialize};

use crate::optim::Optimizer;
use crate::TrainError;

/// The resumable state that is not a tensor.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainState {
    /// Updates completed.
    pub step: u64,
    pub seed: u64,
    /// Best validation loss so far (per unit) and the step it was reached.
    pub best_valid: Option<f64>,
    pub best_step: u64,
    /// Evaluations since the best one (early stopping).
    pub evals_since_best: u32,
    /// Training time so far, for tokens/s and ETA across restarts.
    pub elapsed_s: f64,
    /// Batches and dropout masks are functions of `(seed, step)`: this
    /// records it so a reader of the file knows no data cursor is needed.
    pub data_position: String,
}

fn io_err(path: &Path, e: std::io::Error) -> TrainError {
    TrainError::Io {
        path: path.to_path_buf(),
        source: e,
    }
}

fn write_synced(path: &Path, bytes: &[u8]) -> Result<(), TrainError> {
    let mut file = fs::File::create(path).map_err(|e| io_err(path, e))?;
    file.write_all(bytes).map_err(|e| io_err(path, e))?;
    file.sync_all().map_err(|e| io_err(path, e))
}

/// The optimizer moments as safetensors bytes.
fn optimizer_bytes(opt: &Optimizer) -> Result<Vec<u8>, TrainError> {
    let tensors = opt.state_tensors();
    let bytes: Vec<(String, Vec<u8>, usize)> = tensors
        .iter()
        .map(|(name, v)| (name.clone(), v.iter().flat_map(|x| x.to_le_bytes()).collect(), v.len()))
        .collect();
    let views: Result<Vec<(String, TensorView)>, _> = bytes
        .iter()
        .map(|(name, data, n)| TensorView::new(Dtype::F32, vec![*n], data).map(|view| (name.clone(), view)))
        .collect();
    let views = views.map_err(|e| TrainError::Checkpoint(format!("optimizer state: {e}")))?;
    let mut meta = HashMap::new();
    meta.insert("optimizer_steps".to_string(), opt.steps.to_string());
    safetensors::serialize(views, Some(meta)).map_err(|e| TrainError::Checkpoint(format!("optimizer state: {e}")))
}

fn load_optimizer(bytes: &[u8], opt: &mut Optimizer, device: &Device, path: &Path) -> Result<(), TrainError> {
    let bad = |why: String| TrainError::Checkpoint(format!("{}: {why}", path.display()));
    let (_, meta) = safetensors::SafeTensors::read_metadata(bytes).map_err(|e| bad(e.to_string()))?;
    let steps = meta
        .metadata()
        .as_ref()
        .and_then(|m| m.get("optimizer_steps"))
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| bad("no optimizer_steps".into()))?;
    let st = safetensors::SafeTensors::deserialize(bytes).map_err(|e| bad(e.to_string()))?;
    let mut tensors = Vec::new();
    for (name, view) in st.tensors() {
        if view.dtype() != Dtype::F32 {
            return Err(bad(format!("tensor `{name}` is not f32")));
        }
        let values = view
            .data()
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect();
        tensors.push((name, values));
    }
    opt.load_state_tensors(tensors, device)?;
    opt.steps = steps;
    Ok(())
}

/// Writes checkpoint `name` (`last`, `best`) under `run_dir` atomically.
pub fn save<M: Module>(
    run_dir: &Path,
    name: &str,
    model: &M,
    opt: &Optimizer,
    state: &TrainState,
) -> Result<(), TrainError> {
    let final_dir = run_dir.join(name);
    let tmp = run_dir.join(format!("{name}.tmp"));
    let old = run_dir.join(format!("{name}.old"));
    if tmp.exists() {
        fs::remove_dir_all(&tmp).map_err(|e| io_err(&tmp, e))?;
    }
    fs::create_dir_all(&tmp).map_err(|e| io_err(&tmp, e))?;
    let weights = weights_to_bytes(model)?;
    write_synced(&tmp.join("model.safetensors"), &weights)?;
    write_synced(&tmp.join("optimizer.safetensors"), &optimizer_bytes(opt)?)?;
    let json = serde_json::to_vec_pretty(state).map_err(|e| TrainError::Checkpoint(e.to_string()))?;
    write_synced(&tmp.join("state.json"), &json)?;
    if final_dir.exists() {
        if old.exists() {
            fs::remove_dir_all(&old).map_err(|e| io_err(&old, e))?;
        }
        fs::rename(&final_dir, &old).map_err(|e| io_err(&final_dir, e))?;
    }
    fs::rename(&tmp, &final_dir).map_err(|e| io_err(&tmp, e))?;
    if old.exists() {
        fs::remove_dir_all(&old).map_err(|e| io_err(&old, e))?;
    }
    if let Ok(dir) = fs::File::open(run_dir) {
        let _ = dir.sync_all();
    }
    Ok(())
}

/// The folder holding checkpoint `name`, if a complete one exists.
pub fn find(run_dir: &Path, name: &str) -> Option<PathBuf> {
    [run_dir.join(name), run_dir.join(format!("{name}.old"))]
        .into_iter()
        .find(|d| d.join("state.json").is_file())
}

/// Loads weights into `model` (built from the run's config).
pub fn load_model<M: Module>(dir: &Path, model: M) -> Result<M, TrainError> {
    let path = dir.join("model.safetensors");
    let bytes = fs::read(&path).map_err(|e| io_err(&path, e))?;
    weights_from_bytes(model, bytes).map_err(|e| TrainError::Checkpoint(format!("{}: {e}", path.display())))
}

/// Loads a whole checkpoint for resuming.
pub fn load<M: Module>(
    dir: &Path,
    model: M,
    opt: &mut Optimizer,
    device: &Device,
) -> Result<(M, TrainState), TrainError> {
    let model = load_model(dir, model)?;
    let opt_path = dir.join("optimizer.safetensors");
    let bytes = fs::read(&opt_path).map_err(|e| io_err(&opt_path, e))?;
    load_optimizer(&bytes, opt, device, &opt_path)?;
    let state_path = dir.join("state.json");
    let text = fs::read(&state_path).map_err(|e| io_err(&state_path, e))?;
    let state =
        serde_json::from_slice(&text).map_err(|e| TrainError::Checkpoint(format!("{}: {e}", state_path.display())))?;
    Ok((model, state))
}
