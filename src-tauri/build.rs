fn main() {
    // Build scripts run in the package root, so tauri-build reads ./tauri.conf.json.
    tauri_build::build()
}
