//! Whether a port accepts TCP connections: how an executor knows that the driver Marathon
//! reports is listening yet (a connect, nothing sent, closed at once).

use std::net::{TcpStream, ToSocketAddrs};
use std::time::Duration;

/// The narrow view of the network that the driver lookup needs; `Err` says why not.
pub trait TcpProbe {
    fn connect(&self, host: &str, port: u16) -> Result<(), String>;
}

/// The real probe: each of the host's addresses in turn, each within `timeout`.
pub struct TcpConnect {
    pub timeout: Duration,
}

impl TcpProbe for TcpConnect {
    fn connect(&self, host: &str, port: u16) -> Result<(), String> {
        let addrs: Vec<_> = (host, port)
            .to_socket_addrs()
            .map_err(|e| format!("cannot resolve {host}: {e}"))?
            .collect();
        let mut last = String::from("no address");
        for addr in addrs {
            match TcpStream::connect_timeout(&addr, self.timeout) {
                Ok(_) => return Ok(()),
                Err(e) => last = e.to_string(),
            }
        }
        Err(last)
    }
}
