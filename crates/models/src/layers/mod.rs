//! Layers shared by several model families (reused, not copied).

pub mod relative_attention;
