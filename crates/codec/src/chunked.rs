//! Chunked coding: how a compressor body uses the threads `pressio:nthreads` gives it.
//!
//! A field of more values than a chunk holds (`<plugin>:chunk_values`, default
//! [`CHUNK_VALUES`]) is cut into a grid of near-cubic chunks ([`ChunkGrid`]); the body codes
//! every chunk as a field of its own, on the current rayon pool when it may fan out, and decodes
//! them the same way. The grid depends on the dims and the chunk size alone, never on the thread
//! count, so a stream is byte-identical whatever `pressio:nthreads` wrote it, and the grid is
//! stored in the stream, so any thread count and any chunk size setting decodes it. A field that
//! fits one chunk is coded exactly as the body codes it alone (no section added).
//!
//! Sections (inside the envelope's container):
//!
//! ```text
//! CHNK  grid version u8 (1) | dimension count u8 | parts per dimension varint (fastest first)
//! CHKD  one per chunk, in chunk order (the fastest dimension's part varies fastest):
//!       section count varint | (tag [u8; 4] | length varint | bytes) per body section
//! ```
//!
//! Chunks cost ratio at their faces (predictions there have fewer neighbours) and in per-chunk
//! tables (Huffman trees, backend headers); the scaling benchmark (`pressio-ml bench --threads`)
//! measures it against `chunk_values = 0` (never cut).

use crate::bytes::{ByteReader, ByteWriter};
use crate::container::{ParsedStream, Section, Tag};
use crate::field::{normalized_dims, FieldCodec, Float};
use pressio_ml_core::{Key, PressioError, Result};
use rayon::prelude::*;

/// Section holding the chunk grid.
pub const TAG_GRID: Tag = Tag(*b"CHNK");
/// Section holding one chunk's body sections.
pub const TAG_CHUNK: Tag = Tag(*b"CHKD");

/// Default most values in one chunk: fields above this are cut. 2^22 values (16 MB of `f32`): a
/// 115 MB field becomes 8 chunks, a 1 GB field 64. (2^21 doubled the chunks of a 115 MB field
/// and cost sz3 2.1% of its ratio on CESM TREFHT at 1e-3 against 1.4% at 2^22.)
pub const CHUNK_VALUES: u64 = 1 << 22;
/// Smallest chunk size a plugin accepts (besides 0, never cut).
pub const MIN_CHUNK_VALUES: u64 = 1024;

/// The `<plugin>:chunk_values` option (uint64) over a plugin's state: the most values a chunk
/// holds, 0 to never cut. Every chunked plugin declares it with this, under its own prefix;
/// `note` ends its documentation (what differs for the plugin, or nothing).
pub fn chunk_values_key<S: 'static>(
    key: &'static str,
    note: &'static str,
    get: fn(&S) -> u64,
    set: fn(&mut S, u64),
) -> Key<S, u64> {
    Key::field(
        key,
        format!(
            "most values in one chunk: bigger fields are cut into near-cubic chunks coded \
             independently, in parallel on pressio:nthreads threads (the stream does not depend \
             on the thread count); 0 never cuts (one chunk, serial body, best ratio); at least \
             {MIN_CHUNK_VALUES} otherwise; default {CHUNK_VALUES}{note}"
        ),
        get,
        set,
    )
    .check(
        |v| *v == 0 || *v >= MIN_CHUNK_VALUES,
        format!("must be 0 (never cut) or at least {MIN_CHUNK_VALUES}"),
    )
    .error_agnostic()
}
/// Most chunks in one stream (bigger fields get bigger chunks).
pub const MAX_CHUNKS: usize = 1024;

const GRID_VERSION: u8 = 1;

/// How a plugin wants big fields cut.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChunkRule {
    /// Near-cubic chunks of at most this many values (0: never cut): the largest chunk extent
    /// is halved, the slowest dimension on ties, and chunk faces fall on multiples of 4 where
    /// the extents allow (zfp's block size).
    Values(u64),
    /// Fields of three or more dimensions are folded into three (the slowest merged, as SPERR
    /// sees them) and cut the way SPERR cuts a volume into its chunks with these preferred
    /// extents (x, y, z): `D / c` pieces along each axis (one more when the rest exceeds
    /// `c / 2`), starting at multiples of `c`, the last taking the rest. Fields of fewer
    /// dimensions follow `Values(otherwise)`.
    Volumes {
        /// Preferred chunk extents, x fastest.
        extents: [usize; 3],
        /// The rule for slices and lines.
        otherwise: u64,
    },
}

