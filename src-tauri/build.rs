/// Every IPC command, so that tauri-build makes an `allow-<command>` permission for each: with an
/// app manifest, a command is callable only when a capability in tauri.conf.json grants it.
const COMMANDS: &[&str] = &[
    "session_get",
    "login_sandbox",
    "login_service",
    "profiles_list",
    "profile_open",
    "session_close",
    "logout",
    "twins_recent",
    "twin_create",
    "twin_select",
    "queue_settled",
    "queue_watch",
    "queue_pause",
    "queue_resume",
    "queue_cancel",
    "queue_retry",
    "queue_pause_all",
    "queue_resume_all",
    "queue_retry_failed",
    "docs_list",
    "doc_delete",
    "doc_retry",
    "pick_paths",
    "watched_list",
    "watched_add",
    "watched_update",
    "watched_remove",
    "watched_pause",
    "prefs_get",
    "prefs_set",
    "activity_list",
    "names_preview",
    "upload_planned",
];

fn main() {
    // Build scripts run in the package root, so tauri-build reads ./tauri.conf.json.
    let attributes = tauri_build::Attributes::new().app_manifest(tauri_build::AppManifest::new().commands(COMMANDS));
    tauri_build::try_build(attributes).expect("tauri-build");
}
