//! Communicators: the world and its sub-communicators (the rows and columns of a 2D
//! process grid, for dense linear algebra; any split by colour).

use mpi::collective::CommunicatorCollectives;
use mpi::ffi;
use mpi::raw::AsRaw;
use mpi::topology::{Color, Communicator, SimpleCommunicator};

/// A group of ranks that communicate: the world, or a part of it made by [`Comm::split`].
/// Reductions on it are in `reduce.rs`, exchanges in `exchange.rs` and `ring.rs`.
pub struct Comm {
    comm: SimpleCommunicator,
    rank: usize,
    size: usize,
}

impl Comm {
    pub(crate) fn new(comm: SimpleCommunicator) -> Comm {
        let rank = comm.rank() as usize;
        let size = comm.size() as usize;
        Comm { comm, rank, size }
    }

    /// This rank's number in the communicator, `0 .. size`.
    pub fn rank(&self) -> usize {
        self.rank
    }

    /// Number of ranks in the communicator.
    pub fn size(&self) -> usize {
        self.size
    }

    /// Whether this is rank 0 of the communicator (the one that prints).
    pub fn is_root(&self) -> bool {
        self.rank == 0
    }

    pub fn barrier(&self) {
        self.comm.barrier();
    }

    /// The communicator as a raw handle (HDF5's MPI-IO driver, nonblocking requests).
    pub fn raw(&self) -> ffi::MPI_Comm {
        self.comm.as_raw()
    }

    pub(crate) fn inner(&self) -> &SimpleCommunicator {
        &self.comm
    }

    /// A new communicator with the same ranks whose messages never match this one's
    /// (`MPI_Comm_dup`). Collective.
    pub fn duplicate(&self) -> Comm {
        Comm::new(self.comm.duplicate())
    }

    /// The ranks of this communicator that share this node's memory
    /// (`MPI_Comm_split_type(MPI_COMM_TYPE_SHARED)`). Collective.
    pub fn node(&self) -> Comm {
        let key = i32::try_from(self.rank).expect("rank fits an i32");
        Comm::new(self.comm.split_shared(key))
    }

    /// Splits the communicator: ranks passing the same `color` form one new communicator,
    /// ordered by `key` (ties by their rank here). Collective.
    pub fn split(&self, color: usize, key: usize) -> Comm {
        let color = Color::with_value(i32::try_from(color).expect("colour fits an i32"));
        let key = i32::try_from(key).expect("key fits an i32");
        let sub = self
            .comm
            .split_by_color_with_key(color, key)
            .expect("a rank with a defined colour is in a communicator");
        Comm::new(sub)
    }

    /// The rows and columns of a `rows x cols` process grid laid out row-major over this
    /// communicator (`rank = row * cols + col`). Collective.
    ///
    /// # Panics
    /// If `rows * cols` is not the communicator's size (a bug in the caller).
    pub fn process_grid_2d(&self, rows: usize, cols: usize) -> ProcessGrid2d {
        assert_eq!(rows * cols, self.size, "a {rows}x{cols} process grid");
        let (row, col) = (self.rank / cols, self.rank % cols);
        ProcessGrid2d {
            row,
            col,
            rows,
            cols,
            row_comm: self.split(row, col),
            col_comm: self.split(col, row),
            all: self.duplicate(),
        }
    }
}

/// This rank's place in a 2D process grid, with a communicator along its process row
/// (the ranks of the same `row`, numbered by column) and one along its process column.
pub struct ProcessGrid2d {
    pub row: usize,
    pub col: usize,
    pub rows: usize,
    pub cols: usize,
    /// The `cols` ranks of this process row; rank `c` in it is column `c`.
    pub row_comm: Comm,
    /// The `rows` ranks of this process column; rank `r` in it is row `r`.
    pub col_comm: Comm,
    /// All the grid's ranks (a duplicate of the communicator it was made from); rank
    /// `row * cols + col` is process `(row, col)`.
    pub all: Comm,
}
