//! Rendering of 2D scalar fields to PNG images with a colour bar.
//!
//! Pure logic, no MPI: [`render_field`] turns an [`ArrayView2<f64>`] into an
//! [`RgbImage`] (plot, colour bar, title and annotation lines drawn with a
//! built-in 5x7 bitmap font) and [`RgbImage::write_png`] encodes it.
//!
//! **Orientation:** element `data[[i, j]]` is drawn at row `i` counted from the
//! *top* of the plot and column `j` counted from the *left* (matrix / `imshow`
//! convention): array axis 0 runs downwards, axis 1 runs to the right.

use ndarray::{ArrayView1, ArrayView2, Axis};
use std::path::{Path, PathBuf};

/// Errors produced while rendering or writing an image.
#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    /// The array to render has no elements.
    #[error("cannot render an empty array (shape {rows}x{cols})")]
    EmptyArray {
        /// Number of rows (axis 0).
        rows: usize,
        /// Number of columns (axis 1).
        cols: usize,
    },
    /// The PNG encoder failed.
    #[error("PNG encoding failed: {0}")]
    Png(#[from] png::EncodingError),
    /// Writing the output file failed.
    #[error("cannot write {}: {source}", path.display())]
    Io {
        /// The file that could not be written.
        path: PathBuf,
        /// The underlying I/O error.
        source: std::io::Error,
    },
}

/// An RGB colour, 8 bits per channel.
pub type Rgb = [u8; 3];
/// Colour of NaN / infinite cells (magenta).
pub const NAN_COLOR: Rgb = [255, 0, 255];
const WHITE: Rgb = [255, 255, 255];
const BLACK: Rgb = [0, 0, 0];

/// Viridis sampled at t = 0, 0.1, ..., 1 (matplotlib values).
#[rustfmt::skip]
const VIRIDIS: [Rgb; 11] = [
    [0x44, 0x01, 0x54], [0x48, 0x24, 0x75], [0x41, 0x44, 0x87], [0x35, 0x5f, 0x8d],
    [0x2a, 0x78, 0x8e], [0x21, 0x91, 0x8c], [0x22, 0xa8, 0x84], [0x44, 0xbf, 0x70],
    [0x7a, 0xd1, 0x51], [0xbd, 0xdf, 0x26], [0xfd, 0xe7, 0x25],
];
/// Positive half of the diverging map, t = 0, 0.5, 1 (white to red); the
/// negative half is the same with red and blue swapped.
const DIVERGING_POS: [Rgb; 3] = [[255, 255, 255], [239, 138, 98], [178, 24, 43]];

fn lerp_table(table: &[Rgb], t: f64) -> Rgb {
    let x = t.clamp(0.0, 1.0) * (table.len() - 1) as f64;
    let i = (x.floor() as usize).min(table.len() - 2);
    let f = x - i as f64;
    let mut out = [0u8; 3];
    for (c, o) in out.iter_mut().enumerate() {
        let (a, b) = (table[i][c] as f64, table[i + 1][c] as f64);
        *o = (a + (b - a) * f).round() as u8;
    }
    out
}

/// Viridis colour for `t` in `[0, 1]` (clamped); 0 is dark purple, 1 yellow.
pub fn viridis(t: f64) -> Rgb {
    lerp_table(&VIRIDIS, t)
}

/// Blue–white–red colour for `t` in `[-1, 1]` (clamped); 0 is white.
/// Exactly symmetric: `diverging(-t)` is `diverging(t)` with red and blue swapped.
pub fn diverging(t: f64) -> Rgb {
    let [r, g, b] = lerp_table(&DIVERGING_POS, t.abs());
    if t < 0.0 {
        [b, g, r]
    } else {
        [r, g, b]
    }
}

/// Which colour map a [`ColorScale`] uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColorMap {
    /// Sequential perceptual map for data of one sign.
    Viridis,
    /// Blue–white–red map, symmetric around zero, for data of both signs.
    Diverging,
}

/// Mapping from data values to colours: the map and its value range.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ColorScale {
    /// The colour map.
    pub map: ColorMap,
    /// Value drawn with the low end of the map.
    pub lo: f64,
    /// Value drawn with the high end of the map.
    pub hi: f64,
}

impl ColorScale {
    /// Chooses the scale for finite data in `[min, max]`: diverging and
    /// symmetric (`lo = -hi`) when `min < 0 < max`, viridis over
    /// `[min, max]` otherwise. Non-finite bounds give a `[0, 0]` viridis scale.
    pub fn from_range(min: f64, max: f64) -> Self {
        let (map, lo, hi) = if !(min.is_finite() && max.is_finite()) {
            (ColorMap::Viridis, 0.0, 0.0)
        } else if min < 0.0 && max > 0.0 {
            let a = min.abs().max(max);
            (ColorMap::Diverging, -a, a)
        } else {
            (ColorMap::Viridis, min, max)
        };
        Self { map, lo, hi }
    }

