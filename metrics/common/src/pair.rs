//! The plugin shell of a metric that keeps the uncompressed input at compression and compares
//! it with the decompressed output (`error_stat`, `ssim`).
//!
//! [`PairMetric`] does the LibPressio plumbing once: it keeps a copy of the input(s) in
//! `begin_compress(_many)`, pairs them with the output(s) in `end_decompress(_many)` (also
//! through `Metrics::evaluate` given both buffers), declares, documents and applies the fill
//! keys, and falls back to typed placeholders after an error. A [`PairStatistic`] supplies only
//! what it computes and its keys.

use pressio_ml_core::{
    keys, metric_configuration, Data, FillOptions, FillSpec, MetricsPlugin, Options, PressioError,
    Result,
};

/// Number of elements whose bytes a buffer holds, checked against its dims; `metric` and
/// `what` name the metric and the buffer in the error.
pub fn held_elements(d: &Data, metric: &str, what: &str) -> Result<usize> {
    let n = d.num_elements();
    if d.num_bytes() != n.saturating_mul(d.dtype().size()) {
        return Err(PressioError::InvalidInput(format!(
            "{metric}: the {what} buffer has dims {:?} of {} but holds {} bytes",
            d.dims(),
            d.dtype(),
            d.num_bytes()
        )));
    }
    Ok(n)
}

/// What a [`PairMetric`] computes from (uncompressed, decompressed) pairs.
pub trait PairStatistic: Clone + Send + std::fmt::Debug + 'static {
    /// The computed result.
    type Output: Clone + Send + std::fmt::Debug;
    /// Registry id and key prefix.
    fn id(&self) -> &'static str;
    /// The result over the pairs together, with the fill rule `fill`.
    fn compute(&self, pairs: &[(&Data, &Data)], fill: &FillSpec) -> Result<Self::Output>;
    /// Every result key: from `output`, or a typed placeholder when it is `None`.
    fn results(&self, output: Option<&Self::Output>) -> Options;
    /// `pressio:description` and one entry per result key (the fill keys are added).
    fn documentation(&self) -> Options;
}

/// A metrics plugin comparing the kept input with the decompressed output by a
/// [`PairStatistic`].
#[derive(Debug, Clone)]
pub struct PairMetric<S: PairStatistic> {
    statistic: S,
    fill: FillOptions,
    inputs: Vec<Data>,
    output: Option<S::Output>,
}

impl<S: PairStatistic + Default> Default for PairMetric<S> {
    fn default() -> Self {
        Self::with_statistic(S::default())
    }
}

impl<S: PairStatistic> PairMetric<S> {
    /// A fresh instance (no input, no result, default fill rule `auto`).
    pub fn with_statistic(statistic: S) -> Self {
        PairMetric {
            statistic,
            fill: FillOptions::default(),
            inputs: Vec::new(),
            output: None,
        }
    }

    /// The last result, if any.
    pub fn output(&self) -> Option<&S::Output> {
        self.output.as_ref()
    }

    fn compute(&mut self, outputs: &[&Data]) -> Result<()> {
        if self.inputs.is_empty() {
            // nothing to compare against (no compression seen): keep the current result
            return Ok(());
        }
        let r = if self.inputs.len() != outputs.len() {
            Err(PressioError::InvalidInput(format!(
                "{}: {} uncompressed buffers but {} decompressed buffers",
                self.statistic.id(),
                self.inputs.len(),
                outputs.len()
            )))
        } else {
            let pairs: Vec<(&Data, &Data)> =
                self.inputs.iter().zip(outputs.iter().copied()).collect();
            self.statistic.compute(&pairs, self.fill.spec())
        };
        match r {
            Ok(v) => {
                self.output = Some(v);
                Ok(())
            }
            Err(e) => {
                self.output = None;
                Err(e)
            }
        }
    }
}

impl<S: PairStatistic> MetricsPlugin for PairMetric<S> {
    fn id(&self) -> &str {
        self.statistic.id()
    }

    fn begin_compress(&mut self, input: &Data, _output: &Data) -> Result<()> {
        self.inputs = vec![input.clone()];
        Ok(())
    }

    fn end_decompress(&mut self, _input: &Data, output: &Data, ok: bool) -> Result<()> {
        if ok {
            self.compute(&[output])
        } else {
            Ok(())
        }
    }

    fn begin_compress_many(&mut self, inputs: &[&Data], _outputs: &[&Data]) -> Result<()> {
        self.inputs = inputs.iter().map(|d| (*d).clone()).collect();
        Ok(())
    }

    fn end_decompress_many(
        &mut self,
        _inputs: &[&Data],
        outputs: &[&Data],
        ok: bool,
    ) -> Result<()> {
        if ok {
            self.compute(outputs)
        } else {
            Ok(())
        }
    }

    fn results(&mut self, _compressor_results: &Options) -> Options {
        self.statistic.results(self.output.as_ref())
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
        metric_configuration(true, &[keys::PREDICTORS_ERROR_DEPENDENT])
    }

    fn documentation(&self) -> Options {
        let mut d = self.statistic.documentation();
        FillOptions::document(&mut d);
        d
    }

    fn clone_metric(&self) -> Box<dyn MetricsPlugin> {
        Box::new(self.clone())
    }
}
