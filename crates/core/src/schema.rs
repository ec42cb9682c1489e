//! One declarative description of a plugin's options.
//!
//! A plugin declares each option once: key, type, documentation, the `predictors:*` list it
//! belongs to, whether it is a `pressio:highlevel` option, how to read it from the plugin's state
//! and how to validate and store a new value. The [`OptionSchema`] derives from that everything
//! LibPressio asks of a plugin: `get_options` ([`OptionSchema::options`]), `set_options` and
//! `check_options` ([`OptionSchema::apply`]), `get_documentation`
//! ([`OptionSchema::documentation`]) and the option lists of `get_configuration`
//! ([`OptionSchema::configuration`]). The command line casts `-o key=value` strings to the types
//! that `get_options` reports, so the schema's types drive the casts as well.
//!
//! The rules every schema follows:
//!
//! * [`OptionSchema::apply`] is all-or-nothing: the entries are applied in declaration order to
//!   a clone of the state, and the clone is returned only when every entry accepted its keys;
//! * a key set with another type than declared is an error; unknown keys are ignored;
//! * a key whose value equals what `get_options` reported before the call is ignored, so a client
//!   may send back everything `get_options` returned with one key changed (later entries see the
//!   state before the call when they compare, and the state being built when they store);
//! * a refused value is reported as [`PressioError::InvalidOption`] naming the key.
//!
//! Single keys are declared with [`Key`]; keys that need joint handling (the generic bound pair
//! with its echo-back rule, `pressio:nthreads`, the fill keys, or a plugin's own set of related
//! keys) with a [`Group`]; checks that span several keys with [`OptionSchema::step`].

use crate::bound::{BoundOptions, BoundSpec, ThreadOptions};
use crate::compressor::{plugin_configuration, Stability, ThreadSafety};
use crate::dtype::DType;
use crate::error::{PressioError, Result};
use crate::fill::{FillOptions, FILL_MODE};
use crate::keys;
use crate::options::{OptionType, OptionValue, Options, Value};
use std::fmt::Display;
use std::sync::Arc;

/// Which `predictors:*` configuration list an option belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Affects {
    /// `predictors:error_dependent`: changes the result in a way that depends on the bound.
    ErrorDependent,
    /// `predictors:error_agnostic`: changes the result whatever the bound.
    ErrorAgnostic,
    /// `predictors:runtime`: changes only the running time.
    Runtime,
    /// In no list.
    Unlisted,
}

/// Why a setter refused a value: a reason (reported against the key being set) or a complete
/// error (reported as is).
#[derive(Debug)]
pub enum Reject {
    /// A human reason; the schema reports it as [`PressioError::InvalidOption`] for the key.
    Reason(String),
    /// An error that already names its key.
    Error(PressioError),
}

impl Reject {
    fn into_error(self, key: &str) -> PressioError {
        match self {
            Reject::Reason(r) => PressioError::invalid_option(key, r),
            Reject::Error(e) => e,
        }
    }
}

impl From<&str> for Reject {
    fn from(r: &str) -> Self {
        Reject::Reason(r.to_string())
    }
}

impl From<String> for Reject {
    fn from(r: String) -> Self {
        Reject::Reason(r)
    }
}

impl From<PressioError> for Reject {
    fn from(e: PressioError) -> Self {
        Reject::Error(e)
    }
}

/// What a setter returns.
pub type SetResult = std::result::Result<(), Reject>;

/// What the schema knows about one declared key.
#[derive(Debug, Clone, PartialEq)]
pub struct KeyInfo {
    key: &'static str,
    ty: OptionType,
    doc: String,
    affects: Affects,
    highlevel: bool,
    allowed: Option<Vec<String>>,
}

impl KeyInfo {
    fn new(key: &'static str, ty: OptionType, doc: impl Into<String>) -> Self {
        KeyInfo {
            key,
            ty,
            doc: doc.into(),
            affects: Affects::Unlisted,
            highlevel: false,
            allowed: None,
        }
    }

    /// The key.
    pub fn key(&self) -> &'static str {
        self.key
    }

    /// The declared type.
    pub fn option_type(&self) -> OptionType {
        self.ty
    }

    /// The documentation, including the allowed values when the text does not name them all.
    pub fn doc(&self) -> String {
        match &self.allowed {
            Some(names) if !names.iter().all(|n| self.doc.contains(n.as_str())) => {
                format!("{} (one of: {})", self.doc, names.join(", "))
            }
            _ => self.doc.clone(),
        }
    }

    /// The `predictors:*` list the key belongs to.
    pub fn affects(&self) -> Affects {
        self.affects
    }

    /// True for a `pressio:highlevel` option.
    pub fn is_highlevel(&self) -> bool {
        self.highlevel
    }

    /// The allowed values of a string option with a fixed set of choices.
    pub fn allowed(&self) -> Option<&[String]> {
        self.allowed.as_deref()
    }
}

