//! Placeholder: replaced by the work item that owns this folder.

/// Register this crate's plugins (none yet).
pub fn register(_builder: &mut pressio_ml_core::RegistryBuilder) -> pressio_ml_core::Result<()> {
    Ok(())
}
