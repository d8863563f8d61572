//! Output files written whole or not at all.

use std::path::Path;

use anyhow::{anyhow, Context, Result};

/// Writes `path` through a temporary file in the same directory, renamed
/// into place once complete: a failure leaves no partial file.
pub fn write_atomically(
    path: &Path,
    write: impl FnOnce(&mut std::fs::File) -> std::io::Result<()>,
) -> Result<()> {
    let parent = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .ok_or_else(|| anyhow!("--out {}: not a file name", path.display()))?;
    let tmp = parent.join(format!(".{}.partial", name.to_string_lossy()));
    let run = || -> std::io::Result<()> {
        let mut f = std::fs::File::create(&tmp)?;
        write(&mut f)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    };
    run()
        .inspect_err(|_| {
            let _ = std::fs::remove_file(&tmp);
        })
        .with_context(|| format!("--out {}", path.display()))
}
