//! Files only their owner may read: the journal, the activity log and settings.json hold file
//! paths, Doc names and accounts. Each is created `0600` in folders created `0700`, whatever the
//! process's umask, and a file of ours found with a looser mode is tightened when opened.
//!
//! Folders that already exist are left as they are: a journal put in the current folder must
//! not change that folder's mode. On platforms without Unix modes these are the plain calls.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// The mode of a private file.
pub const FILE_MODE: u32 = 0o600;
/// The mode of a private folder.
pub const DIR_MODE: u32 = 0o700;

/// `path` and its missing parents, each new one created `0700`.
pub fn create_dir_private(path: &Path) -> Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, DIR_MODE);
    builder.create(path).map_err(|e| Error::file(path, e))
}

/// The parent folder of `path`, created private when missing.
pub fn create_parent_private(path: &Path) -> Result<()> {
    match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => create_dir_private(dir),
        _ => Ok(()),
    }
}

/// Open `path` with `options`; a file it creates is `0600`, and an existing one is made so.
pub fn open_private(path: &Path, options: &mut OpenOptions) -> Result<File> {
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(options, FILE_MODE);
    let file = options.open(path).map_err(|e| Error::file(path, e))?;
    restrict_file(&file, path)?;
    Ok(file)
}

/// Create `path` (empty, `0600`) if it is not there, before a library such as SQLite opens it
/// with modes of its own; an existing file is made `0600` and left as it is otherwise.
pub fn touch_private(path: &Path) -> Result<()> {
    create_parent_private(path)?;
    open_private(path, OpenOptions::new().create(true).truncate(false).append(true)).map(drop)
}

/// Make an existing file `0600`; a file that is not there is fine (SQLite's `-wal` and `-shm`
/// come and go).
pub fn chmod_private(path: &Path) -> Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        match std::fs::metadata(path) {
            Ok(meta) if meta.permissions().mode() & 0o777 != FILE_MODE => {
                std::fs::set_permissions(path, std::fs::Permissions::from_mode(FILE_MODE))
                    .map_err(|e| Error::file(path, e))?;
            }
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(Error::file(path, e)),
        }
    }
    let _ = path;
    Ok(())
}

/// A SQLite database's files beside the database itself.
pub fn sqlite_companions(db: &Path) -> [PathBuf; 2] {
    let with = |suffix: &str| {
        let mut name = db.as_os_str().to_owned();
        name.push(suffix);
        PathBuf::from(name)
    };
    [with("-wal"), with("-shm")]
}

/// Replace `path` with `bytes` atomically and durably: a uniquely named temporary file in the
/// same folder (`0600`), written and fsynced, renamed over `path`, then the folder fsynced. A
/// crash leaves the old file or the new one, never half of one; two writers never share a
/// temporary file.
pub fn write_atomic_private(path: &Path, bytes: &[u8]) -> Result<()> {
    create_parent_private(path)?;
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let tmp = dir.join(format!(".{name}.{}.tmp", uuid::Uuid::new_v4().simple()));
    let written = (|| {
        let mut file = open_private(&tmp, OpenOptions::new().write(true).create_new(true))?;
        file.write_all(bytes).map_err(|e| Error::file(&tmp, e))?;
        file.sync_all().map_err(|e| Error::file(&tmp, e))?;
        std::fs::rename(&tmp, path).map_err(|e| Error::file(path, e))
    })();
    if written.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    written?;
    // Make the rename itself durable; not every platform lets a folder be opened.
    if let Ok(dir) = File::open(dir) {
        let _ = dir.sync_all();
    }
    Ok(())
}

fn restrict_file(file: &File, path: &Path) -> Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let meta = file.metadata().map_err(|e| Error::file(path, e))?;
        if meta.permissions().mode() & 0o777 != FILE_MODE {
            file.set_permissions(std::fs::Permissions::from_mode(FILE_MODE)).map_err(|e| Error::file(path, e))?;
        }
    }
    let _ = (file, path);
    Ok(())
}

/// The permission bits of `path` (tests).
#[cfg(test)]
pub(crate) fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_files_are_0600_in_new_0700_folders() {
        let home = tempfile::tempdir().unwrap();
        let file = home.path().join("a/b/settings.json");
        write_atomic_private(&file, b"{}").unwrap();
        assert_eq!(std::fs::read(&file).unwrap(), b"{}");
        assert_eq!((mode(&file), mode(&home.path().join("a")), mode(&home.path().join("a/b"))), (0o600, 0o700, 0o700));
        // No temporary file is left behind.
        assert_eq!(std::fs::read_dir(home.path().join("a/b")).unwrap().count(), 1);

        // An existing file of ours with a looser mode is tightened when opened.
        let loose = home.path().join("loose.sqlite");
        std::fs::write(&loose, b"").unwrap();
        std::fs::set_permissions(&loose, std::os::unix::fs::PermissionsExt::from_mode(0o644)).unwrap();
        touch_private(&loose).unwrap();
        assert_eq!(mode(&loose), 0o600);
        let [wal, shm] = sqlite_companions(&loose);
        assert_eq!(
            (wal.file_name().unwrap(), shm.file_name().unwrap()),
            ("loose.sqlite-wal".as_ref(), "loose.sqlite-shm".as_ref())
        );
        chmod_private(&wal).unwrap(); // not there: fine
    }

    /// The journal (with its `-wal`, `-shm` and lock) and the activity log, opened in folders
    /// not there yet: every file `0600`, every new folder `0700`.
    #[test]
    fn the_journal_and_the_activity_log_are_private() {
        let home = tempfile::tempdir().unwrap();
        let data = home.path().join("data/twindrop");
        let journal = crate::journal::Journal::open(&data.join("journal.sqlite")).unwrap();
        let log = crate::activity::ActivityLog::open(&data.join("activity.sqlite")).unwrap();
        log.note(crate::activity::NewEntry::new(crate::activity::Kind::Paused, "written"));
        journal.list(None, &[]).unwrap();
        let mut names = Vec::new();
        for entry in std::fs::read_dir(&data).unwrap() {
            let path = entry.unwrap().path();
            assert_eq!(mode(&path), 0o600, "{}", path.display());
            names.push(path.file_name().unwrap().to_string_lossy().into_owned());
        }
        names.sort();
        for want in ["journal.sqlite", "journal.sqlite-wal", "journal.sqlite-shm", "journal.lock", "activity.sqlite"] {
            assert!(names.iter().any(|n| n == want), "{want} not among {names:?}");
        }
        assert_eq!((mode(&data), mode(&home.path().join("data"))), (0o700, 0o700));
        drop((journal, log));

        // A journal from before (0644) is made private when opened again.
        let old = data.join("journal.sqlite");
        std::fs::set_permissions(&old, std::os::unix::fs::PermissionsExt::from_mode(0o644)).unwrap();
        let _journal = crate::journal::Journal::open(&old).unwrap();
        assert_eq!(mode(&old), 0o600);
    }
}
