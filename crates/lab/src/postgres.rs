//! A throwaway PostgreSQL
//! server (Debian's binaries, a temporary data directory, a free loopback port, trust
//! authentication, stopped on drop; as root it runs as the `postgres` user, since the server
//! refuses to run as root).

use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::free_port;

pub struct TestPostgres {
    /// `postgres://postgres@127.0.0.1:PORT/postgres`; see [`TestPostgres::database`].
    pub port: u16,
    dir: tempfile::TempDir,
    server: Child,
    bin: PathBuf,
}

/// Where Debian puts the server binaries (`/usr/lib/postgresql/NN/bin`), newest first.
fn bin_dir() -> Result<PathBuf, String> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .map_err(|_| "PostgreSQL is not installed: `cargo xtask test` installs Debian's postgresql".to_string())?
        .filter_map(|e| e.ok().map(|e| e.path().join("bin")))
        .filter(|p| p.join("postgres").is_file())
        .collect();
    dirs.sort();
    dirs.pop().ok_or_else(|| "no PostgreSQL server binary under /usr/lib/postgresql".into())
}

fn is_root() -> bool {
    // SAFETY: getuid has no preconditions.
    unsafe { libc::getuid() == 0 }
}

/// A command run as the `postgres` user when we are root.
fn as_postgres(program: PathBuf) -> Command {
    if is_root() {
        let mut cmd = Command::new("runuser");
        cmd.args(["-u", "postgres", "--"]).arg(program);
        cmd
    } else {
        Command::new(program)
    }
}

impl TestPostgres {
    pub fn start() -> Result<TestPostgres, String> {
        let bin = bin_dir()?;
        let dir = tempfile::Builder::new().prefix("vantage-pg").tempdir().map_err(|e| e.to_string())?;
        if is_root() {
            let status = Command::new("chown")
                .args(["-R", "postgres:postgres"])
                .arg(dir.path())
                .status()
                .map_err(|e| e.to_string())?;
            if !status.success() {
                return Err("chown of the PostgreSQL data directory failed".into());
            }
        }
        let data = dir.path().join("data");
        let out = as_postgres(bin.join("initdb"))
            .args(["--auth=trust", "--username=postgres", "--encoding=UTF8", "--no-sync", "-D"])
            .arg(&data)
            .output()
            .map_err(|e| format!("initdb: {e}"))?;
        if !out.status.success() {
            return Err(format!("initdb failed: {}", String::from_utf8_lossy(&out.stderr)));
        }
        let port = free_port();
        let server = as_postgres(bin.join("postgres"))
            .arg("-D")
            .arg(&data)
            .args(["-p", &port.to_string(), "-c", "listen_addresses=127.0.0.1", "-c"])
            .arg(format!("unix_socket_directories={}", dir.path().display()))
            .args(["-c", "max_connections=200"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0)
            .spawn()
            .map_err(|e| format!("postgres: {e}"))?;
        let pg = TestPostgres { port, dir, server, bin };
        let t0 = Instant::now();
        loop {
            let ready = pg.psql("postgres", "SELECT 1").is_ok();
            if ready {
                return Ok(pg);
            }
            if t0.elapsed() > Duration::from_secs(30) {
                return Err("PostgreSQL did not start within 30 s".into());
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Runs a client tool (`psql`, `pg_dump`) against this server, returning its output.
    fn client(&self, tool: &str, args: &[&str]) -> Result<String, String> {
        let out = Command::new(self.bin.join(tool))
            .args(["-h", "127.0.0.1", "-p", &self.port.to_string(), "-U", "postgres"])
            .args(args)
            .output()
            .map_err(|e| format!("{tool}: {e}"))?;
        if out.status.success() {
            Ok(String::from_utf8_lossy(&out.stdout).into_owned())
        } else {
            Err(String::from_utf8_lossy(&out.stderr).into_owned())
        }
    }

    /// Runs SQL with psql against database `db`, returning its output.
    pub fn psql(&self, db: &str, sql: &str) -> Result<String, String> {
        self.client("psql", &["-d", db, "-tAc", sql])
    }

    /// Creates a fresh database and returns its URL.
    pub fn database(&self, name: &str) -> Result<String, String> {
        self.psql("postgres", &format!("CREATE DATABASE {name}"))?;
        Ok(format!("postgres://postgres@127.0.0.1:{}/{name}", self.port))
    }

    /// A plain-text dump of database `db` (`pg_dump`), to search for what must not be there.
    pub fn dump(&self, db: &str) -> Result<String, String> {
        self.client("pg_dump", &[db])
    }
}

impl Drop for TestPostgres {
    fn drop(&mut self) {
        // SIGINT is PostgreSQL's fast shutdown; the whole group, as runuser forks.
        crate::group::stop(&mut self.server, libc::SIGINT, Duration::from_secs(10));
        let _ = &self.dir;
    }
}
