//! Layers shared by several model families (reused, not copied).

pub mod flex_buffer;
pub mod frames;
pub mod fused_attention;
pub mod fused_cross_entropy;
pub mod fused_layer_norm;
pub mod fused_linear;
pub mod fused_nade;
pub mod recurrent;
pub mod relative_attention;
pub mod transformer_decode;
