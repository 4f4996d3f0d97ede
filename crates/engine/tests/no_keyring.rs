//! A desktop with no keyring: signing in fails plainly, with `keyring.unavailable` and what to
//! install, and the secret lands in no file. Its own test binary, because it points the
//! session bus nowhere for the whole process.

use std::path::Path;
use std::time::Duration;

use twindrop_emulator::{Config, Emulator};
use twindrop_engine::app::{App, Hooks, Places};
use twindrop_engine::service::ServiceKind;
use twindrop_engine::Secret;

const SECRET: &str = "no-keyring-secret-7f3a9c";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_keyring_sign_in_says_what_to_install_and_stores_nothing() {
    // No session bus at that address: as on a machine where no keyring (nor bus) was started.
    // Set before the first keyring call, in a binary with this one test, so nothing races it.
    std::env::set_var("DBUS_SESSION_BUS_ADDRESS", "unix:path=/nonexistent/twindrop-test-bus");
    let em = Emulator::start("127.0.0.1:0".parse().unwrap(), Config::new(SECRET)).await.unwrap();
    let home = tempfile::tempdir().unwrap();
    let app = App::new(Places::in_dir(home.path()), Hooks::default());

    let refused = app.sign_in(ServiceKind::TrustedTwin, em.base_url(), Secret::new(SECRET), None).await.unwrap_err();
    assert_eq!(refused.code(), "keyring.unavailable", "{refused}");
    let message = refused.to_string();
    assert!(message.contains("install gnome-keyring (or KWallet)"), "{message}");
    assert!(message.contains("never in a file"), "{message}");
    assert!(!message.contains(SECRET), "{message}");
    assert!(app.profiles().unwrap().is_empty(), "no profile is saved without its secret");

    // The same through the lower call the CLI's `twindrop login` makes.
    let direct = twindrop_engine::credentials::save_secret("p", &Secret::new(SECRET)).await.unwrap_err();
    assert_eq!(direct.code(), "keyring.unavailable", "{direct}");

    // A session bus where nothing owns the Secret Service name and nothing can be activated
    // for it: a desktop with D-Bus but no keyring installed. Last, because the store, once it
    // has connected to a bus, keeps that connection.
    if let Some(bus) = BareBus::start(home.path()) {
        std::env::set_var("DBUS_SESSION_BUS_ADDRESS", &bus.address);
        let signing_in = app.sign_in(ServiceKind::TrustedTwin, em.base_url(), Secret::new(SECRET), None);
        let refused = tokio::time::timeout(Duration::from_secs(30), signing_in).await.expect("an answer").unwrap_err();
        assert_eq!(refused.code(), "keyring.unavailable", "{refused}");
        assert!(refused.to_string().contains("install gnome-keyring (or KWallet)"), "{refused}");
    } else {
        eprintln!("no dbus-daemon here: the bare-bus case is not run");
    }

    app.close().await;
    let leaked = files_holding(home.path(), SECRET.as_bytes());
    assert!(leaked.is_empty(), "the secret was written to {leaked:?}");
}

/// A private `dbus-daemon` with no service folders (so no keyring can be started on demand).
struct BareBus {
    daemon: std::process::Child,
    address: String,
}

impl BareBus {
    fn start(dir: &Path) -> Option<BareBus> {
        let config = dir.join("bare-bus.conf");
        std::fs::write(
            &config,
            format!(
                "<!DOCTYPE busconfig PUBLIC \"-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN\" \
                 \"http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd\">\n\
                 <busconfig><type>session</type><listen>unix:dir={}</listen>\
                 <policy context=\"default\"><allow send_destination=\"*\" eavesdrop=\"true\"/>\
                 <allow eavesdrop=\"true\"/><allow own=\"*\"/></policy>\
                 </busconfig>\n",
                dir.display()
            ),
        )
        .unwrap();
        let mut daemon = std::process::Command::new("dbus-daemon")
            .arg(format!("--config-file={}", config.display()))
            .args(["--nofork", "--print-address=1"])
            .stdout(std::process::Stdio::piped())
            .spawn()
            .ok()?;
        let mut line = String::new();
        std::io::BufRead::read_line(&mut std::io::BufReader::new(daemon.stdout.take()?), &mut line).ok()?;
        Some(BareBus { daemon, address: line.trim().to_owned() })
    }
}

impl Drop for BareBus {
    fn drop(&mut self) {
        let _ = self.daemon.kill();
        let _ = self.daemon.wait();
    }
}

/// Every file under `dir` whose bytes contain `needle`.
fn files_holding(dir: &Path, needle: &[u8]) -> Vec<std::path::PathBuf> {
    let mut found = vec![];
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            found.extend(files_holding(&path, needle));
        } else if path.is_file() && std::fs::read(&path).unwrap().windows(needle.len()).any(|w| w == needle) {
            found.push(path);
        }
    }
    found
}
