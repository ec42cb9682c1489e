//! Typed n-D buffers with LibPressio's semantics: dims fastest-first, owned or borrowed storage,
//! and "empty" buffers that carry only metadata (the output templates of decompression).

use crate::dtype::DType;
use crate::error::{PressioError, Result};

/// A primitive element type that can live in a [`Data`] buffer.
///
/// # Safety
/// Implementors must be plain-old-data: every bit pattern valid, no padding, size equal to
/// `DTYPE.size()`.
pub unsafe trait Element: Copy + Send + Sync + 'static {
    /// The dtype tag of this element type.
    const DTYPE: DType;
    /// Lossy conversion to `f64`, used by metrics.
    fn to_f64(self) -> f64;
    /// Lossy conversion from `f64` (saturating for integers).
    fn from_f64(v: f64) -> Self;
}

macro_rules! element {
    ($t:ty, $d:expr) => {
        // SAFETY: primitive numeric types are POD with the documented size.
        unsafe impl Element for $t {
            const DTYPE: DType = $d;
            #[inline]
            fn to_f64(self) -> f64 {
                self as f64
            }
            #[inline]
            fn from_f64(v: f64) -> Self {
                v as $t
            }
        }
    };
}
element!(f64, DType::Double);
element!(f32, DType::Float);
element!(u8, DType::Uint8);
element!(u16, DType::Uint16);
element!(u32, DType::Uint32);
element!(u64, DType::Uint64);
element!(i8, DType::Int8);
element!(i16, DType::Int16);
element!(i32, DType::Int32);
element!(i64, DType::Int64);

/// Where a buffer's bytes live.
enum Storage {
    /// Metadata only (`has_data() == false`).
    Empty,
    /// Owned, 8-byte aligned storage of `len` bytes.
    Owned { words: Vec<u64>, len: usize },
    /// Memory owned by the caller (LibPressio's "nonowning" domain).
    Borrowed { ptr: *mut u8, len: usize },
}

/// A typed n-D buffer, LibPressio's `pressio_data`.
///
/// `dims[0]` is the fastest-varying dimension. A buffer either owns its bytes, borrows them from
/// the caller (see [`Data::from_raw_parts`]), or is empty (metadata only).
pub struct Data {
    dtype: DType,
    dims: Vec<usize>,
    storage: Storage,
}

// SAFETY: owned storage is a Vec; borrowed storage is only created through the unsafe
// constructor whose contract requires the caller to keep the memory valid and unaliased for the
// lifetime of the Data, which makes moving it to another thread sound.
unsafe impl Send for Data {}
// SAFETY: shared access only reads the bytes (see above).
unsafe impl Sync for Data {}

/// Product of dims with overflow checking, in elements.
fn checked_elements(dims: &[usize]) -> Result<usize> {
    dims.iter()
        .try_fold(1usize, |acc, &d| acc.checked_mul(d))
        .ok_or_else(|| {
            PressioError::InvalidDims(format!("dimensions {dims:?} overflow the address space"))
        })
}

/// `n` zero words, or `None` when the allocation fails. The memory comes zeroed from the
/// allocator (`calloc`: fresh pages are mapped to zero lazily), so a large buffer costs nothing
/// until it is written, and then on whichever thread writes each page.
fn zeroed_words(n: usize) -> Option<Vec<u64>> {
    if n == 0 {
        return Some(Vec::new());
    }
    let layout = std::alloc::Layout::array::<u64>(n).ok()?;
    // SAFETY: `layout` has a non-zero size (n > 0) and is the layout `Vec<u64>` uses for a
    // capacity of `n`.
    let ptr = unsafe { std::alloc::alloc_zeroed(layout) }.cast::<u64>();
    if ptr.is_null() {
        return None;
    }
    // SAFETY: `ptr` was allocated by the global allocator with the layout of `n` u64s, all `n`
    // of which are initialized (zero bits are a valid u64), so length and capacity are `n`.
    Some(unsafe { Vec::from_raw_parts(ptr, n, n) })
}

impl Data {
    /// Largest buffer pressio-ml will allocate on request (2^40 bytes): anything larger is
    /// refused as an absurd size instead of aborting on allocation.
    pub const MAX_BYTES: usize = 1 << 40;

    /// A buffer with metadata only (`pressio_data_new_empty`). Dims may be empty.
    pub fn empty(dtype: DType, dims: &[usize]) -> Data {
        Data {
            dtype,
            dims: dims.to_vec(),
            storage: Storage::Empty,
        }
    }

