//! Output files written whole or not at all.

use std::fs::File;
use std::path::{Path, PathBuf};

use anyhow::{anyhow, Context, Result};

/// Writes `path` through a temporary file in the same directory, renamed
/// into place once complete: a failure leaves no partial file.
pub fn write_atomically(
    path: &Path,
    write: impl FnOnce(&mut std::fs::File) -> std::io::Result<()>,
) -> Result<()> {
    let mut partial = Partial::create(path)?;
    write(&mut partial.file).with_context(|| format!("--out {}", path.display()))?;
    partial.commit()
}

/// A file written beside its final path, renamed into place by
/// [`Partial::commit`]; removed if dropped before.
pub struct Partial {
    /// The file being written.
    pub file: File,
    tmp: PathBuf,
    path: PathBuf,
    done: bool,
}

impl Partial {
    /// Creates the temporary file beside `path` (named after it).
    pub fn create(path: &Path) -> Result<Partial> {
        let parent = path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        let name = path
            .file_name()
            .ok_or_else(|| anyhow!("--out {}: not a file name", path.display()))?;
        let tmp = parent.join(format!(".{}.partial", name.to_string_lossy()));
        let file = File::create(&tmp).with_context(|| format!("--out {}", path.display()))?;
        Ok(Partial {
            file,
            tmp,
            path: path.to_path_buf(),
            done: false,
        })
    }

    /// Fsyncs the file and renames it to its path.
    pub fn commit(mut self) -> Result<()> {
        self.file
            .sync_all()
            .and_then(|()| std::fs::rename(&self.tmp, &self.path))
            .with_context(|| format!("--out {}", self.path.display()))?;
        self.done = true;
        Ok(())
    }
}

impl Drop for Partial {
    fn drop(&mut self) {
        if !self.done {
            let _ = std::fs::remove_file(&self.tmp);
        }
    }
}
