//! Debian's nginx in front of collectors, configured as `docs/deploy.md` tells an operator to,
//! on a free loopback port with every file in a temporary directory; stopped on drop.
//!
//! One difference from a deployment, said where it matters: the test's clients connect from
//! loopback, so nginx is told (`set_real_ip_from 127.0.0.0/8`) to read the visitor's address
//! from the `X-Forwarded-For` they send, as it would from a CDN or load balancer in front of it.
//! It then hands the collectors only that address, in a fresh `X-Forwarded-For`.

use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::free_port;

const NGINX: &str = "/usr/sbin/nginx";

pub struct Nginx {
    pub port: u16,
    dir: tempfile::TempDir,
    server: Child,
}

/// The `http` block an operator puts in front of `upstreams` (the shape of
/// `docs/deploy.md`'s example), listening on `listen`, with files under `dir`.
pub fn config(dir: &str, listen: u16, upstreams: &[u16]) -> String {
    let servers: String =
        upstreams.iter().map(|p| format!("        server 127.0.0.1:{p} max_fails=1 fail_timeout=5s;\n")).collect();
    format!(
        r#"worker_processes 1;
pid {dir}/nginx.pid;
# The error log names clients on upstream errors: keep it to what has no visitor in it.
error_log {dir}/error.log crit;
events {{ worker_connections 1024; }}
http {{
    # No access log: it would hold every visitor's address.
    access_log off;
    client_body_temp_path {dir}/body;
    proxy_temp_path {dir}/proxy;
    fastcgi_temp_path {dir}/fastcgi;
    uwsgi_temp_path {dir}/uwsgi;
    scgi_temp_path {dir}/scgi;
    client_max_body_size 128k;
    client_header_timeout 10s;
    client_body_timeout 10s;

    # Test only: the loopback client stands for a CDN that names the visitor.
    set_real_ip_from 127.0.0.0/8;
    real_ip_header X-Forwarded-For;

    upstream collectors {{
{servers}        keepalive 16;
    }}
    server {{
        listen 127.0.0.1:{listen};
        location / {{
            proxy_pass http://collectors;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host $host;
            # The visitor's address, as nginx determined it, and nothing a client wrote.
            proxy_set_header X-Forwarded-For $remote_addr;
            proxy_connect_timeout 2s;
            proxy_next_upstream error timeout http_502 http_503;
        }}
    }}
}}
"#
    )
}

impl Nginx {
    /// Starts nginx in front of the collectors on `upstreams` and waits until it listens.
    pub fn start(upstreams: &[u16]) -> Result<Nginx, String> {
        if !std::path::Path::new(NGINX).is_file() {
            return Err("nginx is not installed: `cargo xtask test` installs Debian's nginx".into());
        }
        let dir = tempfile::Builder::new().prefix("vantage-nginx").tempdir().map_err(|e| e.to_string())?;
        let port = free_port();
        let root = dir.path().to_str().ok_or("a UTF-8 temporary path")?.to_string();
        let conf = dir.path().join("nginx.conf");
        std::fs::write(&conf, config(&root, port, upstreams)).map_err(|e| e.to_string())?;
        let server = Command::new(NGINX)
            .args(["-p", &root, "-e", &format!("{root}/error.log"), "-c"])
            .arg(&conf)
            .args(["-g", "daemon off; user root;"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0)
            .spawn()
            .map_err(|e| format!("nginx: {e}"))?;
        let mut nginx = Nginx { port, dir, server };
        let t0 = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            if let Ok(Some(status)) = nginx.server.try_wait() {
                return Err(format!("nginx exited ({status}): {}", nginx.error_log()));
            }
            if t0.elapsed() > Duration::from_secs(10) {
                return Err(format!("nginx did not listen within 10 s: {}", nginx.error_log()));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Ok(nginx)
    }

    /// Everything nginx logged.
    pub fn error_log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("error.log")).unwrap_or_default()
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        // SIGQUIT: nginx's graceful stop, master and worker.
        crate::group::stop(&mut self.server, libc::SIGQUIT, Duration::from_secs(5));
    }
}