/// Fold `dims` (fastest first) into `n` dimensions by merging the slowest ones.
fn fold(dims: &[usize], n: usize) -> Vec<usize> {
    if dims.len() <= n {
        return dims.to_vec();
    }
    let mut out = dims[..n - 1].to_vec();
    out.push(dims[n - 1..].iter().product());
    out
}

/// A grid of chunks over a field, over the field's dims or a folding of them: along every
/// dimension `parts` pieces, piece `j` starting at `j * step`, the last reaching the end.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChunkGrid {
    dims: Vec<usize>,
    parts: Vec<usize>,
    steps: Vec<usize>,
}

/// One chunk of a [`ChunkGrid`]: where it starts and how far it reaches in every dimension.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chunk {
    /// First coordinate in every dimension of the grid (fastest first).
    pub start: Vec<usize>,
    /// Extent in every dimension of the grid (fastest first).
    pub extent: Vec<usize>,
}

impl Chunk {
    /// Number of values in the chunk.
    pub fn len(&self) -> usize {
        self.extent.iter().product()
    }

    /// True when the chunk holds no value (never for a planned grid).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl ChunkGrid {
    /// The grid `rule` gives a field of normalized `dims` (fastest first); never more than
    /// [`MAX_CHUNKS`] chunks.
    pub fn plan(dims: &[usize], rule: ChunkRule) -> ChunkGrid {
        match rule {
            ChunkRule::Volumes { extents, .. } if dims.len() >= 3 => {
                let dims = fold(dims, 3);
                // SPERR's rule, with the extents doubled while the grid has too many chunks
                let mut scale = 1usize;
                loop {
                    let steps: Vec<usize> = (0..3)
                        .map(|d| extents[d].saturating_mul(scale).clamp(1, dims[d]))
                        .collect();
                    let parts: Vec<usize> = (0..3)
                        .map(|d| {
                            let (n, c) = (dims[d], steps[d]);
                            (n / c + usize::from(n % c > c / 2)).max(1)
                        })
                        .collect();
                    if parts.iter().product::<usize>() <= MAX_CHUNKS {
                        return ChunkGrid { dims, parts, steps };
                    }
                    scale *= 2;
                }
            }
            ChunkRule::Volumes { otherwise, .. } => Self::near_cubic(dims, otherwise),
            ChunkRule::Values(v) => Self::near_cubic(dims, v),
        }
    }

    fn near_cubic(dims: &[usize], max_values: u64) -> ChunkGrid {
        let mut parts = vec![1usize; dims.len()];
        let max_values = usize::try_from(max_values).unwrap_or(usize::MAX);
        loop {
            if max_values == 0 {
                break;
            }
            let extent = |d: usize| dims[d].div_ceil(parts[d]);
            let volume = (0..dims.len()).try_fold(1usize, |a, d| a.checked_mul(extent(d)));
            if volume.is_some_and(|v| v <= max_values) {
                break;
            }
            // max_by_key keeps the last of equal keys: the slowest dimension on ties
            let Some(d) = (0..dims.len()).max_by_key(|&d| extent(d)) else {
                break;
            };
            let next = (parts[d] * 2).min(dims[d]);
            let count: usize = parts.iter().product();
            if next == parts[d] || count / parts[d] * next > MAX_CHUNKS {
                break;
            }
            parts[d] = next;
        }
        // steps on multiples of 4 where that leaves no piece empty, then the pieces recounted
        let steps: Vec<usize> = (0..dims.len())
            .map(|d| {
                let even = dims[d].div_ceil(parts[d]);
                let aligned = even.next_multiple_of(4);
                if parts[d] == 1 {
                    dims[d]
                } else if (parts[d] - 1) * aligned < dims[d] {
                    aligned
                } else {
                    even
                }
            })
            .collect();
        let parts = (0..dims.len())
            .map(|d| dims[d].div_ceil(steps[d]))
            .collect();
        ChunkGrid {
            dims: dims.to_vec(),
            parts,
            steps,
        }
    }

    /// Number of chunks.
    pub fn count(&self) -> usize {
        self.parts.iter().product()
    }

    /// Pieces per dimension of the grid (fastest first).
    pub fn parts(&self) -> &[usize] {
        &self.parts
    }

    /// The dims the grid cuts: the field's, or their folding.
    pub fn dims(&self) -> &[usize] {
        &self.dims
    }