    /// A zero-filled owned buffer (`pressio_data_new_owning`).
    pub fn owning(dtype: DType, dims: &[usize]) -> Result<Data> {
        if dims.is_empty() {
            return Ok(Data::empty(dtype, dims));
        }
        let n = checked_elements(dims)?;
        let len = n
            .checked_mul(dtype.size())
            .filter(|&b| b <= Self::MAX_BYTES)
            .ok_or_else(|| {
                PressioError::InvalidDims(format!("{dims:?} x {} bytes is too large", dtype.size()))
            })?;
        let words = zeroed_words(len.div_ceil(8)).ok_or_else(|| {
            PressioError::InvalidDims(format!("cannot allocate {len} bytes for dims {dims:?}"))
        })?;
        Ok(Data {
            dtype,
            dims: dims.to_vec(),
            storage: Storage::Owned { words, len },
        })
    }

    /// An owned copy of `bytes` (`pressio_data_new_copy`); `bytes.len()` must match the dims.
    pub fn from_bytes(dtype: DType, dims: &[usize], bytes: &[u8]) -> Result<Data> {
        let mut d = Data::owning(dtype, dims)?;
        if d.num_bytes() != bytes.len() {
            return Err(PressioError::InvalidDims(format!(
                "{} bytes do not match dims {dims:?} of {dtype} ({} bytes)",
                bytes.len(),
                d.num_bytes()
            )));
        }
        d.bytes_mut().copy_from_slice(bytes);
        Ok(d)
    }

    /// An owned buffer holding `values` with the given dims.
    pub fn from_vec<T: Element>(values: Vec<T>, dims: &[usize]) -> Result<Data> {
        let n = checked_elements(dims)?;
        if n != values.len() {
            return Err(PressioError::InvalidDims(format!(
                "{} values do not match dims {dims:?}",
                values.len()
            )));
        }
        let mut d = Data::owning(T::DTYPE, dims)?;
        d.as_mut_slice::<T>()?.copy_from_slice(&values);
        Ok(d)
    }

    /// A 1-D byte buffer (compressed streams).
    pub fn from_byte_vec(bytes: Vec<u8>) -> Data {
        let len = bytes.len();
        let mut words = vec![0u64; len.div_ceil(8)];
        // SAFETY: words has at least len bytes; u64 storage is reinterpreted as bytes.
        unsafe {
            std::ptr::copy_nonoverlapping(bytes.as_ptr(), words.as_mut_ptr() as *mut u8, len)
        };
        Data {
            dtype: DType::Byte,
            dims: vec![len],
            storage: Storage::Owned { words, len },
        }
    }

    /// A buffer that borrows `ptr` (`pressio_data_new_nonowning`).
    ///
    /// # Safety
    /// `ptr` must be valid for reads and writes of `product(dims) * dtype.size()` bytes, suitably
    /// aligned for `dtype`, and not accessed through other paths while this `Data` is alive.
    pub unsafe fn from_raw_parts(dtype: DType, ptr: *mut u8, dims: &[usize]) -> Result<Data> {
        let n = checked_elements(dims)?;
        let len = n.checked_mul(dtype.size()).ok_or_else(|| {
            PressioError::InvalidDims(format!("dimensions {dims:?} overflow the address space"))
        })?;
        if ptr.is_null() && len > 0 {
            return Err(PressioError::InvalidArgument("NULL data pointer".into()));
        }
        if len > 0 && (ptr as usize) % dtype.size() != 0 {
            return Err(PressioError::InvalidArgument(format!(
                "data pointer is not aligned for {dtype}"
            )));
        }
        let storage = if len == 0 {
            Storage::Empty
        } else {
            Storage::Borrowed { ptr, len }
        };
        Ok(Data {
            dtype,
            dims: dims.to_vec(),
            storage,
        })
    }

    /// The element type.
    pub fn dtype(&self) -> DType {
        self.dtype
    }

    /// The dimensions, fastest-varying first.
    pub fn dims(&self) -> &[usize] {
        &self.dims
    }

    /// Dims with extents of 1 or less dropped, as LibPressio's `normalized_dims`.
    pub fn normalized_dims(&self) -> Vec<usize> {
        self.dims.iter().copied().filter(|&d| d > 1).collect()
    }

    /// Number of elements (product of dims; 0 when there are no dims).
    pub fn num_elements(&self) -> usize {
        if self.dims.is_empty() {
            0
        } else {
            checked_elements(&self.dims).unwrap_or(0)
        }
    }

    /// Size of the buffer in bytes (0 for an empty buffer).
    pub fn num_bytes(&self) -> usize {
        match &self.storage {
            Storage::Empty => 0,
            Storage::Owned { len, .. } | Storage::Borrowed { len, .. } => *len,
        }
    }

