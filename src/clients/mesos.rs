//! The Mesos master's `GET /master/frameworks` (src/master/readonly_handler.cpp:
//! `frameworks`, `completed_frameworks`; each with `id`, `name`, `hostname`, `active`), to
//! look a framework up by ID, or by name and host, and tell active, inactive (disconnected,
//! within its failover timeout) and completed (removed for good) ones apart.

use std::time::Duration;

use serde::Deserialize;

use crate::clients::http::{self, HttpError, Service};

#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
pub struct Framework {
    pub id: String,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub hostname: String,
    #[serde(default)]
    pub active: bool,
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
pub struct Frameworks {
    #[serde(default)]
    pub frameworks: Vec<Framework>,
    #[serde(default)]
    pub completed_frameworks: Vec<Framework>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Registered and connected.
    Active,
    /// Registered but disconnected: it may still fail over (re-register with its ID).
    Inactive,
    /// Removed: its ID can never be used again ("Framework has been removed").
    Completed,
}

impl Frameworks {
    pub fn by_id(&self, id: &str) -> Option<(&Framework, Status)> {
        self.all().find(|(f, _)| f.id == id)
    }

    /// By name and host, the live ones first (a completed framework of the same name is an
    /// earlier run of the application).
    pub fn by_name_and_host(&self, name: &str, hostname: &str) -> Vec<(&Framework, Status)> {
        self.all()
            .filter(|(f, _)| f.name == name && f.hostname == hostname)
            .collect()
    }

    /// The active frameworks on a host.
    pub fn active_on(&self, hostname: &str) -> Vec<&Framework> {
        self.frameworks
            .iter()
            .filter(|f| f.active && f.hostname == hostname)
            .collect()
    }

    fn all(&self) -> impl Iterator<Item = (&Framework, Status)> {
        self.frameworks
            .iter()
            .map(|f| {
                (
                    f,
                    if f.active {
                        Status::Active
                    } else {
                        Status::Inactive
                    },
                )
            })
            .chain(
                self.completed_frameworks
                    .iter()
                    .map(|f| (f, Status::Completed)),
            )
    }
}

/// The narrow view of Mesos that discovery needs: one request, given up after `timeout`.
pub trait MesosApi {
    fn frameworks(&self, timeout: Duration) -> Result<Frameworks, HttpError>;
}

/// The real one. A reqwest `Client` is a handle: clones share one connection pool.
pub struct HttpMesos<'a> {
    pub client: reqwest::blocking::Client,
    pub service: &'a Service,
}

impl MesosApi for HttpMesos<'_> {
    fn frameworks(&self, timeout: Duration) -> Result<Frameworks, HttpError> {
        let path = "/master/frameworks";
        // A master always has /master/frameworks: a 404 is not a Mesos master.
        match http::get_json(&self.client, self.service, path, timeout, http::no_404)? {
            Some((value, url)) => http::decode(value, url),
            None => unreachable!("no 404 is taken for absent"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_fixture_states_decode_and_look_up() {
        let old: Frameworks = serde_json::from_str(include_str!(
            "../../entrypoint-tests/fixtures/api/mesos/master-state-0.19-mesos-dns-fake.json"
        ))
        .unwrap();
        assert_eq!(old.frameworks.len(), 4);
        let (f, status) = old
            .by_id("20140703-014514-3041283216-5050-5348-0000")
            .unwrap();
        assert_eq!((f.name.as_str(), status), ("marathon", Status::Active));
        assert_eq!(old.by_name_and_host("marathon", "google.com").len(), 1);
        assert!(old.by_id("nope").is_none());

        let new: Frameworks = serde_json::from_str(include_str!(
            "../../entrypoint-tests/fixtures/api/mesos/master-state-1.2-dcos-metrics.json"
        ))
        .unwrap();
        assert_eq!(new.active_on("10.10.0.231").len(), 1);
    }

    #[test]
    fn active_inactive_and_completed_are_told_apart() {
        let fw = |id: &str, active| Framework {
            id: id.into(),
            name: "orders".into(),
            hostname: "h".into(),
            active,
        };
        let all = Frameworks {
            frameworks: vec![fw("a", true), fw("b", false)],
            completed_frameworks: vec![fw("c", false)],
        };
        assert_eq!(all.by_id("a").unwrap().1, Status::Active);
        assert_eq!(all.by_id("b").unwrap().1, Status::Inactive);
        assert_eq!(all.by_id("c").unwrap().1, Status::Completed);
        assert_eq!(all.by_name_and_host("orders", "h").len(), 3);
        assert_eq!(all.active_on("h").len(), 1);
    }
}
