//! The generic keys every plugin honours: `pressio:abs`, `pressio:rel` and `pressio:nthreads`,
//! declared, documented and parsed once.

use crate::error::{PressioError, Result};
use crate::keys;
use crate::options::{OptionType, Options};

/// A requested error bound.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum BoundSpec {
    /// `|x - x'| <= e` for every value.
    Abs(f64),
    /// `|x - x'| <= eps * (max(x) - min(x))` over the finite values.
    Rel(f64),
}

impl BoundSpec {
    /// The absolute bound for data whose finite values span `value_range`.
    pub fn absolute(&self, value_range: f64) -> f64 {
        match *self {
            BoundSpec::Abs(e) => e,
            BoundSpec::Rel(eps) => eps * value_range,
        }
    }

    /// 1 for abs, 2 for rel (the stream encoding).
    pub fn mode_id(&self) -> u8 {
        match self {
            BoundSpec::Abs(_) => 1,
            BoundSpec::Rel(_) => 2,
        }
    }

    /// The user's value (e or eps).
    pub fn value(&self) -> f64 {
        match *self {
            BoundSpec::Abs(v) | BoundSpec::Rel(v) => v,
        }
    }
}

fn check_bound(key: &str, v: f64) -> Result<f64> {
    crate::schema::finite_bound(&v).map_err(|r| PressioError::invalid_option(key, r))?;
    Ok(v)
}

/// `pressio:abs` / `pressio:rel` handling shared by all plugins.
///
/// Only the active mode's key is reported as set; the other is a typed placeholder. When both
/// keys arrive set in one `set_options` call (a client that echoes `get_options()` back with one
/// key changed), the one that differs from the current state wins; if both differ, the call is
/// refused as ambiguous.
#[derive(Debug, Clone, PartialEq)]
pub struct BoundOptions {
    spec: Option<BoundSpec>,
}

impl BoundOptions {
    /// Start with `default` (or no bound).
    pub fn new(default: Option<BoundSpec>) -> Self {
        BoundOptions { spec: default }
    }

    /// The current bound.
    pub fn spec(&self) -> Option<BoundSpec> {
        self.spec
    }

    /// Replace the bound (plugin-specific keys use this after [`BoundOptions::apply`], so they win).
    pub fn set(&mut self, spec: Option<BoundSpec>) {
        self.spec = spec;
    }

    /// Declare `pressio:abs` and `pressio:rel` in `options`.
    pub fn declare(&self, options: &mut Options) {
        match self.spec {
            Some(BoundSpec::Abs(e)) => {
                options.set(keys::ABS, e);
                options.set_type(keys::REL, OptionType::F64);
            }
            Some(BoundSpec::Rel(e)) => {
                options.set_type(keys::ABS, OptionType::F64);
                options.set(keys::REL, e);
            }
            None => {
                options.set_type(keys::ABS, OptionType::F64);
                options.set_type(keys::REL, OptionType::F64);
            }
        }
    }

    /// Document the two keys.
    pub fn document(docs: &mut Options) {
        docs.set(
            keys::ABS,
            "pointwise absolute error bound: |x - x'| <= abs for every value",
        );
        docs.set(
            keys::REL,
            "pointwise value-range-relative error bound: |x - x'| <= rel * (max - min) of the \
             valid input values (finite and not fill values, see pressio:fill_mode)",
        );
    }

    /// Read the two keys (exact type `double`; another type is an error).
    pub fn apply(&mut self, options: &Options) -> Result<()> {
        let abs = options
            .get_typed::<f64>(keys::ABS)?
            .map(|v| check_bound(keys::ABS, v))
            .transpose()?;
        let rel = options
            .get_typed::<f64>(keys::REL)?
            .map(|v| check_bound(keys::REL, v))
            .transpose()?;
        self.spec = match (abs, rel) {
            (None, None) => self.spec,
            (Some(a), None) => Some(BoundSpec::Abs(a)),
            (None, Some(r)) => Some(BoundSpec::Rel(r)),
            (Some(a), Some(r)) => {
                if self.spec == Some(BoundSpec::Abs(a)) {
                    Some(BoundSpec::Rel(r))
                } else if self.spec == Some(BoundSpec::Rel(r)) {
                    Some(BoundSpec::Abs(a))
                } else {
                    return Err(PressioError::invalid_option(
                        keys::ABS,
                        "both pressio:abs and pressio:rel were changed; set only one",
                    ));
                }
            }
        };
        Ok(())
    }

    /// The bound, or an error naming the keys when none is set.
    pub fn require(&self, plugin: &str) -> Result<BoundSpec> {
        self.spec.ok_or_else(|| {
            PressioError::invalid_option(
                keys::ABS,
                format!("{plugin} needs pressio:abs or pressio:rel"),
            )
        })
    }
}

/// `pressio:nthreads` handling shared by all plugins.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ThreadOptions {
    nthreads: u32,
}

impl Default for ThreadOptions {
    fn default() -> Self {
        ThreadOptions { nthreads: 1 }
    }
}

impl ThreadOptions {
    /// Number of threads requested (>= 1).
    pub fn nthreads(&self) -> u32 {
        self.nthreads
    }
    /// Declare `pressio:nthreads`.
    pub fn declare(&self, options: &mut Options) {
        options.set(keys::NTHREADS, self.nthreads);
    }
    /// Document `pressio:nthreads`.
    pub fn document(docs: &mut Options) {
        docs.set(
            keys::NTHREADS,
            "number of threads to use (>= 1); never changes the output",
        );
    }
    /// Read `pressio:nthreads` (uint32; 0 is refused).
    pub fn apply(&mut self, options: &Options) -> Result<()> {
        if let Some(n) = options.get_typed::<u32>(keys::NTHREADS)? {
            if n == 0 {
                return Err(PressioError::invalid_option(
                    keys::NTHREADS,
                    "must be at least 1",
                ));
            }
            self.nthreads = n;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn echo_back_picks_the_changed_key() {
        let mut b = BoundOptions::new(Some(BoundSpec::Rel(1e-3)));
        let mut o = Options::new();
        b.declare(&mut o);
        o.cast_set_string(keys::ABS, "0.5").unwrap();
        b.apply(&o).unwrap();
        assert_eq!(b.spec(), Some(BoundSpec::Abs(0.5)));
        let both = Options::new().with(keys::ABS, 1.0).with(keys::REL, 0.1);
        assert!(b.apply(&both).is_err());
        assert!(b.apply(&Options::new().with(keys::ABS, -1.0)).is_err());
        assert!(b.apply(&Options::new().with(keys::ABS, 1.0f32)).is_err());
        assert!(b.apply(&Options::new().with(keys::REL, f64::NAN)).is_err());
    }

    #[test]
    fn nthreads() {
        let mut t = ThreadOptions::default();
        t.apply(&Options::new().with(keys::NTHREADS, 4u32)).unwrap();
        assert_eq!(t.nthreads(), 4);
        assert!(t.apply(&Options::new().with(keys::NTHREADS, 0u32)).is_err());
    }
}
