//! Deciding, per request, which faults of the installed plan fire.
//!
//! Everything a decision depends on (the per-route call numbers since the plan was installed, how
//! often each rule fired, the random generator) lives behind one mutex, so a given seed and a
//! given order of requests always give the same faults.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard, OnceLock, PoisonError};
use std::time::Duration;

use super::hostile::{HostileAnswer, RedirectTarget};
use super::plan::{CopyOutcome, FaultPlan, FaultRule, OssChecksums, RouteMatch};
use super::route::Route;

/// What the fired rules ask for, one request's worth. `Default` is "no fault".
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Effects {
    pub(crate) status: Option<Injected>,
    pub(crate) commit_then: Option<Injected>,
    pub(crate) latency: Option<Duration>,
    pub(crate) reset_after_bytes: Option<u64>,
    pub(crate) slow_body_bytes_per_sec: Option<u64>,
    pub(crate) hostile: Option<HostileAnswer>,
    pub(crate) handler: HandlerFaults,
}

/// An error answer to inject.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Injected {
    pub(crate) status: u16,
    pub(crate) subcode: Option<u32>,
    pub(crate) retry_after: Option<u64>,
}

/// The faults a handler itself has to act on; handed to it as a request extension.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub(crate) struct HandlerFaults {
    pub(crate) expire_now: bool,
    pub(crate) copy_delay: Option<Duration>,
    pub(crate) copy_outcome: Option<CopyOutcome>,
    /// The Redivis session faults (`redivis.chunk`, `redivis.status`).
    pub(crate) no_range: bool,
    pub(crate) short_commit: bool,
    pub(crate) commit_bytes: Option<u64>,
    pub(crate) expire_session: bool,
    /// The data planes (`upload`, `redivis.chunk`, `inspect.put`, `oss.post`): store the bytes
    /// with their first byte flipped (see [`super::Corrupter`]).
    pub(crate) corrupt: bool,
    /// `oss.post`: the checksums the success carries.
    pub(crate) oss_checksums: Option<OssChecksums>,
}

impl Effects {
    pub(crate) fn is_none(&self) -> bool {
        *self == Effects::default()
    }

    /// Adds what `rule` asks for, except where an earlier rule already decided.
    fn merge(&mut self, rule: &FaultRule) {
        let injected = |status| Injected { status, subcode: rule.subcode, retry_after: rule.retry_after };
        self.status = self.status.or(rule.status.map(injected));
        self.commit_then = self.commit_then.or(rule.commit_then_status.map(injected));
        self.latency = self.latency.or(rule.latency_ms.map(Duration::from_millis));
        self.reset_after_bytes = self.reset_after_bytes.or(rule.reset_after_bytes);
        self.slow_body_bytes_per_sec = self.slow_body_bytes_per_sec.or(rule.slow_body_bytes_per_sec);
        self.hostile = self.hostile.or(rule.hostile.map(|kind| HostileAnswer { kind, drip: rule.slowloris_every() }));
        self.handler.expire_now |= rule.expire_now;
        self.handler.copy_delay = self.handler.copy_delay.or(rule.copy_ms.map(Duration::from_millis));
        self.handler.copy_outcome = self.handler.copy_outcome.or(rule.copy_outcome);
        self.handler.no_range |= rule.no_range;
        self.handler.short_commit |= rule.short_commit;
        self.handler.commit_bytes = self.handler.commit_bytes.or(rule.commit_bytes);
        self.handler.expire_session |= rule.expire_session;
        self.handler.corrupt |= rule.corrupt;
        self.handler.oss_checksums = self.handler.oss_checksums.or(rule.oss_checksums);
    }
}

/// SplitMix64: tiny, good enough for fault dice, and the same on every platform.
#[derive(Debug, Clone)]
struct Dice(u64);

impl Dice {
    fn next_f64(&mut self) -> f64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        // 53 random bits → [0, 1)
        (z >> 11) as f64 / (1u64 << 53) as f64
    }
}

struct Installed {
    plan: FaultPlan,
    dice: Dice,
    /// Calls per route since the plan was installed.
    calls: [u64; Route::ALL.len()],
    /// Calls of any route since the plan was installed (what `nth` means for `"*"`).
    all_calls: u64,
    /// How often each rule fired.
    fired: Vec<u64>,
}

impl Installed {
    fn new(plan: FaultPlan) -> Installed {
        Installed {
            dice: Dice(plan.seed),
            calls: [0; Route::ALL.len()],
            all_calls: 0,
            fired: vec![0; plan.rules.len()],
            plan,
        }
    }
}

/// The installed plan plus the call counters since the start (`Emulator::call_count`).
pub(crate) struct Injector {
    installed: Mutex<Installed>,
    total: [AtomicU64; Route::ALL.len()],
    /// Where `hostile: redirect` points; set once the emulator has started it.
    redirect: OnceLock<RedirectTarget>,
}

impl Injector {
    pub(crate) fn new(plan: FaultPlan) -> Injector {
        Injector { installed: Mutex::new(Installed::new(plan)), total: Default::default(), redirect: OnceLock::new() }
    }

    pub(crate) fn set_redirect_target(&self, target: RedirectTarget) {
        if self.redirect.set(target).is_err() {
            tracing::warn!("a redirect target was already set");
        }
    }

    pub(crate) fn redirect_target(&self) -> Option<&RedirectTarget> {
        self.redirect.get()
    }

