//! Model files: weights in safetensors plus a small JSON manifest, found by name or by path.
//!
//! A model named `NAME` is the pair `NAME.json` (the [`Manifest`]) and the weights file the
//! manifest names (usually `NAME.safetensors`) in one directory. Names are looked up, in order,
//! in every directory of `$PRESSIO_ML_MODELS` (colon-separated), in the workspace's `models/`
//! directory this crate was built in, and in `./models`. A value containing a `/` or ending in
//! `.json` or `.safetensors` is a path instead.
//!
//! A manifest may be an alias (`"alias_of": "OTHER"`): it then stands for the model `OTHER` of
//! the same directory. The content hash of a model is the SHA-256 of its weights file; it is
//! recorded in the manifest, checked on every load, and written into streams so that a stream
//! is never decoded with another model.

use crate::tch_error;
use pressio_ml_core::{PressioError, Result};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use tch::nn::VarStore;
use tch::{Kind, Tensor};

/// Manifest format version written by this crate.
pub const MANIFEST_FORMAT: u32 = 1;

/// Environment variable listing extra model directories (colon-separated), searched first.
pub const MODELS_ENV: &str = "PRESSIO_ML_MODELS";

/// Longest alias chain followed.
const MAX_ALIAS_DEPTH: usize = 4;

/// Normalisation constants of a model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Normalization {
    /// `field` (each field is scaled by its own min/max) or `model` (by `min`/`max` below).
    pub mode: String,
    /// Minimum of the training data.
    pub min: f64,
    /// Maximum of the training data.
    pub max: f64,
}

/// One training input.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DataRef {
    /// File path as given to the trainer.
    pub path: String,
    /// Dims, fastest first (LibPressio order).
    pub dims: Vec<usize>,
    /// Element type (`float` or `double`).
    pub dtype: String,
}

/// How the model was trained.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct TrainingRecord {
    /// Training inputs.
    pub data: Vec<DataRef>,
    /// What a sample is (e.g. "2-D slices over the two fastest dims").
    pub sample: String,
    /// Samples used for training (indices, human-readable).
    pub train: String,
    /// Samples used for validation.
    pub validation: String,
    /// Held-out test samples.
    pub test: String,
    /// Epochs run.
    pub epochs: u32,
    /// Mini-batch size.
    pub batch_size: u32,
    /// Initial learning rate.
    pub learning_rate: f64,
    /// Learning-rate decay per epoch.
    pub lr_decay: f64,
    /// Random seed.
    pub seed: u64,
    /// Final losses by name (e.g. `train_loss`, `validation_mse`, `test_mse`).
    pub final_losses: std::collections::BTreeMap<String, f64>,
    /// Device used for training.
    pub device: String,
    /// libtorch version used for training.
    pub libtorch: String,
    /// Threads used for training.
    pub threads: u32,
    /// Wall-clock training time in seconds.
    pub seconds: f64,
    /// Anything else worth recording.
    #[serde(default)]
    pub notes: String,
}

/// The weights file of a model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WeightsRef {
    /// File name, relative to the manifest's directory.
    pub file: String,
    /// Lower-case hex SHA-256 of the file.
    pub sha256: String,
    /// Size in bytes.
    pub bytes: u64,
}

/// The JSON manifest of a model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    /// Manifest format version ([`MANIFEST_FORMAT`]).
    pub format: u32,
    /// Model name.
    pub name: String,
    /// When set, this manifest is an alias of the named model in the same directory and the
    /// other fields are ignored.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alias_of: Option<String>,
    /// Architecture id (e.g. `aesz-swae`), checked by the plugin that loads it.
    #[serde(default)]
    pub architecture: String,
    /// Human description.
    #[serde(default)]
    pub description: String,
    /// Architecture-specific hyper-parameters (read by the plugin).
    #[serde(default)]
    pub hyperparameters: serde_json::Value,
    /// Normalisation constants.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub normalization: Option<Normalization>,
    /// Training record.
    #[serde(default)]
    pub training: TrainingRecord,
    /// The weights file (absent in aliases).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weights: Option<WeightsRef>,
}

impl Manifest {
    /// Parse a manifest from JSON text; `what` names it in errors.
    pub fn from_json(text: &str, what: &str) -> Result<Manifest> {
        let m: Manifest = serde_json::from_str(text)
            .map_err(|e| PressioError::Model(format!("{what}: invalid manifest: {e}")))?;
        if m.format != MANIFEST_FORMAT {
            return Err(PressioError::Model(format!(
                "{what}: manifest format {} (this build reads {MANIFEST_FORMAT})",
                m.format
            )));
        }
        Ok(m)
    }

