//! Launch to interactive, as a benchmark (run by `benches/launch.sh`, not by the test suite):
//! from asking WebDriver for a session, which starts the app, to the first screen saying it is
//! wired (`body[data-ready]`: the session known, the drop zone and the queue channel listening).

use std::time::Instant;

use twindrop_e2e::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a benchmark: benches/launch.sh"]
async fn launch_to_interactive() {
    if skip_without_display() {
        return;
    }
    let runs: usize = std::env::var("LAUNCH_RUNS").ok().and_then(|v| v.parse().ok()).unwrap_or(5);
    let home = tempfile::tempdir().unwrap();
    let (config, data) = (home.path().join("config"), home.path().join("data"));
    let env = [("TWINDROP_CONFIG_DIR", config.as_path()), ("TWINDROP_DATA_DIR", data.as_path())];
    let driver = Driver::start(&env);
    let mut ms = Vec::new();
    for run in 0..runs {
        let started = Instant::now();
        let client = driver.session().await;
        let took = started.elapsed().as_secs_f64() * 1000.0;
        wait_css(&client, "#screen-main", 20).await;
        // The first run also creates the sandbox's state; the others open it again.
        println!("launch run {run}: {took:.0} ms");
        ms.push(took);
        client.close().await.unwrap();
    }
    let first = ms[0];
    ms.sort_by(f64::total_cmp);
    println!(
        "LAUNCH first={first:.0}ms median={:.0}ms min={:.0}ms max={:.0}ms runs={runs}",
        ms[ms.len() / 2],
        ms[0],
        ms[ms.len() - 1]
    );
}
