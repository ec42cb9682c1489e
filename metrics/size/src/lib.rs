//! The `size` metric: byte counts, compression ratio and bit rate of a compression, with
//! LibPressio's `size` result keys.
//!
//! | key | type | meaning |
//! |---|---|---|
//! | `size:uncompressed_size` | uint64 | bytes of the uncompressed input (elements x dtype size) |
//! | `size:compressed_size` | uint64 | bytes of the compressed stream |
//! | `size:decompressed_size` | uint64 | bytes of the decompressed output |
//! | `size:compression_ratio` | double | uncompressed bytes / compressed bytes |
//! | `size:bit_rate` | double | compressed bits per input element |
//! | `size:valid_points` | uint64 | input points finite and not fill points (pressio-ml) |
//! | `size:valid_bit_rate` | double | compressed bits per valid point (pressio-ml) |
//!
//! Sizes come from the buffers' metadata (number of elements times the dtype size), as
//! LibPressio's `size_in_bytes` does, so an output template without a buffer still counts. Every
//! key is always returned, as a typed placeholder until its value is known. The `_many` hooks sum
//! the sizes and element counts over all buffers.
//!
//! The two `valid` keys follow the generic fill keys (`pressio:fill_mode`, `pressio:fill_value`,
//! `pressio:fill_values`; a compressor handle forwards them to its metric): a valid point is
//! finite in the input and, unless the mode is `none`, not a fill point of a `float` or `double`
//! input. On a field with a land mask, `size:valid_bit_rate` is what the data that matters
//! costs, the mask and fill points included in the numerator. Counting them takes one pass over
//! the input at compression; an input without a buffer leaves them as placeholders.

#![warn(missing_docs)]

use pressio_ml_core::{
    keys, metric_configuration, Data, FillOptions, MetricsPlugin, Options, RegistryBuilder, Result,
    Value,
};
use pressio_ml_metric_common::valid_points;

/// Registry id and key prefix of the metric.
pub const ID: &str = "size";
/// Result key: bytes of the uncompressed input (`uint64`).
pub const UNCOMPRESSED_SIZE: &str = "size:uncompressed_size";
/// Result key: bytes of the compressed stream (`uint64`).
pub const COMPRESSED_SIZE: &str = "size:compressed_size";
/// Result key: bytes of the decompressed output (`uint64`).
pub const DECOMPRESSED_SIZE: &str = "size:decompressed_size";
/// Result key: uncompressed bytes / compressed bytes (`double`).
pub const COMPRESSION_RATIO: &str = "size:compression_ratio";
/// Result key: compressed bits per uncompressed element (`double`).
pub const BIT_RATE: &str = "size:bit_rate";
/// Result key: uncompressed points that are finite and not fill points (`uint64`).
pub const VALID_POINTS: &str = "size:valid_points";
/// Result key: compressed bits per valid point (`double`).
pub const VALID_BIT_RATE: &str = "size:valid_bit_rate";

/// Register the `size` metric.
pub fn register(builder: &mut RegistryBuilder) -> Result<()> {
    builder.metric(ID, |_| Box::new(SizeMetric::new()))?;
    Ok(())
}

/// Bytes described by a buffer's metadata, or `None` for a buffer without dims (an absent
/// buffer, such as the compressed placeholder of a standalone evaluation).
fn described_bytes(d: &Data) -> Option<u64> {
    if d.dims().is_empty() {
        None
    } else {
        Some(d.expected_bytes() as u64)
    }
}

/// Sum of [`described_bytes`] over buffers; `None` if any buffer has no dims or there are none.
fn described_bytes_many(ds: &[&Data]) -> Option<u64> {
    if ds.is_empty() {
        return None;
    }
    ds.iter().try_fold(0u64, |acc, d| {
        described_bytes(d).map(|b| acc.saturating_add(b))
    })
}

/// Valid points of the inputs under `fill`, summed; `None` if any input holds no buffer.
fn valid_points_many(ds: &[&Data], fill: &FillOptions) -> Result<Option<u64>> {
    let mut total = 0u64;
    for d in ds {
        if d.num_bytes() != d.expected_bytes() || d.dims().is_empty() {
            return Ok(None);
        }
        total = total.saturating_add(valid_points(d, fill.spec())?);
    }
    Ok((!ds.is_empty()).then_some(total))
}

/// The `size` metrics plugin.
#[derive(Debug, Clone, Default)]
pub struct SizeMetric {
    fill: FillOptions,
    uncompressed: Option<u64>,
    uncompressed_elements: Option<u64>,
    valid: Option<u64>,
    compressed: Option<u64>,
    decompressed: Option<u64>,
}

impl SizeMetric {
    /// A fresh instance with no measurement.
    pub fn new() -> Self {
        Self::default()
    }

    fn record_input(&mut self, bytes: Option<u64>, elements: Option<u64>, valid: Option<u64>) {
        self.uncompressed = bytes;
        self.uncompressed_elements = elements;
        self.valid = valid;
        // a new compression makes the older stream and output sizes stale
        self.compressed = None;
        self.decompressed = None;
    }
}

impl MetricsPlugin for SizeMetric {
    fn id(&self) -> &str {
        ID
    }

