//! The local AWS API server and SMTP sink, and test data helpers.

use std::path::PathBuf;
use std::sync::OnceLock;
use std::time::Duration;

use aws_config::BehaviorVersion;
use aws_sdk_sns::config::Credentials;

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap()
}

fn wait_for(port: u16, what: &str) {
    for _ in 0..150 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("{what} did not start on port {port}");
}

/// The local AWS API server: `GDALERT_MOTO_URL` (set by `.ci/run`), or a
/// `moto_server` started for this test process.
pub fn moto_url() -> String {
    static URL: OnceLock<String> = OnceLock::new();
    URL.get_or_init(|| {
        if let Ok(url) = std::env::var("GDALERT_MOTO_URL") {
            return url;
        }
        let port = free_port();
        let child = std::process::Command::new("moto_server")
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!("no GDALERT_MOTO_URL and cannot start moto_server ({e}); run `bash .ci/run` or `pip install 'moto[server]'`")
            });
        // Lives as long as the test process.
        std::mem::forget(child);
        wait_for(port, "moto_server");
        format!("http://127.0.0.1:{port}")
    })
    .clone()
}

/// SDK configuration pointed at `endpoint` with dummy credentials.
pub async fn sdk_config(endpoint: &str) -> aws_config::SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(Credentials::new("testing", "testing", None, None, "test"))
        .load()
        .await
}

/// The SMTP sink: (`host:port`, file it prints received mail to), from
/// `GDALERT_SMTP_ADDR`/`GDALERT_SMTP_LOG` (set by `.ci/run`), or an
/// aiosmtpd started for this test process.
pub fn smtp_sink() -> (String, PathBuf) {
    static SINK: OnceLock<(String, PathBuf)> = OnceLock::new();
    SINK.get_or_init(|| {
        if let (Ok(addr), Ok(log)) = (
            std::env::var("GDALERT_SMTP_ADDR"),
            std::env::var("GDALERT_SMTP_LOG"),
        ) {
            return (addr, PathBuf::from(log));
        }
        let port = free_port();
        let log = std::env::temp_dir().join(format!("gdalert-smtp-{}.log", std::process::id()));
        let file = std::fs::File::create(&log).unwrap();
        let child = std::process::Command::new("python3")
            .args([
                "-u",
                "-m",
                "aiosmtpd",
                "-n",
                "-l",
                &format!("127.0.0.1:{port}"),
            ])
            .stdout(file)
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!("cannot start aiosmtpd ({e}); run `bash .ci/run` or `pip install aiosmtpd`")
            });
        std::mem::forget(child);
        wait_for(port, "aiosmtpd");
        (format!("127.0.0.1:{port}"), log)
    })
    .clone()
}

/// A name no other test in this run uses (moto's state is shared).
pub fn unique(prefix: &str) -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    format!(
        "{prefix}-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::SeqCst)
    )
}

/// A file from `tests/fixtures/events/`.
pub fn fixture(name: &str) -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/fixtures/events")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}