    /// Bytes the metadata describes (elements x dtype size), whether or not a buffer exists.
    pub fn expected_bytes(&self) -> usize {
        self.num_elements().saturating_mul(self.dtype.size())
    }

    /// Refuse a buffer that cannot be an input: no dims, no elements, no bytes, or bytes that
    /// do not match what its dtype and dims describe (the check every compressor and
    /// input-reading metric applies first).
    pub fn check_input(&self) -> Result<()> {
        if self.dims().is_empty() || self.num_elements() == 0 || !self.has_data() {
            return Err(PressioError::InvalidInput("input is empty".into()));
        }
        if self.num_bytes() != self.expected_bytes() {
            return Err(PressioError::InvalidDims(format!(
                "dims {:?} of {} need {} bytes, buffer has {}",
                self.dims(),
                self.dtype(),
                self.expected_bytes(),
                self.num_bytes()
            )));
        }
        Ok(())
    }

    /// True when the buffer holds bytes (`ptr != NULL && bytes > 0`).
    pub fn has_data(&self) -> bool {
        self.num_bytes() > 0
    }

    /// True when the bytes are borrowed from the caller.
    pub fn is_borrowed(&self) -> bool {
        matches!(self.storage, Storage::Borrowed { .. })
    }

    /// The raw bytes (empty for an empty buffer).
    pub fn bytes(&self) -> &[u8] {
        match &self.storage {
            Storage::Empty => &[],
            // SAFETY: words holds at least len initialised bytes.
            Storage::Owned { words, len } => unsafe {
                std::slice::from_raw_parts(words.as_ptr() as *const u8, *len)
            },
            // SAFETY: guaranteed by the contract of from_raw_parts.
            Storage::Borrowed { ptr, len } => unsafe { std::slice::from_raw_parts(*ptr, *len) },
        }
    }

    /// The raw bytes, mutably.
    pub fn bytes_mut(&mut self) -> &mut [u8] {
        match &mut self.storage {
            Storage::Empty => &mut [],
            // SAFETY: as in bytes().
            Storage::Owned { words, len } => unsafe {
                std::slice::from_raw_parts_mut(words.as_mut_ptr() as *mut u8, *len)
            },
            // SAFETY: guaranteed by the contract of from_raw_parts.
            Storage::Borrowed { ptr, len } => unsafe { std::slice::from_raw_parts_mut(*ptr, *len) },
        }
    }

    /// A pointer to the first byte (NULL for an empty buffer).
    pub fn as_ptr(&self) -> *const u8 {
        match &self.storage {
            Storage::Empty => std::ptr::null(),
            Storage::Owned { words, .. } => words.as_ptr() as *const u8,
            Storage::Borrowed { ptr, .. } => *ptr,
        }
    }

    fn check_elem<T: Element>(&self) -> Result<()> {
        if self.dtype != T::DTYPE && !(self.dtype == DType::Byte && T::DTYPE == DType::Uint8) {
            return Err(PressioError::InvalidArgument(format!(
                "buffer holds {}, not {}",
                self.dtype,
                T::DTYPE
            )));
        }
        Ok(())
    }

    /// The elements as a typed slice; fails if `T` is not the buffer's dtype.
    pub fn as_slice<T: Element>(&self) -> Result<&[T]> {
        self.check_elem::<T>()?;
        let b = self.bytes();
        if b.is_empty() {
            return Ok(&[]);
        }
        // SAFETY: storage is aligned for T (owned: u64 words; borrowed: checked at creation) and
        // T is POD of the dtype's size.
        Ok(unsafe {
            std::slice::from_raw_parts(b.as_ptr() as *const T, b.len() / std::mem::size_of::<T>())
        })
    }

    /// The elements as a mutable typed slice.
    pub fn as_mut_slice<T: Element>(&mut self) -> Result<&mut [T]> {
        self.check_elem::<T>()?;
        let b = self.bytes_mut();
        if b.is_empty() {
            return Ok(&mut []);
        }
        let n = b.len() / std::mem::size_of::<T>();
        // SAFETY: as in as_slice.
        Ok(unsafe { std::slice::from_raw_parts_mut(b.as_mut_ptr() as *mut T, n) })
    }

