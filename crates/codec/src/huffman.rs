//! Canonical, length-limited Huffman coding of `u32` symbols (quantization codes).
//!
//! # Stream layout
//!
//! All integers are LEB128 varints unless noted.
//!
//! ```text
//! n                          number of symbols
//! (n == 0: nothing follows)
//! mode (u8)                  0 = a single distinct symbol, 1 = sparse table, 2 = dense table
//! mode 0: symbol             every symbol equals it; no bit stream follows
//! mode 1: k, then k x (gap, len u8)     used symbols ascending, gap to the previous + 1
//! mode 2: lo, span, then span x len u8  lengths of symbols lo..lo+span (0 = unused)
//! chunks                     number of chunks (each CHUNK_SYMBOLS symbols, the last shorter)
//! chunks x byte length       byte length of each chunk's bit stream
//! chunk bit streams          MSB-first canonical codes, each chunk padded to a byte
//! ```
//!
//! Chunks are independent, so encoding and decoding parallelize without changing a byte of the
//! output (the chunk size is fixed, not derived from the thread count). Code lengths are limited
//! to [`MAX_CODE_LEN`] bits. Decoding uses a [`TABLE_BITS`]-bit lookup table and a canonical
//! fallback for longer codes. The caller typically passes the result through zstd.

use pressio_ml_core::{PressioError, Result};
use rayon::prelude::*;

/// Longest code length produced.
pub const MAX_CODE_LEN: u32 = 24;
/// Bits resolved by one table lookup when decoding.
pub const TABLE_BITS: u32 = 12;
/// Symbols per independently coded chunk.
pub const CHUNK_SYMBOLS: usize = 1 << 15;

/// Symbol spans at or above this size use a sorted (sparse) histogram instead of a dense one.
const DENSE_LIMIT: u32 = 1 << 22;

fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

struct Cursor<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn varint(&mut self) -> Result<u64> {
        let mut v = 0u64;
        for shift in (0..64).step_by(7) {
            let b = *self
                .bytes
                .get(self.pos)
                .ok_or_else(|| PressioError::corrupt("truncated Huffman header"))?;
            self.pos += 1;
            v |= ((b & 0x7f) as u64) << shift;
            if b & 0x80 == 0 {
                return Ok(v);
            }
        }
        Err(PressioError::corrupt("varint too long in Huffman header"))
    }
    fn usize(&mut self) -> Result<usize> {
        usize::try_from(self.varint()?)
            .map_err(|_| PressioError::corrupt("Huffman count too large"))
    }
    fn u32(&mut self) -> Result<u32> {
        u32::try_from(self.varint()?).map_err(|_| PressioError::corrupt("Huffman symbol too large"))
    }
    fn byte(&mut self) -> Result<u8> {
        let b = *self
            .bytes
            .get(self.pos)
            .ok_or_else(|| PressioError::corrupt("truncated Huffman header"))?;
        self.pos += 1;
        Ok(b)
    }
    fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        let end = self
            .pos
            .checked_add(n)
            .ok_or_else(|| PressioError::corrupt("Huffman length overflow"))?;
        let s = self
            .bytes
            .get(self.pos..end)
            .ok_or_else(|| PressioError::corrupt("truncated Huffman data"))?;
        self.pos = end;
        Ok(s)
    }
}

/// `(symbol, count)` for every used symbol, ascending by symbol.
fn histogram(symbols: &[u32]) -> Vec<(u32, u64)> {
    let (lo, hi) = symbols
        .iter()
        .fold((u32::MAX, 0u32), |(l, h), &s| (l.min(s), h.max(s)));
    if lo > hi {
        return Vec::new();
    }
    if hi - lo < DENSE_LIMIT {
        let mut counts = vec![0u64; (hi - lo) as usize + 1];
        for &s in symbols {
            counts[(s - lo) as usize] += 1;
        }
        counts
            .iter()
            .enumerate()
            .filter(|(_, &c)| c > 0)
            .map(|(s, &c)| (lo + s as u32, c))
            .collect()
    } else {
        let mut sorted = symbols.to_vec();
        sorted.sort_unstable();
        let mut out: Vec<(u32, u64)> = Vec::new();
        for s in sorted {
            match out.last_mut() {
                Some((last, c)) if *last == s => *c += 1,
                _ => out.push((s, 1)),
            }
        }
        out
    }
}

