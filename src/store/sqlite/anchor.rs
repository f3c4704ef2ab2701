//! The chain head kept outside the database: a small file beside it (`<db>.audit-head`) holding
//! the position and hash of the newest entry, moved forward after every commit. Someone who
//! truncates the log in the database file must also find and rewrite this file, and a copy sent
//! elsewhere (a SIEM) catches even that.

use std::fs::OpenOptions;
use std::io::Write;
use std::path::{Path, PathBuf};

use super::super::{R, StoreError};

pub fn path_beside(db: &Path) -> PathBuf {
    let mut name = db.file_name().map(|n| n.to_os_string()).unwrap_or_default();
    name.push(".audit-head");
    db.with_file_name(name)
}

fn error(path: &Path, message: impl std::fmt::Display) -> StoreError {
    StoreError::Anchor {
        path: path.display().to_string(),
        message: message.to_string(),
    }
}

/// The anchored head, or `None` when no file exists yet.
pub fn read(path: &Path) -> R<Option<(i64, String)>> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(source) if source.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => return Err(error(path, source)),
    };
    let mut parts = text.split_whitespace();
    let seq = parts.next().and_then(|seq| seq.parse::<i64>().ok());
    let hash = parts
        .next()
        .filter(|hash| hash.len() == 64 && hash.bytes().all(|b| b.is_ascii_hexdigit()));
    match (seq, hash, parts.next()) {
        (Some(seq), Some(hash), None) => Ok(Some((seq, hash.to_string()))),
        _ => Err(error(
            path,
            "expected `SEQ HASH` (a position and 64 hex digits)",
        )),
    }
}

fn create_private(options: &mut OpenOptions) -> &mut OpenOptions {
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options
}

/// Moves the anchored head to (`seq`, `hash`) unless it already points further: two processes
/// committing one after the other may write their heads in either order, and the file must never
/// move back. A lock file beside it serialises the read-compare-write.
pub fn advance(path: &Path, seq: i64, hash: &str) -> R<()> {
    let mut lock_name = path.as_os_str().to_os_string();
    lock_name.push(".lock");
    let lock_path = PathBuf::from(lock_name);
    let lock = create_private(OpenOptions::new().create(true).truncate(false).write(true))
        .open(&lock_path)
        .map_err(|source| error(&lock_path, source))?;
    lock.lock().map_err(|source| error(&lock_path, source))?;
    let current = read(path).ok().flatten();
    if current.is_some_and(|(anchored, _)| anchored >= seq) {
        return Ok(());
    }
    let mut temporary_name = path.as_os_str().to_os_string();
    temporary_name.push(".tmp");
    let temporary = PathBuf::from(temporary_name);
    let mut file = create_private(OpenOptions::new().create(true).truncate(true).write(true))
        .open(&temporary)
        .map_err(|source| error(&temporary, source))?;
    writeln!(file, "{seq} {hash}").map_err(|source| error(&temporary, source))?;
    file.sync_all()
        .map_err(|source| error(&temporary, source))?;
    std::fs::rename(&temporary, path).map_err(|source| error(path, source))?;
    Ok(())
}
