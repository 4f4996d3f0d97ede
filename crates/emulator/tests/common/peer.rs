//! Third-party servers (s3rver, moto) started for one test, on a free port, from the command an
//! environment variable names; a test without it prints "skipping: ..." and passes, unless
//! `TWINDROP_REQUIRE_PEERS=1`.

use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

pub struct Peer {
    child: Child,
    /// `http://127.0.0.1:PORT`
    pub base: String,
    _dir: tempfile::TempDir,
}

impl Drop for Peer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The command in `var`: a path to an executable, or a program and its first arguments separated
/// by spaces (`node /path/to/s3rver`).
fn command(var: &str) -> Option<Command> {
    let Ok(value) = std::env::var(var) else {
        assert!(std::env::var("TWINDROP_REQUIRE_PEERS").as_deref() != Ok("1"), "{var} is not set");
        eprintln!("skipping: {var} is not set (see docs/emulator.md for how to install the peer)");
        return None;
    };
    let mut words = value.split_whitespace();
    let mut command = Command::new(words.next()?);
    command.args(words);
    Some(command)
}

/// Starts the command with `args` (`{dir}` replaced by a fresh temporary directory) and waits
/// until it prints a line containing `ready`, followed by its address.
fn spawn(var: &str, args: &[&str], ready: &str) -> Option<Peer> {
    let mut command = command(var)?;
    let dir = tempfile::tempdir().unwrap();
    let dir_text = dir.path().to_str().unwrap().to_owned();
    command.args(args.iter().map(|arg| arg.replace("{dir}", &dir_text)));
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|err| panic!("{var}: cannot start: {err}"));
    let (lines, received) = mpsc::channel();
    fn forward(stream: impl Read + Send + 'static, lines: mpsc::Sender<String>) {
        std::thread::spawn(move || {
            // Read to the end, so the peer never blocks on a full pipe.
            for line in BufReader::new(stream).lines().map_while(Result::ok) {
                let _ = lines.send(line);
            }
        });
    }
    forward(child.stdout.take().unwrap(), lines.clone());
    forward(child.stderr.take().unwrap(), lines);
    let mut seen = Vec::new();
    let base = loop {
        let line = received
            .recv_timeout(Duration::from_secs(30))
            .unwrap_or_else(|_| panic!("{var} did not say '{ready}' within 30 s; it said: {seen:?}"));
        if let Some(at) = line.find(ready) {
            let address = line[at + ready.len()..].split_whitespace().next().unwrap_or("").to_owned();
            let address = address.trim_end_matches('/');
            break if address.starts_with("http") { address.to_owned() } else { format!("http://{address}") };
        }
        seen.push(line);
    };
    Some(Peer { child, base, _dir: dir })
}

/// s3rver (`TWINDROP_S3RVER`) with `bucket` configured, path-style, credentials S3RVER/S3RVER.
pub fn s3rver(bucket: &str) -> Option<Peer> {
    let args = ["-d", "{dir}", "-a", "127.0.0.1", "-p", "0", "--no-vhost-buckets", "--configure-bucket", bucket];
    spawn("TWINDROP_S3RVER", &args, "listening on ")
}

/// moto's server (`TWINDROP_MOTO`, the path to `moto_server`); create buckets with a PUT.
pub fn moto() -> Option<Peer> {
    spawn("TWINDROP_MOTO", &["-H", "127.0.0.1", "-p", "0"], "Running on ")
}
