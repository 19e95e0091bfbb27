//! Clients of the outside world: HTTP (with credentials and redirects), Marathon, Mesos, the
//! driver's REST API, the framework store, and the one retry loop every wait uses.

#[cfg(test)]
pub mod fake;
pub mod framework_store;
pub mod graphite;
pub mod http;
pub mod marathon;
pub mod mesos;
pub mod retry;
pub mod spark_rest;
pub mod tcp_probe;
