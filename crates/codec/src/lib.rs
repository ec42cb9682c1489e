//! The codec substrate shared by every pressio-ml compressor, written once:
//!
//! * [`bytes`]: bounds-checked little-endian readers and writers;
//! * [`lossless`]: the zstd backend;
//! * [`container`]: the versioned, checksummed stream container;
//! * [`points`]: exact point lists and index lists (delta-coded, zstd'ed);
//! * [`field`]: the float-field envelope every compressor goes through (bound resolution,
//!   NaN/Inf passthrough, lossless fallback, bound verification patches);
//! * [`quantizer`]: SZ3-semantics linear quantizer and dual quantization;
//! * [`lorenzo`]: Lorenzo predictors for 1 to 4 dimensions;
//! * [`interp`]: SZ3/QoZ-style multilevel interpolation;
//! * [`huffman`]: canonical Huffman coding of quantization codes;
//! * [`hybrid`]: cross-field hybrid prediction on dual-quantized integers (CFNN);
//! * [`rd`]: local rate-distortion curves for encoder-side decisions;
//! * [`threads`]: running a codec on `pressio:nthreads` threads;
//! * [`chunked`]: big fields cut into a fixed grid of chunks coded in parallel.

pub mod bytes;
pub mod chunked;
pub mod container;
pub mod field;
pub mod holes;
pub mod huffman;
pub mod hybrid;
pub mod interp;
pub mod lorenzo;
pub mod lossless;
pub mod points;
pub mod quantizer;
pub mod rd;
pub mod standin;
pub mod threads;
