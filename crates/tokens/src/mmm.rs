//! MMM (placeholder).