    /// Every element converted to `f64` (for metrics). Byte and bool buffers read as u8.
    pub fn to_f64_vec(&self) -> Vec<f64> {
        fn conv<T: Element>(d: &Data) -> Vec<f64> {
            d.as_slice::<T>()
                .map(|s| s.iter().map(|v| v.to_f64()).collect())
                .unwrap_or_default()
        }
        match self.dtype {
            DType::Double => conv::<f64>(self),
            DType::Float => conv::<f32>(self),
            DType::Uint8 => conv::<u8>(self),
            DType::Uint16 => conv::<u16>(self),
            DType::Uint32 => conv::<u32>(self),
            DType::Uint64 => conv::<u64>(self),
            DType::Int8 => conv::<i8>(self),
            DType::Int16 => conv::<i16>(self),
            DType::Int32 => conv::<i32>(self),
            DType::Int64 => conv::<i64>(self),
            DType::Byte | DType::Bool => self.bytes().iter().map(|&b| b as f64).collect(),
        }
    }

    /// Replace the dims without touching the bytes; the element count must not change when the
    /// buffer holds data (`pressio_data_reshape`).
    pub fn reshape(&mut self, dims: &[usize]) -> Result<()> {
        if self.has_data() {
            let n = checked_elements(dims)?;
            if n.checked_mul(self.dtype.size()) != Some(self.num_bytes()) {
                return Err(PressioError::InvalidDims(format!(
                    "cannot reshape {:?} into {dims:?}",
                    self.dims
                )));
            }
        }
        self.dims = dims.to_vec();
        Ok(())
    }

    /// Copy `src`'s bytes into this buffer in place, keeping its storage (used to honour
    /// pre-allocated outputs). Dtype and byte size must match.
    pub fn copy_from(&mut self, src: &Data) -> Result<()> {
        if src.dtype != self.dtype || src.num_bytes() != self.num_bytes() {
            return Err(PressioError::InvalidDims(format!(
                "output buffer is {} {:?}, result is {} {:?}",
                self.dtype, self.dims, src.dtype, src.dims
            )));
        }
        self.bytes_mut().copy_from_slice(src.bytes());
        Ok(())
    }
}

impl Clone for Data {
    /// A deep copy; borrowed buffers become owned copies.
    fn clone(&self) -> Data {
        match &self.storage {
            Storage::Empty => Data::empty(self.dtype, &self.dims),
            _ => {
                let len = self.num_bytes();
                let mut words = vec![0u64; len.div_ceil(8)];
                // SAFETY: words has room for len bytes.
                unsafe {
                    std::ptr::copy_nonoverlapping(self.as_ptr(), words.as_mut_ptr() as *mut u8, len)
                };
                Data {
                    dtype: self.dtype,
                    dims: self.dims.clone(),
                    storage: Storage::Owned { words, len },
                }
            }
        }
    }
}

impl std::fmt::Debug for Data {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Data")
            .field("dtype", &self.dtype)
            .field("dims", &self.dims)
            .field("bytes", &self.num_bytes())
            .field("borrowed", &self.is_borrowed())
            .finish()
    }
}

impl PartialEq for Data {
    fn eq(&self, other: &Data) -> bool {
        self.dtype == other.dtype && self.dims == other.dims && self.bytes() == other.bytes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn owned_roundtrip_and_views() {
        let d = Data::from_vec(vec![1.0f32, 2.0, 3.0, 4.0, 5.0, 6.0], &[3, 2]).unwrap();
        assert_eq!(d.num_elements(), 6);
        assert_eq!(d.num_bytes(), 24);
        assert_eq!(d.as_slice::<f32>().unwrap()[4], 5.0);
        assert!(d.as_slice::<f64>().is_err());
        let c = d.clone();
        assert_eq!(c, d);
        assert_eq!(d.normalized_dims(), vec![3, 2]);
    }

    #[test]
    fn empty_and_absurd() {
        let e = Data::empty(DType::Float, &[10, 10]);
        assert!(!e.has_data());
        assert_eq!(e.expected_bytes(), 400);
        assert!(Data::owning(DType::Double, &[usize::MAX, 2]).is_err());
        assert!(Data::owning(DType::Double, &[1 << 30, 1 << 20]).is_err());
        assert!(Data::from_vec(vec![1u8, 2], &[3]).is_err());
    }

    #[test]
    fn borrowed_writes_through() {
        let mut backing = vec![0f64; 4];
        let mut d =
            unsafe { Data::from_raw_parts(DType::Double, backing.as_mut_ptr() as *mut u8, &[4]) }
                .unwrap();
        assert!(d.is_borrowed());
        d.as_mut_slice::<f64>().unwrap()[2] = 7.0;
        let owned = d.clone();
        assert!(!owned.is_borrowed());
        drop(d);
        assert_eq!(backing[2], 7.0);
        assert_eq!(owned.as_slice::<f64>().unwrap()[2], 7.0);
    }
}
