//! Graphite's plaintext protocol, as carbon's line receiver reads it (carbon
//! `protocols.MetricLineReceiver`; Graphite's docs, "Feeding In Your Data"): one point a line,
//! `<path> <value> <timestamp>\n`, the timestamp in Unix seconds, over TCP. Carbon never
//! answers, so a connection only ever carries data one way.

use std::io::{self, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::Duration;

use crate::config::metrics::GraphiteEndpoint;

/// One point as a plaintext line.
pub fn line(path: &str, value: u64, timestamp: u64) -> String {
    format!("{path} {value} {timestamp}\n")
}

/// An open connection to carbon's line receiver, every write bounded by a timeout.
pub struct Connection {
    stream: TcpStream,
}

/// A write that failed after `written` bytes had gone out.
#[derive(Debug)]
pub struct WriteFailed {
    pub written: usize,
    pub error: io::Error,
}

impl Connection {
    /// Connects to each address of the endpoint in turn, each within `timeout`; later writes
    /// give up after `timeout` too. Name resolution is the system's (this runs in a child
    /// process, never in PID 1).
    pub fn open(endpoint: &GraphiteEndpoint, timeout: Duration) -> Result<Self, String> {
        let addrs: Vec<_> = (endpoint.host.as_str(), endpoint.port)
            .to_socket_addrs()
            .map_err(|e| format!("cannot resolve {}: {e}", endpoint.host))?
            .collect();
        let mut last = String::from("no address");
        for addr in addrs {
            match TcpStream::connect_timeout(&addr, timeout) {
                Ok(stream) => {
                    stream
                        .set_write_timeout(Some(timeout))
                        .map_err(|e| e.to_string())?;
                    return Ok(Connection { stream });
                }
                Err(e) => last = format!("{addr}: {e}"),
            }
        }
        Err(last)
    }

    /// Whether carbon has closed its end (it never sends anything, so anything readable is
    /// the end of the stream or a reset). A write after that would be lost.
    pub fn peer_closed(&self) -> bool {
        if self.stream.set_nonblocking(true).is_err() {
            return true;
        }
        let mut byte = [0u8; 1];
        let closed = match (&self.stream).read(&mut byte) {
            Ok(_) => true,
            Err(e) => e.kind() != io::ErrorKind::WouldBlock,
        };
        closed || self.stream.set_nonblocking(false).is_err()
    }

    /// Writes all of `bytes` (std writes with `MSG_NOSIGNAL`: a closed socket is an error, not
    /// a SIGPIPE); on failure says how much went out.
    pub fn write_all(&mut self, bytes: &[u8]) -> Result<(), WriteFailed> {
        let mut written = 0;
        while written < bytes.len() {
            match self.stream.write(&bytes[written..]) {
                Ok(0) => {
                    return Err(WriteFailed {
                        written,
                        error: io::ErrorKind::WriteZero.into(),
                    })
                }
                Ok(n) => written += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(error) => return Err(WriteFailed { written, error }),
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpListener;

    #[test]
    fn lines_are_path_value_timestamp() {
        assert_eq!(
            line("spark.orders.cgroup.memory.current", 536870912, 1764000000),
            "spark.orders.cgroup.memory.current 536870912 1764000000\n"
        );
    }

    #[test]
    fn writes_reach_a_listener_and_a_closed_peer_is_seen() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let endpoint = GraphiteEndpoint {
            host: "127.0.0.1".into(),
            port: listener.local_addr().unwrap().port(),
        };
        let mut connection = Connection::open(&endpoint, Duration::from_secs(2)).unwrap();
        let (mut accepted, _) = listener.accept().unwrap();
        assert!(!connection.peer_closed());
        connection.write_all(b"a.b 1 2\n").unwrap();
        let mut got = [0u8; 8];
        accepted.read_exact(&mut got).unwrap();
        assert_eq!(&got, b"a.b 1 2\n");
        drop(accepted);
        assert!(connection.peer_closed());
    }

    #[test]
    fn a_refused_connection_is_an_error() {
        let port = {
            let listener = TcpListener::bind("127.0.0.1:0").unwrap();
            listener.local_addr().unwrap().port()
        };
        let endpoint = GraphiteEndpoint {
            host: "127.0.0.1".into(),
            port,
        };
        let err = Connection::open(&endpoint, Duration::from_secs(2))
            .err()
            .unwrap();
        assert!(err.contains("refused"), "{err}");
    }
}