    /// Colour of value `v`; [`NAN_COLOR`] for NaN/inf. A zero-width range maps
    /// everything to the middle of the map.
    pub fn color(&self, v: f64) -> Rgb {
        if !v.is_finite() {
            return NAN_COLOR;
        }
        let span = self.hi - self.lo;
        let t = if span > 0.0 {
            (v - self.lo) / span
        } else {
            0.5
        };
        match self.map {
            ColorMap::Viridis => viridis(t),
            ColorMap::Diverging => diverging(2.0 * t - 1.0),
        }
    }

    /// Up to `n` evenly spaced tick values from `lo` to `hi` inclusive
    /// (a single tick for a zero-width range).
    pub fn ticks(&self, n: usize) -> Vec<f64> {
        if self.hi <= self.lo || n < 2 {
            return vec![self.lo];
        }
        (0..n)
            .map(|k| self.lo + (self.hi - self.lo) * k as f64 / (n - 1) as f64)
            .collect()
    }
}

/// Summary of the values in a field.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FieldStats {
    /// Smallest finite value (NaN if there is none).
    pub min: f64,
    /// Largest finite value (NaN if there is none).
    pub max: f64,
    /// Number of NaN or infinite cells.
    pub non_finite: usize,
}

impl FieldStats {
    /// Computes min/max over finite values and counts the non-finite ones.
    pub fn of(data: &ArrayView2<f64>) -> Self {
        let (mut min, mut max, mut non_finite) = (f64::INFINITY, f64::NEG_INFINITY, 0);
        for &v in data.iter() {
            if v.is_finite() {
                min = min.min(v);
                max = max.max(v);
            } else {
                non_finite += 1;
            }
        }
        if min > max {
            (min, max) = (f64::NAN, f64::NAN);
        }
        Self {
            min,
            max,
            non_finite,
        }
    }
}

/// An 8-bit RGB raster, row-major from the top-left corner.
#[derive(Debug, Clone, PartialEq)]
pub struct RgbImage {
    /// Width in pixels.
    pub width: usize,
    /// Height in pixels.
    pub height: usize,
    /// `3 * width * height` bytes, RGB triples row by row.
    pub data: Vec<u8>,
}

impl RgbImage {
    /// A `width` x `height` image filled with `fill`.
    pub fn new(width: usize, height: usize, fill: Rgb) -> Self {
        Self {
            width,
            height,
            data: fill.repeat(width * height),
        }
    }

    /// Colour of pixel (`x` from the left, `y` from the top). Panics if out of range.
    pub fn pixel(&self, x: usize, y: usize) -> Rgb {
        let k = 3 * (y * self.width + x);
        [self.data[k], self.data[k + 1], self.data[k + 2]]
    }

    /// Sets pixel (`x`, `y`); out-of-range coordinates are ignored.
    pub fn set_pixel(&mut self, x: usize, y: usize, c: Rgb) {
        if x < self.width && y < self.height {
            let k = 3 * (y * self.width + x);
            self.data[k..k + 3].copy_from_slice(&c);
        }
    }

    /// Fills the `w` x `h` rectangle with top-left corner (`x`, `y`), clipped.
    pub fn fill_rect(&mut self, x: usize, y: usize, w: usize, h: usize, c: Rgb) {
        for yy in y..(y + h).min(self.height) {
            for xx in x..(x + w).min(self.width) {
                self.set_pixel(xx, yy, c);
            }
        }
    }

    /// Draws `text` with the built-in 5x7 font magnified `scale` times, top-left
    /// corner at (`x`, `y`); `g p q y` descend 2 rows below the 7-row cell.
    /// Characters without a glyph are drawn as `?`.
    pub fn draw_text(&mut self, x: usize, y: usize, text: &str, scale: usize, c: Rgb) {
        for (n, ch) in text.chars().enumerate() {
            let rows = glyph(ch);
            let x0 = x + n * 6 * scale;
            let y0 = y + if DESCENDERS.contains(ch) {
                2 * scale
            } else {
                0
            };
            for (r, bits) in rows.iter().enumerate() {
                for col in 0..5 {
                    if bits & (0x10 >> col) != 0 {
                        self.fill_rect(x0 + col * scale, y0 + r * scale, scale, scale, c);
                    }
                }
            }
        }
    }

