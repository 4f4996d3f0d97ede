//! Watching a folder tree: notify (inotify on Linux) through notify-debouncer-full, which pairs
//! the two halves of a rename and drops duplicate events. What comes out is a [`Change`] per
//! path, or [`Change::Rescan`] whenever the watcher may have missed something (its queue
//! overflowed, or it failed): the syncer then walks the tree again, so no event is load-bearing.
//!
//! Each directory takes one inotify watch. When the system's limit is reached
//! (`fs.inotify.max_user_watches`, per user), the directories watched so far stay watched and
//! the watcher says it is [`limited`](FolderWatcher::limited): the syncer then walks the tree
//! often, so the directories without a watch still sync, only later.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use notify_debouncer_full::notify::event::{ModifyKind, RenameMode};
use notify_debouncer_full::notify::{ErrorKind, EventKind, RecommendedWatcher, RecursiveMode};
use notify_debouncer_full::{new_debouncer, DebounceEventResult, Debouncer, RecommendedCache};
use tokio::sync::mpsc;

use crate::error::{Error, Result};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// Created or written to (or its metadata changed): look at it again.
    Touched(PathBuf),
    Removed(PathBuf),
    Renamed {
        from: PathBuf,
        to: PathBuf,
    },
    /// Events may have been lost: walk the tree.
    Rescan,
}

/// Stops watching when dropped.
pub struct FolderWatcher {
    _debouncer: Debouncer<RecommendedWatcher, RecommendedCache>,
    limited: Arc<AtomicBool>,
}

impl FolderWatcher {
    /// Watch `root` recursively; changes go to `tx`. `debounce` is how long notify-debouncer-full
    /// gathers events of one path before passing them on. Running out of watches, at the start
    /// or for a directory made later, is not a failure: see [`limited`](Self::limited).
    pub fn start(root: &Path, debounce: Duration, tx: mpsc::UnboundedSender<Change>) -> Result<Self> {
        let limited = Arc::new(AtomicBool::new(false));
        let hit = limited.clone();
        let handler = move |result: DebounceEventResult| match result {
            Ok(events) => {
                for event in events {
                    for change in changes(&event.event) {
                        let _ = tx.send(change);
                    }
                }
            }
            Err(errors) => {
                for e in errors {
                    if matches!(e.kind, ErrorKind::MaxFilesWatch) {
                        hit.store(true, Ordering::Relaxed);
                    }
                    tracing::warn!("watcher: {e}");
                }
                let _ = tx.send(Change::Rescan);
            }
        };
        let mut debouncer =
            new_debouncer(debounce, None, handler).map_err(|e| Error::WatchFailed(format!("cannot watch: {e}")))?;
        match debouncer.watch(root, RecursiveMode::Recursive) {
            Ok(()) => {}
            // The directories met before the limit keep their watches (notify adds them one by
            // one and does not take them back).
            Err(e) if matches!(e.kind, ErrorKind::MaxFilesWatch) => {
                tracing::warn!("{}: the inotify watch limit is reached; the rest is rescanned", root.display());
                limited.store(true, Ordering::Relaxed);
            }
            Err(e) => return Err(Error::WatchFailed(format!("cannot watch {}: {e}", root.display()))),
        }
        Ok(FolderWatcher { _debouncer: debouncer, limited })
    }

    /// Some directories could not be watched: the system's inotify watch limit was reached.
    pub fn limited(&self) -> bool {
        self.limited.load(Ordering::Relaxed)
    }
}

/// What one notify event means for the syncer.
fn changes(event: &notify_debouncer_full::notify::Event) -> Vec<Change> {
    if event.need_rescan() {
        return vec![Change::Rescan];
    }
    let paths = &event.paths;
    match event.kind {
        EventKind::Modify(ModifyKind::Name(RenameMode::Both)) if paths.len() == 2 => {
            vec![Change::Renamed { from: paths[0].clone(), to: paths[1].clone() }]
        }
        // A move whose other half was not seen: the file left, or went where no watch was yet
        // (a folder made a moment before). A walk finds it if it is still in the tree.
        EventKind::Modify(ModifyKind::Name(RenameMode::From)) => {
            paths.iter().cloned().map(Change::Removed).chain([Change::Rescan]).collect()
        }
        EventKind::Remove(_) => paths.iter().cloned().map(Change::Removed).collect(),
        EventKind::Create(_) | EventKind::Modify(_) | EventKind::Any => {
            paths.iter().cloned().map(Change::Touched).collect()
        }
        EventKind::Access(_) | EventKind::Other => vec![],
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use notify_debouncer_full::notify::event::{CreateKind, DataChange, RemoveKind};
    use notify_debouncer_full::notify::Event;

    #[test]
    fn events_become_changes() {
        let p = |s: &str| PathBuf::from(s);
        let event = |kind, paths: &[&str]| Event {
            kind,
            paths: paths.iter().map(|s| p(s)).collect(),
            attrs: Default::default(),
        };
        assert_eq!(changes(&event(EventKind::Create(CreateKind::File), &["/a"])), [Change::Touched(p("/a"))]);
        assert_eq!(
            changes(&event(EventKind::Modify(ModifyKind::Data(DataChange::Any)), &["/a"])),
            [Change::Touched(p("/a"))]
        );
        assert_eq!(
            changes(&event(EventKind::Modify(ModifyKind::Name(RenameMode::Both)), &["/a", "/b"])),
            [Change::Renamed { from: p("/a"), to: p("/b") }]
        );
        assert_eq!(changes(&event(EventKind::Remove(RemoveKind::File), &["/a"])), [Change::Removed(p("/a"))]);
        let mut overflow = event(EventKind::Other, &[]);
        overflow = overflow.set_flag(notify_debouncer_full::notify::event::Flag::Rescan);
        assert_eq!(changes(&overflow), [Change::Rescan]);
    }
}