/// Huffman code lengths for `freqs` (all > 0, at least two), limited to `limit` bits.
fn code_lengths(freqs: &[u64], limit: u32) -> Vec<u32> {
    let n = freqs.len();
    // Leaves sorted by ascending frequency (ties by index for determinism).
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by_key(|&i| (freqs[i], i));
    // Two-queue construction. Nodes 0..n are leaves (in `order` order), n.. are internal.
    let mut weight: Vec<u64> = order.iter().map(|&i| freqs[i]).collect();
    weight.reserve(n);
    let mut parent = vec![usize::MAX; 2 * n - 1];
    let (mut leaf, mut internal) = (0usize, n);
    let pick = |leaf: &mut usize, internal: &mut usize, weight: &Vec<u64>| -> usize {
        let take_leaf =
            *leaf < n && (*internal >= weight.len() || weight[*leaf] <= weight[*internal]);
        if take_leaf {
            *leaf += 1;
            *leaf - 1
        } else {
            *internal += 1;
            *internal - 1
        }
    };
    for _ in 0..n - 1 {
        let a = pick(&mut leaf, &mut internal, &weight);
        let b = pick(&mut leaf, &mut internal, &weight);
        let id = weight.len();
        weight.push(weight[a].saturating_add(weight[b]));
        parent[a] = id;
        parent[b] = id;
    }
    // Depths: parents have larger ids, so walk ids downward from the root.
    let total = 2 * n - 1;
    let mut depth = vec![0u32; total];
    for id in (0..total - 1).rev() {
        depth[id] = depth[parent[id]] + 1;
    }
    // Count lengths, then limit them (JPEG Annex K.3 style adjustment).
    let maxd = depth[..n].iter().copied().max().unwrap_or(1) as usize;
    let mut bl_count = vec![0u64; maxd.max(limit as usize) + 1];
    for &d in &depth[..n] {
        bl_count[d as usize] += 1;
    }
    let limit = limit as usize;
    let mut i = maxd;
    while i > limit {
        while bl_count[i] > 0 {
            let mut j = i - 2;
            while bl_count[j] == 0 {
                j -= 1;
            }
            bl_count[i] -= 2;
            bl_count[i - 1] += 1;
            bl_count[j + 1] += 2;
            bl_count[j] -= 1;
        }
        i -= 1;
    }
    // Assign lengths: the most frequent leaves (end of `order`) get the shortest codes.
    let mut lengths = vec![0u32; n];
    let mut rank = order.iter().rev();
    for (len, &count) in bl_count.iter().enumerate().skip(1) {
        for _ in 0..count {
            if let Some(&sym) = rank.next() {
                lengths[sym] = len as u32;
            }
        }
    }
    lengths
}

/// Canonical code assignment: `(symbol, length)` pairs sorted by symbol in, codes out.
fn canonical_codes(table: &[(u32, u32)]) -> Vec<u32> {
    let mut idx: Vec<usize> = (0..table.len()).collect();
    idx.sort_by_key(|&i| (table[i].1, table[i].0));
    let mut codes = vec![0u32; table.len()];
    let mut code = 0u32;
    let mut prev_len = 0u32;
    for &i in &idx {
        // Lengths are validated (1..=MAX_CODE_LEN, Kraft) before any table is built.
        let len = table[i].1;
        code = code.checked_shl(len.saturating_sub(prev_len)).unwrap_or(0);
        codes[i] = code;
        code = code.wrapping_add(1);
        prev_len = len;
    }
    codes
}

/// Check that decoded code lengths are in `1..=MAX_CODE_LEN` and satisfy Kraft's inequality.
fn validate_lengths(table: &[(u32, u32)]) -> Result<()> {
    let mut kraft = 0u64;
    for &(_, l) in table {
        if l == 0 || l > MAX_CODE_LEN {
            return Err(PressioError::corrupt(format!("Huffman code length {l}")));
        }
        kraft += 1u64 << (MAX_CODE_LEN - l);
    }
    if kraft > 1u64 << MAX_CODE_LEN {
        return Err(PressioError::corrupt(
            "Huffman code lengths oversubscribe the code space",
        ));
    }
    Ok(())
}

struct BitWriter {
    out: Vec<u8>,
    acc: u64,
    nbits: u32,
}