    /// Encodes the image as an 8-bit RGB PNG.
    pub fn encode_png(&self) -> Result<Vec<u8>, RenderError> {
        let mut out = Vec::new();
        let mut enc = png::Encoder::new(&mut out, self.width as u32, self.height as u32);
        enc.set_color(png::ColorType::Rgb);
        enc.set_depth(png::BitDepth::Eight);
        let mut writer = enc.write_header()?;
        writer.write_image_data(&self.data)?;
        writer.finish()?;
        Ok(out)
    }

    /// Encodes the image as PNG and writes it to `path`.
    pub fn write_png(&self, path: &Path) -> Result<(), RenderError> {
        let bytes = self.encode_png()?;
        std::fs::write(path, bytes).map_err(|source| RenderError::Io {
            path: path.into(),
            source,
        })
    }
}

/// Width in pixels of `text` drawn with [`RgbImage::draw_text`] at `scale`.
pub fn text_width(text: &str, scale: usize) -> usize {
    let n = text.chars().count();
    if n == 0 {
        0
    } else {
        (6 * n - 1) * scale
    }
}

/// Glyphs drawn 2 rows lower than the others (descending below the baseline).
const DESCENDERS: &str = "gpqy";

/// 5x7 glyphs: 7 rows top to bottom, bit 4 (0x10) is the leftmost column.
#[rustfmt::skip]
const FONT: &[(char, [u8; 7])] = &[
    (' ', [0, 0, 0, 0, 0, 0, 0]),
    ('0', [0x0E, 0x11, 0x13, 0x15, 0x19, 0x11, 0x0E]), ('1', [0x04, 0x0C, 0x04, 0x04, 0x04, 0x04, 0x0E]),
    ('2', [0x0E, 0x11, 0x01, 0x02, 0x04, 0x08, 0x1F]), ('3', [0x1F, 0x02, 0x04, 0x02, 0x01, 0x11, 0x0E]),
    ('4', [0x02, 0x06, 0x0A, 0x12, 0x1F, 0x02, 0x02]), ('5', [0x1F, 0x10, 0x1E, 0x01, 0x01, 0x11, 0x0E]),
    ('6', [0x06, 0x08, 0x10, 0x1E, 0x11, 0x11, 0x0E]), ('7', [0x1F, 0x01, 0x02, 0x04, 0x08, 0x08, 0x08]),
    ('8', [0x0E, 0x11, 0x11, 0x0E, 0x11, 0x11, 0x0E]), ('9', [0x0E, 0x11, 0x11, 0x0F, 0x01, 0x02, 0x0C]),
    ('A', [0x0E, 0x11, 0x11, 0x11, 0x1F, 0x11, 0x11]), ('B', [0x1E, 0x11, 0x11, 0x1E, 0x11, 0x11, 0x1E]),
    ('C', [0x0E, 0x11, 0x10, 0x10, 0x10, 0x11, 0x0E]), ('D', [0x1C, 0x12, 0x11, 0x11, 0x11, 0x12, 0x1C]),
    ('E', [0x1F, 0x10, 0x10, 0x1E, 0x10, 0x10, 0x1F]), ('F', [0x1F, 0x10, 0x10, 0x1E, 0x10, 0x10, 0x10]),
    ('G', [0x0E, 0x11, 0x10, 0x17, 0x11, 0x11, 0x0F]), ('H', [0x11, 0x11, 0x11, 0x1F, 0x11, 0x11, 0x11]),
    ('I', [0x0E, 0x04, 0x04, 0x04, 0x04, 0x04, 0x0E]), ('J', [0x07, 0x02, 0x02, 0x02, 0x02, 0x12, 0x0C]),
    ('K', [0x11, 0x12, 0x14, 0x18, 0x14, 0x12, 0x11]), ('L', [0x10, 0x10, 0x10, 0x10, 0x10, 0x10, 0x1F]),
    ('M', [0x11, 0x1B, 0x15, 0x15, 0x11, 0x11, 0x11]), ('N', [0x11, 0x11, 0x19, 0x15, 0x13, 0x11, 0x11]),
    ('O', [0x0E, 0x11, 0x11, 0x11, 0x11, 0x11, 0x0E]), ('P', [0x1E, 0x11, 0x11, 0x1E, 0x10, 0x10, 0x10]),
    ('Q', [0x0E, 0x11, 0x11, 0x11, 0x15, 0x12, 0x0D]), ('R', [0x1E, 0x11, 0x11, 0x1E, 0x14, 0x12, 0x11]),
    ('S', [0x0F, 0x10, 0x10, 0x0E, 0x01, 0x01, 0x1E]), ('T', [0x1F, 0x04, 0x04, 0x04, 0x04, 0x04, 0x04]),
    ('U', [0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x0E]), ('V', [0x11, 0x11, 0x11, 0x11, 0x11, 0x0A, 0x04]),
    ('W', [0x11, 0x11, 0x11, 0x15, 0x15, 0x15, 0x0A]), ('X', [0x11, 0x11, 0x0A, 0x04, 0x0A, 0x11, 0x11]),
    ('Y', [0x11, 0x11, 0x11, 0x0A, 0x04, 0x04, 0x04]), ('Z', [0x1F, 0x01, 0x02, 0x04, 0x08, 0x10, 0x1F]),
    ('a', [0x00, 0x00, 0x0E, 0x01, 0x0F, 0x11, 0x0F]), ('b', [0x10, 0x10, 0x16, 0x19, 0x11, 0x11, 0x1E]),
    ('c', [0x00, 0x00, 0x0E, 0x10, 0x10, 0x11, 0x0E]), ('d', [0x01, 0x01, 0x0D, 0x13, 0x11, 0x11, 0x0F]),
    ('e', [0x00, 0x00, 0x0E, 0x11, 0x1F, 0x10, 0x0E]), ('f', [0x06, 0x09, 0x08, 0x1C, 0x08, 0x08, 0x08]),
    ('g', [0x0F, 0x11, 0x11, 0x11, 0x0F, 0x01, 0x0E]), ('h', [0x10, 0x10, 0x16, 0x19, 0x11, 0x11, 0x11]),
    ('i', [0x04, 0x00, 0x0C, 0x04, 0x04, 0x04, 0x0E]), ('j', [0x02, 0x00, 0x06, 0x02, 0x02, 0x12, 0x0C]),
    ('k', [0x10, 0x10, 0x12, 0x14, 0x18, 0x14, 0x12]), ('l', [0x0C, 0x04, 0x04, 0x04, 0x04, 0x04, 0x0E]),
    ('m', [0x00, 0x00, 0x1A, 0x15, 0x15, 0x11, 0x11]), ('n', [0x00, 0x00, 0x16, 0x19, 0x11, 0x11, 0x11]),
    ('o', [0x00, 0x00, 0x0E, 0x11, 0x11, 0x11, 0x0E]), ('p', [0x1E, 0x11, 0x11, 0x11, 0x1E, 0x10, 0x10]),
    ('q', [0x0F, 0x11, 0x11, 0x11, 0x0F, 0x01, 0x01]), ('r', [0x00, 0x00, 0x16, 0x19, 0x10, 0x10, 0x10]),
    ('s', [0x00, 0x00, 0x0E, 0x10, 0x0E, 0x01, 0x1E]), ('t', [0x08, 0x08, 0x1C, 0x08, 0x08, 0x09, 0x06]),
    ('u', [0x00, 0x00, 0x11, 0x11, 0x11, 0x13, 0x0D]), ('v', [0x00, 0x00, 0x11, 0x11, 0x11, 0x0A, 0x04]),
    ('w', [0x00, 0x00, 0x11, 0x11, 0x15, 0x15, 0x0A]), ('x', [0x00, 0x00, 0x11, 0x0A, 0x04, 0x0A, 0x11]),
    ('y', [0x11, 0x11, 0x11, 0x11, 0x0F, 0x01, 0x0E]), ('z', [0x00, 0x00, 0x1F, 0x02, 0x04, 0x08, 0x1F]),
    ('.', [0x00, 0x00, 0x00, 0x00, 0x00, 0x0C, 0x0C]), (',', [0x00, 0x00, 0x00, 0x00, 0x0C, 0x04, 0x08]),
    ('-', [0x00, 0x00, 0x00, 0x1F, 0x00, 0x00, 0x00]), ('+', [0x00, 0x04, 0x04, 0x1F, 0x04, 0x04, 0x00]),
    ('=', [0x00, 0x00, 0x1F, 0x00, 0x1F, 0x00, 0x00]), (':', [0x00, 0x0C, 0x0C, 0x00, 0x0C, 0x0C, 0x00]),
    ('(', [0x02, 0x04, 0x08, 0x08, 0x08, 0x04, 0x02]), (')', [0x08, 0x04, 0x02, 0x02, 0x02, 0x04, 0x08]),
    ('[', [0x0E, 0x08, 0x08, 0x08, 0x08, 0x08, 0x0E]), (']', [0x0E, 0x02, 0x02, 0x02, 0x02, 0x02, 0x0E]),
    ('/', [0x00, 0x01, 0x02, 0x04, 0x08, 0x10, 0x00]), ('_', [0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x1F]),
    ('<', [0x02, 0x04, 0x08, 0x10, 0x08, 0x04, 0x02]), ('>', [0x08, 0x04, 0x02, 0x01, 0x02, 0x04, 0x08]),
    ('?', [0x0E, 0x11, 0x01, 0x02, 0x04, 0x00, 0x04]),
];