    fn bounds(&self, d: usize, j: usize) -> (usize, usize) {
        let start = j * self.steps[d];
        let end = if j + 1 == self.parts[d] {
            self.dims[d]
        } else {
            start + self.steps[d]
        };
        (start, end)
    }

    /// The piece of dimension `d` holding coordinate `c`.
    fn part_of(&self, d: usize, c: usize) -> usize {
        (c / self.steps[d]).min(self.parts[d] - 1)
    }

    /// Chunk `i` (the fastest dimension's piece varies fastest).
    pub fn chunk(&self, mut i: usize) -> Chunk {
        let mut start = Vec::with_capacity(self.dims.len());
        let mut extent = Vec::with_capacity(self.dims.len());
        for d in 0..self.dims.len() {
            let j = i % self.parts[d];
            i /= self.parts[d];
            let (a, b) = self.bounds(d, j);
            start.push(a);
            extent.push(b - a);
        }
        Chunk { start, extent }
    }

    fn write(&self) -> Vec<u8> {
        let mut w = ByteWriter::new();
        w.put_u8(GRID_VERSION);
        w.put_u8(self.parts.len() as u8);
        for (&p, &s) in self.parts.iter().zip(&self.steps) {
            w.put_varint(p as u64);
            w.put_varint(s as u64);
        }
        w.into_inner()
    }

    /// Read a grid section for a field of normalized `dims`, refusing grids that do not fit
    /// the field (or its folding into the grid's dimension count).
    fn read(bytes: &[u8], dims: &[usize]) -> Result<ChunkGrid> {
        let mut r = ByteReader::new(bytes, "chunk grid");
        let version = r.u8()?;
        if version != GRID_VERSION {
            return Err(PressioError::StreamMismatch(format!(
                "chunk grid version {version}, this build reads version {GRID_VERSION}"
            )));
        }
        let nd = r.u8()? as usize;
        if nd == 0 || nd > dims.len() {
            return Err(PressioError::corrupt(format!(
                "chunk grid has {nd} dimensions, the field {}",
                dims.len()
            )));
        }
        let dims = fold(dims, nd);
        let mut parts = Vec::with_capacity(nd);
        let mut steps = Vec::with_capacity(nd);
        let mut count = 1usize;
        for &d in &dims {
            let p = r.varint_usize(d)?;
            let step = r.varint_usize(d)?;
            count = count.saturating_mul(p);
            if p == 0 || step == 0 || count > MAX_CHUNKS || (p - 1) * step >= d {
                return Err(PressioError::corrupt("chunk grid out of range"));
            }
            parts.push(p);
            steps.push(step);
        }
        r.finish()?;
        Ok(ChunkGrid { dims, parts, steps })
    }
}

/// Copy a chunk's values out of the whole field (`dims`, fastest first) into `out` (emptied
/// first).
fn gather<T: Copy>(field: &[T], dims: &[usize], chunk: &Chunk, out: &mut Vec<T>) {
    out.clear();
    out.reserve(chunk.len());
    let nd = dims.len();
    let mut at = vec![0usize; nd];
    let rows: usize = chunk.extent[1..].iter().product();
    for _ in 0..rows {
        let mut offset = chunk.start[0];
        let mut stride = dims[0];
        for ((&start, &at), &n) in chunk.start.iter().zip(&at).zip(dims).skip(1) {
            offset += (start + at) * stride;
            stride *= n;
        }
        out.extend_from_slice(&field[offset..offset + chunk.extent[0]]);
        for (at, &extent) in at.iter_mut().zip(&chunk.extent).skip(1) {
            *at += 1;
            if *at < extent {
                break;
            }
            *at = 0;
        }
    }
}

/// The whole field's output cut into each chunk's pieces: `out[i]` holds chunk `i`'s runs along
/// the fastest dimension, in the chunk's own order, so a chunk decoded into a buffer of its own
/// is copied into the field by pairing the buffer's rows with them. The pieces are disjoint
/// borrows of `out`, so every chunk can be copied in from its own thread.
fn pieces<'o, T>(grid: &ChunkGrid, out: &'o mut [T]) -> Vec<Vec<&'o mut [T]>> {
    let dims = &grid.dims;
    let mut pieces: Vec<Vec<&'o mut [T]>> = (0..grid.count()).map(|_| Vec::new()).collect();
    for (r, row) in out.chunks_mut(dims[0]).enumerate() {
        // the chunk index over the slower dimensions
        let mut rest = r;
        let mut chunk_base = 0usize;
        let mut chunk_stride = grid.parts[0];
        for (d, &n) in dims.iter().enumerate().skip(1) {
            let c = rest % n;
            rest /= n;
            chunk_base += grid.part_of(d, c) * chunk_stride;
            chunk_stride *= grid.parts[d];
        }
        let mut row = row;
        for j0 in 0..grid.parts[0] {
            let (a, b) = grid.bounds(0, j0);
            let (head, tail) = row.split_at_mut(b - a);
            pieces[chunk_base + j0].push(head);
            row = tail;
        }
    }
    pieces
}