    /// The manifest of a freshly trained model: `hyperparameters` serialised, no alias, no
    /// weights yet ([`write_model`] fills them in).
    pub fn trained(
        name: &str,
        architecture: &str,
        description: &str,
        hyperparameters: &impl Serialize,
        normalization: Option<Normalization>,
        training: TrainingRecord,
    ) -> Result<Manifest> {
        Ok(Manifest {
            format: MANIFEST_FORMAT,
            name: name.to_string(),
            alias_of: None,
            architecture: architecture.to_string(),
            description: description.to_string(),
            hyperparameters: serde_json::to_value(hyperparameters)
                .map_err(|e| PressioError::Internal(format!("hyper-parameters: {e}")))?,
            normalization,
            training,
            weights: None,
        })
    }

    /// The manifest as pretty JSON.
    pub fn to_json(&self) -> Result<String> {
        serde_json::to_string_pretty(self)
            .map_err(|e| PressioError::Internal(format!("manifest serialisation: {e}")))
    }
}

/// A model whose manifest was read and whose weights file was found and hashed.
#[derive(Debug, Clone)]
pub struct ModelFiles {
    /// The (resolved, non-alias) manifest.
    pub manifest: Manifest,
    /// Path of the manifest.
    pub manifest_path: PathBuf,
    /// Path of the weights file.
    pub weights_path: PathBuf,
    /// The weights file's bytes (already hashed).
    pub weights: Vec<u8>,
    /// SHA-256 of the weights file.
    pub hash: [u8; 32],
}

/// SHA-256 of `bytes`.
pub fn sha256(bytes: &[u8]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(bytes);
    h.finalize().into()
}

/// Lower-case hex of `bytes`.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The directories searched for model names, in order.
pub fn model_dirs() -> Vec<PathBuf> {
    let mut dirs = Vec::new();
    if let Ok(v) = std::env::var(MODELS_ENV) {
        dirs.extend(v.split(':').filter(|s| !s.is_empty()).map(PathBuf::from));
    }
    dirs.push(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../models"));
    dirs.push(PathBuf::from("models"));
    dirs
}

fn is_path(spec: &str) -> bool {
    spec.contains('/') || spec.ends_with(".json") || spec.ends_with(".safetensors")
}

fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 128
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.')
        && !name.starts_with('.')
}

/// Where the manifest named or pointed to by `spec` lives.
pub fn find_manifest(spec: &str) -> Result<PathBuf> {
    let spec = spec.trim();
    if spec.is_empty() {
        return Err(PressioError::Model("no model given".into()));
    }
    if is_path(spec) {
        let p = PathBuf::from(spec);
        let p = if spec.ends_with(".safetensors") {
            p.with_extension("json")
        } else {
            p
        };
        if !p.is_file() {
            return Err(PressioError::Model(format!(
                "model manifest {} does not exist",
                p.display()
            )));
        }
        return Ok(p);
    }
    if !valid_name(spec) {
        return Err(PressioError::Model(format!(
            "`{spec}` is not a model name (letters, digits, '-', '_', '.') or a path"
        )));
    }
    let dirs = model_dirs();
    for d in &dirs {
        let p = d.join(format!("{spec}.json"));
        if p.is_file() {
            return Ok(p);
        }
    }
    Err(PressioError::Model(format!(
        "model `{spec}` not found (looked for {spec}.json in {}; set {MODELS_ENV} or give a path)",
        dirs.iter()
            .map(|d| d.display().to_string())
            .collect::<Vec<_>>()
            .join(", ")
    )))
}

/// Read the manifest at `path`, following aliases; returns the final manifest and its path.
pub fn read_manifest(path: &Path) -> Result<(Manifest, PathBuf)> {
    let mut path = path.to_path_buf();
    for _ in 0..=MAX_ALIAS_DEPTH {
        let text = std::fs::read_to_string(&path).map_err(|e| {
            PressioError::Model(format!(
                "cannot read model manifest {}: {e}",
                path.display()
            ))
        })?;
        let m = Manifest::from_json(&text, &path.display().to_string())?;
        match &m.alias_of {
            None => return Ok((m, path)),
            Some(target) => {
                if !valid_name(target) {
                    return Err(PressioError::Model(format!(
                        "{}: alias target `{target}` is not a model name",
                        path.display()
                    )));
                }
                let dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
                path = dir.join(format!("{target}.json"));
            }
        }
    }
    Err(PressioError::Model(format!(
        "model alias chain longer than {MAX_ALIAS_DEPTH} at {}",
        path.display()
    )))
}