fn glyph(c: char) -> [u8; 7] {
    let find = |c| FONT.iter().find(|(g, _)| *g == c).map(|(_, rows)| *rows);
    find(c).or_else(|| find('?')).unwrap_or([0; 7])
}

/// `v` in scientific notation with 3 decimals and a signed two-digit
/// exponent, e.g. `1.234e-02`.
pub fn format_sci(v: f64) -> String {
    if !v.is_finite() {
        return format!("{v}");
    }
    let s = format!("{v:.3e}");
    let (mant, exp) = s.split_once('e').unwrap_or((&s, "0"));
    let e: i32 = exp.parse().unwrap_or(0);
    format!("{mant}e{}{:02}", if e < 0 { '-' } else { '+' }, e.abs())
}

/// Compact label: up to 4 significant digits in plain notation for moderate
/// magnitudes, [`format_sci`] otherwise.
pub fn format_label(v: f64) -> String {
    if v == 0.0 {
        return "0".into();
    }
    let a = v.abs();
    if !(1e-3..1e5).contains(&a) {
        return format_sci(v);
    }
    let decimals = (3 - a.log10().floor() as i32).max(0) as usize;
    let s = format!("{v:.decimals$}");
    let s = if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.')
    } else {
        &s
    };
    s.to_string()
}

