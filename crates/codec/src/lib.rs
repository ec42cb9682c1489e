//! placeholder, replaced by the owning work item