impl BitWriter {
    fn new(cap: usize) -> Self {
        BitWriter {
            out: Vec::with_capacity(cap),
            acc: 0,
            nbits: 0,
        }
    }
    #[inline(always)]
    fn put(&mut self, code: u32, len: u32) {
        // len <= 24 and nbits < 8 after a flush, so nbits + len <= 31 < 64.
        self.acc = (self.acc << len) | code as u64;
        self.nbits += len;
        if self.nbits >= 32 {
            self.nbits -= 32;
            let v = (self.acc >> self.nbits) as u32;
            self.out.extend_from_slice(&v.to_be_bytes());
        }
    }
    fn finish(mut self) -> Vec<u8> {
        while self.nbits >= 8 {
            self.nbits -= 8;
            self.out.push((self.acc >> self.nbits) as u8);
        }
        if self.nbits > 0 {
            self.out.push((self.acc << (8 - self.nbits)) as u8);
        }
        self.out
    }
}

/// Lookup structure shared by encoder and decoder construction.
struct CodeBook {
    /// (symbol, length), ascending by symbol.
    table: Vec<(u32, u32)>,
    codes: Vec<u32>,
}

impl CodeBook {
    fn new(table: Vec<(u32, u32)>) -> Self {
        let codes = canonical_codes(&table);
        CodeBook { table, codes }
    }
}

fn encode_chunk<F: Fn(u32) -> (u32, u32)>(chunk: &[u32], lookup: F) -> Vec<u8> {
    let mut w = BitWriter::new(chunk.len() / 2 + 8);
    for &s in chunk {
        let (code, len) = lookup(s);
        w.put(code, len);
    }
    w.finish()
}

/// Append the Huffman coding of `symbols` to `out`. With `parallel`, chunks are encoded on the
/// current rayon pool (the bytes are identical either way).
pub fn encode(symbols: &[u32], parallel: bool, out: &mut Vec<u8>) -> Result<()> {
    let chunks = encode_parts(symbols, parallel, out)?;
    if let Some(chunks) = chunks {
        put_varint(out, chunks.len() as u64);
        for c in &chunks {
            put_varint(out, c.len() as u64);
        }
        for c in &chunks {
            out.extend_from_slice(c);
        }
    }
    Ok(())
}

/// Only the code bits of `symbols` (the chunks of [`encode`] concatenated, without counts or
/// code table): what size estimators compress, free of the table's fixed cost.
pub fn encode_bitstream(symbols: &[u32]) -> Result<Vec<u8>> {
    let mut header = Vec::new();
    Ok(encode_parts(symbols, false, &mut header)?
        .unwrap_or_default()
        .concat())
}

/// Write the count and code table to `out` and return the chunk bit streams (`None` when no
/// bit stream follows: empty input or a single distinct symbol).
fn encode_parts(
    symbols: &[u32],
    parallel: bool,
    out: &mut Vec<u8>,
) -> Result<Option<Vec<Vec<u8>>>> {
    put_varint(out, symbols.len() as u64);
    if symbols.is_empty() {
        return Ok(None);
    }
    let hist = histogram(symbols);
    if hist.len() == 1 {
        out.push(0);
        put_varint(out, hist[0].0 as u64);
        return Ok(None);
    }
    let freqs: Vec<u64> = hist.iter().map(|&(_, c)| c).collect();
    let lengths = code_lengths(&freqs, MAX_CODE_LEN);
    let table: Vec<(u32, u32)> = hist
        .iter()
        .zip(&lengths)
        .map(|(&(s, _), &l)| (s, l))
        .collect();
    // Table: whichever of sparse and dense is smaller.
    let lo = table[0].0;
    let hi = table[table.len() - 1].0;
    let span = (hi - lo) as u64 + 1;
    let mut sparse = Vec::new();
    put_varint(&mut sparse, table.len() as u64);
    let mut prev: Option<u32> = None;
    for &(s, l) in &table {
        let gap = match prev {
            None => s as u64,
            Some(p) => (s - p - 1) as u64,
        };
        put_varint(&mut sparse, gap);
        sparse.push(l as u8);
        prev = Some(s);
    }
    if span <= sparse.len() as u64 + 8 {
        out.push(2);
        put_varint(out, lo as u64);
        put_varint(out, span);
        let start = out.len();
        out.resize(start + span as usize, 0);
        for &(s, l) in &table {
            out[start + (s - lo) as usize] = l as u8;
        }
    } else {
        out.push(1);
        out.extend_from_slice(&sparse);
    }
    let book = CodeBook::new(table);
    // Symbol -> (code, len) lookup: dense over [lo, hi] when small, else binary search.
    let dense: Option<Vec<(u32, u32)>> = (span <= (1 << 20)).then(|| {
        let mut d = vec![(0u32, 0u32); span as usize];
        for (i, &(s, l)) in book.table.iter().enumerate() {
            d[(s - lo) as usize] = (book.codes[i], l);
        }
        d
    });
    let encode_all = |f: &(dyn Fn(&[u32]) -> Vec<u8> + Sync)| -> Vec<Vec<u8>> {
        if parallel {
            symbols.par_chunks(CHUNK_SYMBOLS).map(f).collect()
        } else {
            symbols.chunks(CHUNK_SYMBOLS).map(f).collect()
        }
    };
    let chunks: Vec<Vec<u8>> = match &dense {
        Some(d) => encode_all(&|c| encode_chunk(c, |s| d[(s - lo) as usize])),
        None => encode_all(&|c| {
            encode_chunk(c, |s| {
                let i = book
                    .table
                    .binary_search_by_key(&s, |&(x, _)| x)
                    .unwrap_or(0);
                (book.codes[i], book.table[i].1)
            })
        }),
    };
    Ok(Some(chunks))
}

