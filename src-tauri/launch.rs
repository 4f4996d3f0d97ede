//! How the app was started: its command line. `--hidden` (what start at login passes) starts it
//! in the tray with no window; `-v`/`-vv`/`-vvv`/`-q` (and the long `--verbose`/`--quiet`) are
//! the CLI's log levels, mapped through the engine's one scale.

use std::ffi::OsString;

use twindrop_engine::logging::Level;

/// Start in the tray, the window not shown (it opens from the tray).
pub const HIDDEN: &str = "--hidden";

/// What the autostart entry starts the app with: at login nobody asked for a window, and
/// watched folders sync all the same.
pub const AUTOSTART_ARGS: [&str; 1] = [HIDDEN];

#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Launch {
    pub hidden: bool,
    verbose: u8,
    quiet: bool,
    /// Arguments the app does not know: warned about once logging is up, never fatal (an old
    /// autostart entry or a desktop file may pass something).
    pub unknown: Vec<String>,
}

impl Launch {
    /// The arguments after the program's name.
    pub fn parse(args: impl IntoIterator<Item = impl Into<OsString>>) -> Launch {
        let mut launch = Launch::default();
        for arg in args {
            let arg = arg.into().to_string_lossy().into_owned();
            match arg.as_str() {
                HIDDEN => launch.hidden = true,
                "--verbose" => launch.verbose = launch.verbose.saturating_add(1),
                "-q" | "--quiet" => launch.quiet = true,
                // -v, -vv, -vvv, as the CLI counts them.
                short if short.len() > 1 && short.starts_with('-') && short[1..].bytes().all(|b| b == b'v') => {
                    launch.verbose = launch.verbose.saturating_add((short.len() - 1) as u8);
                }
                _ => launch.unknown.push(arg),
            }
        }
        launch
    }

    /// From a whole command line as the OS gives it: its first item is the program itself.
    pub fn from_argv(argv: impl IntoIterator<Item = impl Into<OsString>>) -> Launch {
        Launch::parse(argv.into_iter().skip(1))
    }

    /// The level the flags ask for; `None` when none was given (the environment or the app's
    /// default decides then).
    pub fn level(&self) -> Option<Level> {
        (self.verbose > 0 || self.quiet).then(|| Level::from_flags(self.verbose, self.quiet))
    }

    /// Whether the main window shows at start.
    pub fn shows_window(&self) -> bool {
        !self.hidden
    }

    /// Whether the window shows at start, given whether a tray icon could be made: hidden with
    /// no tray would leave nothing to open the window with (a second launch still would).
    pub fn window_at_start(&self, has_tray: bool) -> bool {
        self.shows_window() || !has_tray
    }
}

/// A second launch's arguments (single-instance hands them over): bring the window forward,
/// unless it is start at login finding the app already running.
pub fn second_launch_shows_window(argv: &[String]) -> bool {
    Launch::from_argv(argv).shows_window()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hidden_starts_without_a_window() {
        assert!(Launch::parse(Vec::<String>::new()).shows_window());
        let hidden = Launch::parse(AUTOSTART_ARGS);
        assert!(hidden.hidden && !hidden.shows_window());
        assert_eq!(hidden.level(), None);
        assert!(hidden.unknown.is_empty());
    }

    #[test]
    fn hidden_needs_a_tray_to_open_the_window_from() {
        let (shown, hidden) = (Launch::parse(["-v"]), Launch::parse(["--hidden"]));
        assert!(shown.window_at_start(true) && shown.window_at_start(false));
        assert!(!hidden.window_at_start(true));
        assert!(hidden.window_at_start(false));
    }

    #[test]
    fn the_autostart_entry_starts_the_app_hidden() {
        assert_eq!(AUTOSTART_ARGS, ["--hidden"]);
        assert!(!Launch::parse(AUTOSTART_ARGS).shows_window());
    }

    #[test]
    fn log_flags_climb_the_clis_scale() {
        let level = |args: &[&str]| Launch::parse(args.iter().copied()).level();
        assert_eq!(level(&[]), None);
        assert_eq!(level(&["-v"]), Some(Level::Verbose));
        assert_eq!(level(&["--verbose"]), Some(Level::Verbose));
        assert_eq!(level(&["-vv"]), Some(Level::Debug));
        assert_eq!(level(&["-v", "--verbose"]), Some(Level::Debug));
        assert_eq!(level(&["-vvv", "--hidden"]), Some(Level::Trace));
        assert_eq!(level(&["-q", "-vv"]), Some(Level::Quiet));
        assert_eq!(level(&["--quiet"]), Some(Level::Quiet));
    }

    #[test]
    fn unknown_arguments_are_kept_to_warn_about() {
        let launch = Launch::parse(["--hidden", "-x", "file.txt", "-"]);
        assert!(launch.hidden);
        assert_eq!(launch.unknown, ["-x", "file.txt", "-"]);
    }

    #[test]
    fn a_second_launch_from_autostart_leaves_the_window_alone() {
        let argv = |args: &[&str]| args.iter().map(|a| a.to_string()).collect::<Vec<_>>();
        assert!(second_launch_shows_window(&argv(&["twindrop-app"])));
        assert!(!second_launch_shows_window(&argv(&["/usr/bin/twindrop-app", "--hidden"])));
        // The program's own name is skipped, whatever it is.
        assert!(second_launch_shows_window(&argv(&["--hidden"])));
    }
}
