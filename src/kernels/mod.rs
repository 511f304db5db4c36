//! The stencil kernels shipped with tessera. Each is one file; register new ones here.

pub mod heat;
