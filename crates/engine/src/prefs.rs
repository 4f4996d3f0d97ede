//! The app's preferences: how many files upload at once, a bandwidth limit (a rate, or a weekly
//! timetable in [`bandwidth::Timetable`]'s syntax), what to do when a Doc name is taken, start
//! at login, and notifications. Kept in `settings.json` as `prefs`; an old file without them
//! loads with the defaults.
//!
//! Parallelism, the bandwidth limit and whether Docs keep their file's original name apply to a
//! running queue ([`Prefs::apply`]); the conflict
//! policy is written into each job when it is queued, so it applies to files queued from the
//! next session on. The history's retention (`history_days`) applies to the open journals at
//! once (`App::set_prefs`), and to `twindrop`'s runs, which read it too.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::bandwidth::{Limiter, Timetable};
use crate::error::{Error, Invalid, Result};
use crate::journal::Retention;
use crate::proxy::ProxyPrefs;
use crate::queue::{ConflictPolicy, Options, Queue, MAX_PARALLEL};

/// The most days of history a person can ask for (0 keeps it for ever).
pub const MAX_HISTORY_DAYS: u32 = 36_500;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, specta::Type)]
#[serde(default, rename_all = "camelCase")]
pub struct Prefs {
    /// Files uploading at the same time, 1 to [`MAX_PARALLEL`].
    pub parallel: usize,
    /// A rate (`10M`) or a timetable (`08:00,512k 19:00,off`); `None` for no limit.
    pub bandwidth: Option<String>,
    pub on_conflict: ConflictPolicy,
    /// Start Twindrop when the user logs in.
    pub autostart: bool,
    /// Desktop notifications when uploads finish or fail.
    pub notifications: bool,
    /// Days finished uploads stay in the journal's history (0: for ever); what skips unchanged files stays.
    pub history_days: u32,
    /// Which proxy the engine's requests go through ([`crate::proxy`]); its password is in the
    /// keyring, never here.
    pub proxy: ProxyPrefs,
    /// Keep each file's own name in its Doc's description (`original_name`); on by default.
    pub original_names: bool,
}

impl Default for Prefs {
    fn default() -> Self {
        Prefs {
            parallel: Options::default().parallel,
            bandwidth: None,
            on_conflict: ConflictPolicy::default(),
            autostart: false,
            notifications: true,
            history_days: crate::journal::DEFAULT_HISTORY_DAYS,
            proxy: ProxyPrefs::default(),
            original_names: true,
        }
    }
}