    fn begin_compress(&mut self, input: &Data, _output: &Data) -> Result<()> {
        let elements = (!input.dims().is_empty()).then(|| input.num_elements() as u64);
        let valid = valid_points_many(&[input], &self.fill)?;
        self.record_input(described_bytes(input), elements, valid);
        Ok(())
    }

    fn end_compress(&mut self, _input: &Data, output: &Data, ok: bool) -> Result<()> {
        self.compressed = if ok { described_bytes(output) } else { None };
        Ok(())
    }

    fn end_decompress(&mut self, input: &Data, output: &Data, ok: bool) -> Result<()> {
        if !ok {
            self.decompressed = None;
            return Ok(());
        }
        self.decompressed = described_bytes(output);
        // decompression-only use (e.g. a standalone evaluation given the stream): take the
        // stream size from the decompression input when no compression recorded it
        if self.compressed.is_none() {
            self.compressed = described_bytes(input);
        }
        Ok(())
    }

    fn begin_compress_many(&mut self, inputs: &[&Data], _outputs: &[&Data]) -> Result<()> {
        let elements = (!inputs.is_empty() && inputs.iter().all(|d| !d.dims().is_empty()))
            .then(|| inputs.iter().map(|d| d.num_elements() as u64).sum());
        let valid = valid_points_many(inputs, &self.fill)?;
        self.record_input(described_bytes_many(inputs), elements, valid);
        Ok(())
    }

    fn end_compress_many(&mut self, _inputs: &[&Data], outputs: &[&Data], ok: bool) -> Result<()> {
        self.compressed = if ok {
            described_bytes_many(outputs)
        } else {
            None
        };
        Ok(())
    }

    fn end_decompress_many(&mut self, inputs: &[&Data], outputs: &[&Data], ok: bool) -> Result<()> {
        if !ok {
            self.decompressed = None;
            return Ok(());
        }
        self.decompressed = described_bytes_many(outputs);
        if self.compressed.is_none() {
            self.compressed = described_bytes_many(inputs);
        }
        Ok(())
    }

    fn results(&mut self, _compressor_results: &Options) -> Options {
        let mut o = Options::new();
        o.set_or_placeholder(UNCOMPRESSED_SIZE, self.uncompressed);
        o.set_or_placeholder(COMPRESSED_SIZE, self.compressed);
        o.set_or_placeholder(DECOMPRESSED_SIZE, self.decompressed);
        let ratio = match (self.uncompressed, self.compressed) {
            (Some(u), Some(c)) => Some(u as f64 / c as f64),
            _ => None,
        };
        o.set_or_placeholder(COMPRESSION_RATIO, ratio);
        let bit_rate = match (self.compressed, self.uncompressed_elements) {
            (Some(c), Some(n)) => Some(c as f64 * 8.0 / n as f64),
            _ => None,
        };
        o.set_or_placeholder(BIT_RATE, bit_rate);
        o.set_or_placeholder(VALID_POINTS, self.valid);
        let valid_bit_rate = match (self.compressed, self.valid) {
            (Some(c), Some(n)) => Some(c as f64 * 8.0 / n as f64),
            _ => None,
        };
        o.set_or_placeholder(VALID_BIT_RATE, valid_bit_rate);
        o
    }

    fn options(&self) -> Options {
        let mut o = Options::new();
        self.fill.declare(&mut o);
        o
    }

    fn set_options(&mut self, options: &Options) -> Result<()> {
        self.fill.apply(options)
    }

    fn configuration(&self) -> Options {
        let mut o = metric_configuration(false, &[keys::PREDICTORS_ERROR_DEPENDENT]);
        o.set(
            keys::PREDICTORS_REQUIRES_DECOMPRESS,
            Value::Strings(vec![DECOMPRESSED_SIZE.into()]),
        );
        o
    }

    fn documentation(&self) -> Options {
        let mut d = Options::new();
        d.set(
            keys::DESCRIPTION,
            "size metric: uncompressed, compressed and decompressed byte counts, compression \
             ratio, bit rate, and bit rate per valid (finite, non-fill) point",
        );
        d.set(
            UNCOMPRESSED_SIZE,
            "bytes of the uncompressed input (elements times dtype size)",
        );
        d.set(COMPRESSED_SIZE, "bytes of the compressed stream");
        d.set(
            DECOMPRESSED_SIZE,
            "bytes of the decompressed output (elements times dtype size)",
        );
        d.set(
            COMPRESSION_RATIO,
            "uncompressed bytes divided by compressed bytes (higher is better)",
        );
        d.set(
            BIT_RATE,
            "compressed bits per uncompressed element (8 * compressed bytes / elements)",
        );
        d.set(
            VALID_POINTS,
            "uncompressed points that are valid: finite and, unless pressio:fill_mode is none, \
             not fill points (float and double inputs; one pass over the input)",
        );
        d.set(
            VALID_BIT_RATE,
            "compressed bits per valid point (8 * compressed bytes / size:valid_points; +inf \
             when no point is valid): the cost of the data that matters on a masked field",
        );
        FillOptions::document(&mut d);
        d
    }

    fn clone_metric(&self) -> Box<dyn MetricsPlugin> {
        Box::new(self.clone())
    }
}
