//! The stability gate: a file goes up only once it has stopped changing. Its size and mtime
//! must stay the same for the whole gate, counted from its last write (its mtime) rather than
//! from when an event arrived, and it must be looked at twice: a file is never sent on a single
//! look, so one still being written is never sent.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// A file waiting at the gate.
struct Waiting {
    size: u64,
    mtime_ns: i64,
    /// When it last changed: its mtime, or when we saw it change, whichever is later.
    steady_since: Instant,
    /// Seen again unchanged at least once.
    confirmed: bool,
}

impl Waiting {
    fn new(size: u64, mtime_ns: i64) -> Self {
        let age = SystemTime::now()
            .duration_since(UNIX_EPOCH + Duration::from_nanos(mtime_ns.max(0) as u64))
            .unwrap_or(Duration::ZERO);
        let now = Instant::now();
        Waiting { size, mtime_ns, steady_since: now.checked_sub(age).unwrap_or(now), confirmed: false }
    }
}

pub(super) struct Gate {
    gate: Duration,
    waiting: HashMap<PathBuf, Waiting>,
}

impl Gate {
    pub fn new(gate: Duration) -> Self {
        Gate { gate, waiting: HashMap::new() }
    }

    /// A file found by a walk: put at the gate unless it is already waiting.
    pub fn add(&mut self, path: PathBuf, size: u64, mtime_ns: i64) {
        self.waiting.entry(path).or_insert_with(|| Waiting::new(size, mtime_ns));
    }

    /// A file seen to change: put at the gate, or its clock restarted if it changed since.
    pub fn changed(&mut self, path: PathBuf, size: u64, mtime_ns: i64) {
        let entry = self.waiting.entry(path).or_insert_with(|| Waiting::new(size, mtime_ns));
        if (entry.size, entry.mtime_ns) != (size, mtime_ns) {
            *entry = Waiting::new(size, mtime_ns);
        }
    }

    pub fn remove(&mut self, path: &Path) {
        self.waiting.remove(path);
    }

    pub fn is_empty(&self) -> bool {
        self.waiting.is_empty()
    }

    /// The files that have been steady for the whole gate, in path order; the others' clocks
    /// restart if they changed, and files gone are forgotten.
    pub fn through(&mut self) -> Vec<PathBuf> {
        let mut ready = Vec::new();
        self.waiting.retain(|path, w| {
            let Ok(meta) = std::fs::symlink_metadata(path) else { return false };
            let now = (meta.len(), crate::source::mtime_ns(&meta));
            if now != (w.size, w.mtime_ns) {
                // Changed without an mtime to show it (or with one set back): count from now.
                *w = Waiting { steady_since: Instant::now(), ..Waiting::new(now.0, now.1) };
                return true;
            }
            if !w.confirmed {
                w.confirmed = true;
                return true;
            }
            if w.steady_since.elapsed() >= self.gate {
                ready.push(path.clone());
                return false;
            }
            true
        });
        ready.sort();
        ready
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stat(path: &Path) -> (u64, i64) {
        let meta = std::fs::symlink_metadata(path).unwrap();
        (meta.len(), crate::source::mtime_ns(&meta))
    }

    /// An old file still needs a second look; a file written again waits a whole gate from
    /// its new write; a file gone is forgotten.
    #[test]
    fn a_file_passes_only_after_two_looks_and_a_steady_gate() {
        let dir = tempfile::tempdir().unwrap();
        let (old, fresh, gone) = (dir.path().join("old"), dir.path().join("fresh"), dir.path().join("gone"));
        for p in [&old, &fresh, &gone] {
            std::fs::write(p, "x").unwrap();
        }
        let past = SystemTime::now() - Duration::from_secs(60);
        std::fs::File::options().write(true).open(&old).unwrap().set_modified(past).unwrap();
        let mut gate = Gate::new(Duration::from_millis(300));
        for p in [&old, &fresh, &gone] {
            let (size, mtime) = stat(p);
            gate.add(p.clone(), size, mtime);
        }
        assert!(gate.through().is_empty(), "nothing passes on a single look");
        std::fs::remove_file(&gone).unwrap();
        assert_eq!(gate.through(), [old], "steady for long: through on the second look");
        std::fs::write(&fresh, "xy").unwrap();
        let (size, mtime) = stat(&fresh);
        gate.changed(fresh.clone(), size, mtime);
        assert!(gate.through().is_empty());
        std::thread::sleep(Duration::from_millis(350));
        assert_eq!(gate.through(), [fresh]);
        assert!(gate.is_empty(), "the gone file was forgotten");
    }
}
