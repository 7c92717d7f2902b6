//! The default model, compiled into the binary so that `fugue generate`
//! works on a fresh machine with nothing downloaded: a small Music
//! Transformer trained with fugue on the JSB chorales (16th-note SATB,
//! serialized). `models/default/README.md` says how it was trained.

use std::path::Path;

use anyhow::{bail, Context, Result};
use fugue_models::burn::tensor::Device;
use fugue_models::weights_from_bytes;

use crate::recipe::{AnyModel, Recipe};

const DEFAULT_RECIPE: &str = include_str!("../../../models/default/run.json");
const DEFAULT_WEIGHTS: &[u8] = include_bytes!("../../../models/default/model.safetensors");

/// Names of embedded models.
pub const EMBEDDED: &[&str] = &["default"];

/// The recipe and weights of `name`: an embedded model or a run folder.
pub fn load_model(name: &str, checkpoint: &str, device: &Device) -> Result<(Recipe, AnyModel)> {
    if name == "default" {
        let recipe: Recipe = serde_json::from_str(DEFAULT_RECIPE).context("the embedded recipe is broken")?;
        let model = match recipe.model.build(device)? {
            AnyModel::Transformer(m) => AnyModel::Transformer(weights_from_bytes(m, DEFAULT_WEIGHTS.to_vec())?),
            AnyModel::Lstm(m) => AnyModel::Lstm(weights_from_bytes(m, DEFAULT_WEIGHTS.to_vec())?),
            AnyModel::Nade(m) => AnyModel::Nade(weights_from_bytes(m, DEFAULT_WEIGHTS.to_vec())?),
        };
        return Ok((recipe, model));
    }
    let path = Path::new(name);
    if !path.is_dir() {
        bail!(
            "unknown model `{name}`: not an embedded model ({}) nor a run folder",
            EMBEDDED.join(", ")
        );
    }
    crate::train::load_run(path, checkpoint, device)
}
