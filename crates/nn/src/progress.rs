//! Progress reporting shared by the trainers: a progress bar in one style, and the running
//! mean of the recent losses it shows.

use indicatif::{ProgressBar, ProgressStyle};

/// A progress bar of `len` steps counted in `unit` (`"steps"`, `"tiles labelled"`, ...), or a
/// hidden one when `show` is false.
pub fn bar(len: usize, show: bool, unit: &str) -> ProgressBar {
    let pb = if show {
        ProgressBar::new(len as u64)
    } else {
        ProgressBar::hidden()
    };
    pb.set_style(
        ProgressStyle::with_template(&format!(
            "{{spinner}} [{{elapsed_precise}}] {{bar:30}} {{pos}}/{{len}} {unit}, eta {{eta}} {{msg}}"
        ))
        .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    pb
}

/// The mean of the last `window` values pushed (a training loss as the bar shows it).
#[derive(Debug, Clone)]
pub struct RecentMean {
    window: usize,
    values: std::collections::VecDeque<f64>,
}

impl RecentMean {
    /// An empty window of `window` values (at least 1).
    pub fn new(window: usize) -> Self {
        RecentMean {
            window: window.max(1),
            values: std::collections::VecDeque::new(),
        }
    }

    /// Add a value, dropping the oldest beyond the window.
    pub fn push(&mut self, v: f64) {
        self.values.push_back(v);
        if self.values.len() > self.window {
            self.values.pop_front();
        }
    }

    /// The mean of the values in the window (NaN when empty).
    pub fn mean(&self) -> f64 {
        if self.values.is_empty() {
            f64::NAN
        } else {
            self.values.iter().sum::<f64>() / self.values.len() as f64
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recent_mean_keeps_a_window() {
        let mut m = RecentMean::new(2);
        assert!(m.mean().is_nan());
        for v in [1.0, 2.0, 4.0] {
            m.push(v);
        }
        assert_eq!(m.mean(), 3.0);
        bar(3, false, "steps").inc(1);
    }
}
