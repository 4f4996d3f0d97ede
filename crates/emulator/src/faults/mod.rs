//! Fault injection: making the emulator misbehave on purpose, deterministically.
//!
//! - `plan`: the JSON a test, a `--faults FILE` or the control endpoint gives ([`FaultPlan`]).
//! - `route`: the route names rules and call counts use ([`Route`]).
//! - `injector`: per request, which rules fire (counters, seeded dice).
//! - `layer`: the middleware that applies them around the handlers.
//! - `hostile`: answers no honest server gives (`hostile`), and the redirect target.
//! - `corrupt`: what the data-plane handlers use to store damaged bytes (the `corrupt` fault).

mod corrupt;
mod hostile;
mod injector;
pub(crate) mod layer;
mod plan;
mod route;

pub(crate) use corrupt::Corrupter;
pub(crate) use hostile::RedirectTarget;
pub use hostile::{Hostile, HUGE_BODY_BYTES};
pub(crate) use injector::Injector;
pub(crate) use layer::Faults;
pub use plan::{CopyOutcome, FaultPlan, FaultPlanError, FaultRule, OssChecksums, RouteMatch};
pub use route::Route;