/// Text drawn around the plot.
#[derive(Debug, Clone, Default)]
pub struct Labels {
    /// First line, above the plot, e.g. `u  step 2000  t = 1.234e-02`.
    pub title: String,
    /// Optional line below the plot (e.g. axis orientation and extents).
    pub footer: Option<String>,
    /// NaN cells are empty space (drawn white, not counted as bad values): a picture of
    /// particles, where most pixels hold none.
    pub nan_is_empty: bool,
}

/// A rendered figure and what was measured while drawing it.
#[derive(Debug, Clone)]
pub struct Rendered {
    /// The complete figure.
    pub image: RgbImage,
    /// Statistics of the input data.
    pub stats: FieldStats,
    /// The colour scale used.
    pub scale: ColorScale,
    /// Plot area as (x, y, width, height) in image pixels.
    pub plot_rect: (usize, usize, usize, usize),
}

/// Target length of the plot's long side; smaller arrays are magnified by an
/// integer factor until the long side is at least this many pixels.
pub const MIN_LONG_SIDE: usize = 512;
/// Arrays longer than this along an axis are down-sampled (every k-th cell).
pub const MAX_LONG_SIDE: usize = 1024;
/// An axis shorter than this (after scaling) is stretched on its own.
pub const MIN_SHORT_SIDE: usize = 48;

/// Per-axis sampling `(num, den)`: output pixel `p` shows cell `p * num / den`.
type Sampling = (usize, usize);

fn out_len(n: usize, (num, den): Sampling) -> usize {
    (n * den).div_ceil(num)
}

fn samplings(rows: usize, cols: usize) -> [Sampling; 2] {
    let long = rows.max(cols);
    let common = if long > MAX_LONG_SIDE {
        (long.div_ceil(MAX_LONG_SIDE), 1)
    } else {
        (1, MIN_LONG_SIDE.div_ceil(long))
    };
    [rows, cols].map(|n| match out_len(n, common) < MIN_SHORT_SIDE {
        true => (1, MIN_SHORT_SIDE.div_ceil(n)),
        false => common,
    })
}

/// Size `(height, width)` in pixels of the plot area for a `rows` x `cols`
/// array: integer nearest-neighbour magnification so the long side reaches
/// [`MIN_LONG_SIDE`], down-sampling by an integer stride above
/// [`MAX_LONG_SIDE`], and a very thin axis stretched to [`MIN_SHORT_SIDE`].
pub fn plot_size(rows: usize, cols: usize) -> (usize, usize) {
    let [sr, sc] = samplings(rows, cols);
    (out_len(rows, sr), out_len(cols, sc))
}

const MARGIN: usize = 12;
const FONT_SCALE: usize = 2;
const LINE_H: usize = 7 * FONT_SCALE;
const BAR_GAP: usize = 16;
const BAR_W: usize = 24;
const TICK_LEN: usize = 5;
const MIN_BAR_H: usize = 160;