    fn lock(&self) -> MutexGuard<'_, Installed> {
        self.installed.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Replaces the plan; its counters and generator start afresh.
    pub(crate) fn install(&self, plan: FaultPlan) {
        *self.lock() = Installed::new(plan);
    }

    pub(crate) fn plan(&self) -> FaultPlan {
        self.lock().plan.clone()
    }

    /// How often each rule of the installed plan has fired.
    pub(crate) fn fired(&self) -> Vec<u64> {
        self.lock().fired.clone()
    }

    pub(crate) fn call_count(&self, route: Route) -> u64 {
        self.total[route.index()].load(Ordering::Relaxed)
    }

    /// Counts a request of `route` and decides its faults.
    pub(crate) fn decide(&self, route: Route) -> Effects {
        self.total[route.index()].fetch_add(1, Ordering::Relaxed);
        let mut installed = self.lock();
        let installed = &mut *installed;
        installed.calls[route.index()] += 1;
        installed.all_calls += 1;
        let mut effects = Effects::default();
        for (index, rule) in installed.plan.rules.iter().enumerate() {
            if !rule.route.matches(route) {
                continue;
            }
            let call = match rule.route {
                RouteMatch::Any => installed.all_calls,
                RouteMatch::One(_) => installed.calls[route.index()],
            };
            if !rule.nth.is_empty() && !rule.nth.contains(&call) {
                continue;
            }
            if rule.times.is_some_and(|times| installed.fired[index] >= times) {
                continue;
            }
            // Drawn only when every other condition holds, so the dice depend on nothing but the
            // seed and the calls that reach probability rules.
            if let Some(p) = rule.probability {
                if installed.dice.next_f64() >= p {
                    continue;
                }
            }
            installed.fired[index] += 1;
            effects.merge(rule);
        }
        if !effects.is_none() {
            tracing::info!(route = route.name(), ?effects, "injecting faults");
        }
        effects
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn injector(plan: serde_json::Value) -> Injector {
        Injector::new(serde_json::from_value(plan).unwrap())
    }

    fn statuses(injector: &Injector, route: Route, calls: usize) -> Vec<Option<u16>> {
        (0..calls).map(|_| injector.decide(route).status.map(|s| s.status)).collect()
    }

    #[test]
    fn nth_counts_calls_of_the_route() {
        let i = injector(json!({"rules": [{"route": "attach", "nth": [1, 3], "status": 503}]}));
        assert_eq!(i.decide(Route::Cache), Effects::default());
        assert_eq!(statuses(&i, Route::Attach, 4), [Some(503), None, Some(503), None]);
        assert_eq!(i.call_count(Route::Attach), 4);
        assert_eq!(i.call_count(Route::Cache), 1);
        assert_eq!(i.fired(), [2]);
    }

    #[test]
    fn times_limits_and_star_counts_every_route() {
        let i = injector(json!({"rules": [{"route": "*", "times": 2, "status": 500}]}));
        assert_eq!(statuses(&i, Route::Whoami, 1), [Some(500)]);
        assert_eq!(statuses(&i, Route::Cache, 2), [Some(500), None]);
        let i = injector(json!({"rules": [{"route": "*", "nth": [2], "status": 500}]}));
        assert!(i.decide(Route::Whoami).is_none());
        assert_eq!(i.decide(Route::Cache).status.unwrap().status, 500);
    }

    #[test]
    fn probability_is_deterministic_for_a_seed() {
        let plan = json!({"seed": 7, "rules": [{"route": "cache", "probability": 0.3, "status": 429}]});
        let first = statuses(&injector(plan.clone()), Route::Cache, 200);
        let second = statuses(&injector(plan), Route::Cache, 200);
        assert_eq!(first, second);
        let fired = first.iter().filter(|s| s.is_some()).count();
        assert!((40..=80).contains(&fired), "about 30% of 200, got {fired}");
        let other = statuses(
            &injector(json!({"seed": 8, "rules": [{"route": "cache", "probability": 0.3, "status": 429}]})),
            Route::Cache,
            200,
        );
        assert_ne!(first, other, "another seed, other dice");
    }

    #[test]
    fn every_matching_rule_fires_and_the_first_wins_per_effect() {
        let i = injector(json!({"rules": [
            {"route": "attach", "nth": [2], "commit_then_status": 500, "copy_ms": 10},
            {"route": "attach", "copy_ms": 5000, "latency_ms": 20},
        ]}));
        let first = i.decide(Route::Attach);
        assert_eq!(first.handler.copy_delay, Some(Duration::from_secs(5)));
        assert_eq!(first.latency, Some(Duration::from_millis(20)));
        assert!(first.commit_then.is_none());
        let second = i.decide(Route::Attach);
        assert_eq!(second.handler.copy_delay, Some(Duration::from_millis(10)));
        assert_eq!(second.commit_then.unwrap().status, 500);
        assert_eq!(i.fired(), [1, 2]);
    }

    #[test]
    fn installing_a_plan_restarts_its_counters_but_not_the_totals() {
        let i = injector(json!({"rules": [{"route": "cache", "nth": [1], "status": 503}]}));
        assert_eq!(statuses(&i, Route::Cache, 2), [Some(503), None]);
        i.install(serde_json::from_value(json!({"rules": [{"route": "cache", "nth": [1], "status": 500}]})).unwrap());
        assert_eq!(statuses(&i, Route::Cache, 2), [Some(500), None]);
        assert_eq!(i.call_count(Route::Cache), 4);
    }
}
