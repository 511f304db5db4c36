//! Distributed dense linear algebra: matrices block-cyclic on a 2D process grid
//! ([`layout`], [`matrix`]: creation from a formula, redistribution between layouts and
//! transposition), read from and written to HDF5 ([`io`]), SUMMA products ([`summa`]),
//! tall-skinny QR and least squares on a row partition ([`tsqr`]), over OpenBLAS and
//! LAPACK (ndarray, ndarray-linalg, and LAPACK's recursive QR directly).

pub mod io;
pub mod layout;
pub mod matrix;
pub mod summa;
pub mod tsqr;

pub use layout::Cyclic;
pub use matrix::DistMatrix;
