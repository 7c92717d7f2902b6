//! The embedded models, compiled into the binary so that `fugue generate`
//! and `fugue harmonize` work on a fresh machine with nothing downloaded:
//! - `default`: a small Music Transformer trained with fugue on the JSB
//!   chorales (16th-note SATB, serialized), `models/default/`;
//! - `coconet`: a small Coconet trained with fugue on the same chorales,
//!   the chorale model of `harmonize` and `infill`, `models/coconet/`;
//! - `harmonet`: HARMONET's harmony net trained with fugue on the same
//!   chorales, for `harmonize --model harmonet`, `models/harmonet/`.
//!
//! Each folder's README says how its model was trained.

use std::path::Path;

use anyhow::{bail, Context, Result};
use fugue_models::burn::tensor::Device;
use fugue_models::weights_from_bytes;

use crate::recipe::{AnyModel, Recipe};

/// Name, recipe and weights of each embedded model.
const MODELS: &[(&str, &str, &[u8])] = &[
    (
        "default",
        include_str!("../../../models/default/run.json"),
        include_bytes!("../../../models/default/model.safetensors"),
    ),
    (
        "coconet",
        include_str!("../../../models/coconet/run.json"),
        include_bytes!("../../../models/coconet/model.safetensors"),
    ),
    (
        "harmonet",
        include_str!("../../../models/harmonet/run.json"),
        include_bytes!("../../../models/harmonet/model.safetensors"),
    ),
];

/// Names of embedded models.
pub const EMBEDDED: &[&str] = &["default", "coconet", "harmonet"];

/// The recipe and weights of `name`: an embedded model or a run folder.
pub fn load_model(name: &str, checkpoint: &str, device: &Device) -> Result<(Recipe, AnyModel)> {
    if let Some((_, recipe, weights)) = MODELS.iter().find(|(n, _, _)| *n == name) {
        let recipe: Recipe =
            serde_json::from_str(recipe).with_context(|| format!("the embedded recipe of `{name}` is broken"))?;
        let bytes = weights.to_vec();
        let model = match recipe.model.build(device)? {
            AnyModel::Transformer(m) => AnyModel::Transformer(weights_from_bytes(m, bytes)?),
            AnyModel::Lstm(m) => AnyModel::Lstm(weights_from_bytes(m, bytes)?),
            AnyModel::Nade(m) => AnyModel::Nade(weights_from_bytes(m, bytes)?),
            AnyModel::Rbm(m) => AnyModel::Rbm(weights_from_bytes(m, bytes)?),
            AnyModel::Coconet(m) => AnyModel::Coconet(weights_from_bytes(m, bytes)?),
            AnyModel::DeepBach(m) => AnyModel::DeepBach(weights_from_bytes(m, bytes)?),
            AnyModel::TonicNet(m) => AnyModel::TonicNet(weights_from_bytes(m, bytes)?),
            AnyModel::Harmonet(m) => AnyModel::Harmonet(weights_from_bytes(m, bytes)?),
            AnyModel::Todd(m) => AnyModel::Todd(weights_from_bytes(m, bytes)?),
            AnyModel::BachProp(m) => AnyModel::BachProp(Box::new(weights_from_bytes(*m, bytes)?)),
            AnyModel::EckSchmidhuber(m) => AnyModel::EckSchmidhuber(Box::new(weights_from_bytes(*m, bytes)?)),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_embedded_model_loads() {
        assert_eq!(EMBEDDED, MODELS.iter().map(|m| m.0).collect::<Vec<_>>().as_slice());
        let device = fugue_models::device("cpu", false).unwrap_or_else(|e| panic!("{e}"));
        for name in EMBEDDED {
            load_model(name, "best", &device).unwrap_or_else(|e| panic!("{name}: {e:#}"));
        }
    }
}
