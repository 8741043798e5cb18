//! Free loopback ports for the lab's servers, chosen at start.
//!
//! A port is picked here but bound later by a child (etcd at once, Postgres only after initdb,
//! seconds on a loaded machine). Two things could take it in between, and both once left a lab
//! with no Patroni leader:
//! - **any outgoing connection**: the kernel gives its local end a port from the ephemeral range
//!   (`net.ipv4.ip_local_port_range`), the same range `bind(:0)` picks from. So the lab picks
//!   below that range, where the kernel never hands out a port by itself;
//! - **another lab starting at the same time** (tests start several): every lab's ports are
//!   written, under an exclusive `flock`, to a registry in the temp dir with the pid of the lab's
//!   supervisor; a port whose owner is alive is never picked again. Dead owners' entries are
//!   dropped on the next pick.
//!
//! Ports are held open until every one is picked, so one lab never gets the same port twice.

use std::io::{Read, Seek, Write};
use std::net::TcpListener;
use std::os::fd::AsRawFd;
use std::path::PathBuf;

use super::error::LabError;

/// The lowest port the lab uses; below it are well-known and registered services.
const LOWEST: u16 = 20000;

/// `LOWEST` up to (not including) the start of the kernel's ephemeral range.
fn lab_range() -> std::ops::Range<u16> {
    let ephemeral_low = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()
        .and_then(|t| t.split_whitespace().next().and_then(|p| p.parse::<u16>().ok()))
        .unwrap_or(32768);
    LOWEST..ephemeral_low.max(LOWEST)
}

fn registry_path() -> PathBuf {
    std::env::temp_dir().join("sitrep-lab-ports")
}

/// The registry, locked: (port, owner pid) of every port a live lab holds.
struct Registry {
    file: std::fs::File,
    held: Vec<(u16, u32)>,
}

impl Registry {
    fn open() -> Result<Registry, std::io::Error> {
        let mut file = std::fs::OpenOptions::new().read(true).write(true).create(true).truncate(false).open(registry_path())?;
        // SAFETY: flock on a descriptor this function owns; released when `file` is closed.
        if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX) } != 0 {
            return Err(std::io::Error::last_os_error());
        }
        let mut text = String::new();
        file.read_to_string(&mut text)?;
        let held = text
            .lines()
            .filter_map(|l| {
                let (port, pid) = l.split_once(' ')?;
                Some((port.parse().ok()?, pid.parse().ok()?))
            })
            .filter(|&(_, pid)| super::process::send(pid, 0))
            .collect();
        Ok(Registry { file, held })
    }

    fn save(&mut self) -> Result<(), std::io::Error> {
        let text: String = self.held.iter().map(|(port, pid)| format!("{port} {pid}\n")).collect();
        self.file.set_len(0)?;
        self.file.rewind()?;
        self.file.write_all(text.as_bytes())?;
        self.file.sync_data()
    }
}

/// Picks `n` distinct free ports on 127.0.0.1 for this process's lab (see the module comment).
pub fn free_ports(n: usize) -> Result<Vec<u16>, LabError> {
    let mut registry = match Registry::open() {
        Ok(r) => Some(r),
        Err(e) => {
            tracing::warn!("lab port registry {} unusable ({e}); picking ports without it", registry_path().display());
            None
        }
    };
    let taken: Vec<u16> = registry.as_ref().map(|r| r.held.iter().map(|(p, _)| *p).collect()).unwrap_or_default();
    let range = lab_range();
    let span = u32::from(range.end - range.start);
    let mut held: Vec<TcpListener> = Vec::with_capacity(n);
    if span >= 1000 {
        let start = (uuid::Uuid::new_v4().as_u128() % u128::from(span)) as u32;
        for i in 0..span {
            if held.len() == n {
                break;
            }
            let port = range.start + ((start + i) % span) as u16;
            if taken.contains(&port) {
                continue;
            }
            if let Ok(l) = TcpListener::bind(("127.0.0.1", port)) {
                held.push(l);
            }
        }
    }
    // A machine whose ephemeral range starts low leaves no room below it: let the kernel pick.
    while held.len() < n {
        held.push(TcpListener::bind("127.0.0.1:0").map_err(|e| LabError::Other(format!("cannot find a free port on 127.0.0.1: {e}")))?);
    }
    let ports: Vec<u16> = held
        .iter()
        .map(|l| l.local_addr().map(|a| a.port()))
        .collect::<Result<_, _>>()
        .map_err(|e| LabError::Other(format!("cannot read a bound port: {e}")))?;
    if let Some(r) = registry.as_mut() {
        r.held.extend(ports.iter().map(|&p| (p, std::process::id())));
        if let Err(e) = r.save() {
            tracing::warn!("cannot write the lab port registry {}: {e}", registry_path().display());
        }
    }
    Ok(ports)
}

/// True when something accepts connections on 127.0.0.1:`port`.
pub fn is_listening(port: u16) -> bool {
    let addr = std::net::SocketAddr::from(([127, 0, 0, 1], port));
    std::net::TcpStream::connect_timeout(&addr, std::time::Duration::from_millis(200)).is_ok()
}

/// The port of `host:port` or of a URL ending in it (0 when there is none).
pub fn port_of(addr: &str) -> u16 {
    addr.rsplit(':').next().and_then(|p| p.trim_end_matches('/').parse().ok()).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ports_come_from_below_the_ephemeral_range_and_are_never_handed_out_twice() {
        let range = lab_range();
        let first = free_ports(12).expect("ports");
        let second = free_ports(12).expect("ports");
        let mut all = first.clone();
        all.extend(&second);
        all.sort_unstable();
        all.dedup();
        assert_eq!(all.len(), 24, "a port was handed out twice while its owner lives: {first:?} {second:?}");
        if range.len() >= 1000 {
            assert!(all.iter().all(|p| range.contains(p)), "{all:?} outside {range:?}");
        }
        let text = std::fs::read_to_string(registry_path()).expect("registry");
        let me = std::process::id().to_string();
        for p in &all {
            assert!(text.lines().any(|l| l == format!("{p} {me}")), "port {p} not registered for pid {me}:\n{text}");
        }
    }
}