/// Renders `data` as a colour image with a colour bar and labels.
///
/// `data[[i, j]]` appears at row `i` from the top and column `j` from the
/// left. Below the title a second line gives the data min/max (and the count
/// of NaN/inf cells, drawn in [`NAN_COLOR`], if any).
pub fn render_field(data: ArrayView2<f64>, labels: &Labels) -> Result<Rendered, RenderError> {
    let (rows, cols) = data.dim();
    if rows == 0 || cols == 0 {
        return Err(RenderError::EmptyArray { rows, cols });
    }
    let stats = FieldStats::of(&data);
    let scale = ColorScale::from_range(stats.min, stats.max);
    let [sr, sc] = samplings(rows, cols);
    let (ph, pw) = (out_len(rows, sr), out_len(cols, sc));

    let mut info = format!(
        "min {}  max {}",
        format_sci(stats.min),
        format_sci(stats.max)
    );
    if stats.non_finite > 0 && !labels.nan_is_empty {
        info.push_str(&format!("  nan/inf: {}", stats.non_finite));
    }
    let bar_h = ph.max(MIN_BAR_H);
    let ticks = scale.ticks(if bar_h >= 200 { 5 } else { 3 });
    let tick_text: Vec<String> = ticks.iter().map(|&t| format_label(t)).collect();
    let label_w = tick_text
        .iter()
        .map(|t| text_width(t, FONT_SCALE))
        .max()
        .unwrap_or(0);

    let (px, py) = (MARGIN + 1, MARGIN + 3 * LINE_H + 1);
    let bar_x = px + pw + 1 + BAR_GAP;
    let footer_w = labels
        .footer
        .as_deref()
        .map_or(0, |f| text_width(f, FONT_SCALE));
    let width = (bar_x + BAR_W + 1 + TICK_LEN + 4 + label_w + MARGIN)
        .max(MARGIN * 2 + text_width(&labels.title, FONT_SCALE))
        .max(MARGIN * 2 + text_width(&info, FONT_SCALE))
        .max(MARGIN * 2 + footer_w);
    // The footer goes right under the plot when it does not reach the colour
    // bar's column, otherwise under both.
    let below = if footer_w <= pw + BAR_GAP {
        ph
    } else {
        ph.max(bar_h)
    };
    let footer_y = py + below + 1 + LINE_H * 3 / 4;
    let mut height = py + ph.max(bar_h) + 1 + MARGIN;
    if labels.footer.is_some() {
        height = height.max(footer_y + LINE_H + 2 * FONT_SCALE + MARGIN);
    }
    let mut img = RgbImage::new(width, height, WHITE);

    img.draw_text(MARGIN, MARGIN, &labels.title, FONT_SCALE, BLACK);
    img.draw_text(
        MARGIN,
        MARGIN + LINE_H + LINE_H / 2,
        &info,
        FONT_SCALE,
        [80, 80, 80],
    );

    // Plot area with a 1 px frame.
    img.fill_rect(px - 1, py - 1, pw + 2, ph + 2, BLACK);
    for y in 0..ph {
        let i = y * sr.0 / sr.1;
        for x in 0..pw {
            let v = data[[i, x * sc.0 / sc.1]];
            let c = if v.is_nan() && labels.nan_is_empty {
                WHITE
            } else {
                scale.color(v)
            };
            img.set_pixel(px + x, py + y, c);
        }
    }

    // Colour bar: top = hi, bottom = lo.
    img.fill_rect(bar_x - 1, py - 1, BAR_W + 2, bar_h + 2, BLACK);
    for y in 0..bar_h {
        let v = scale.hi - (scale.hi - scale.lo) * y as f64 / (bar_h - 1) as f64;
        img.fill_rect(bar_x, py + y, BAR_W, 1, scale.color(v));
    }
    for (t, text) in ticks.iter().zip(&tick_text) {
        let span = scale.hi - scale.lo;
        let frac = if span > 0.0 {
            (scale.hi - t) / span
        } else {
            0.5
        };
        let ty = py + (frac * (bar_h - 1) as f64).round() as usize;
        img.fill_rect(bar_x + BAR_W + 1, ty, TICK_LEN, 1, BLACK);
        let label_y = (ty + 1).saturating_sub(LINE_H / 2).max(MARGIN);
        img.draw_text(
            bar_x + BAR_W + 1 + TICK_LEN + 4,
            label_y,
            text,
            FONT_SCALE,
            BLACK,
        );
    }
    if let Some(footer) = &labels.footer {
        img.draw_text(MARGIN, footer_y, footer, FONT_SCALE, BLACK);
    }
    Ok(Rendered {
        image: img,
        stats,
        scale,
        plot_rect: (px, py, pw, ph),
    })
}

