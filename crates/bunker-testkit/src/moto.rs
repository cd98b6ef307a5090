//! moto's S3 server (`moto_server`) on a free 127.0.0.1 port, killed when the handle drops.
//!
//! The binary is `$MOTO_SERVER`, else `<workspace>/.venv/bin/moto_server` (installed by
//! `scripts/test`). moto accepts any credentials and unsigned requests, which lets a test
//! create buckets with one plain HTTP request and no S3 client.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Access key id the tests use (moto accepts anything).
pub const ACCESS_KEY_ID: &str = "testing";
/// Secret access key the tests use.
pub const SECRET_ACCESS_KEY: &str = "testing";
/// Region the tests sign for.
pub const REGION: &str = "us-east-1";

/// A running `moto_server`, killed on drop.
#[derive(Debug)]
pub struct Moto {
    child: Child,
    port: u16,
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `$MOTO_SERVER`, else the workspace's `.venv/bin/moto_server` if installed.
fn binary() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("MOTO_SERVER").filter(|p| !p.is_empty()) {
        return Some(p.into());
    }
    let venv = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.venv/bin/moto_server");
    venv.exists().then_some(venv)
}

impl Moto {
    /// Starts a server and waits until it answers HTTP; `None` (after saying so loudly, or a
    /// panic under `BUNKER_REQUIRE_S3`) when no `moto_server` is installed.
    ///
    /// # Panics
    /// If the binary exists but no server comes up.
    pub fn start() -> Option<Moto> {
        let Some(bin) = binary() else {
            crate::skip_or_fail(
                "BUNKER_REQUIRE_S3",
                "no S3 test server (run scripts/test to install .venv/bin/moto_server, or set MOTO_SERVER)",
            );
            return None;
        };
        // The port is free when probed; another process may take it before moto binds: retry.
        for _ in 0..5 {
            let port = crate::free_port();
            let mut child = Command::new(&bin)
                .args(["-H", "127.0.0.1", "-p", &port.to_string()])
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap_or_else(|e| panic!("starting {}: {e}", bin.display()));
            let deadline = Instant::now() + Duration::from_secs(60);
            while Instant::now() < deadline {
                if child.try_wait().ok().flatten().is_some() {
                    break; // lost the port race, or moto is broken (then the loop ends in a panic)
                }
                if http(port, "GET", "/").is_some() {
                    return Some(Moto { child, port });
                }
                std::thread::sleep(Duration::from_millis(100));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
        panic!("{} did not start on 127.0.0.1", bin.display());
    }

    /// The server's URL, `http://127.0.0.1:<port>`.
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The server's port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Creates `bucket` (an existing one is fine).
    ///
    /// # Panics
    /// If the server refuses.
    pub fn create_bucket(&self, bucket: &str) {
        let (status, body) = self.request("PUT", &format!("/{bucket}")).expect("moto answers");
        assert!(status == 200 || status == 409, "creating bucket {bucket}: HTTP {status}: {}", String::from_utf8_lossy(&body));
    }

    /// One unsigned request without a body (`path` already URL-encoded, e.g.
    /// `/bucket/key?tagging`): status and body, or `None` if the server did not answer.
    pub fn request(&self, method: &str, path: &str) -> Option<(u16, Vec<u8>)> {
        http(self.port, method, path)
    }
}

/// One plain HTTP/1.1 request without a body; status and body, or `None` if nothing answered.
fn http(port: u16, method: &str, path: &str) -> Option<(u16, Vec<u8>)> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(30))).ok()?;
    write!(s, "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n").ok()?;
    let mut reply = Vec::new();
    s.read_to_end(&mut reply).ok()?;
    let status = std::str::from_utf8(reply.get(9..12)?).ok()?.parse().ok()?;
    let body = reply.windows(4).position(|w| w == b"\r\n\r\n").map_or_else(Vec::new, |at| reply[at + 4..].to_vec());
    Some((status, body))
}