impl Prefs {
    /// Check every field, and write the bandwidth in its canonical form (`1024k` → `1M`,
    /// blank or `off` → no limit). The error names the field and what is wrong.
    pub fn validated(mut self) -> Result<Self> {
        if !(1..=MAX_PARALLEL).contains(&self.parallel) {
            return Err(Error::invalid(
                Invalid::Prefs,
                format!("parallel uploads: {} is out of range; use 1 to {MAX_PARALLEL}", self.parallel),
            ));
        }
        if self.history_days > MAX_HISTORY_DAYS {
            return Err(Error::invalid(
                Invalid::Prefs,
                format!(
                    "history: {} days is out of range; use 1 to {MAX_HISTORY_DAYS}, or 0 to keep it for ever",
                    self.history_days
                ),
            ));
        }
        // Its own code (`proxy.invalid`): the Settings page shows it by the proxy's fields.
        self.proxy = self.proxy.validated()?;
        self.bandwidth = match self.bandwidth.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(spec) => {
                let timetable = Timetable::parse(spec)?;
                timetable.limits().then(|| timetable.to_string())
            }
        };
        Ok(self)
    }

    /// How long the journals keep finished history.
    pub fn retention(&self) -> Retention {
        Retention::days(self.history_days)
    }

    pub fn timetable(&self) -> Result<Timetable> {
        match self.bandwidth.as_deref().map(str::trim) {
            None | Some("") => Ok(Timetable::unlimited()),
            Some(spec) => Timetable::parse(spec),
        }
    }

    /// The options of the app's upload queue. It always has a limiter (unlimited when no limit
    /// is set), so a limit set later applies without a new queue.
    pub fn queue_options(&self) -> Result<Options> {
        let prefs = self.clone().validated()?;
        Ok(Options {
            parallel: prefs.parallel,
            on_conflict: prefs.on_conflict,
            original_name: prefs.original_names,
            bwlimit: Some(Arc::new(Limiter::new(prefs.timetable()?))),
            ..Options::default()
        })
    }

    /// The options of a watched folders' queue: the same parallelism and the same limiter as
    /// the upload queue (one budget for both), the folders' own rules otherwise
    /// ([`Options::for_folders`]).
    pub fn sync_options(&self, uploads: &Options) -> Options {
        Options {
            parallel: uploads.parallel,
            original_name: self.original_names,
            bwlimit: uploads.bwlimit.clone(),
            ..Options::default()
        }
        .for_folders()
    }

    /// Apply the live settings to running queues: parallelism, and the bandwidth limit (to
    /// each distinct limiter once).
    pub fn apply(&self, queues: &[&Queue]) -> Result<()> {
        let timetable = self.timetable()?;
        let mut done: Vec<*const Limiter> = Vec::new();
        for queue in queues {
            queue.set_parallel(self.parallel);
            queue.set_original_name(self.original_names);
            if let Some(limiter) = queue.bandwidth() {
                if !done.contains(&Arc::as_ptr(limiter)) {
                    limiter.set_timetable(timetable.clone());
                    done.push(Arc::as_ptr(limiter));
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::journal::Journal;
    use crate::service::trusted_twin::TrustedTwin;

    #[test]
    fn defaults_and_old_settings_files() {
        let p = Prefs::default();
        assert_eq!((p.parallel, p.bandwidth.as_deref(), p.on_conflict), (4, None, ConflictPolicy::Rename));
        assert!(p.notifications && !p.autostart);
        // A settings file from before prefs existed, and one with only some of them.
        let old: crate::profile::Settings = serde_json::from_str(r#"{"profiles": {}, "watched": []}"#).unwrap();
        assert_eq!(old.prefs, Prefs::default());
        let some: crate::profile::Settings =
            serde_json::from_str(r#"{"prefs": {"parallel": 2, "onConflict": "skip"}}"#).unwrap();
        assert_eq!((some.prefs.parallel, some.prefs.on_conflict), (2, ConflictPolicy::Skip));
        assert!(some.prefs.notifications, "notifications default to on");
        assert_eq!(some.prefs.history_days, 30, "a file from before the setting keeps 30 days");
        assert_eq!(p.retention(), Retention::Days(30));
        let json = serde_json::to_value(&p).unwrap();
        assert_eq!(json["notifications"], true);
        assert_eq!(json["onConflict"], "rename");
        assert_eq!(json["historyDays"], 30);
        // A file from before proxies: the environment's, as before.
        assert_eq!(some.prefs.proxy.mode, crate::proxy::ProxyMode::System);
        assert_eq!(
            json["proxy"],
            serde_json::json!({"mode": "system", "url": null, "username": null, "noProxy": null})
        );
    }

    #[test]
    fn validation_names_the_field() {
        let with = |parallel, bandwidth: Option<&str>| Prefs {
            parallel,
            bandwidth: bandwidth.map(str::to_owned),
            ..Prefs::default()
        };
        let e = with(0, None).validated().unwrap_err();
        assert_eq!(e.code(), "prefs.invalid");
        assert!(e.to_string().contains("parallel uploads: 0 is out of range; use 1 to 16"), "{e}");
        assert!(with(17, None).validated().is_err());
        let e = with(4, Some("09:00,fast")).validated().unwrap_err();
        assert!(e.to_string().contains("\"fast\" is not a rate"), "{e}");
        assert_eq!(
            with(4, Some(" 09:00,1024k  18:00,off ")).validated().unwrap().bandwidth.as_deref(),
            Some("09:00,1M 18:00,off")
        );
        assert_eq!(with(4, Some("off")).validated().unwrap().bandwidth, None);
        // The Settings field takes what the CLI's --bwlimit takes (crate::size): decimal units,
        // binary ones, a fraction, "/s".
        assert_eq!(with(4, Some("1.5 MB/s")).validated().unwrap().bandwidth.as_deref(), Some("1500kB"));
        assert_eq!(
            with(4, Some("09:00,2MiB 18:00,off")).validated().unwrap().bandwidth.as_deref(),
            Some("09:00,2M 18:00,off")
        );
        for bad in ["-1M", "fast", "99999999999999T", "0"] {
            assert_eq!(with(4, Some(bad)).validated().unwrap_err().code(), "bandwidth.invalid", "{bad}");
        }
        assert_eq!(with(4, Some("  ")).validated().unwrap().bandwidth, None);
        let days = |history_days| Prefs { history_days, ..Prefs::default() };
        let e = days(MAX_HISTORY_DAYS + 1).validated().unwrap_err();
        assert!(e.to_string().contains("history: 36501 days is out of range"), "{e}");
        assert_eq!(days(0).validated().unwrap().retention(), Retention::Forever);
        assert_eq!(days(7).validated().unwrap().retention(), Retention::Days(7));
        let proxy: Prefs =
            serde_json::from_value(serde_json::json!({"proxy": {"mode": "manual", "url": "gopher://p:70"}})).unwrap();
        let e = proxy.validated().unwrap_err();
        assert_eq!(e.code(), "proxy.invalid");
        assert!(e.to_string().contains("\"gopher://p:70\""), "the message names the value: {e}");
        let proxy: Prefs = serde_json::from_value(
            serde_json::json!({"proxy": {"mode": "manual", "url": " http://p:3128 ", "noProxy": "a, b"}}),
        )
        .unwrap();
        let proxy = proxy.validated().unwrap().proxy;
        assert_eq!((proxy.url.as_deref(), proxy.no_proxy.as_deref()), (Some("http://p:3128"), Some("a,b")));
    }

    #[test]
    fn prefs_map_onto_queue_options() {
        let prefs = Prefs {
            parallel: 3,
            bandwidth: Some("512k".into()),
            on_conflict: ConflictPolicy::Replace,
            ..Prefs::default()
        };
        let opts = prefs.queue_options().unwrap();
        assert_eq!((opts.parallel, opts.on_conflict), (3, ConflictPolicy::Replace));
        assert_eq!(opts.bwlimit.as_ref().unwrap().timetable().to_string(), "512k");
        let sync = prefs.sync_options(&opts);
        assert_eq!((sync.parallel, sync.on_conflict, sync.retry.max_attempts), (3, ConflictPolicy::Rename, u32::MAX));
        assert!(Arc::ptr_eq(sync.bwlimit.as_ref().unwrap(), opts.bwlimit.as_ref().unwrap()), "one budget for both");
        let unlimited = Prefs::default().queue_options().unwrap();
        assert!(!unlimited.bwlimit.unwrap().timetable().limits());
        assert!(Prefs { parallel: 0, ..Prefs::default() }.queue_options().is_err());
    }

    #[test]
    fn apply_changes_running_queues() {
        let dir = tempfile::tempdir().unwrap();
        let journal = Arc::new(Journal::open(&dir.path().join("j.sqlite")).unwrap());
        let tt = Arc::new(TrustedTwin::new("http://127.0.0.1:9", crate::Secret::new("s")).unwrap());
        let opts = Prefs::default().queue_options().unwrap();
        let uploads = Queue::new(tt.clone(), journal.clone(), opts.clone());
        let other = tempfile::tempdir().unwrap();
        let sync_journal = Arc::new(Journal::open(&other.path().join("j.sqlite")).unwrap());
        let synced = Queue::new(tt, sync_journal, Prefs::default().sync_options(&opts));
        let prefs = Prefs { parallel: 7, bandwidth: Some("08:00,1M 20:00,off".into()), ..Prefs::default() };
        prefs.apply(&[&uploads, &synced]).unwrap();
        assert_eq!((uploads.parallel(), synced.parallel()), (7, 7));
        assert_eq!(synced.bandwidth().unwrap().timetable().to_string(), "08:00,1M 20:00,off");
        uploads.set_parallel(99);
        assert_eq!(uploads.parallel(), MAX_PARALLEL);
    }

    /// Parallelism changes how many files a queue sends at once, while it runs: raised above
    /// what the queue was built with, files overlap; lowered to one, they go one by one.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn parallelism_applies_to_a_running_queue() {
        let em = twindrop_emulator::Emulator::start(
            "127.0.0.1:0".parse().unwrap(),
            twindrop_emulator::Config::new("p").with_copy_delay(Duration::from_millis(5)),
        )
        .await
        .unwrap();
        // Every PUT takes 600 ms at the server, whatever else runs.
        em.set_faults(
            serde_json::from_value(serde_json::json!({"rules": [{"route": "upload", "latency_ms": 600}]})).unwrap(),
        );
        let tt = Arc::new(TrustedTwin::new(em.base_url(), crate::Secret::new("p")).unwrap());
        let twin = tt.create_twin().await.unwrap();
        let dir = tempfile::tempdir().unwrap();
        let journal = Arc::new(Journal::open(&dir.path().join("j.sqlite")).unwrap());
        let mut opts = Prefs { parallel: 1, ..Prefs::default() }.queue_options().unwrap();
        opts.poll_interval = Duration::from_millis(20);
        let queue = Queue::new(tt, journal, opts);
        let sink: crate::queue::EventSink = Arc::new(|_| {});
        let runner = tokio::spawn({
            let (queue, sink) = (queue.clone(), sink.clone());
            async move { queue.run(sink, crate::queue::RunMode::Forever).await }
        });
        let batch = |names: &[&str]| -> Vec<std::path::PathBuf> {
            names
                .iter()
                .map(|n| {
                    let p = dir.path().join(n);
                    std::fs::write(&p, n.as_bytes()).unwrap();
                    p
                })
                .collect()
        };
        let send = |files: Vec<std::path::PathBuf>| {
            let (queue, sink, twin) = (queue.clone(), sink.clone(), twin.clone());
            async move {
                let start = std::time::Instant::now();
                queue.enqueue(&twin, &files, &sink).await.unwrap();
                while !queue.is_idle().unwrap() {
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
                start.elapsed()
            }
        };
        Prefs { parallel: 4, ..Prefs::default() }.apply(&[&queue]).unwrap();
        let together = send(batch(&["a", "b", "c", "d"])).await;
        assert!(together < Duration::from_millis(1800), "4 files at 4 at once took {together:?}");
        Prefs { parallel: 1, ..Prefs::default() }.apply(&[&queue]).unwrap();
        let one_by_one = send(batch(&["e", "f", "g"])).await;
        assert!(one_by_one >= Duration::from_millis(1800), "3 files one at a time took {one_by_one:?}");
        runner.abort();
        em.shutdown().await;
    }
}
