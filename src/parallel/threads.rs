//! Threads within a rank (`--threads`): a rayon pool that kernels' row loops share.
//! MPI is initialised with `MPI_THREAD_FUNNELED`: only the main thread calls MPI.

use crate::error::{Error, Result};

/// The most threads a rank starts (more is a typing mistake, not a machine).
pub const MAX_THREADS: usize = 4096;

/// Threads that share the rows of a rank's block (`--threads`). Each output row is
/// computed by the same expression whichever thread computes it, and reductions are exact
/// ([`ExactSum`](super::exact_sum::ExactSum)), so results do not depend on the thread count.
pub struct Threads {
    pool: Option<rayon::ThreadPool>,
}

impl Threads {
    /// `count` threads (1: everything on the calling thread, no pool).
    pub fn new(count: usize) -> Result<Threads> {
        if count == 0 {
            return Err(Error::value("threads", "must be at least 1"));
        }
        if count > MAX_THREADS {
            return Err(Error::value(
                "threads",
                format!("{count} is more than {MAX_THREADS} threads per rank"),
            ));
        }
        let pool = if count == 1 {
            None
        } else {
            Some(
                rayon::ThreadPoolBuilder::new()
                    .num_threads(count)
                    .build()
                    .map_err(|e| Error::value("threads", format!("cannot start {count}: {e}")))?,
            )
        };
        Ok(Threads { pool })
    }

    /// One thread, the caller's.
    pub fn serial() -> Threads {
        Threads { pool: None }
    }

    pub fn count(&self) -> usize {
        self.pool.as_ref().map_or(1, |p| p.current_num_threads())
    }

    /// The pool, or `None` when everything runs on the calling thread.
    pub fn pool(&self) -> Option<&rayon::ThreadPool> {
        self.pool.as_ref()
    }
}