/// The check of an error bound: finite and `>= 0` ("`v` is not a finite bound >= 0").
pub fn finite_bound(v: &f64) -> std::result::Result<(), String> {
    if v.is_finite() && *v >= 0.0 {
        Ok(())
    } else {
        Err(format!("{v} is not a finite bound >= 0"))
    }
}

/// `a`, `a or b`, `a, b or c`.
fn or_list(names: &[&str]) -> String {
    match names.split_last() {
        None => String::new(),
        Some((last, [])) => last.to_string(),
        Some((last, rest)) => format!("{} or {last}", rest.join(", ")),
    }
}

type Getter<S, T> = Arc<dyn Fn(&S) -> Option<T> + Send + Sync>;
type Setter<S, T> = Box<dyn Fn(&mut S, T) -> SetResult + Send + Sync>;
type Check<T> = Box<dyn Fn(&T) -> std::result::Result<(), String> + Send + Sync>;
type Same<T> = Box<dyn Fn(&T, &T) -> bool + Send + Sync>;
type DeclareFn<S> = Box<dyn Fn(&S, &mut Options) + Send + Sync>;
type ApplyFn<S> = Box<dyn Fn(&S, &mut S, &Options) -> Result<()> + Send + Sync>;
type FactFn = Box<dyn Fn() -> Value + Send + Sync>;

/// The string choices of an option and the values they stand for.
#[derive(Debug, Clone, Copy)]
pub struct Choices<V: 'static> {
    list: &'static [(&'static str, V)],
    ignore_case: bool,
}

impl<V: Copy + PartialEq> Choices<V> {
    /// Names matched exactly.
    pub const fn exact(list: &'static [(&'static str, V)]) -> Self {
        Choices {
            list,
            ignore_case: false,
        }
    }

    /// Names matched case-insensitively, surrounding blanks ignored.
    pub const fn ignore_case(list: &'static [(&'static str, V)]) -> Self {
        Choices {
            list,
            ignore_case: true,
        }
    }

    /// The names, in declaration order.
    pub fn names(&self) -> Vec<&'static str> {
        self.list.iter().map(|(n, _)| *n).collect()
    }

    /// The value named `text`.
    pub fn parse(&self, text: &str) -> Option<V> {
        let t = if self.ignore_case { text.trim() } else { text };
        self.list
            .iter()
            .find(|(n, _)| {
                if self.ignore_case {
                    n.eq_ignore_ascii_case(t)
                } else {
                    *n == t
                }
            })
            .map(|(_, v)| *v)
    }

    /// The name of `value`.
    pub fn name(&self, value: V) -> Option<&'static str> {
        self.list.iter().find(|(_, v)| *v == value).map(|(n, _)| *n)
    }
}

/// One option: key, type `T`, documentation, predictor list, getter and validating setter.
pub struct Key<S, T> {
    info: KeyInfo,
    get: Getter<S, T>,
    set: Setter<S, T>,
    checks: Vec<Check<T>>,
    same: Option<Same<T>>,
}

impl<S: 'static, T: OptionValue + PartialEq + 'static> Key<S, T> {
    /// A key whose current value is `get` (`None`: reported as a typed placeholder) and whose new
    /// values are stored by `set`, which may refuse them.
    pub fn new(
        key: &'static str,
        doc: impl Into<String>,
        get: impl Fn(&S) -> Option<T> + Send + Sync + 'static,
        set: impl Fn(&mut S, T) -> SetResult + Send + Sync + 'static,
    ) -> Self {
        Key {
            info: KeyInfo::new(key, T::TYPE, doc),
            get: Arc::new(get),
            set: Box::new(set),
            checks: Vec::new(),
            same: None,
        }
    }

    /// A key that is always set: `get` reads it, `set` stores any value that passes the checks.
    pub fn field(
        key: &'static str,
        doc: impl Into<String>,
        get: impl Fn(&S) -> T + Send + Sync + 'static,
        set: impl Fn(&mut S, T) + Send + Sync + 'static,
    ) -> Self {
        Key::new(
            key,
            doc,
            move |s| Some(get(s)),
            move |s, v| {
                set(s, v);
                Ok(())
            },
        )
    }

