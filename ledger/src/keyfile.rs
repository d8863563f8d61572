//! Key files on disk: a signer key (C2SP skey text) in a file created with mode
//! 0600, and its verifier key beside it (`<file>.pub`). Secrets are never logged.

use std::fs::OpenOptions;
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::keys::{KeyError, Signer};

/// Why a key file could not be written or read.
#[derive(Debug, thiserror::Error)]
pub enum KeyFileError {
    /// The file exists already (never overwritten).
    #[error("{0} already exists; refusing to overwrite a key")]
    Exists(PathBuf),
    /// I/O failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
    /// Not a regular file (a FIFO, a device, a directory...).
    #[error("{0}: not a regular file")]
    NotRegular(PathBuf),
    /// Larger than any key file.
    #[error("{0}: {1} bytes, more than the {MAX_KEY_FILE_BYTES} a key file can hold")]
    TooLarge(PathBuf, u64),
    /// The file is readable by group or others.
    #[error("{0} is readable by other users (mode {1:o}); run chmod 600 on it")]
    TooOpen(PathBuf, u32),
    /// The content is not a signer key.
    #[error("{path}: {source}")]
    Key {
        /// The file.
        path: PathBuf,
        /// The error.
        source: KeyError,
    },
}

/// The most bytes a key file (or a vkey file) may hold: a key is about 100.
pub const MAX_KEY_FILE_BYTES: u64 = 4096;

/// Reads a small text file that must be a regular file of at most `limit`
/// bytes (key files, vkey files): a FIFO is refused before it is opened, so
/// it cannot hang the reader, and a huge file is never read whole.
pub fn read_small(path: &Path, limit: u64) -> Result<String, KeyFileError> {
    use std::io::Read;
    let io = |source| KeyFileError::Io {
        path: path.to_path_buf(),
        source,
    };
    let meta = std::fs::metadata(path).map_err(io)?;
    if !meta.is_file() {
        return Err(KeyFileError::NotRegular(path.to_path_buf()));
    }
    if meta.len() > limit {
        return Err(KeyFileError::TooLarge(path.to_path_buf(), meta.len()));
    }
    let mut text = String::new();
    std::fs::File::open(path)
        .map_err(io)?
        .take(limit + 1)
        .read_to_string(&mut text)
        .map_err(io)?;
    if text.len() as u64 > limit {
        return Err(KeyFileError::TooLarge(
            path.to_path_buf(),
            text.len() as u64,
        ));
    }
    Ok(text)
}

/// The path of the verifier key written beside a signer key file.
pub fn pub_path(path: &Path) -> PathBuf {
    let mut p = path.as_os_str().to_owned();
    p.push(".pub");
    PathBuf::from(p)
}

/// Writes `signer` to `path` (created new, mode 0600) and its vkey to
/// `<path>.pub` (created new too). Neither file is ever overwritten, and when
/// either exists nothing is written.
pub fn write(path: &Path, signer: &Signer) -> Result<(), KeyFileError> {
    let io = |source| KeyFileError::Io {
        path: path.to_path_buf(),
        source,
    };
    let pub_file = pub_path(path);
    if pub_file.exists() {
        return Err(KeyFileError::Exists(pub_file));
    }
    let mut opts = OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts.open(path).map_err(|e| {
        if e.kind() == std::io::ErrorKind::AlreadyExists {
            KeyFileError::Exists(path.to_path_buf())
        } else {
            io(e)
        }
    })?;
    f.write_all(format!("{}\n", signer.skey()).as_bytes())
        .map_err(io)?;
    f.sync_all().map_err(io)?;
    let written = OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&pub_file)
        .and_then(|mut p| p.write_all(format!("{}\n", signer.vkey()).as_bytes()));
    if let Err(e) = written {
        // All or nothing: a key without its .pub is removed again.
        let _ = std::fs::remove_file(path);
        return Err(if e.kind() == std::io::ErrorKind::AlreadyExists {
            KeyFileError::Exists(pub_file)
        } else {
            KeyFileError::Io {
                path: pub_file,
                source: e,
            }
        });
    }
    Ok(())
}

/// Reads a signer key file, refusing files readable by group or others.
pub fn read(path: &Path) -> Result<Signer, KeyFileError> {
    let io = |source| KeyFileError::Io {
        path: path.to_path_buf(),
        source,
    };
    let meta = std::fs::metadata(path).map_err(io)?;
    if !meta.is_file() {
        return Err(KeyFileError::NotRegular(path.to_path_buf()));
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = meta.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            return Err(KeyFileError::TooOpen(path.to_path_buf(), mode));
        }
    }
    let text = read_small(path, MAX_KEY_FILE_BYTES)?;
    Signer::from_skey(&text).map_err(|source| KeyFileError::Key {
        path: path.to_path_buf(),
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn written_0600_and_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ee.key");
        let signer = Signer::from_seed("EE-MFA", [7; 32]).unwrap();
        write(&path, &signer).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(
                std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
                0o600
            );
        }
        assert_eq!(read(&path).unwrap().vkey(), signer.vkey());
        assert_eq!(
            std::fs::read_to_string(pub_path(&path)).unwrap().trim(),
            signer.vkey()
        );
        assert!(matches!(
            write(&path, &signer),
            Err(KeyFileError::Exists(_))
        ));
    }

    #[test]
    fn only_small_regular_files_are_read() {
        let dir = tempfile::tempdir().unwrap();
        assert!(matches!(read(dir.path()), Err(KeyFileError::NotRegular(_))));
        let big = dir.path().join("big.key");
        std::fs::write(&big, vec![b'A'; 5000]).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&big, std::fs::Permissions::from_mode(0o600)).unwrap();
        }
        assert!(matches!(read(&big), Err(KeyFileError::TooLarge(_, 5000))));
        assert!(matches!(
            read_small(&big, 100),
            Err(KeyFileError::TooLarge(_, 5000))
        ));
        #[cfg(unix)]
        {
            // A FIFO would block an open for reading forever: refused first.
            let fifo = dir.path().join("fifo.key");
            let made = std::process::Command::new("mkfifo").arg(&fifo).status();
            assert!(made.unwrap().success(), "mkfifo");
            assert!(matches!(read(&fifo), Err(KeyFileError::NotRegular(_))));
        }
    }

    #[test]
    fn an_existing_pub_file_is_never_overwritten() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("de.key");
        std::fs::write(pub_path(&path), "someone's vkey\n").unwrap();
        let signer = Signer::from_seed("DE-AA", [8; 32]).unwrap();
        match write(&path, &signer) {
            Err(KeyFileError::Exists(p)) => assert_eq!(p, pub_path(&path)),
            other => panic!("expected Exists, got {other:?}"),
        }
        assert!(!path.exists(), "no secret key left behind");
        assert_eq!(
            std::fs::read_to_string(pub_path(&path)).unwrap(),
            "someone's vkey\n"
        );
    }
}