fn pack(sections: &[Section]) -> Vec<u8> {
    let mut w = ByteWriter::with_capacity(crate::container::sections_len(sections) + 8);
    w.put_varint(sections.len() as u64);
    for s in sections {
        w.put_bytes(&s.tag.0);
        w.put_varint(s.data.len() as u64);
        w.put_bytes(&s.data);
    }
    w.into_inner()
}

fn unpack(bytes: &[u8]) -> Result<Vec<(Tag, &[u8])>> {
    let mut r = ByteReader::new(bytes, "chunk");
    let n = r.varint_usize(crate::container::MAX_SECTIONS)?;
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        let tag = Tag(r
            .bytes(4)?
            .try_into()
            .map_err(|_| PressioError::corrupt("chunk section tag"))?);
        out.push((tag, r.len_bytes()?));
    }
    r.finish()?;
    Ok(out)
}

/// Run `f` on `nthreads` threads ([`crate::threads::with_threads`]) with a chunked body whose
/// whole-field and chunk bodies all come from `make`.
pub fn run<C, M, R>(
    plugin: &str,
    nthreads: u32,
    rule: ChunkRule,
    make: M,
    f: impl FnOnce(&mut Chunked<C, &M>) -> Result<R> + Send,
) -> Result<R>
where
    C: FieldCodec + Send,
    M: Fn() -> C + Sync,
    R: Send,
{
    crate::threads::with_threads(plugin, nthreads, |parallel| {
        let mut codec = Chunked::new(make(), &make, parallel, rule);
        f(&mut codec)
    })
}

/// A body that codes big fields chunk by chunk ([`ChunkGrid`]), in parallel when allowed.
///
/// `whole` codes fields of one chunk and decodes streams without a grid (those of older builds
/// included); `make` gives a fresh body for every chunk, which runs on whatever thread rayon
/// picks.
pub struct Chunked<C, F> {
    /// The body for single-chunk fields and grid-less streams.
    pub whole: C,
    make: F,
    parallel: bool,
    rule: ChunkRule,
    used_model: bool,
}

impl<C, F> Chunked<C, F>
where
    C: FieldCodec + Send,
    F: Fn() -> C + Sync,
{
    /// Chunked coding around `whole`, with `make` for the chunks `rule` cuts; `parallel` lets
    /// the chunks run on the current rayon pool.
    pub fn new(whole: C, make: F, parallel: bool, rule: ChunkRule) -> Self {
        Chunked {
            whole,
            make,
            parallel,
            rule,
            used_model: false,
        }
    }

    /// `f(body, buffer, i)` for every chunk `i`, results in chunk order. A body and a buffer
    /// serve every chunk a worker takes (so their allocations are reused; the results do not
    /// depend on which chunks share them).
    fn each<T: Float, R: Send>(
        &self,
        count: usize,
        f: impl Fn(&mut C, &mut Vec<T>, usize) -> Result<R> + Sync + Send,
    ) -> Result<Vec<R>> {
        let make = &self.make;
        let init = || (make(), Vec::new());
        let run = |(body, buffer): &mut (C, Vec<T>), i: usize| f(body, buffer, i);
        if self.parallel {
            (0..count).into_par_iter().map_init(init, run).collect()
        } else {
            let mut state = init();
            (0..count).map(|i| run(&mut state, i)).collect()
        }
    }
}

