//! Moving the user's files when the place they belong to changes (the desktop app's identifier
//! names its folders; a new identifier must not leave the old folders behind).
//!
//! A move is one `rename`: atomic on one filesystem, so a crash leaves the file or folder
//! either where it was or where it goes, never half in each. Nothing is ever overwritten: when
//! both places exist the new one is kept and the old one left as it is, for the user to look
//! at. Running the same moves again is harmless, so the app simply tries them at every start.

use std::io;
use std::path::{Path, PathBuf};

/// What [`move_once`] found and did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Moved {
    /// The old place held something, and it is now at the new place.
    Moved,
    /// Nothing at the old place: nothing to do (a new user, or a move done before).
    NothingThere,
    /// Both places exist: the new one is kept, the old one left untouched.
    KeptNew,
}

/// Move `from` (a file or a folder) to `to`, once: only when `from` exists and `to` does not.
/// `to`'s parent folders are created (`0700` when new). A move across filesystems (where
/// `rename` cannot be atomic) is refused with the error, and `from` stays where it is.
pub fn move_once(from: &Path, to: &Path) -> io::Result<Moved> {
    if std::fs::symlink_metadata(from).is_err() {
        return Ok(Moved::NothingThere);
    }
    if std::fs::symlink_metadata(to).is_ok() {
        return Ok(Moved::KeptNew);
    }
    if let Some(parent) = to.parent().filter(|p| !p.as_os_str().is_empty()) {
        crate::private::create_dir_private(parent).map_err(|e| io::Error::other(e.to_string()))?;
    }
    // `rename` onto a path that appeared meanwhile would replace a file (not a non-empty
    // folder): checked above, and the race is only with ourselves starting twice, which the
    // single-instance lock already prevents.
    std::fs::rename(from, to)?;
    Ok(Moved::Moved)
}

/// One move of a list: what, from where, to where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Move {
    /// What is moved, for the log line ("config folder", "window state").
    pub what: &'static str,
    pub from: PathBuf,
    pub to: PathBuf,
}

/// Run `moves` in order (a folder before a file that goes into it), each on its own: one that
/// fails leaves its files where they were, and the rest still run. Nothing is logged here: the
/// moves run before the log files exist (they live in a folder that may be moved), so the
/// caller hands the outcomes to [`log`] once logging is up.
pub fn run(moves: &[Move]) -> Vec<io::Result<Moved>> {
    moves.iter().map(|m| move_once(&m.from, &m.to)).collect()
}

/// Log what [`run`] did: a line per move made, kept back or failed.
pub fn log(moves: &[Move], done: &[io::Result<Moved>]) {
    for (m, done) in moves.iter().zip(done) {
        match done {
            Ok(Moved::Moved) => tracing::info!("moved the {} from {} to {}", m.what, m.from.display(), m.to.display()),
            Ok(Moved::KeptNew) => tracing::warn!(
                "both {} and {} exist: kept the second, left the first as it is ({})",
                m.from.display(),
                m.to.display(),
                m.what
            ),
            Ok(Moved::NothingThere) => {}
            Err(e) => tracing::error!("could not move the {} from {}: {e}", m.what, m.from.display()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_folder_moves_with_everything_in_it() {
        let dir = tempfile::tempdir().unwrap();
        let (old, new) = (dir.path().join("old"), dir.path().join("deep/new"));
        std::fs::create_dir_all(old.join("sandbox")).unwrap();
        std::fs::write(old.join("journal.sqlite"), b"jobs").unwrap();
        std::fs::write(old.join("sandbox/state.json"), b"{}").unwrap();
        assert_eq!(move_once(&old, &new).unwrap(), Moved::Moved);
        assert!(!old.exists());
        assert_eq!(std::fs::read(new.join("journal.sqlite")).unwrap(), b"jobs");
        assert_eq!(std::fs::read(new.join("sandbox/state.json")).unwrap(), b"{}");
        // Again: the old place is empty now, nothing happens.
        assert_eq!(move_once(&old, &new).unwrap(), Moved::NothingThere);
        assert_eq!(std::fs::read(new.join("journal.sqlite")).unwrap(), b"jobs");
    }

    #[test]
    fn when_both_exist_the_new_is_kept_and_the_old_left_alone() {
        let dir = tempfile::tempdir().unwrap();
        let (old, new) = (dir.path().join("old.json"), dir.path().join("new.json"));
        std::fs::write(&old, b"old").unwrap();
        std::fs::write(&new, b"new").unwrap();
        assert_eq!(move_once(&old, &new).unwrap(), Moved::KeptNew);
        assert_eq!(std::fs::read(&old).unwrap(), b"old");
        assert_eq!(std::fs::read(&new).unwrap(), b"new");
    }

    #[test]
    fn a_failed_move_does_not_stop_the_others() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("a-file");
        std::fs::write(&file, b"x").unwrap();
        std::fs::write(dir.path().join("w.json"), b"w").unwrap();
        let moves = [
            // Its parent would have to be a folder inside a file: refused.
            Move { what: "impossible", from: file.clone(), to: file.join("inside/it") },
            Move { what: "window state", from: dir.path().join("w.json"), to: dir.path().join("to/w.json") },
        ];
        let done = run(&moves);
        assert!(done[0].is_err(), "{:?}", done[0]);
        assert_eq!(*done[1].as_ref().unwrap(), Moved::Moved);
        assert_eq!(std::fs::read(&file).unwrap(), b"x", "the file of the failed move stays");
        assert_eq!(std::fs::read(dir.path().join("to/w.json")).unwrap(), b"w");
    }
}
