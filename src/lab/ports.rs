//! Free loopback ports for the lab's servers, chosen by the kernel at start.
//! Ports are held open until every one is picked so one lab never gets the same port twice.

use std::net::TcpListener;

use super::error::LabError;

/// Asks the kernel for `n` distinct free ports on 127.0.0.1.
pub fn free_ports(n: usize) -> Result<Vec<u16>, LabError> {
    let held: Vec<TcpListener> = (0..n)
        .map(|_| TcpListener::bind("127.0.0.1:0"))
        .collect::<Result<_, _>>()
        .map_err(|e| LabError::Other(format!("cannot find a free port on 127.0.0.1: {e}")))?;
    held.iter()
        .map(|l| l.local_addr().map(|a| a.port()))
        .collect::<Result<_, _>>()
        .map_err(|e| LabError::Other(format!("cannot read a bound port: {e}")))
}

/// True when something accepts connections on 127.0.0.1:`port`.
pub fn is_listening(port: u16) -> bool {
    let addr = std::net::SocketAddr::from(([127, 0, 0, 1], port));
    std::net::TcpStream::connect_timeout(&addr, std::time::Duration::from_millis(200)).is_ok()
}
