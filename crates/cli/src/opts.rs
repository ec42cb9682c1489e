//! `-o key=value` parsing, casting through a `get_options()` template, and the `-O/-C/-M`
//! filters.

use crate::error::{CliError, CliResult};
use pressio_ml::{ConversionSafety, KeyStatus, Options, PressioError, Value};
use regex::Regex;

/// The full key of a command-line key: a key without `:` gets the `pressio:` prefix, as
/// `pressio`'s `parse_option` does.
pub fn full_key(key: &str) -> String {
    if key.contains(':') {
        key.to_string()
    } else {
        format!("pressio:{key}")
    }
}

/// Split `key=value` (at the first `=`); `flag` names the flag in the error.
pub fn split_key_value(arg: &str, flag: char) -> CliResult<(String, String)> {
    match arg.split_once('=') {
        Some((k, v)) if !k.trim().is_empty() => Ok((full_key(k.trim()), v.to_string())),
        _ => Err(CliError::usage(format!(
            "-{flag} {arg}: expected KEY=VALUE"
        ))),
    }
}

/// Group `key=value` arguments by full key, keeping the order of first appearance; a key given
/// several times collects all its values (a string array, as in `pressio`).
pub fn group_key_values(args: &[String], flag: char) -> CliResult<Vec<(String, Vec<String>)>> {
    let mut groups: Vec<(String, Vec<String>)> = Vec::new();
    for a in args {
        let (k, v) = split_key_value(a, flag)?;
        match groups.iter_mut().find(|(key, _)| *key == k) {
            Some((_, values)) => values.push(v),
            None => groups.push((k, vec![v])),
        }
    }
    Ok(groups)
}

/// Build the options to pass to `set_options`: only the given keys, each converted to the type
/// it has in `template` (the compressor's `get_options()`). Unknown keys and values that do not
/// convert are errors naming the key.
pub fn cast_through_template(
    template: &Options,
    groups: &[(String, Vec<String>)],
) -> Result<Options, PressioError> {
    let mut out = Options::new();
    for (key, values) in groups {
        let slot = template
            .get_option(key)
            .ok_or_else(|| PressioError::UnknownOption(key.clone()))?;
        out.insert_option(key.clone(), slot.clone());
        if let [single] = values.as_slice() {
            out.cast_set_string(key, single)?;
        } else {
            let v = Value::Strings(values.clone());
            if out.cast_set(key, &v, ConversionSafety::Special) != KeyStatus::Set {
                return Err(PressioError::WrongOptionType {
                    key: key.clone(),
                    expected: slot.option_type().name().to_string(),
                    found: format!("{} values {v}", values.len()),
                });
            }
        }
    }
    Ok(out)
}

/// A key filter built from `-O`/`-C`/`-M` patterns: `all`, or regular expressions searched in
/// the key (any one matching keeps the key).
#[derive(Debug)]
pub struct KeyFilter {
    all: bool,
    patterns: Vec<Regex>,
}

impl KeyFilter {
    /// Compile the patterns; `None` when no pattern was given.
    pub fn new(patterns: &[String]) -> CliResult<Option<KeyFilter>> {
        if patterns.is_empty() {
            return Ok(None);
        }
        let all = patterns.iter().any(|p| p == "all");
        let mut compiled = Vec::new();
        if !all {
            for p in patterns {
                compiled.push(Regex::new(p).map_err(|e| CliError::Pattern {
                    pattern: p.clone(),
                    source: e,
                })?);
            }
        }
        Ok(Some(KeyFilter {
            all,
            patterns: compiled,
        }))
    }

    /// True when `key` passes the filter.
    pub fn matches(&self, key: &str) -> bool {
        self.all || self.patterns.iter().any(|r| r.is_match(key))
    }

    /// The entries of `options` that pass.
    pub fn apply(&self, options: &Options) -> Options {
        let mut out = Options::new();
        for (k, slot) in options.iter() {
            if self.matches(k) {
                out.insert_option(k.clone(), slot.clone());
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pressio_ml::OptionType;

    fn template() -> Options {
        let mut t = Options::new();
        t.set_type("pressio:abs", OptionType::F64);
        t.set("pressio:nthreads", 1u32);
        t.set_type("x:names", OptionType::Strings);
        t.set_type("x:any", OptionType::Unset);
        t
    }

    #[test]
    fn keys_and_casts() {
        assert_eq!(full_key("abs"), "pressio:abs");
        assert_eq!(full_key("sz3:abs_error_bound"), "sz3:abs_error_bound");
        assert!(split_key_value("abs", 'o').is_err());
        assert!(split_key_value("=3", 'o').is_err());
        let g = group_key_values(
            &[
                "abs=1e-3".into(),
                "x:names=a".into(),
                "nthreads=4".into(),
                "x:names=b".into(),
            ],
            'o',
        )
        .unwrap();
        assert_eq!(g.len(), 3);
        let o = cast_through_template(&template(), &g).unwrap();
        assert_eq!(o.len(), 3);
        assert_eq!(o.get::<f64>("pressio:abs").1, Some(1e-3));
        assert_eq!(o.get::<u32>("pressio:nthreads").1, Some(4));
        assert_eq!(
            o.get::<Vec<String>>("x:names").1,
            Some(vec!["a".into(), "b".into()])
        );
        let e = cast_through_template(&template(), &[("pressio:zz".into(), vec!["1".into()])])
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "non existent option for the compressor: pressio:zz"
        );
        assert!(
            cast_through_template(&template(), &[("pressio:abs".into(), vec!["x".into()])])
                .is_err()
        );
        let two = vec!["1".to_string(), "2".to_string()];
        assert!(cast_through_template(&template(), &[("pressio:abs".into(), two)]).is_err());
        let any =
            cast_through_template(&template(), &[("x:any".into(), vec!["v".into()])]).unwrap();
        assert_eq!(any.get_str("x:any"), Some("v"));
    }

    #[test]
    fn filters() {
        assert!(KeyFilter::new(&[]).unwrap().is_none());
        let f = KeyFilter::new(&["abs$".into()]).unwrap().unwrap();
        assert_eq!(f.apply(&template()).len(), 1);
        let all = KeyFilter::new(&["all".into()]).unwrap().unwrap();
        assert_eq!(all.apply(&template()).len(), 4);
        assert!(KeyFilter::new(&["(".into()]).is_err());
    }
}