impl<C, F> FieldCodec for Chunked<C, F>
where
    C: FieldCodec + Send,
    F: Fn() -> C + Sync,
{
    fn encode<T: Float>(&mut self, values: &[T], dims: &[usize], abs: f64) -> Result<Vec<Section>> {
        let grid = ChunkGrid::plan(dims, self.rule);
        if grid.count() == 1 {
            let s = self.whole.encode(values, dims, abs)?;
            self.used_model = self.whole.uses_model();
            return Ok(s);
        }
        self.whole.prepare_chunks(values, dims, abs)?;
        let coded = self.each(grid.count(), |body, part: &mut Vec<T>, i| {
            let chunk = grid.chunk(i);
            gather(values, grid.dims(), &chunk, part);
            let sections = body.encode(part, &normalized_dims(&chunk.extent), abs)?;
            Ok((pack(&sections), body.uses_model()))
        })?;
        self.used_model = coded.iter().any(|(_, m)| *m);
        let mut out = Vec::with_capacity(coded.len() + 1);
        out.push(Section::new(TAG_GRID, grid.write()));
        out.extend(coded.into_iter().map(|(b, _)| Section::new(TAG_CHUNK, b)));
        Ok(out)
    }

    fn uses_model(&self) -> bool {
        self.used_model
    }

    fn parallel(&self) -> bool {
        self.parallel
    }

    fn decode<T: Float>(
        &mut self,
        stream: &ParsedStream<'_>,
        dims: &[usize],
        abs: f64,
        out: &mut [T],
    ) -> Result<()> {
        let Some(grid_bytes) = stream.optional_section(TAG_GRID) else {
            return self.whole.decode(stream, dims, abs, out);
        };
        let grid = ChunkGrid::read(grid_bytes, dims)?;
        let bodies: Vec<&[u8]> = stream
            .sections()
            .iter()
            .filter(|(t, _)| *t == TAG_CHUNK)
            .map(|(_, b)| *b)
            .collect();
        if bodies.len() != grid.count() {
            return Err(PressioError::corrupt(format!(
                "chunk grid of {} chunks, stream holds {}",
                grid.count(),
                bodies.len()
            )));
        }
        // each chunk is decoded into its worker's buffer and copied into its own pieces of `out`
        let work = |(body, buffer): &mut (C, Vec<T>), (i, mut dest): (usize, Vec<&mut [T]>)| {
            let chunk = grid.chunk(i);
            let sub = ParsedStream::assembled(stream.header.clone(), unpack(bodies[i])?);
            buffer.clear();
            buffer.resize(chunk.len(), T::default());
            body.decode(&sub, &normalized_dims(&chunk.extent), abs, buffer)?;
            for (piece, row) in dest.iter_mut().zip(buffer.chunks(chunk.extent[0])) {
                piece.copy_from_slice(row);
            }
            Ok(())
        };
        let make = &self.make;
        let init = || (make(), Vec::new());
        let dest = pieces(&grid, out);
        if self.parallel {
            dest.into_par_iter()
                .enumerate()
                .map_init(init, work)
                .collect::<Result<()>>()
        } else {
            let mut state = init();
            dest.into_iter()
                .enumerate()
                .try_for_each(|job| work(&mut state, job))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan_values(dims: &[usize], v: u64) -> ChunkGrid {
        ChunkGrid::plan(dims, ChunkRule::Values(v))
    }

    #[test]
    fn small_fields_are_one_chunk_and_big_ones_near_cubic() {
        const SIZE: u64 = 1 << 21;
        let plan = |dims: &[usize]| ChunkGrid::plan(dims, ChunkRule::Values(SIZE));
        assert_eq!(plan(&[1000, 1000]).count(), 1);
        assert_eq!(plan(&[SIZE as usize]).count(), 1);
        let g = plan(&[128, 64, 110, 32]);
        assert_eq!(g.parts(), &[4, 2, 2, 1]);
        let g = plan(&[512, 512, 512]);
        assert_eq!(g.parts(), &[4, 4, 4]);
        assert!((0..g.count()).all(|i| g.chunk(i).len() as u64 <= SIZE));
        // the default: a 115 MB field in 8 chunks
        let g = plan_values(&[128, 64, 110, 32], CHUNK_VALUES);
        assert_eq!(g.parts(), &[2, 2, 2, 1]);
        // ties go to the slowest dimension
        assert_eq!(plan(&[2048, 2048]).parts(), &[1, 2]);
        // a one-dimensional field is cut along its only dimension, never past MAX_CHUNKS
        let g = plan(&[usize::MAX / 2]);
        assert!(g.count() <= MAX_CHUNKS && g.count() > 1);
        // 0 never cuts; small chunk sizes cut small fields
        assert_eq!(plan_values(&[512, 512, 512], 0).count(), 1);
        assert_eq!(plan_values(&[64, 64], 1024).parts(), &[2, 2]);
        // faces on multiples of 4 where the extents allow
        let g = plan_values(&[1000, 10], 1024);
        assert_eq!(g.parts(), &[16, 1]);
        assert_eq!(g.chunk(1).start, vec![64, 0]);
        assert_eq!(g.chunk(15).extent, vec![1000 - 15 * 64, 10]);
        let g = plan_values(&[9], 1024);
        assert_eq!(g.count(), 1);
        // SPERR's volumes: 880 = 3 x 256 + 112 (112 <= 128: no fourth piece), 4-D folded to 3-D
        let g = ChunkGrid::plan(
            &[128, 64, 110, 8],
            ChunkRule::Volumes {
                extents: [256; 3],
                otherwise: CHUNK_VALUES,
            },
        );
        assert_eq!((g.dims(), g.parts()), (&[128, 64, 880][..], &[1, 1, 3][..]));
        assert_eq!(g.chunk(2).extent, vec![128, 64, 880 - 512]);
        let g = ChunkGrid::plan(
            &[128, 64, 900],
            ChunkRule::Volumes {
                extents: [256; 3],
                otherwise: 0,
            },
        );
        assert_eq!(g.parts(), &[1, 1, 4]);
        let g = ChunkGrid::plan(
            &[4096, 4096],
            ChunkRule::Volumes {
                extents: [256; 3],
                otherwise: 0,
            },
        );
        assert_eq!(g.count(), 1);
    }

    #[test]
    fn gathered_chunks_and_output_pieces_tile_the_field_exactly() {
        for dims in [vec![7usize], vec![5, 3], vec![4, 3, 5], vec![3, 2, 2, 3]] {
            let n: usize = dims.iter().product();
            let field: Vec<u32> = (0..n as u32).collect();
            // a grid cutting every dimension as finely as it allows
            let grid = ChunkGrid {
                dims: dims.clone(),
                parts: dims.iter().map(|&d| d.min(2)).collect(),
                steps: dims.iter().map(|&d| d.div_ceil(2)).collect(),
            };
            let parts: Vec<Vec<u32>> = (0..grid.count())
                .map(|i| {
                    let mut part = vec![7];
                    gather(&field, &dims, &grid.chunk(i), &mut part);
                    part
                })
                .collect();
            assert_eq!(parts.iter().map(Vec::len).sum::<usize>(), n);
            let mut back = vec![u32::MAX; n];
            for (piece_list, part) in pieces(&grid, &mut back).into_iter().zip(&parts) {
                let rows: Vec<&[u32]> = part.chunks(part.len() / piece_list.len()).collect();
                assert_eq!(rows.len(), piece_list.len());
                for (piece, row) in piece_list.into_iter().zip(rows) {
                    piece.copy_from_slice(row);
                }
            }
            assert_eq!(back, field, "{dims:?}");
        }
    }

    #[test]
    fn grid_sections_are_checked() {
        let g = plan_values(&[4096, 4096], CHUNK_VALUES);
        let bytes = g.write();
        assert_eq!(ChunkGrid::read(&bytes, &[4096, 4096]).unwrap(), g);
        assert!(ChunkGrid::read(&bytes, &[4096]).is_err());
        assert!(ChunkGrid::read(&bytes, &[4096, 1]).is_err());
        // a folded grid is read against the folding of the field's dims
        let folded = ChunkGrid::plan(
            &[64, 64, 300, 2],
            ChunkRule::Volumes {
                extents: [64; 3],
                otherwise: 0,
            },
        );
        assert_eq!(folded.parts(), &[1, 1, 9]);
        assert_eq!(
            ChunkGrid::read(&folded.write(), &[64, 64, 300, 2]).unwrap(),
            folded
        );
        assert!(ChunkGrid::read(&folded.write(), &[64, 64, 100, 2]).is_err());
        assert!(ChunkGrid::read(&bytes[..bytes.len() - 1], &[4096, 4096]).is_err());
        let mut other = bytes.clone();
        other[0] = 9;
        assert!(ChunkGrid::read(&other, &[4096, 4096]).is_err());
        let packed = pack(&[Section::new(Tag(*b"ABCD"), vec![1, 2, 3])]);
        assert_eq!(
            unpack(&packed).unwrap(),
            vec![(Tag(*b"ABCD"), &[1u8, 2, 3][..])]
        );
        assert!(unpack(&packed[..packed.len() - 1]).is_err());
    }
}
