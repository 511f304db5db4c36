//! Files: parallel HDF5 checkpoints written collectively through MPI-IO, their recovery
//! (listing, setting damaged files aside, pruning), XDMF sidecars for viewers and PNG
//! rendering of fields. MPI only through HDF5's MPI-IO driver.

pub mod checkpoint;
pub mod hdf5;
pub mod input;
pub mod lock;
pub mod matrix_market;
pub mod recovery;
pub mod render;
pub mod space;
pub mod xdmf;
