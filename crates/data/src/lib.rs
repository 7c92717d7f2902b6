//! # fugue-data
//!
//! The data layer. For now it owns the token store that `fugue tokenize`
//! writes and training reads: [`shards`]. Dataset loaders, canonical splits
//! and batching come with their issue.
#![warn(missing_docs)]

pub mod shards;
