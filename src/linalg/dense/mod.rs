//! Distributed dense linear algebra (issue "Linear algebra II", in progress): matrices
//! block-cyclic on a 2D process grid ([`layout`], [`matrix`]) and SUMMA products
//! ([`summa`]), over OpenBLAS through ndarray.

pub mod layout;
pub mod matrix;
pub mod summa;

pub use layout::Cyclic;
pub use matrix::DistMatrix;