    /// Put the key in a `predictors:*` list.
    pub fn affects(mut self, affects: Affects) -> Self {
        self.info.affects = affects;
        self
    }

    /// In `predictors:error_dependent`.
    pub fn error_dependent(self) -> Self {
        self.affects(Affects::ErrorDependent)
    }

    /// In `predictors:error_agnostic`.
    pub fn error_agnostic(self) -> Self {
        self.affects(Affects::ErrorAgnostic)
    }

    /// In `predictors:runtime`.
    pub fn runtime(self) -> Self {
        self.affects(Affects::Runtime)
    }

    /// In `pressio:highlevel`.
    pub fn highlevel(mut self) -> Self {
        self.info.highlevel = true;
        self
    }

    /// Refuse values for which `ok` is false, with `reason`.
    pub fn check(
        mut self,
        ok: impl Fn(&T) -> bool + Send + Sync + 'static,
        reason: impl Into<String>,
    ) -> Self {
        let reason = reason.into();
        self.checks.push(Box::new(
            move |v| if ok(v) { Ok(()) } else { Err(reason.clone()) },
        ));
        self
    }

    /// Refuse values for which `validate` gives a reason.
    pub fn validate(
        mut self,
        validate: impl Fn(&T) -> std::result::Result<(), String> + Send + Sync + 'static,
    ) -> Self {
        self.checks.push(Box::new(validate));
        self
    }

    /// Decide with `same` (instead of `==`) whether a value equals the current one, in which case
    /// it is ignored.
    pub fn same_as(mut self, same: impl Fn(&T, &T) -> bool + Send + Sync + 'static) -> Self {
        self.same = Some(Box::new(same));
        self
    }

    /// Declare the allowed values of a string key with its own parser: they are listed in the
    /// configuration under the key and in the documentation when the text does not name them.
    pub fn allowed<N: AsRef<str>>(mut self, names: impl IntoIterator<Item = N>) -> Self {
        self.info.allowed = Some(names.into_iter().map(|n| n.as_ref().to_string()).collect());
        self
    }

    fn into_entry(self) -> Entry<S> {
        let key = self.info.key;
        let get = self.get;
        let declare_get = Arc::clone(&get);
        let set = self.set;
        let checks = self.checks;
        let same = self.same;
        Entry {
            keys: vec![self.info],
            declare: Some(Box::new(move |s, o| {
                o.set_or_placeholder(key, declare_get(s))
            })),
            apply: Box::new(move |orig, next, o| {
                let Some(v) = o.get_typed::<T>(key)? else {
                    return Ok(());
                };
                let unchanged = match (get(orig), &same) {
                    (Some(now), Some(same)) => same(&now, &v),
                    (now, None) => now.as_ref() == Some(&v),
                    (None, Some(_)) => false,
                };
                if unchanged {
                    return Ok(());
                }
                for check in &checks {
                    check(&v).map_err(|r| PressioError::invalid_option(key, r))?;
                }
                set(next, v).map_err(|r| r.into_error(key))
            }),
        }
    }
}

impl<S: 'static, T> Key<S, T>
where
    T: OptionValue + PartialEq + PartialOrd + Display + Copy + Send + Sync + 'static,
{
    /// Refuse values outside `[lo, hi]` ("`v` is outside [lo, hi]").
    pub fn range(self, lo: T, hi: T) -> Self {
        self.validate(move |v| {
            if *v >= lo && *v <= hi {
                Ok(())
            } else {
                Err(format!("{v} is outside [{lo}, {hi}]"))
            }
        })
    }
}

impl<S: 'static> Key<S, String> {
    /// Compare values with the current one case-insensitively, surrounding blanks ignored (for
    /// keys whose parser ignores case).
    pub fn ignore_case(self) -> Self {
        self.same_as(|now, v| now.trim().eq_ignore_ascii_case(v.trim()))
    }

    /// A string key with a fixed set of `choices`: reported by name, refused with "`x` is not
    /// a, b or c", listed in the configuration and documented.
    pub fn choice<V: Copy + PartialEq + Send + Sync + 'static>(
        key: &'static str,
        doc: impl Into<String>,
        choices: Choices<V>,
        get: impl Fn(&S) -> V + Send + Sync + 'static,
        set: impl Fn(&mut S, V) + Send + Sync + 'static,
    ) -> Self {
        let names = choices.names();
        let key = Key::new(
            key,
            doc,
            move |s| choices.name(get(s)).map(str::to_string),
            move |s, text: String| match choices.parse(&text) {
                Some(v) => {
                    set(s, v);
                    Ok(())
                }
                None => Err(format!("`{text}` is not {}", or_list(&choices.names())).into()),
            },
        )
        .allowed(names);
        if choices.ignore_case {
            key.ignore_case()
        } else {
            key
        }
    }
}