/// Renders a 1D field as a horizontal strip: index 0 at the left, each value a
/// column of colour ([`MIN_SHORT_SIDE`] px tall), with the same colour bar and
/// labels as [`render_field`].
pub fn render_strip(data: ArrayView1<f64>, labels: &Labels) -> Result<Rendered, RenderError> {
    render_field(data.insert_axis(Axis(0)), labels)
}

/// A convergence plot: `values[k]` (a residual norm after `k` iterations) relative to
/// `values[0]`, on a logarithmic axis, one point per iteration joined by lines, with
/// decade and iteration ticks and `title` above. Non-positive or non-finite values are
/// left out.
pub fn render_history(values: &[f64], title: &str) -> RgbImage {
    let (width, height) = (900usize, 560usize);
    let (left, right, top, bottom) = (110usize, 30usize, 60usize, 70usize);
    let (pw, ph) = (width - left - right, height - top - bottom);
    let white = [255, 255, 255];
    let ink = [30, 30, 30];
    let grid = [225, 225, 225];
    let line = [31, 119, 180];
    let mut img = RgbImage::new(width, height, white);
    let first = values.first().copied().unwrap_or(1.0);
    let logs: Vec<Option<f64>> = values
        .iter()
        .map(|&v| (v > 0.0 && v.is_finite() && first > 0.0).then(|| (v / first).log10()))
        .collect();
    let known: Vec<f64> = logs.iter().flatten().copied().collect();
    let lo = known
        .iter()
        .copied()
        .fold(0.0f64, f64::min)
        .floor()
        .min(-1.0);
    let hi = known.iter().copied().fold(0.0f64, f64::max).ceil();
    let last = values.len().saturating_sub(1).max(1);
    let x_of = |k: usize| left + k * pw / last;
    let y_of = |l: f64| top + ((hi - l) / (hi - lo) * ph as f64).round() as usize;
    // decades
    let mut decade = hi;
    while decade >= lo {
        let y = y_of(decade);
        img.fill_rect(left, y, pw, 1, grid);
        let label = format!("1e{}", decade as i64);
        img.draw_text(
            left - 12 - text_width(&label, 2),
            y.saturating_sub(7),
            &label,
            2,
            ink,
        );
        decade -= 1.0;
    }
    // iteration ticks: about ten
    let step = [1usize, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000]
        .into_iter()
        .find(|s| last / s <= 10)
        .unwrap_or(10_000);
    for k in (0..=last).step_by(step) {
        let x = x_of(k);
        img.fill_rect(x, top + ph, 1, 8, ink);
        let label = k.to_string();
        img.draw_text(
            x.saturating_sub(text_width(&label, 2) / 2),
            top + ph + 14,
            &label,
            2,
            ink,
        );
    }
    img.fill_rect(left, top, 2, ph + 1, ink);
    img.fill_rect(left, top + ph, pw, 2, ink);
    // the history
    let points: Vec<(usize, usize)> = logs
        .iter()
        .enumerate()
        .filter_map(|(k, l)| l.map(|l| (x_of(k), y_of(l))))
        .collect();
    for pair in points.windows(2) {
        let ((x0, y0), (x1, y1)) = (pair[0], pair[1]);
        let n = x1.abs_diff(x0).max(y1.abs_diff(y0)).max(1);
        for s in 0..=n {
            let x = x0 as f64 + (x1 as f64 - x0 as f64) * s as f64 / n as f64;
            let y = y0 as f64 + (y1 as f64 - y0 as f64) * s as f64 / n as f64;
            img.fill_rect(x.round() as usize, y.round() as usize, 2, 2, line);
        }
    }
    if points.len() <= 60 {
        for &(x, y) in &points {
            img.fill_rect(x.saturating_sub(3), y.saturating_sub(3), 7, 7, line);
        }
    }
    img.draw_text(left, 8, title, 2, ink);
    let xlabel = "iteration";
    img.draw_text(
        left + pw / 2 - text_width(xlabel, 2) / 2,
        height - 30,
        xlabel,
        2,
        ink,
    );
    img.draw_text(8, top - 24, "residual / initial", 2, ink);
    img
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::Array2;

    #[test]
    fn viridis_end_points() {
        assert_eq!(viridis(0.0), [0x44, 0x01, 0x54]);
        assert_eq!(viridis(1.0), [0xfd, 0xe7, 0x25]);
        assert_eq!(viridis(-3.0), viridis(0.0));
        assert_eq!(viridis(7.0), viridis(1.0));
        assert_eq!(viridis(0.5), [0x21, 0x91, 0x8c]);
    }

    #[test]
    fn diverging_is_symmetric() {
        assert_eq!(diverging(0.0), [255, 255, 255]);
        assert_eq!(diverging(1.0), [178, 24, 43]);
        assert_eq!(diverging(-1.0), [43, 24, 178]);
        for k in 0..=20 {
            let t = k as f64 / 20.0;
            let [r, g, b] = diverging(t);
            assert_eq!(diverging(-t), [b, g, r]);
            assert!(r >= b);
        }
        let s = ColorScale::from_range(-0.25, 2.0);
        assert_eq!(s.map, ColorMap::Diverging);
        assert_eq!((s.lo, s.hi), (-2.0, 2.0));
        assert_eq!(s.color(0.0), [255, 255, 255]);
        let [r, g, b] = s.color(1.5);
        assert_eq!(s.color(-1.5), [b, g, r]);
        assert_eq!(ColorScale::from_range(0.0, 3.0).map, ColorMap::Viridis);
        assert_eq!(ColorScale::from_range(-3.0, -1.0).map, ColorMap::Viridis);
        assert_eq!(s.color(f64::NAN), NAN_COLOR);
    }

    #[test]
    fn image_size_and_known_pixel() {
        // 100 x 60: magnified 6x -> 600 x 360 plot (height x width).
        let mut a = Array2::from_shape_fn((100, 60), |(i, j)| (i + j) as f64);
        a[[0, 0]] = f64::NAN;
        assert_eq!(plot_size(100, 60), (600, 360));
        let r = render_field(a.view(), &Labels::default()).unwrap();
        let (px, py, pw, ph) = r.plot_rect;
        assert_eq!((pw, ph), (360, 600));
        assert!(r.image.width > px + pw && r.image.height > py + ph);
        assert_eq!(r.image.data.len(), 3 * r.image.width * r.image.height);
        assert_eq!(r.stats.non_finite, 1);
        assert_eq!((r.stats.min, r.stats.max), (1.0, 158.0));
        // Top-left cell is NaN; the bottom-right cell (99, 59) is the maximum.
        assert_eq!(r.image.pixel(px + 2, py + 2), NAN_COLOR);
        assert_eq!(r.image.pixel(px + pw - 1, py + ph - 1), viridis(1.0));
        // Cell (1, 0) = 1 is the minimum; it is 6 px below the top.
        assert_eq!(r.image.pixel(px, py + 6), viridis(0.0));
    }

    #[test]
    fn sampling_rules() {
        assert_eq!(plot_size(3000, 10), (1000, 50));
        assert_eq!(plot_size(1, 200), (48, 600));
        assert_eq!(plot_size(512, 512), (512, 512));
        assert_eq!(plot_size(2048, 1024), (1024, 512));
        let e = render_field(Array2::<f64>::zeros((0, 4)).view(), &Labels::default());
        assert!(matches!(
            e,
            Err(RenderError::EmptyArray { rows: 0, cols: 4 })
        ));
    }

    #[test]
    fn png_round_trip() {
        let a = Array2::from_shape_fn((8, 5), |(i, j)| i as f64 - j as f64);
        let labels = Labels {
            title: "all glyphs: 0123456789 abc.xyz ABC-XYZ +=:()[]/_<>?".into(),
            footer: Some("footer".into()),
            nan_is_empty: false,
        };
        let img = render_field(a.view(), &labels).unwrap().image;
        let bytes = img.encode_png().unwrap();
        let mut reader = png::Decoder::new(std::io::Cursor::new(bytes))
            .read_info()
            .unwrap();
        let mut buf = vec![0; reader.output_buffer_size()];
        let info = reader.next_frame(&mut buf).unwrap();
        assert_eq!(
            (info.width as usize, info.height as usize),
            (img.width, img.height)
        );
        assert_eq!(info.color_type, png::ColorType::Rgb);
        assert_eq!(&buf[..info.buffer_size()], &img.data[..]);
    }

    #[test]
    fn number_formats() {
        assert_eq!(format_sci(0.01234), "1.234e-02");
        assert_eq!(format_sci(2000.0), "2.000e+03");
        assert_eq!(format_label(0.5), "0.5");
        assert_eq!(format_label(-1.0), "-1");
        assert_eq!(format_label(123.456), "123.5");
        assert_eq!(format_label(1e-7), "1.000e-07");
        assert!(FONT
            .iter()
            .all(|(c, _)| glyph(*c) != glyph('?') || *c == '?'));
    }
}
