//! Collective HDF5 datasets through MPI-IO: what every family's checkpoint is made of.
//!
//! A dataset is written or read by all ranks at once, each rank naming its part with a
//! [`Block`]: an N-D hyperslab of the global dataset taken from (or put into) an N-D
//! hyperslab of a local array (a grid field's owned cells inside its ghosted block), or a
//! run of whole rows at an offset (particles: `N x 3` positions, each rank its slice after
//! an exclusive prefix sum). Transfers are collective (`H5Pset_dxpl_mpio`, which the
//! high-level crate does not expose).
//!
//! Every dataset carries a `checksum` attribute that does not depend on how many ranks
//! wrote or read it: the wrapping sum over all elements of a hash of (global linear index,
//! value bits).

use crate::error::{Error, Result};
use crate::parallel::Comm;
use hdf5::H5Type;
use hdf5_sys::h5d::{H5Dread, H5Dwrite};
use hdf5_sys::h5i::hid_t;
use hdf5_sys::h5p::{H5FD_mpio_xfer_t, H5Pclose, H5Pcreate, H5Pset_dxpl_mpio};
use hdf5_sys::h5s::{
    H5S_seloper_t, H5Sclose, H5Screate_simple, H5Sselect_hyperslab, H5Sselect_none,
};
use std::path::Path;

/// What a dataset may hold: a plain value with a bit pattern (for checksums) and an XDMF
/// number type (so viewers read it right).
pub trait Element: H5Type + Copy + Default + Send + Sync + 'static {
    /// XDMF's `(NumberType, Precision)` for this type.
    const XDMF_NUMBER_TYPE: (&'static str, usize);

    /// The value's bits (equal values give equal bits).
    fn bits(self) -> u64;
}

impl Element for f64 {
    const XDMF_NUMBER_TYPE: (&'static str, usize) = ("Float", 8);
    fn bits(self) -> u64 {
        self.to_bits()
    }
}
impl Element for f32 {
    const XDMF_NUMBER_TYPE: (&'static str, usize) = ("Float", 4);
    fn bits(self) -> u64 {
        u64::from(self.to_bits())
    }
}
impl Element for i32 {
    const XDMF_NUMBER_TYPE: (&'static str, usize) = ("Int", 4);
    fn bits(self) -> u64 {
        self as u32 as u64
    }
}
impl Element for i64 {
    const XDMF_NUMBER_TYPE: (&'static str, usize) = ("Int", 8);
    fn bits(self) -> u64 {
        self as u64
    }
}
impl Element for u64 {
    const XDMF_NUMBER_TYPE: (&'static str, usize) = ("UInt", 8);
    fn bits(self) -> u64 {
        self
    }
}
impl Element for u8 {
    const XDMF_NUMBER_TYPE: (&'static str, usize) = ("UChar", 1);
    fn bits(self) -> u64 {
        u64::from(self)
    }
}

/// One rank's part of a collective dataset transfer: the elements `count` at `start` of
/// the global dataset of shape `global`, held in a local row-major array of shape `local`
/// at `local_start`. All four have the dataset's rank (number of axes).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Block {
    pub global: Vec<usize>,
    pub start: Vec<usize>,
    pub count: Vec<usize>,
    pub local: Vec<usize>,
    pub local_start: Vec<usize>,
}

impl Block {
    /// Rows `offset .. offset + rows` of a `total x width` dataset (`width` 0: a 1-D
    /// dataset of `total` elements), held contiguously in memory.
    pub fn rows(total: usize, offset: usize, rows: usize, width: usize) -> Block {
        if width == 0 {
            Block {
                global: vec![total],
                start: vec![offset],
                count: vec![rows],
                local: vec![rows],
                local_start: vec![0],
            }
        } else {
            Block {
                global: vec![total, width],
                start: vec![offset, 0],
                count: vec![rows, width],
                local: vec![rows, width],
                local_start: vec![0, 0],
            }
        }
    }

    /// Elements in the local array.
    pub fn local_len(&self) -> usize {
        self.local.iter().product()
    }

    /// Calls `f(local linear index, global linear index, n)` for every run of `n`
    /// selected elements contiguous along the last axis, in row-major order.
    fn for_each_row(&self, mut f: impl FnMut(usize, usize, usize)) {
        let n = self.global.len();
        if self.count.contains(&0) {
            return;
        }
        let last = n - 1;
        // index over every axis but the last, which each call covers whole
        let mut idx = vec![0usize; last];
        loop {
            let (mut l, mut g) = (0usize, 0usize);
            for (a, &i) in idx.iter().enumerate() {
                l = l * self.local[a] + self.local_start[a] + i;
                g = g * self.global[a] + self.start[a] + i;
            }
            l = l * self.local[last] + self.local_start[last];
            g = g * self.global[last] + self.start[last];
            f(l, g, self.count[last]);
            // next row, the axis before the last fastest
            let mut a = last;
            loop {
                if a == 0 {
                    return;
                }
                a -= 1;
                idx[a] += 1;
                if idx[a] < self.count[a] {
                    break;
                }
                idx[a] = 0;
            }
        }
    }