/// Keys handled together: a declare function, an apply function and the keys' descriptions.
pub struct Group<S> {
    keys: Vec<KeyInfo>,
    declare: DeclareFn<S>,
    apply: ApplyFn<S>,
}

/// The text `document` gives `key`.
fn doc_from(document: fn(&mut Options), key: &str) -> String {
    let mut d = Options::new();
    document(&mut d);
    d.get_str(key).unwrap_or_default().to_string()
}

impl<S: 'static> Group<S> {
    /// A group that reports its keys with `declare` and reads them with `apply` (given the state
    /// before the call and the state being built). Declare its keys with [`Group::key`].
    pub fn new(
        declare: impl Fn(&S, &mut Options) + Send + Sync + 'static,
        apply: impl Fn(&S, &mut S, &Options) -> Result<()> + Send + Sync + 'static,
    ) -> Self {
        Group {
            keys: Vec::new(),
            declare: Box::new(declare),
            apply: Box::new(apply),
        }
    }

    /// Declare one of the group's keys (in no `predictors:*` list until [`Group::affects`]).
    pub fn key(mut self, key: &'static str, ty: OptionType, doc: impl Into<String>) -> Self {
        self.keys.push(KeyInfo::new(key, ty, doc));
        self
    }

    fn info(&mut self, key: &str) -> Option<&mut KeyInfo> {
        self.keys.iter_mut().find(|k| k.key == key)
    }

    /// Replace the documentation of `key` (a plugin that honours a generic key its own way).
    pub fn doc(mut self, key: &str, doc: impl Into<String>) -> Self {
        if let Some(k) = self.info(key) {
            k.doc = doc.into();
        }
        self
    }

    /// Put `key` in a `predictors:*` list.
    pub fn affects(mut self, key: &str, affects: Affects) -> Self {
        if let Some(k) = self.info(key) {
            k.affects = affects;
        }
        self
    }

    /// Put `key` in `pressio:highlevel`.
    pub fn highlevel(mut self, key: &str) -> Self {
        if let Some(k) = self.info(key) {
            k.highlevel = true;
        }
        self
    }

    /// `pressio:abs` and `pressio:rel` (error-dependent, high-level) over a bound the state
    /// reports with `get` (`None` when no pointwise bound is in force) and takes with `set`.
    ///
    /// Only the active key is reported as set. [`BoundOptions`]' echo-back rule applies: when
    /// both keys arrive, the one that differs from the current bound wins, and the call is
    /// refused when both differ; `set` is called only when the bound changes.
    pub fn bound(
        get: impl Fn(&S) -> Option<BoundSpec> + Send + Sync + 'static,
        set: impl Fn(&mut S, BoundSpec) + Send + Sync + 'static,
    ) -> Self {
        let get = Arc::new(get);
        let declare_get = Arc::clone(&get);
        Group::new(
            move |s, o| BoundOptions::new(declare_get(s)).declare(o),
            move |orig, next, o| {
                let before = get(orig);
                let mut probe = BoundOptions::new(before);
                probe.apply(o)?;
                match probe.spec() {
                    Some(b) if probe.spec() != before => set(next, b),
                    _ => {}
                }
                Ok(())
            },
        )
        .key(
            keys::ABS,
            OptionType::F64,
            doc_from(BoundOptions::document, keys::ABS),
        )
        .key(
            keys::REL,
            OptionType::F64,
            doc_from(BoundOptions::document, keys::REL),
        )
        .affects(keys::ABS, Affects::ErrorDependent)
        .affects(keys::REL, Affects::ErrorDependent)
        .highlevel(keys::ABS)
        .highlevel(keys::REL)
    }

    /// `pressio:nthreads` (runtime) over the state's [`ThreadOptions`].
    pub fn threads(
        get: fn(&S) -> &ThreadOptions,
        get_mut: fn(&mut S) -> &mut ThreadOptions,
    ) -> Self {
        Group::new(
            move |s, o| get(s).declare(o),
            move |_, next, o| get_mut(next).apply(o),
        )
        .key(
            keys::NTHREADS,
            OptionType::U32,
            doc_from(ThreadOptions::document, keys::NTHREADS),
        )
        .affects(keys::NTHREADS, Affects::Runtime)
    }

    /// `pressio:fill_mode`, `pressio:fill_value` and `pressio:fill_values` over the state's
    /// [`FillOptions`] (error-dependent: they decide the range a `pressio:rel` bound is relative
    /// to, as well as which points are stored exactly).
    pub fn fill(get: fn(&S) -> &FillOptions, get_mut: fn(&mut S) -> &mut FillOptions) -> Self {
        let mut g = Group::new(
            move |s, o| get(s).declare(o),
            move |_, next, o| get_mut(next).apply(o),
        );
        for (key, ty) in FillOptions::types() {
            g = g
                .key(key, ty, doc_from(FillOptions::document, key))
                .affects(key, Affects::ErrorDependent);
        }
        if let Some(k) = g.info(FILL_MODE) {
            k.allowed = Some(vec!["auto".into(), "values".into(), "none".into()]);
        }
        g
    }
}

