//! The grid-stencil family: a structured 1-3D grid split into blocks over ranks
//! ([`geometry`]), ghosted blocks ([`field`]), the halo exchange ([`halo`]), the stencil
//! contract a kernel implements ([`stencil`], no MPI), the Laplacians ([`laplacian`]),
//! the kernels ([`kernels`]) and the time stepper that runs them ([`stepper`]).

pub mod blocking;
pub mod field;
pub mod geometry;
pub mod halo;
pub mod kernels;
pub mod laplacian;
pub mod stencil;
pub mod stepper;
