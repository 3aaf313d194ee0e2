//! Stopping a server the lab started in its own process group (PostgreSQL through `runuser`,
//! nginx's master and workers, chromedriver and its browser): the whole group, politely first,
//! so that a failing test orphans nothing.

use std::process::Child;
use std::time::{Duration, Instant};

/// Sends `signal` to `child`'s process group, waits up to `grace` for it to exit, then kills
/// the group.
pub fn stop(child: &mut Child, signal: libc::c_int, grace: Duration) {
    let group = -(child.id() as i32);
    // SAFETY: kill(2) on the process group of a child we spawned with `process_group(0)`; no
    // memory is touched.
    unsafe {
        libc::kill(group, signal);
    }
    let t0 = Instant::now();
    while t0.elapsed() < grace {
        if let Ok(Some(_)) = child.try_wait() {
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    // SAFETY: as above; it did not stop within its grace.
    unsafe {
        libc::kill(group, libc::SIGKILL);
    }
    let _ = child.wait();
}
