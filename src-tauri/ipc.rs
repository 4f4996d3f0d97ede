// The IPC commands, listed once. Everything else derives from this list:
// - lib.rs: `ipc_commands!(tauri_specta::collect_commands)` is the invoke handler and the
//   commands of the TypeScript bindings (ui/src/lib/generated/bindings.ts, see bindings.rs);
// - build.rs `include!`s this file: tauri-build makes an `allow-<command>` permission for each,
//   and build.rs writes the app's `default` permission granting all of them, which is what the
//   main window's capability in tauri.conf.json grants.
//
// Each entry is `module::command`, the command carrying both `#[tauri::command]` and
// `#[specta::specta]`. Only macro_rules here: build.rs compiles this file too.

/// Hands the command list to the macro `$then` (a path), as `module::command, ...`.
macro_rules! ipc_commands {
    ($($then:ident)::+) => {
        $($then)::+! {
            commands::session_get,
            commands::login_sandbox,
            commands::login_service,
            commands::connection_check,
            commands::profiles_list,
            commands::profile_open,
            commands::session_close,
            commands::logout,
            commands::twins_recent,
            commands::twin_create,
            commands::twin_select,
            commands::twin_names,
            commands::twin_rename,
            commands::queue_settled,
            commands::queue_watch,
            commands::queue_pause,
            commands::queue_resume,
            commands::queue_cancel,
            commands::queue_retry,
            commands::queue_remove,
            commands::queue_locate,
            commands::queue_pause_all,
            commands::queue_resume_all,
            commands::queue_retry_failed,
            commands::queue_clear_finished,
            commands::docs_list,
            commands::docs_details,
            commands::doc_delete,
            commands::doc_retry,
            docs::doc_download,
            docs::doc_local_file,
            docs::doc_reveal,
            commands::guide_seen,
            commands::guide_set_seen,
            picker::pick_paths,
            watched::watched_list,
            watched::watched_add,
            watched::watched_update,
            watched::watched_remove,
            watched::watched_pause,
            prefs::prefs_get,
            prefs::prefs_set,
            prefs::proxy_password_set,
            activity::activity_list,
            logs::logs_open_folder,
            upload::names_preview,
            upload::upload_planned,
            verify::verify_folder,
            verify::verify_against,
            verify::verify_rows,
            verify::verify_close,
            verify::verify_send_again,
            verify::verify_export,
        }
    };
}

/// `ipc_commands!(command_names)`: the command names, `&[&str]` (build.rs and the tests).
#[allow(unused_macros)]
macro_rules! command_names {
    ($($module:ident :: $command:ident),* $(,)?) => {
        &[$(stringify!($command)),*]
    };
}
