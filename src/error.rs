//! The library's one error type.
//!
//! User mistakes (bad flags, impossible decompositions, unusable checkpoint files) are
//! `Error`s carrying a one-line message that names what is wrong. Bugs are panics.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};

/// Exit code of a run that finished but failed its own validation.
pub const EXIT_NOT_VALIDATED: u8 = 1;
/// Exit code of a run refused for bad input (flags, files, sizes).
pub const EXIT_USAGE: u8 = 2;
/// Exit code of a run killed by an internal error (a bug): the job is aborted.
pub const EXIT_BUG: i32 = 70;
/// Exit code of a run that stopped early (a signal, `--max-runtime`, the Slurm time limit)
/// after writing a checkpoint: `EX_TEMPFAIL`, "try again", with `--restart auto`.
pub const EXIT_STOPPED: u8 = 75;

/// Shows run parameters as command-line flags (set once by the CLI layer).
static PARAMETERS_AS_FLAGS: AtomicBool = AtomicBool::new(false);

/// From now on, messages show a parameter as the command-line flag that sets it (`--dt`
/// for `dt`). The command-line layer calls it; the library itself knows no flags.
pub fn name_parameters_as_flags() {
    PARAMETERS_AS_FLAGS.store(true, Ordering::Relaxed);
}

/// A run parameter named in a message (`dt`, `ghost`, `max-runtime`): shown as its
/// command-line flag (`--dt`) in the binaries, by its plain name elsewhere.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Name(pub &'static str);

impl std::fmt::Display for Name {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if PARAMETERS_AS_FLAGS.load(Ordering::Relaxed) {
            write!(f, "--{}", self.0)
        } else {
            f.write_str(self.0)
        }
    }
}

/// Every fallible operation in tessera returns this error.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A command-line flag's value that cannot be used (the CLI layer's errors).
    #[error("{flag}: {message}")]
    InvalidArgument { flag: String, message: String },

    /// A parameter value that cannot be used (the library's errors).
    #[error("{parameter}: {message}")]
    InvalidValue { parameter: Name, message: String },

    /// The grid cannot be split over the available ranks as requested.
    #[error("decomposition: {0}")]
    Decomposition(String),

    /// A checkpoint file that cannot be used for a restart.
    #[error("checkpoint {}: {message}", path.display())]
    Checkpoint { path: PathBuf, message: String },

    /// A checkpoint written by a newer tessera, in a format this build cannot read: not
    /// damage, so `--restart auto` leaves it in place and stops.
    #[error("checkpoint {}: format version {version}, this build reads versions up to {readable} (written by a newer tessera?)", path.display())]
    CheckpointTooNew {
        path: PathBuf,
        version: u64,
        readable: u64,
    },

    /// An input file (a LAMMPS data file) that cannot be used: its path, the line
    /// (0: the file as a whole) and what is wrong.
    #[error("{}{}: {message}", path.display(), if *line > 0 { format!(" line {line}") } else { String::new() })]
    InputFile {
        path: PathBuf,
        line: usize,
        message: String,
    },

    /// An I/O failure (file system or HDF5).
    #[error("{context}: {message}")]
    Io { context: String, message: String },

    /// The simulation refused to run with these parameters (e.g. an unstable time step).
    #[error("{0}")]
    Unstable(String),

    /// A malformed command line (unknown flag, unparsable value).
    #[error("{0}")]
    Usage(String),

    /// A run that finished but failed its own validation.
    #[error("{0}")]
    NotValidated(String),

    /// The run stopped early, on a signal or its time limit, after writing a checkpoint to
    /// resume from: not a failure of the run, but the job is not finished.
    #[error("{0}")]
    Stopped(String),

    /// The error happened on another rank and has already been reported there.
    #[error("failed on another rank (see its message above)")]
    ReportedElsewhere,
}

impl Error {
    /// A bad value of parameter `parameter` (`"dt"`).
    pub fn value(parameter: &'static str, message: impl Into<String>) -> Self {
        Error::InvalidValue {
            parameter: Name(parameter),
            message: message.into(),
        }
    }

    /// A bad value for command-line flag `flag` (the CLI layer only).
    pub fn arg(flag: &str, message: impl Into<String>) -> Self {
        Error::InvalidArgument {
            flag: flag.to_string(),
            message: message.into(),
        }
    }

    /// A checkpoint problem in file `path`.
    pub fn checkpoint(path: impl Into<PathBuf>, message: impl Into<String>) -> Self {
        Error::Checkpoint {
            path: path.into(),
            message: message.into(),
        }
    }

    /// A problem at `line` (1-based; 0 for the whole file) of input file `path`.
    pub fn input(path: impl Into<PathBuf>, line: usize, message: impl Into<String>) -> Self {
        Error::InputFile {
            path: path.into(),
            line,
            message: message.into(),
        }
    }

    /// An I/O failure while doing `context`. The cause is kept on one line (HDF5's
    /// messages span several).
    pub fn io(context: impl Into<String>, err: impl std::fmt::Display) -> Self {
        Error::Io {
            context: context.into(),
            message: err
                .to_string()
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" "),
        }
    }
}

impl Error {
    /// The process exit code for this error: [`EXIT_NOT_VALIDATED`] when a run fails its
    /// validation, [`EXIT_STOPPED`] when it stopped early, [`EXIT_USAGE`] for anything the
    /// user must fix.
    pub fn exit_code(&self) -> u8 {
        match self {
            Error::NotValidated(_) => EXIT_NOT_VALIDATED,
            Error::Stopped(_) => EXIT_STOPPED,
            _ => EXIT_USAGE,
        }
    }
}

/// Shorthand used throughout the library.
pub type Result<T> = std::result::Result<T, Error>;
