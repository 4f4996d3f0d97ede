//! # Twindrop desktop shell
//!
//! Thin by design: the window, the IPC commands and app state. Every behaviour is a call into
//! `twindrop-engine`.
//!
//! # Layout
//! - `commands`: the IPC surface, one command per engine call; errors cross as `ErrorInfo`.
//! - `session`: who we are talking to (the local sandbox or a Trusted Twin profile).

mod commands;
mod session;

pub fn run() {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_env("TWINDROP_LOG").unwrap_or_else(|_| "info".into()))
        .with_writer(std::io::stderr)
        .init();
    tauri::Builder::default()
        .manage(session::AppState::default())
        .invoke_handler(tauri::generate_handler![
            commands::session_get,
            commands::login_sandbox,
            commands::login_trusted_twin,
            commands::logout,
            commands::twins_recent,
            commands::twin_create,
            commands::twin_select,
            commands::upload_paths,
            commands::queue_settled,
            commands::queue_watch,
            commands::queue_pause,
            commands::queue_resume,
            commands::queue_cancel,
            commands::queue_retry,
            commands::queue_pause_all,
            commands::queue_resume_all,
            commands::queue_retry_failed,
            commands::docs_list,
            commands::doc_delete,
            commands::doc_retry,
        ])
        .run(tauri::generate_context!())
        .expect("error while running the Twindrop window");
}