/// Decoding tables.
struct DecodeTable {
    /// Entry: symbol << 8 | length, or 0 for "longer than TABLE_BITS / invalid".
    fast: Vec<u64>,
    /// For lengths TABLE_BITS+1..=MAX: first canonical code, count, and offset into `sorted`.
    first: [u32; MAX_CODE_LEN as usize + 2],
    count: [u32; MAX_CODE_LEN as usize + 2],
    offset: [u32; MAX_CODE_LEN as usize + 2],
    sorted: Vec<u32>,
    max_len: u32,
}

impl DecodeTable {
    fn new(book: &CodeBook) -> Result<Self> {
        let mut count = [0u32; MAX_CODE_LEN as usize + 2];
        let mut max_len = 0;
        for &(_, l) in &book.table {
            if l == 0 || l > MAX_CODE_LEN {
                return Err(PressioError::corrupt(format!("Huffman code length {l}")));
            }
            count[l as usize] += 1;
            max_len = max_len.max(l);
        }
        // Kraft inequality (in units of 2^-MAX_CODE_LEN).
        let kraft: u64 = (1..=MAX_CODE_LEN)
            .map(|l| (count[l as usize] as u64) << (MAX_CODE_LEN - l))
            .sum();
        if kraft > 1u64 << MAX_CODE_LEN {
            return Err(PressioError::corrupt(
                "Huffman code lengths oversubscribe the code space",
            ));
        }
        let mut idx: Vec<usize> = (0..book.table.len()).collect();
        idx.sort_by_key(|&i| (book.table[i].1, book.table[i].0));
        let sorted: Vec<u32> = idx.iter().map(|&i| book.table[i].0).collect();
        let mut first = [0u32; MAX_CODE_LEN as usize + 2];
        let mut offset = [0u32; MAX_CODE_LEN as usize + 2];
        let mut code = 0u32;
        let mut off = 0u32;
        for l in 1..=MAX_CODE_LEN as usize {
            first[l] = code;
            offset[l] = off;
            code = (code + count[l]) << 1;
            off += count[l];
        }
        let mut fast = vec![0u64; 1 << TABLE_BITS];
        for (i, &(s, l)) in book.table.iter().enumerate() {
            if l <= TABLE_BITS {
                let c = book.codes[i];
                let shift = TABLE_BITS - l;
                let start = (c << shift) as usize;
                let entry = ((s as u64) << 8) | l as u64;
                for e in &mut fast[start..start + (1usize << shift)] {
                    *e = entry;
                }
            }
        }
        Ok(DecodeTable {
            fast,
            first,
            count,
            offset,
            sorted,
            max_len,
        })
    }

    /// Resolve a code longer than the table (or an invalid one) by canonical search.
    #[cold]
    fn slow_lookup(&self, acc: u64) -> Result<(u32, u32)> {
        for l in (TABLE_BITS + 1)..=self.max_len {
            let c = (acc >> (64 - l)) as u32;
            let d = c.wrapping_sub(self.first[l as usize]);
            if c >= self.first[l as usize] && d < self.count[l as usize] {
                return Ok((self.sorted[(self.offset[l as usize] + d) as usize], l));
            }
        }
        Err(PressioError::corrupt("invalid Huffman code"))
    }

