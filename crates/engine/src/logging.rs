//! How much Twindrop logs, on one scale for both shells: the CLI's `-q`, `-v`, `-vv`, `-vvv`
//! and the app's setting map onto [`Level`], and each shell hands [`Level::directives`] to its
//! `tracing-subscriber` filter (the engine sets up no subscriber itself).
//!
//! Whatever the level, no secret reaches a log line: [`crate::Secret`] prints as `Secret(…)`
//! and upload URLs go through [`crate::redact`].

/// Twindrop's own crates, which `Verbose` opens up before the libraries under them.
const OURS: &[&str] = &["twindrop", "twindrop_engine", "twindrop_cli", "twindrop_emulator"];

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub enum Level {
    /// No log lines: a command's own error line is all that is said.
    Quiet,
    /// Errors (the default).
    #[default]
    Normal,
    /// Warnings from everything, and what Twindrop does (retries, resumed sessions).
    Verbose,
    /// Everything at debug.
    Debug,
    /// Everything at trace.
    Trace,
}

impl Level {
    /// The level a command line asks for: `quiet` (`-q`) wins; each `-v` goes one step up.
    pub fn from_flags(verbose: u8, quiet: bool) -> Level {
        match (quiet, verbose) {
            (true, _) => Level::Quiet,
            (false, 0) => Level::Normal,
            (false, 1) => Level::Verbose,
            (false, 2) => Level::Debug,
            (false, _) => Level::Trace,
        }
    }

    /// The filter, in `tracing-subscriber`'s `EnvFilter` syntax.
    pub fn directives(self) -> String {
        match self {
            Level::Quiet => "off".into(),
            Level::Normal => "error".into(),
            Level::Verbose => {
                let ours: Vec<String> = OURS.iter().map(|c| format!("{c}=info")).collect();
                format!("warn,{}", ours.join(","))
            }
            Level::Debug => "debug".into(),
            Level::Trace => "trace".into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_climb_the_scale() {
        assert_eq!(Level::from_flags(0, false), Level::Normal);
        assert_eq!(Level::from_flags(1, false), Level::Verbose);
        assert_eq!(Level::from_flags(2, false), Level::Debug);
        assert_eq!(Level::from_flags(7, false), Level::Trace);
        assert_eq!(Level::from_flags(2, true), Level::Quiet);
        assert_eq!(Level::Quiet.directives(), "off");
        assert_eq!(Level::Normal.directives(), "error");
        let verbose = Level::Verbose.directives();
        assert!(verbose.starts_with("warn,") && verbose.contains("twindrop_engine=info"), "{verbose}");
        assert_eq!(Level::Trace.directives(), "trace");
    }
}
