//! Distributed dense linear algebra (issue "Linear algebra II", in progress): matrices
//! block-cyclic on a 2D process grid ([`layout`], [`matrix`]) and SUMMA products
//! ([`summa`]), tall-skinny QR and least squares on a row partition ([`tsqr`]), over
//! OpenBLAS and LAPACK through ndarray and ndarray-linalg.

pub mod layout;
pub mod matrix;
pub mod summa;
pub mod tsqr;

pub use layout::Cyclic;
pub use matrix::DistMatrix;
