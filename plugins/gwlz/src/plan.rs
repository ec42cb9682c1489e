//! How many groups and channels a field gets, so that the enhancers' weights stay a small
//! fraction of the inner compressor's stream (the paper reports 0.0003x to 0.09x).

use crate::enhancer::stored_params;

/// Fewest finite points a group must have on average before it gets a model.
pub const MIN_GROUP_POINTS: usize = 256;
/// Fewest hidden channels a model is shrunk to before groups are dropped.
pub const MIN_CHANNELS: usize = 2;
/// Stream bytes one group costs besides its weights (boundary, flag, residual scale).
pub const GROUP_SIDE_BYTES: usize = 13;

/// The shape of the enhancement for one field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Plan {
    /// Number of value groups (0: no enhancement).
    pub groups: usize,
    /// Hidden channels of every model.
    pub channels: usize,
}

/// Bytes `groups` models of `channels` channels add to the stream.
pub fn model_bytes(groups: usize, channels: usize) -> usize {
    groups * (4 * stored_params(channels) + GROUP_SIDE_BYTES)
}

/// Pick the plan: at most `groups` groups with at least [`MIN_GROUP_POINTS`] points each on
/// average, then shrink the channels (down to [`MIN_CHANNELS`]) and then the groups until the
/// models fit in `max_overhead` times the inner stream's size.
pub fn plan(
    groups: usize,
    max_channels: usize,
    finite_points: usize,
    inner_bytes: usize,
    max_overhead: f64,
) -> Plan {
    let budget = (max_overhead * inner_bytes as f64).floor();
    let mut g = groups.min(finite_points / MIN_GROUP_POINTS);
    let mut c = max_channels.max(1);
    let fits = |g: usize, c: usize| model_bytes(g, c) as f64 <= budget;
    while c > MIN_CHANNELS && !fits(g, c) {
        c -= 1;
    }
    while g > 0 && !fits(g, c) {
        g -= 1;
    }
    Plan {
        groups: g,
        channels: c,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plans_respect_the_budget() {
        // A big field with a big inner stream keeps everything.
        let p = plan(20, 9, 1 << 20, 1 << 20, 0.1);
        assert_eq!(
            p,
            Plan {
                groups: 20,
                channels: 9
            }
        );
        // A high ratio shrinks channels first, then groups.
        let p = plan(20, 9, 1 << 20, 40_000, 0.1);
        assert!(p.channels < 9 && p.groups == 20, "{p:?}");
        assert!(model_bytes(p.groups, p.channels) <= 4000);
        let p = plan(20, 9, 1 << 20, 10_000, 0.1);
        assert_eq!(p.channels, MIN_CHANNELS);
        assert!(p.groups < 20 && model_bytes(p.groups, p.channels) <= 1000);
        // Tiny inner streams and tiny fields get no models.
        assert_eq!(plan(20, 9, 1 << 20, 100, 0.1).groups, 0);
        assert_eq!(plan(20, 9, 100, 1 << 20, 0.1).groups, 0);
        assert_eq!(plan(20, 9, 1000, 1 << 20, 0.1).groups, 3);
        assert_eq!(plan(20, 9, 1 << 20, 1 << 20, 0.0).groups, 0);
    }
}