    /// Decode `out.len()` symbols from `bytes`.
    fn decode_chunk(&self, bytes: &[u8], out: &mut [u32]) -> Result<()> {
        let mut r = BitReader::new(bytes);
        for o in out.iter_mut() {
            *o = r.next(self)?;
        }
        r.finish()
    }

    /// Decode two chunks with interleaved (independent) dependency chains, which roughly
    /// doubles the symbols decoded per cycle on one core.
    fn decode_pair(&self, a: (&[u8], &mut [u32]), b: (&[u8], &mut [u32])) -> Result<()> {
        let (mut ra, oa) = (BitReader::new(a.0), a.1);
        let (mut rb, ob) = (BitReader::new(b.0), b.1);
        let common = oa.len().min(ob.len());
        for (x, y) in oa[..common].iter_mut().zip(ob[..common].iter_mut()) {
            *x = ra.next(self)?;
            *y = rb.next(self)?;
        }
        for x in oa[common..].iter_mut() {
            *x = ra.next(self)?;
        }
        for y in ob[common..].iter_mut() {
            *y = rb.next(self)?;
        }
        ra.finish()?;
        rb.finish()
    }
}

/// MSB-first bit reader over one chunk (zero padding past the end, checked by `finish`).
struct BitReader<'a> {
    bytes: &'a [u8],
    /// Next byte to load.
    pos: usize,
    /// Left-aligned bit buffer.
    acc: u64,
    /// Valid bits in `acc`.
    nbits: u32,
    /// Bits consumed so far.
    consumed: u64,
}

impl<'a> BitReader<'a> {
    fn new(bytes: &'a [u8]) -> Self {
        BitReader {
            bytes,
            pos: 0,
            acc: 0,
            nbits: 0,
            consumed: 0,
        }
    }

    #[inline(always)]
    fn refill(&mut self) {
        if let Some(w) = self.bytes.get(self.pos..self.pos + 8) {
            let w = u64::from_be_bytes(w.try_into().unwrap_or([0; 8]));
            self.acc |= w >> self.nbits;
            let add = (63 - self.nbits) / 8;
            self.pos += add as usize;
            self.nbits += add * 8;
        } else {
            while self.nbits <= 56 {
                let b = self.bytes.get(self.pos).copied().unwrap_or(0);
                self.acc |= (b as u64) << (56 - self.nbits);
                self.pos += 1;
                self.nbits += 8;
            }
        }
    }

    #[inline(always)]
    fn next(&mut self, t: &DecodeTable) -> Result<u32> {
        if self.nbits < 32 {
            self.refill();
        }
        let e = t.fast[(self.acc >> (64 - TABLE_BITS)) as usize];
        let (sym, len) = if e != 0 {
            ((e >> 8) as u32, (e & 0xff) as u32)
        } else {
            t.slow_lookup(self.acc)?
        };
        self.acc <<= len;
        self.nbits -= len;
        self.consumed += len as u64;
        Ok(sym)
    }

    fn finish(&self) -> Result<()> {
        if self.consumed > self.bytes.len() as u64 * 8 {
            return Err(PressioError::corrupt(
                "Huffman chunk shorter than its symbols",
            ));
        }
        Ok(())
    }
}

/// Decode a stream written by [`encode`] from the start of `bytes`, refusing more than
/// `max_symbols` symbols. Returns the symbols and the number of bytes consumed.
pub fn decode(bytes: &[u8], max_symbols: usize, parallel: bool) -> Result<(Vec<u32>, usize)> {
    let mut out = Vec::new();
    let used = decode_into(bytes, max_symbols, parallel, &mut out)?;
    Ok((out, used))
}