    /// This rank's share of the dataset checksum: the wrapping sum over the selected
    /// elements of `mix(bits ^ mix(global linear index))`. Summed over the ranks it is the
    /// same for any split of the dataset.
    pub fn checksum<T: Element>(&self, data: &[T]) -> u64 {
        assert_eq!(data.len(), self.local_len(), "data holds the local array");
        let mut sum = 0u64;
        self.for_each_row(|l, g, n| {
            for (k, v) in data[l..l + n].iter().enumerate() {
                sum = sum.wrapping_add(mix(v.bits() ^ mix((g + k) as u64)));
            }
        });
        sum
    }
}

/// SplitMix64's finaliser: a cheap, well-mixing 64-bit hash.
pub fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// An HDF5 id closed on drop (dataspaces and property lists made through the C API).
struct Handle(hid_t, unsafe extern "C" fn(hid_t) -> hdf5_sys::h5::herr_t);

impl Drop for Handle {
    fn drop(&mut self) {
        // SAFETY: the id was created by the matching H5*create call and is closed once.
        unsafe { (self.1)(self.0) };
    }
}

/// A collective data-transfer property list.
fn collective_transfer() -> Result<Handle> {
    // SAFETY: plain HDF5 C calls on ids we own; failures are negative ids / codes.
    unsafe {
        let dxpl = H5Pcreate(*hdf5::globals::H5P_DATASET_XFER);
        if dxpl < 0 {
            return Err(Error::io("HDF5", "cannot create a transfer property list"));
        }
        let h = Handle(dxpl, H5Pclose);
        if H5Pset_dxpl_mpio(dxpl, H5FD_mpio_xfer_t::H5FD_MPIO_COLLECTIVE) < 0 {
            return Err(Error::io(
                "HDF5",
                "cannot select collective MPI-IO transfers",
            ));
        }
        Ok(h)
    }
}

/// A dataspace of `dims` with the hyperslab `start .. start + count` selected.
fn hyperslab(dims: &[usize], start: &[usize], count: &[usize]) -> Result<Handle> {
    let d: Vec<u64> = dims.iter().map(|&x| x as u64).collect();
    let s: Vec<u64> = start.iter().map(|&x| x as u64).collect();
    let c: Vec<u64> = count.iter().map(|&x| x as u64).collect();
    // SAFETY: the arrays outlive the calls and have `dims.len()` elements.
    unsafe {
        let space = H5Screate_simple(d.len() as i32, d.as_ptr(), std::ptr::null());
        if space < 0 {
            return Err(Error::io("HDF5", "cannot create a dataspace"));
        }
        let h = Handle(space, H5Sclose);
        if c.contains(&0) {
            // a rank with nothing to transfer still takes part in the collective call
            if H5Sselect_none(space) < 0 {
                return Err(Error::io("HDF5", "cannot select nothing"));
            }
            return Ok(h);
        }
        let rc = H5Sselect_hyperslab(
            space,
            H5S_seloper_t::H5S_SELECT_SET,
            s.as_ptr(),
            std::ptr::null(),
            c.as_ptr(),
            std::ptr::null(),
        );
        if rc < 0 {
            return Err(Error::io("HDF5", "cannot select a hyperslab"));
        }
        Ok(h)
    }
}

/// Memory and file dataspaces of `block`.
fn spaces(block: &Block) -> Result<(Handle, Handle)> {
    let memory = hyperslab(&block.local, &block.local_start, &block.count)?;
    let file = hyperslab(&block.global, &block.start, &block.count)?;
    Ok((memory, file))
}

/// How [`open_parallel`] opens a file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    /// An existing file, read only.
    Read,
    /// An existing file, to write into.
    ReadWrite,
}

/// Opens `path` for collective access by all ranks of `comm`.
pub fn open_parallel(comm: &Comm, path: &Path, access: Access) -> hdf5::Result<hdf5::File> {
    let raw = comm.raw();
    let mut builder = hdf5::File::with_options();
    builder.with_fapl(|p| p.mpio(raw, None));
    let name = mpi_io_name(path);
    match access {
        Access::Read => builder.open(&name),
        Access::ReadWrite => builder.open_rw(&name),
    }
}

/// Opens the user's input file `path` (not a checkpoint) for collective reading: a
/// regular file that HDF5 can open, else an error naming the file, agreed by all ranks.
pub fn open_input(parallel: &crate::parallel::Parallel, path: &Path) -> Result<hdf5::File> {
    let bad = |m: String| Error::input(path, 0, m);
    parallel.agree(
        crate::io::input::regular_file(path)
            .map(|_| ())
            .map_err(bad),
    )?;
    parallel.agree(
        open_parallel(parallel, path, Access::Read)
            .map_err(|_| bad("not a readable HDF5 file".into())),
    )
}

/// The name MPI-IO is given for `path`. ROMIO reads `PREFIX:` at the start of a file name
/// as the file system's type, so a path with a colon (`runs/12:30/heat.h5`) is refused as
/// an unknown type `runs/12`; the explicit prefix `ufs:` (ROMIO's POSIX driver) keeps
/// the rest of the name as it is. Paths without a colon pass unchanged.
fn mpi_io_name(path: &Path) -> std::path::PathBuf {
    let text = path.as_os_str().to_string_lossy();
    if text.contains(':') {
        std::path::PathBuf::from(format!("ufs:{text}"))
    } else {
        path.to_path_buf()
    }
}

/// Creates dataset `name` in `group` with `block.global` shape and writes this rank's
/// `block` of it from `data` (the local array), collectively, with the global `checksum`
/// as its attribute. Returns the bytes this rank wrote.
pub fn write_block<T: Element>(
    group: &hdf5::Group,
    name: &str,
    block: &Block,
    data: &[T],
    checksum: u64,
) -> std::result::Result<u64, String> {
    assert_eq!(data.len(), block.local_len(), "data holds the local array");
    let dset = group
        .new_dataset::<T>()
        .shape(block.global.clone())
        .create(name)
        .map_err(|e| format!("creating dataset {name}: {e}"))?;
    dset.new_attr::<u64>()
        .create("checksum")
        .and_then(|a| a.write_scalar(&checksum))
        .map_err(|e| format!("writing the checksum of {name}: {e}"))?;
    let (mem, fil) = spaces(block).map_err(|e| e.to_string())?;
    let dxpl = collective_transfer().map_err(|e| e.to_string())?;
    let dtype = hdf5::Datatype::from_type::<T>().map_err(|e| e.to_string())?;
    // SAFETY: `data` holds the local array and `mem` selects inside it.
    let rc = unsafe {
        H5Dwrite(
            dset.id(),
            dtype.id(),
            mem.0,
            fil.0,
            dxpl.0,
            data.as_ptr().cast(),
        )
    };
    if rc < 0 {
        return Err(format!("writing dataset {name}: H5Dwrite failed"));
    }
    let elements: usize = block.count.iter().product();
    Ok((elements * std::mem::size_of::<T>()) as u64)
}

/// Reads this rank's `block` of `dset` into `data` (the local array), collectively.
/// An error says what failed (a truncated or corrupt file, mostly).
pub fn read_block<T: Element>(
    dset: &hdf5::Dataset,
    block: &Block,
    data: &mut [T],
) -> std::result::Result<(), String> {
    assert_eq!(data.len(), block.local_len(), "data holds the local array");
    let (mem, fil) = spaces(block).map_err(|e| e.to_string())?;
    let dxpl = collective_transfer().map_err(|e| e.to_string())?;
    let dtype = hdf5::Datatype::from_type::<T>().map_err(|e| e.to_string())?;
    // SAFETY: `data` holds the local array and `mem` selects inside it.
    let rc = unsafe {
        H5Dread(
            dset.id(),
            dtype.id(),
            mem.0,
            fil.0,
            dxpl.0,
            data.as_mut_ptr().cast(),
        )
    };
    if rc < 0 {
        Err("H5Dread failed".into())
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checksums_do_not_depend_on_the_split() {
        // a 5x7 dataset, whole on one rank vs in row and column pieces
        let global = vec![5, 7];
        let value = |g: usize| (g as f64).sin();
        let whole: Vec<f64> = (0..35).map(value).collect();
        let one = Block {
            global: global.clone(),
            start: vec![0, 0],
            count: global.clone(),
            local: global.clone(),
            local_start: vec![0, 0],
        }
        .checksum(&whole);
        // pieces: rows 0..2 and 2..5; the second from a ghosted 5x9 local array
        let top = Block::rows(5, 0, 2, 7);
        let top_sum = top.checksum(&whole[..14]);
        let mut ghosted = vec![-1.0; 5 * 9];
        for i in 0..3 {
            for j in 0..7 {
                ghosted[(i + 1) * 9 + j + 1] = value((i + 2) * 7 + j);
            }
        }
        let bottom = Block {
            global: global.clone(),
            start: vec![2, 0],
            count: vec![3, 7],
            local: vec![5, 9],
            local_start: vec![1, 1],
        };
        assert_eq!(one, top_sum.wrapping_add(bottom.checksum(&ghosted)));
        // a changed value changes it
        let mut bad = whole.clone();
        bad[17] = f64::from_bits(bad[17].to_bits() ^ 1);
        let b = Block::rows(5, 0, 5, 7);
        assert_ne!(one, b.checksum(&bad));
        assert_eq!(one, b.checksum(&whole));
    }

    #[test]
    fn empty_blocks_select_nothing() {
        let b = Block::rows(10, 10, 0, 3);
        assert_eq!(b.checksum::<f64>(&[]), 0);
    }
}
