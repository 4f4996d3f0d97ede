//! The paths the user chose: what a native dialog returned, what was dropped on the window, and
//! the watched folders saved before. The desktop shell keeps one [`ChosenPaths`] and refuses a
//! path from its web view that is not one of them or under one ([`Error::PathNotChosen`]), so a
//! compromised page cannot read (or upload) `~/.ssh` by naming it.
//!
//! Paths are compared canonical: `..`, `.` and symbolic links are resolved first, so neither
//! can lead out of a chosen folder. A path that is not there (a file deleted since, a watched
//! folder unmounted) is compared through its nearest existing ancestor, canonical, with the rest
//! appended; the rest may not hold `..`.

use std::collections::BTreeSet;
use std::ops::Bound;
use std::path::{Component, Path, PathBuf};

use crate::error::{Error, Invalid, Result};

/// Checks cost a lookup per ancestor of the path, not a comparison per chosen path: a drop of
/// 10,000 files is 10,000 chosen paths.
#[derive(Debug, Clone, Default)]
pub struct ChosenPaths {
    /// Canonical; a folder stands for everything under it. None is under another.
    roots: BTreeSet<PathBuf>,
}

impl ChosenPaths {
    pub fn new() -> Self {
        Self::default()
    }

    /// Allow `path` (a file: itself; a folder: everything under it). A path that cannot be
    /// resolved is not allowed, and says why.
    pub fn allow(&mut self, path: &Path) -> Result<()> {
        self.allow_in(path, &mut Parents::default())
    }

    fn allow_in(&mut self, path: &Path, parents: &mut Parents) -> Result<()> {
        let canonical = parents.resolve(path)?;
        if self.covers(&canonical) {
            return Ok(());
        }
        // What is under it now goes with it. Paths order by component, so a folder's
        // descendants follow it in one run.
        let under: Vec<PathBuf> = self
            .roots
            .range::<Path, _>((Bound::Excluded(canonical.as_path()), Bound::Unbounded))
            .take_while(|r| r.starts_with(&canonical))
            .cloned()
            .collect();
        for r in under {
            self.roots.remove(&r);
        }
        self.roots.insert(canonical);
        Ok(())
    }

    /// Whether `canonical` is a root or under one.
    fn covers(&self, canonical: &Path) -> bool {
        canonical.ancestors().any(|a| self.roots.contains(a))
    }

    /// Allow each of `paths`, skipping (and logging) those that cannot be resolved.
    pub fn allow_all<P: AsRef<Path>>(&mut self, paths: impl IntoIterator<Item = P>) {
        let mut parents = Parents::default();
        for path in paths {
            let path = path.as_ref();
            if let Err(e) = self.allow_in(path, &mut parents) {
                tracing::warn!(code = e.code(), "not allowed: {e}");
            }
        }
    }

    /// `path`, canonical, when it is a chosen path or under one; else [`Error::PathNotChosen`]
    /// naming it.
    pub fn check(&self, path: &Path) -> Result<PathBuf> {
        self.check_in(path, &mut Parents::default())
    }

    fn check_in(&self, path: &Path, parents: &mut Parents) -> Result<PathBuf> {
        let not_chosen = || Error::PathNotChosen { path: path.to_path_buf() };
        let canonical = parents.resolve(path).map_err(|_| not_chosen())?;
        if self.covers(&canonical) {
            Ok(canonical)
        } else {
            Err(not_chosen())
        }
    }

    /// How many chosen roots there are (a folder under another one is not counted).
    pub fn len(&self) -> usize {
        self.roots.len()
    }

    pub fn is_empty(&self) -> bool {
        self.roots.is_empty()
    }
}

/// The canonical folders met while resolving one batch of paths (a drop, a check of it): its
/// files share a few folders, and canonicalising each file whole walked every ancestor of
/// every file again (two seconds for 100,000 files). Kept for one batch only, so a folder
/// swapped for a symbolic link later is seen as it is then.
#[derive(Default)]
struct Parents(std::collections::HashMap<PathBuf, PathBuf>);

