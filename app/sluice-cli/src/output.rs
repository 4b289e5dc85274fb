//! Files a command writes: its reports and charts, with their directories.

use std::path::Path;

use crate::Failure;

/// Writes `bytes` to `path`, creating its directory.
pub(crate) async fn write(path: &Path, bytes: &[u8]) -> Result<(), Failure> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        tokio::fs::create_dir_all(dir)
            .await
            .map_err(|e| Failure::failed(format!("cannot create {}: {e}", dir.display())))?;
    }
    tokio::fs::write(path, bytes).await.map_err(|e| Failure::failed(format!("cannot write {}: {e}", path.display())))
}