/// Resolve `spec` (a name or a path), read its manifest (following aliases), read its weights
/// file and check the file's SHA-256 against the manifest.
pub fn resolve(spec: &str) -> Result<ModelFiles> {
    let (manifest, manifest_path) = read_manifest(&find_manifest(spec)?)?;
    let w = manifest.weights.as_ref().ok_or_else(|| {
        PressioError::Model(format!(
            "{}: manifest names no weights file",
            manifest_path.display()
        ))
    })?;
    if w.file.contains('/') || w.file.contains('\\') || w.file.starts_with('.') {
        return Err(PressioError::Model(format!(
            "{}: weights file `{}` must be a plain file name next to the manifest",
            manifest_path.display(),
            w.file
        )));
    }
    let weights_path = manifest_path
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default()
        .join(&w.file);
    let weights = std::fs::read(&weights_path).map_err(|e| {
        PressioError::Model(format!(
            "cannot read the weights of model `{}` ({}): {e}",
            manifest.name,
            weights_path.display()
        ))
    })?;
    let hash = sha256(&weights);
    if hex(&hash) != w.sha256.to_ascii_lowercase() {
        return Err(PressioError::Model(format!(
            "weights file {} has SHA-256 {}, but its manifest {} records {} (modified or \
             mismatched files)",
            weights_path.display(),
            hex(&hash),
            manifest_path.display(),
            w.sha256
        )));
    }
    Ok(ModelFiles {
        manifest,
        manifest_path,
        weights_path,
        weights,
        hash,
    })
}

/// Copy the tensors of a safetensors file (as bytes) into the variables of `vs`, which must
/// hold exactly the same names and shapes (f32).
pub fn load_weights(vs: &VarStore, bytes: &[u8], what: &str) -> Result<()> {
    let st = safetensors::SafeTensors::deserialize(bytes)
        .map_err(|e| PressioError::Model(format!("{what}: not a safetensors file: {e}")))?;
    let vars = vs.variables();
    let mut names: Vec<&String> = vars.keys().collect();
    names.sort();
    let stored: std::collections::BTreeSet<String> = st.names().into_iter().cloned().collect();
    for name in &names {
        if !stored.contains(name.as_str()) {
            return Err(PressioError::Model(format!(
                "{what}: tensor `{name}` is missing (the file was made for another architecture)"
            )));
        }
    }
    if stored.len() != names.len() {
        let extra: Vec<&String> = stored.iter().filter(|n| !vars.contains_key(*n)).collect();
        return Err(PressioError::Model(format!(
            "{what}: unexpected tensors {extra:?} (the file was made for another architecture)"
        )));
    }
    tch::no_grad(|| -> Result<()> {
        for name in names {
            let view = st
                .tensor(name)
                .map_err(|e| PressioError::Model(format!("{what}: tensor `{name}`: {e}")))?;
            let var = &vars[name];
            let shape: Vec<i64> = view.shape().iter().map(|&d| d as i64).collect();
            if shape != var.size() {
                return Err(PressioError::Model(format!(
                    "{what}: tensor `{name}` has shape {shape:?}, the network expects {:?}",
                    var.size()
                )));
            }
            if view.dtype() != safetensors::Dtype::F32 {
                return Err(PressioError::Model(format!(
                    "{what}: tensor `{name}` is {:?}, expected F32",
                    view.dtype()
                )));
            }
            let numel: i64 = shape.iter().product();
            if view.data().len() != numel as usize * 4 {
                return Err(PressioError::Model(format!(
                    "{what}: tensor `{name}` holds {} bytes for {numel} values",
                    view.data().len()
                )));
            }
            let t = Tensor::f_from_data_size(view.data(), &shape, Kind::Float)
                .map_err(|e| tch_error("loading weights", e))?;
            let mut v = var.shallow_clone();
            v.f_copy_(&t).map_err(|e| tch_error("loading weights", e))?;
        }
        Ok(())
    })
}