/// [`decode`] into `out` (cleared first; its capacity is reused, which spares the page faults of
/// a fresh allocation when the same buffer serves many calls). Returns the bytes consumed.
pub fn decode_into(
    bytes: &[u8],
    max_symbols: usize,
    parallel: bool,
    out: &mut Vec<u32>,
) -> Result<usize> {
    out.clear();
    let mut cur = Cursor { bytes, pos: 0 };
    let n = cur.usize()?;
    if n > max_symbols {
        return Err(PressioError::corrupt(format!(
            "{n} Huffman symbols, at most {max_symbols} expected"
        )));
    }
    if n == 0 {
        return Ok(cur.pos);
    }
    let mode = cur.byte()?;
    let table: Vec<(u32, u32)> = match mode {
        0 => {
            let s = cur.u32()?;
            out.resize(n, s);
            return Ok(cur.pos);
        }
        1 => {
            let k = cur.usize()?;
            if k < 2 || k > bytes.len() {
                return Err(PressioError::corrupt("bad Huffman table size"));
            }
            let mut t = Vec::with_capacity(k);
            let mut prev: Option<u32> = None;
            for _ in 0..k {
                let gap = cur.u32()?;
                let s = match prev {
                    None => Some(gap),
                    Some(p) => p.checked_add(gap).and_then(|v| v.checked_add(1)),
                }
                .ok_or_else(|| PressioError::corrupt("Huffman symbol overflow"))?;
                let l = cur.byte()? as u32;
                t.push((s, l));
                prev = Some(s);
            }
            t
        }
        2 => {
            let lo = cur.u32()?;
            let span = cur.usize()?;
            let lens = cur.take(span)?;
            if span == 0 || (lo as u64 + span as u64 - 1) > u32::MAX as u64 {
                return Err(PressioError::corrupt("bad Huffman table span"));
            }
            lens.iter()
                .enumerate()
                .filter(|(_, &l)| l > 0)
                .map(|(i, &l)| (lo + i as u32, l as u32))
                .collect()
        }
        m => {
            return Err(PressioError::corrupt(format!(
                "unknown Huffman table mode {m}"
            )))
        }
    };
    if table.len() < 2 {
        return Err(PressioError::corrupt(
            "Huffman table with fewer than two symbols",
        ));
    }
    validate_lengths(&table)?;
    let book = CodeBook::new(table);
    let dt = DecodeTable::new(&book)?;
    let nchunks = cur.usize()?;
    if nchunks != n.div_ceil(CHUNK_SYMBOLS) {
        return Err(PressioError::corrupt(
            "Huffman chunk count does not match the symbol count",
        ));
    }
    let mut lens = Vec::with_capacity(nchunks);
    for _ in 0..nchunks {
        lens.push(cur.usize()?);
    }
    let mut slices = Vec::with_capacity(nchunks);
    for &l in &lens {
        slices.push(cur.take(l)?);
    }
    out.resize(n, 0);
    // Chunks are decoded two at a time (interleaved), pairs in parallel when asked.
    let decode_pair = |(o, b): (&mut [u32], &[&[u8]])| -> Result<()> {
        if b.len() == 2 {
            let (o1, o2) = o.split_at_mut(CHUNK_SYMBOLS.min(o.len()));
            dt.decode_pair((b[0], o1), (b[1], o2))
        } else {
            dt.decode_chunk(b[0], o)
        }
    };
    if parallel {
        out.par_chunks_mut(2 * CHUNK_SYMBOLS)
            .zip(slices.par_chunks(2))
            .try_for_each(decode_pair)?;
    } else {
        for pair in out.chunks_mut(2 * CHUNK_SYMBOLS).zip(slices.chunks(2)) {
            decode_pair(pair)?;
        }
    }
    Ok(cur.pos)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn roundtrip(symbols: &[u32]) -> usize {
        let mut out = Vec::new();
        encode(symbols, false, &mut out).unwrap();
        let (dec, used) = decode(&out, symbols.len(), false).unwrap();
        assert_eq!(used, out.len());
        assert_eq!(dec, symbols);
        let mut par = Vec::new();
        encode(symbols, true, &mut par).unwrap();
        assert_eq!(par, out);
        out.len()
    }

    #[test]
    fn small_cases() {
        roundtrip(&[]);
        roundtrip(&[7]);
        roundtrip(&[7, 7, 7]);
        roundtrip(&[0, 1]);
        roundtrip(&[u32::MAX, 0, 5, u32::MAX]);
        roundtrip(&[65535, 0, 32768, 32768, 32769]);
    }

    #[test]
    fn length_limit_with_fibonacci_frequencies() {
        // Fibonacci counts force a maximally skewed tree (depth ~ number of symbols).
        let mut syms = Vec::new();
        let (mut a, mut b) = (1usize, 1usize);
        for s in 0..32u32 {
            for _ in 0..a.min(200_000) {
                syms.push(s);
            }
            let c = a + b;
            a = b;
            b = c;
        }
        roundtrip(&syms);
    }

    #[test]
    fn chunks() {
        let syms: Vec<u32> = (0..(3 * CHUNK_SYMBOLS + 17))
            .map(|i| ((i * 7919) % 301) as u32)
            .collect();
        roundtrip(&syms);
    }
}
