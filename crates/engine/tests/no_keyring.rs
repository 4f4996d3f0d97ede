//! A desktop with no keyring: signing in fails plainly, with `keyring.unavailable` and what to
//! install, and the secret lands in no file. Its own test binary, because it points the
//! session bus nowhere for the whole process.

use std::path::Path;

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

    app.close().await;
    let leaked = files_holding(home.path(), SECRET.as_bytes());
    assert!(leaked.is_empty(), "the secret was written to {leaked:?}");
}

/// Every file under `dir` whose bytes contain `needle`.
fn files_holding(dir: &Path, needle: &[u8]) -> Vec<std::path::PathBuf> {
    let mut found = vec![];
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            found.extend(files_holding(&path, needle));
        } else if std::fs::read(&path).unwrap().windows(needle.len()).any(|w| w == needle) {
            found.push(path);
        }
    }
    found
}