/// Save the variables of `vs` as a safetensors file at `path` (sorted names, f32 on the CPU)
/// and return the file's SHA-256 and size.
pub fn save_weights(vs: &VarStore, path: &Path) -> Result<([u8; 32], u64)> {
    let vars = vs.variables();
    let mut names: Vec<&String> = vars.keys().collect();
    names.sort();
    let mut tensors = Vec::with_capacity(names.len());
    for n in names {
        let t = vars[n]
            .f_to(tch::Device::Cpu)
            .and_then(|t| t.f_to_kind(Kind::Float))
            .and_then(|t| t.f_contiguous())
            .map_err(|e| tch_error("saving weights", e))?;
        tensors.push((n.clone(), t));
    }
    Tensor::write_safetensors(&tensors, path)
        .map_err(|e| PressioError::Model(format!("cannot write {}: {e}", path.display())))?;
    let bytes = std::fs::read(path)?;
    Ok((sha256(&bytes), bytes.len() as u64))
}

/// Write `manifest` as `<dir>/<manifest.name>.json` and return its path.
pub fn write_manifest(dir: &Path, manifest: &Manifest) -> Result<PathBuf> {
    if !valid_name(&manifest.name) {
        return Err(PressioError::InvalidArgument(format!(
            "`{}` is not a model name (letters, digits, '-', '_', '.')",
            manifest.name
        )));
    }
    let p = dir.join(format!("{}.json", manifest.name));
    std::fs::write(&p, manifest.to_json()? + "\n")?;
    Ok(p)
}

/// A trained model as [`write_model`] wrote it.
#[derive(Debug, Clone)]
pub struct WrittenModel {
    /// The manifest, its `weights` filled in.
    pub manifest: Manifest,
    /// `<dir>/<name>.json`.
    pub manifest_path: PathBuf,
    /// `<dir>/<name>.safetensors`.
    pub weights_path: PathBuf,
}

/// Write a trained model into `dir` (created if needed): the variables of `vs` as
/// `<name>.safetensors`, and `manifest` with its `weights` set to that file's name, SHA-256
/// and size as `<name>.json`. The name is checked before anything is written.
pub fn write_model(dir: &Path, vs: &VarStore, mut manifest: Manifest) -> Result<WrittenModel> {
    if !valid_name(&manifest.name) {
        return Err(PressioError::InvalidArgument(format!(
            "`{}` is not a model name (letters, digits, '-', '_', '.')",
            manifest.name
        )));
    }
    std::fs::create_dir_all(dir)?;
    let file = format!("{}.safetensors", manifest.name);
    let weights_path = dir.join(&file);
    let (hash, bytes) = save_weights(vs, &weights_path)?;
    manifest.weights = Some(WeightsRef {
        file,
        sha256: hex(&hash),
        bytes,
    });
    let manifest_path = write_manifest(dir, &manifest)?;
    Ok(WrittenModel {
        manifest,
        manifest_path,
        weights_path,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_paths() {
        assert!(is_path("a/b.json"));
        assert!(is_path("m.safetensors"));
        assert!(!is_path("aesz-2d"));
        assert!(valid_name("aesz-cesm_2d.v1"));
        assert!(!valid_name("../x"));
        assert!(!valid_name(".hidden"));
        assert!(matches!(find_manifest(""), Err(PressioError::Model(_))));
        let e = find_manifest("no-such-model-anywhere").unwrap_err();
        assert!(e.to_string().contains("not found"), "{e}");
        let e = find_manifest("/nonexistent/m.json").unwrap_err();
        assert!(e.to_string().contains("does not exist"), "{e}");
    }

    #[test]
    fn manifest_json_roundtrip() {
        let m = Manifest {
            format: MANIFEST_FORMAT,
            name: "t".into(),
            alias_of: None,
            architecture: "x".into(),
            description: String::new(),
            hyperparameters: serde_json::json!({"a": 1}),
            normalization: Some(Normalization {
                mode: "field".into(),
                min: -1.0,
                max: 2.0,
            }),
            training: TrainingRecord::default(),
            weights: Some(WeightsRef {
                file: "t.safetensors".into(),
                sha256: "00".into(),
                bytes: 1,
            }),
        };
        let back = Manifest::from_json(&m.to_json().unwrap(), "t").unwrap();
        assert_eq!(back, m);
        assert!(Manifest::from_json("{", "t").is_err());
        let mut bad = m.clone();
        bad.format = 99;
        assert!(Manifest::from_json(&bad.to_json().unwrap(), "t").is_err());
    }
}