impl Parents {
    /// [`resolve`], with the canonical parent of a file that is no symbolic link taken from
    /// this batch: such a file is canonical as its canonical parent joined with its name.
    fn resolve(&mut self, path: &Path) -> Result<PathBuf> {
        let Ok(absolute) = std::path::absolute(path) else { return resolve(path) };
        let (Some(parent), Some(Component::Normal(name))) = (absolute.parent(), absolute.components().next_back())
        else {
            return resolve(path);
        };
        match std::fs::symlink_metadata(&absolute) {
            Ok(meta) if !meta.file_type().is_symlink() => {}
            _ => return resolve(path),
        }
        if let Some(canonical) = self.0.get(parent) {
            return Ok(canonical.join(name));
        }
        match std::fs::canonicalize(parent) {
            Ok(canonical) => {
                self.0.insert(parent.to_owned(), canonical.clone());
                Ok(canonical.join(name))
            }
            Err(_) => resolve(path),
        }
    }
}

/// `path` canonical; for a path not there, its nearest existing ancestor canonical and the
/// rest (plain names only) appended.
fn resolve(path: &Path) -> Result<PathBuf> {
    if path.as_os_str().is_empty() {
        return Err(Error::invalid(Invalid::Path, "an empty path"));
    }
    let absolute = std::path::absolute(path).map_err(|e| Error::file(path, e))?;
    let mut rest: Vec<&std::ffi::OsStr> = Vec::new();
    let mut at: &Path = &absolute;
    loop {
        match std::fs::canonicalize(at) {
            Ok(mut canonical) => {
                for name in rest.iter().rev() {
                    canonical.push(name);
                }
                return Ok(canonical);
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(Error::file(at, e)),
        }
        let mut components = at.components();
        match components.next_back() {
            Some(Component::Normal(name)) => rest.push(name),
            Some(Component::CurDir) => {}
            // `..` past something that is not there cannot be resolved without guessing.
            _ => return Err(Error::file(path, std::io::Error::from(std::io::ErrorKind::NotFound))),
        }
        at = components.as_path();
    }
}

/// The chosen paths of a running app, and those just chosen and not yet resolved: a drop is
/// recorded on the window's thread, which must not wait for the file system (a drop can be
/// 10,000 files), so its paths are resolved by the next check, off the runtime's threads.
#[derive(Debug, Default)]
pub struct Chosen {
    pending: std::sync::Mutex<Vec<PathBuf>>,
    paths: std::sync::Mutex<ChosenPaths>,
}

impl Chosen {
    /// The user chose these paths (picked or dropped): they, and what is under them, may be used.
    pub fn allow<P: AsRef<Path>>(&self, paths: impl IntoIterator<Item = P>) {
        let mut pending = self.pending.lock().expect("chosen paths");
        pending.extend(paths.into_iter().map(|p| p.as_ref().to_path_buf()));
    }

    /// The watched folders saved in settings.json: chosen before, in this app or the CLI.
    pub fn allow_saved_watched(&self, settings: &crate::profile::SettingsFile) {
        match settings.load() {
            Ok(saved) => self.allow(saved.watched.iter().map(|w| &w.path)),
            Err(e) => tracing::warn!(code = e.code(), "saved watched folders not read: {e}"),
        }
    }

    /// Each of `paths` as given, once every one of them has been found chosen; else the first
    /// that was not, as `path.not_chosen`. The file system is read off the runtime's threads.
    pub async fn check(self: &std::sync::Arc<Self>, paths: Vec<PathBuf>) -> Result<Vec<PathBuf>> {
        let chosen = std::sync::Arc::clone(self);
        tokio::task::spawn_blocking(move || chosen.check_now(&paths).map(|()| paths))
            .await
            .map_err(|e| Error::Internal(format!("path check stopped: {e}")))?
    }

    /// `path` when it was chosen, or when it is one of `folders` (an account's saved watched
    /// folders, chosen before, maybe with the CLI while the app ran).
    pub async fn check_folder(self: &std::sync::Arc<Self>, path: PathBuf, folders: &[PathBuf]) -> Result<PathBuf> {
        match self.check(vec![path.clone()]).await {
            Ok(_) => Ok(path),
            Err(_) if folders.contains(&path) => Ok(path),
            Err(refused) => Err(refused),
        }
    }

    fn check_now(&self, paths: &[PathBuf]) -> Result<()> {
        let fresh = std::mem::take(&mut *self.pending.lock().expect("chosen paths"));
        let mut chosen = self.paths.lock().expect("chosen paths");
        chosen.allow_all(fresh);
        let mut parents = Parents::default();
        paths.iter().try_for_each(|path| chosen.check_in(path, &mut parents).map(drop))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(path: &Path) {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, "x").unwrap();
    }

    #[test]
    fn only_chosen_files_and_what_is_under_chosen_folders_pass() {
        let home = tempfile::tempdir().unwrap();
        let home = home.path().canonicalize().unwrap();
        let picked = home.join("photos");
        write(&picked.join("2024/a.jpg"));
        write(&home.join("report.pdf"));
        write(&home.join("secret.txt"));
        write(&home.join(".ssh/id_ed25519"));

        let mut chosen = ChosenPaths::new();
        assert!(chosen.is_empty());
        chosen.allow(&picked).unwrap();
        chosen.allow(&home.join("report.pdf")).unwrap();
        assert_eq!(chosen.check(&picked).unwrap(), picked);
        assert_eq!(chosen.check(&picked.join("2024/a.jpg")).unwrap(), picked.join("2024/a.jpg"));
        assert_eq!(chosen.check(&picked.join("2024/./a.jpg")).unwrap(), picked.join("2024/a.jpg"));
        chosen.check(&home.join("report.pdf")).unwrap();
        // A file not there (yet, or any more) under a chosen folder passes; its checks come later.
        assert_eq!(chosen.check(&picked.join("new/b.jpg")).unwrap(), picked.join("new/b.jpg"));

        for refused in [
            home.clone(),
            home.join("secret.txt"),
            home.join(".ssh"),
            home.join(".ssh/id_ed25519"),
            picked.join("../secret.txt"),
            picked.join("2024/../../.ssh/id_ed25519"),
            picked.join("gone/../../secret.txt"),
            // A sibling whose name starts the same is not under the folder.
            home.join("photos-private"),
            PathBuf::from("/root/.ssh"),
            PathBuf::from("/etc/passwd"),
            PathBuf::from(""),
        ] {
            let err = chosen.check(&refused).unwrap_err();
            assert_eq!(err.code(), "path.not_chosen", "{}", refused.display());
            assert!(err.to_string().contains(&refused.display().to_string()), "{err}");
        }
    }

    #[cfg(unix)]
    #[test]
    fn symbolic_links_do_not_lead_out() {
        let home = tempfile::tempdir().unwrap();
        let home = home.path().canonicalize().unwrap();
        let picked = home.join("picked");
        write(&picked.join("ok.txt"));
        write(&home.join("secret/key"));
        std::os::unix::fs::symlink(home.join("secret"), picked.join("escape")).unwrap();
        std::os::unix::fs::symlink(picked.join("ok.txt"), home.join("link-in.txt")).unwrap();
        let mut chosen = ChosenPaths::new();
        chosen.allow(&picked).unwrap();
        assert_eq!(chosen.check(&picked.join("escape/key")).unwrap_err().code(), "path.not_chosen");
        assert_eq!(chosen.check(&picked.join("escape")).unwrap_err().code(), "path.not_chosen");
        // A link from outside to a chosen file is the chosen file.
        assert_eq!(chosen.check(&home.join("link-in.txt")).unwrap(), picked.join("ok.txt"));

        // A dropped link stands for what it points to: that is what would be read.
        let mut dropped = ChosenPaths::new();
        dropped.allow(&picked.join("escape")).unwrap();
        assert_eq!(dropped.check(&home.join("secret/key")).unwrap(), home.join("secret/key"));
    }

    /// A batch's shortcut (canonical parent joined with the name) gives what resolving each
    /// path whole gives, whatever the path: links as leaves or on the way, `..`, paths not there.
    #[cfg(unix)]
    #[test]
    fn a_batch_resolves_as_each_path_alone() {
        let home = tempfile::tempdir().unwrap();
        let home = home.path().canonicalize().unwrap();
        write(&home.join("real/a.txt"));
        write(&home.join("real/sub/b.txt"));
        write(&home.join("elsewhere/c.txt"));
        std::os::unix::fs::symlink(home.join("real"), home.join("via")).unwrap();
        std::os::unix::fs::symlink(home.join("elsewhere/c.txt"), home.join("real/leaf")).unwrap();
        let mut parents = Parents::default();
        for path in [
            "real/a.txt",
            "via/a.txt",
            "via/sub/b.txt",
            "real/sub/../a.txt",
            "real/leaf",
            "via/leaf",
            "real/gone.txt",
            "real/sub",
            "via",
            "real/./a.txt",
        ] {
            let path = home.join(path);
            let batch = parents.resolve(&path).unwrap();
            assert_eq!(batch, resolve(&path).unwrap(), "{}", path.display());
        }
        assert_eq!(parents.resolve(&home.join("real/leaf")).unwrap(), home.join("elsewhere/c.txt"));
        assert_eq!(parents.resolve(&home.join("via/sub/b.txt")).unwrap(), home.join("real/sub/b.txt"));
    }

    #[test]
    fn folders_not_there_can_be_chosen_and_nested_ones_fold_in() {
        let home = tempfile::tempdir().unwrap();
        let home = home.path().canonicalize().unwrap();
        let mut chosen = ChosenPaths::new();
        // A watched folder saved before and since unmounted: still allowed, so it can be removed.
        chosen.allow(&home.join("usb/photos")).unwrap();
        chosen.check(&home.join("usb/photos")).unwrap();
        assert_eq!(chosen.check(&home.join("usb")).unwrap_err().code(), "path.not_chosen");
        std::fs::create_dir_all(home.join("a/b")).unwrap();
        std::fs::create_dir_all(home.join("a-b")).unwrap();
        chosen.allow(&home.join("a/b")).unwrap();
        chosen.allow(&home.join("a-b")).unwrap();
        chosen.allow(&home.join("a")).unwrap();
        chosen.allow(&home.join("a/b")).unwrap();
        assert_eq!(chosen.len(), 3);
        chosen.check(&home.join("a-b")).unwrap();
        chosen.check(&home.join("a/b/c")).unwrap();
        assert_eq!(chosen.allow(Path::new("")).unwrap_err().code(), "path.invalid");
        chosen.allow_all([home.join("x/../y"), home.join("c")]);
        assert_eq!(chosen.len(), 4);
    }

    /// A drop of many files is many chosen paths; allowing and checking them stays quick.
    #[test]
    fn ten_thousand_chosen_files_are_quick() {
        let home = tempfile::tempdir().unwrap();
        let files: Vec<PathBuf> = (0..10_000).map(|i| home.path().join(format!("f{i:05}.txt"))).collect();
        for f in &files {
            std::fs::write(f, "x").unwrap();
        }
        let started = std::time::Instant::now();
        let mut chosen = ChosenPaths::new();
        chosen.allow_all(&files);
        for f in &files {
            chosen.check(f).unwrap();
        }
        assert_eq!(chosen.len(), 10_000);
        assert!(started.elapsed() < std::time::Duration::from_secs(5), "{:?}", started.elapsed());
        assert_eq!(chosen.check(home.path()).unwrap_err().code(), "path.not_chosen");
    }

    /// Only picked or dropped paths, and what is under them, pass; the code is stable and the
    /// message names the path.
    #[tokio::test]
    async fn only_what_was_chosen_passes() {
        let home = tempfile::tempdir().unwrap();
        let picked = home.path().join("picked");
        std::fs::create_dir_all(picked.join("sub")).unwrap();
        std::fs::write(picked.join("sub/a.txt"), "a").unwrap();
        std::fs::write(home.path().join("other.txt"), "b").unwrap();
        let state = std::sync::Arc::new(Chosen::default());
        let refused = state.check(vec![picked.clone()]).await.unwrap_err();
        assert_eq!(refused.code(), "path.not_chosen");
        let saved = [home.path().join("saved")];
        assert_eq!(state.check_folder(saved[0].clone(), &saved).await.unwrap(), saved[0], "a saved folder passes");
        assert!(state.check_folder(home.path().join("other.txt"), &saved).await.is_err());
        state.allow([&picked]);
        let ok = vec![picked.clone(), picked.join("sub/a.txt")];
        assert_eq!(state.check(ok.clone()).await.unwrap(), ok);
        for path in [home.path().to_path_buf(), home.path().join("other.txt"), picked.join("../other.txt")] {
            let err = state.check(vec![picked.join("sub/a.txt"), path.clone()]).await.unwrap_err();
            assert_eq!(err.code(), "path.not_chosen", "{}", path.display());
            assert!(err.to_string().contains(&path.display().to_string()), "{err}");
        }
    }
}