struct Entry<S> {
    keys: Vec<KeyInfo>,
    declare: Option<DeclareFn<S>>,
    apply: ApplyFn<S>,
}

/// A plugin's options, declared once (see the module documentation).
pub struct OptionSchema<S> {
    entries: Vec<Entry<S>>,
    facts: Vec<(&'static str, String, FactFn)>,
    docs: Vec<(&'static str, String)>,
}

impl<S: Clone + 'static> Default for OptionSchema<S> {
    fn default() -> Self {
        OptionSchema::new()
    }
}

impl<S: Clone + 'static> OptionSchema<S> {
    /// An empty schema.
    pub fn new() -> Self {
        OptionSchema {
            entries: Vec::new(),
            facts: Vec::new(),
            docs: Vec::new(),
        }
    }

    /// Add one key.
    pub fn key<T: OptionValue + PartialEq + 'static>(mut self, key: Key<S, T>) -> Self {
        self.entries.push(key.into_entry());
        self
    }

    /// Add a group of keys handled together.
    pub fn group(mut self, group: Group<S>) -> Self {
        self.entries.push(Entry {
            keys: group.keys,
            declare: Some(group.declare),
            apply: group.apply,
        });
        self
    }

    /// Add a step that runs at this point of [`OptionSchema::apply`] with the state before the
    /// call and the state being built (checks that span keys, derived settings).
    pub fn step(mut self, step: impl Fn(&S, &mut S) -> Result<()> + Send + Sync + 'static) -> Self {
        self.entries.push(Entry {
            keys: Vec::new(),
            declare: None,
            apply: Box::new(move |orig, next, _| step(orig, next)),
        });
        self
    }

    /// Add a configuration entry (a fact about the plugin, not an option), documented.
    pub fn fact(
        mut self,
        key: &'static str,
        doc: impl Into<String>,
        value: impl Fn() -> Value + Send + Sync + 'static,
    ) -> Self {
        self.facts.push((key, doc.into(), Box::new(value)));
        self
    }

    /// The configuration fact `key` listing the element types the plugin accepts, by their
    /// LibPressio names.
    pub fn dtypes(self, key: &'static str, dtypes: &'static [DType]) -> Self {
        self.fact(key, "element types the plugin accepts", move || {
            Value::strings(dtypes.iter().map(|d| d.name()))
        })
    }

    /// Document a key that is neither an option nor a configuration entry (a metrics result).
    pub fn doc(mut self, key: &'static str, doc: impl Into<String>) -> Self {
        self.docs.push((key, doc.into()));
        self
    }

    /// Every declared option key, in declaration order.
    pub fn keys(&self) -> impl Iterator<Item = &KeyInfo> {
        self.entries.iter().flat_map(|e| e.keys.iter())
    }

    /// The state's options: every key with its value or a typed placeholder (`get_options`).
    pub fn options(&self, state: &S) -> Options {
        let mut o = Options::new();
        for declare in self.entries.iter().filter_map(|e| e.declare.as_ref()) {
            declare(state, &mut o);
        }
        o
    }

    /// `state` with `options` applied, or the first refusal; `state` itself never changes
    /// (`set_options` stores the result, `check_options` drops it).
    pub fn apply(&self, state: &S, options: &Options) -> Result<S> {
        let mut next = state.clone();
        for e in &self.entries {
            (e.apply)(state, &mut next, options)?;
        }
        Ok(next)
    }

    /// Apply `options` to `state` (`set_options`): all of them, or none and the first refusal.
    pub fn set(&self, state: &mut S, options: &Options) -> Result<()> {
        *state = self.apply(state, options)?;
        Ok(())
    }

    /// Whether `options` would be accepted (`check_options`); `state` never changes.
    pub fn check(&self, state: &S, options: &Options) -> Result<()> {
        self.apply(state, options).map(|_| ())
    }

    /// Document every option, configuration fact and documented-only key into `docs`.
    pub fn document(&self, docs: &mut Options) {
        for k in self.keys() {
            docs.set(k.key, k.doc());
        }
        for (key, doc, _) in &self.facts {
            docs.set(*key, doc.as_str());
        }
        for (key, doc) in &self.docs {
            docs.set(*key, doc.as_str());
        }
    }

    /// `pressio:description` plus everything [`OptionSchema::document`] writes.
    pub fn documentation(&self, description: &str) -> Options {
        let mut d = Options::new();
        d.set(keys::DESCRIPTION, description);
        self.document(&mut d);
        d
    }

    /// The keys of one `predictors:*` list, in declaration order.
    pub fn predictors(&self, affects: Affects) -> Vec<&'static str> {
        self.keys()
            .filter(|k| k.affects == affects)
            .map(|k| k.key)
            .collect()
    }

    /// The `pressio:highlevel` keys, in declaration order.
    pub fn highlevel(&self) -> Vec<&'static str> {
        self.keys().filter(|k| k.highlevel).map(|k| k.key).collect()
    }

    /// `pressio:thread_safe`, `pressio:stability`, the three `predictors:*` lists,
    /// `pressio:highlevel`, the allowed values of every string key with fixed choices, and the
    /// facts.
    pub fn configuration(&self, thread_safety: ThreadSafety, stability: Stability) -> Options {
        let mut o = plugin_configuration(
            thread_safety,
            stability,
            &self.predictors(Affects::ErrorDependent),
            &self.predictors(Affects::ErrorAgnostic),
            &self.predictors(Affects::Runtime),
        );
        o.set(keys::HIGHLEVEL, Value::strings(self.highlevel()));
        for k in self.keys() {
            if let Some(names) = &k.allowed {
                o.set(k.key, Value::Strings(names.clone()));
            }
        }
        for (key, _, value) in &self.facts {
            o.set(*key, value());
        }
        o
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Clone, Copy, PartialEq)]
    enum Shape {
        Round,
        Square,
    }

    #[derive(Debug, Clone, PartialEq)]
    struct Toy {
        bound: BoundOptions,
        threads: ThreadOptions,
        fill: FillOptions,
        shape: Shape,
        level: i32,
        ratio: Option<f64>,
        derived: i32,
    }

    impl Default for Toy {
        fn default() -> Self {
            Toy {
                bound: BoundOptions::new(Some(BoundSpec::Rel(1e-3))),
                threads: ThreadOptions::default(),
                fill: FillOptions::default(),
                shape: Shape::Round,
                level: 3,
                ratio: None,
                derived: 3,
            }
        }
    }

    const SHAPES: &[(&str, Shape)] = &[("round", Shape::Round), ("square", Shape::Square)];

    fn schema() -> OptionSchema<Toy> {
        OptionSchema::new()
            .group(Group::bound(
                |t: &Toy| t.bound.spec(),
                |t, b| t.bound.set(Some(b)),
            ))
            .group(
                Group::<Toy>::threads(|t| &t.threads, |t| &mut t.threads).highlevel(keys::NTHREADS),
            )
            .group(Group::<Toy>::fill(|t| &t.fill, |t| &mut t.fill))
            .key(
                Key::choice(
                    "toy:shape",
                    "shape of the toy",
                    Choices::exact(SHAPES),
                    |t: &Toy| t.shape,
                    |t, v| t.shape = v,
                )
                .error_agnostic()
                .highlevel(),
            )
            .key(
                Key::field(
                    "toy:level",
                    "level: round or square",
                    |t: &Toy| t.level,
                    |t, v| t.level = v,
                )
                .range(-7, 22)
                .check(|v| *v != 13, "13 is unlucky")
                .error_dependent(),
            )
            .key(
                Key::new(
                    "toy:ratio",
                    "unset until set",
                    |t: &Toy| t.ratio,
                    |t, v: f64| {
                        if v.is_nan() {
                            return Err(PressioError::invalid_option("toy:other", "nan").into());
                        }
                        if v < 0.0 {
                            return Err("must be >= 0".into());
                        }
                        t.ratio = Some(v);
                        Ok(())
                    },
                )
                .runtime(),
            )
            .step(|_, next| {
                next.derived = next.level;
                if next.level == 21 && next.shape == Shape::Square {
                    return Err(PressioError::invalid_option(
                        "toy:level",
                        "21 is round only",
                    ));
                }
                Ok(())
            })
            .fact("toy:dtypes", "element types", || Value::strings(["float"]))
            .doc("toy:result", "a result")
    }

    #[test]
    fn options_report_values_and_placeholders() {
        let s = schema();
        let o = s.options(&Toy::default());
        assert_eq!(o.get_str("toy:shape"), Some("round"));
        assert_eq!(o.get::<i32>("toy:level").1, Some(3));
        assert_eq!(o.get::<f64>(keys::REL).1, Some(1e-3));
        assert!(o.contains(keys::ABS) && o.value(keys::ABS).is_none());
        assert!(o.contains("toy:ratio") && o.value("toy:ratio").is_none());
        assert_eq!(
            o.get_option("toy:ratio").map(|p| p.option_type()),
            Some(OptionType::F64)
        );
        assert!(o.contains(crate::fill::FILL_VALUES));
        assert_eq!(o.get::<u32>(keys::NTHREADS).1, Some(1));
    }

    #[test]
    fn apply_is_all_or_nothing_and_ignores_unknown_keys() {
        let s = schema();
        let t = Toy::default();
        let ok = Options::new()
            .with("toy:shape", "square")
            .with("toy:level", 5i32)
            .with("other:key", 1u8);
        let n = s.apply(&t, &ok).unwrap();
        assert_eq!((n.shape, n.level, n.derived), (Shape::Square, 5, 5));
        s.check(&t, &ok).unwrap();
        let mut m = t.clone();
        s.set(&mut m, &ok).unwrap();
        assert_eq!(m, n);
        // one bad key refuses the whole call
        let bad = ok.clone().with("toy:ratio", -1.0);
        let mut m = t.clone();
        assert!(s.set(&mut m, &bad).is_err() && s.check(&t, &bad).is_err());
        assert_eq!(m, t, "a refused call changes nothing");
        let e = s.apply(&t, &bad).unwrap_err();
        assert!(
            matches!(&e, PressioError::InvalidOption { key, .. } if key == "toy:ratio"),
            "{e}"
        );
        // a setter's own error is passed through as is
        let e = s
            .apply(&t, &Options::new().with("toy:ratio", f64::NAN))
            .unwrap_err();
        assert!(matches!(&e, PressioError::InvalidOption { key, .. } if key == "toy:other"));
        // wrong type
        let e = s
            .apply(&t, &Options::new().with("toy:level", 5u32))
            .unwrap_err();
        assert!(matches!(e, PressioError::WrongOptionType { .. }));
        // checks and their messages
        let msg = |o: Options| s.apply(&t, &o).unwrap_err().to_string();
        assert!(msg(Options::new().with("toy:level", 30i32)).contains("30 is outside [-7, 22]"));
        assert!(msg(Options::new().with("toy:level", 13i32)).contains("13 is unlucky"));
        assert!(
            msg(Options::new().with("toy:shape", "oval")).contains("`oval` is not round or square")
        );
        // a step sees the state being built
        let o = Options::new()
            .with("toy:shape", "square")
            .with("toy:level", 21i32);
        assert!(msg(o).contains("21 is round only"));
        // the groups
        assert!(s
            .apply(&t, &Options::new().with(keys::NTHREADS, 0u32))
            .is_err());
        assert!(s
            .apply(
                &t,
                &Options::new().with(crate::fill::FILL_MODE, "sometimes")
            )
            .is_err());
        let n = s
            .apply(
                &t,
                &Options::new()
                    .with(keys::ABS, 0.5)
                    .with(keys::NTHREADS, 4u32),
            )
            .unwrap();
        assert_eq!(n.bound.spec(), Some(BoundSpec::Abs(0.5)));
        assert_eq!(n.threads.nthreads(), 4);
    }

    #[test]
    fn echoing_options_back_changes_only_the_changed_key() {
        let s = schema();
        let t = Toy::default();
        let mut echo = s.options(&t);
        echo.cast_set_string(keys::ABS, "0.25").unwrap();
        echo.cast_set_string("toy:level", "7").unwrap();
        let n = s.apply(&t, &echo).unwrap();
        assert_eq!(n.bound.spec(), Some(BoundSpec::Abs(0.25)));
        assert_eq!(n.level, 7);
        assert_eq!(n.shape, Shape::Round);
        // an unchanged key is not validated again nor stored
        let same = s.apply(&t, &s.options(&t)).unwrap();
        assert_eq!(same, t);
        // both bound keys changed: ambiguous
        let both = Options::new().with(keys::ABS, 1.0).with(keys::REL, 0.1);
        assert!(s.apply(&t, &both).is_err());
    }

    #[test]
    fn documentation_and_configuration() {
        let s = schema();
        let d = s.documentation("a toy");
        assert_eq!(d.get_str(keys::DESCRIPTION), Some("a toy"));
        for k in s.options(&Toy::default()).keys() {
            assert!(d.contains(k), "{k} undocumented");
        }
        assert_eq!(
            d.get_str("toy:shape"),
            Some("shape of the toy (one of: round, square)")
        );
        assert_eq!(d.get_str("toy:level"), Some("level: round or square"));
        assert!(d.contains("toy:dtypes") && d.contains("toy:result"));
        let c = s.configuration(ThreadSafety::Multiple, Stability::Unstable);
        let list = |k: &str| match c.value(k) {
            Some(Value::Strings(v)) => v.clone(),
            other => panic!("{k}: {other:?}"),
        };
        assert_eq!(
            list(keys::PREDICTORS_ERROR_DEPENDENT),
            [
                keys::ABS,
                keys::REL,
                crate::fill::FILL_MODE,
                crate::fill::FILL_VALUE,
                crate::fill::FILL_VALUES,
                "toy:level"
            ]
        );
        assert_eq!(list(keys::PREDICTORS_ERROR_AGNOSTIC), ["toy:shape"]);
        assert_eq!(
            list(keys::PREDICTORS_RUNTIME),
            [keys::NTHREADS, "toy:ratio"]
        );
        assert_eq!(
            list(keys::HIGHLEVEL),
            [keys::ABS, keys::REL, keys::NTHREADS, "toy:shape"]
        );
        assert_eq!(list("toy:shape"), ["round", "square"]);
        assert_eq!(list(FILL_MODE), ["auto", "values", "none"]);
        assert_eq!(list("toy:dtypes"), ["float"]);
    }

    #[test]
    fn group_docs_can_be_replaced() {
        let g: Group<Toy> = Group::<Toy>::threads(|t| &t.threads, |t| &mut t.threads)
            .doc(keys::NTHREADS, "serial build");
        let s = OptionSchema::new().group(g);
        assert_eq!(
            s.documentation("x").get_str(keys::NTHREADS),
            Some("serial build")
        );
        let s: OptionSchema<Toy> = OptionSchema::new().group(Group::bound(
            |t: &Toy| t.bound.spec(),
            |t, b| t.bound.set(Some(b)),
        ));
        assert!(s
            .documentation("x")
            .get_str(keys::ABS)
            .unwrap()
            .starts_with("pointwise absolute error bound"));
    }

    #[test]
    fn choices_ignore_case_and_list() {
        let c = Choices::ignore_case(SHAPES);
        assert_eq!(c.parse(" SQUARE "), Some(Shape::Square));
        assert_eq!(Choices::exact(SHAPES).parse("SQUARE"), None);
        assert_eq!(c.name(Shape::Round), Some("round"));
        assert_eq!(or_list(&["a"]), "a");
        assert_eq!(or_list(&["a", "b", "c"]), "a, b or c");
    }

    #[test]
    fn ignore_case_keys_treat_other_spellings_as_unchanged() {
        let s: OptionSchema<Toy> = OptionSchema::new().key(Key::choice(
            "toy:shape",
            "round or square",
            Choices::ignore_case(SHAPES),
            |t: &Toy| t.shape,
            |t, v| {
                t.shape = v;
                t.level += 1;
            },
        ));
        let t = Toy::default();
        let n = s
            .apply(&t, &Options::new().with("toy:shape", " ROUND"))
            .unwrap();
        assert_eq!(n.level, t.level, "an equal value is not stored again");
        let n = s
            .apply(&t, &Options::new().with("toy:shape", "Square"))
            .unwrap();
        assert_eq!((n.shape, n.level), (Shape::Square, t.level + 1));
    }
}
