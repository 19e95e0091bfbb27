//! Where the driver's Mesos framework ID lives between restarts (`SPARK_INIT_FRAMEWORK_STORE`),
//! and where executors take collision-free IDs.
//!
//! The layout is a contract (README "Framework store"), so operators can inspect or clear it:
//! - `zk://host:port[,host:port…]/path`: the framework ID is the content of the znode
//!   `<path>/framework-id`; executor IDs are persistent sequential znodes
//!   `<path>/executor-ids/id-<10 digits>`, and an executor's ID is that sequence number plus
//!   one. Writes are versioned (create, or set with the version read), so two writers never
//!   silently overwrite each other.
//! - `file:///path`: the file's content is the framework ID (a trailing newline ignored);
//!   written to a temporary file in the same folder and renamed over it, so a crash leaves
//!   the old ID or the new one, never half of one. No executor IDs.
//!
//! Store operations run in child processes of spark-init (see `facts::child::in_child`): the
//! ZooKeeper client has threads of its own.

use std::path::{Path, PathBuf};
use std::time::Duration;

use zookeeper_client as zk;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreUrl {
    Zk { hosts: String, path: String },
    File { path: PathBuf },
}

impl std::fmt::Display for StoreUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StoreUrl::Zk { hosts, path } => write!(f, "zk://{hosts}{path}"),
            StoreUrl::File { path } => write!(f, "file://{}", path.display()),
        }
    }
}

/// `zk://h1:2181,h2:2181/spark/orders` or `file:///var/lib/spark/framework-id`.
pub fn parse_url(text: &str) -> Result<StoreUrl, String> {
    if let Some(rest) = text.strip_prefix("zk://") {
        let (hosts, path) = rest
            .split_once('/')
            .ok_or("has no path after the hosts (zk://host:2181/some/path)")?;
        let path = format!("/{}", path.trim_end_matches('/'));
        if path == "/" {
            return Err("has no path after the hosts (zk://host:2181/some/path)".into());
        }
        if path
            .split('/')
            .skip(1)
            .any(|seg| seg.is_empty() || seg == "." || seg == "..")
        {
            return Err("has an empty, . or .. path segment".into());
        }
        if hosts.contains('@') {
            return Err(
                "has credentials (user:password@) before the hosts: ZooKeeper takes \
                        none in its connect string, and they would be shown; remove them"
                    .into(),
            );
        }
        for host in hosts.split(',') {
            let ok = host
                .rsplit_once(':')
                .is_some_and(|(h, p)| !h.is_empty() && p.parse::<u16>().is_ok_and(|p| p > 0));
            if !ok {
                return Err(format!("has {host:?} where a host:port belongs"));
            }
        }
        return Ok(StoreUrl::Zk {
            hosts: hosts.into(),
            path,
        });
    }
    if let Some(path) = text.strip_prefix("file://") {
        if !path.starts_with('/') || path.ends_with('/') {
            return Err("is not file:///absolute/path/to/a/file".into());
        }
        return Ok(StoreUrl::File { path: path.into() });
    }
    Err("is neither zk://host:port[,host:port]/path nor file:///path".into())
}

/// Whether `text` looks like a Mesos framework ID: the master's ID, a dash, a counter
/// (`5349f49b-68b3-4638-aab2-fc4ec845f993-0000`, `20140703-014514-3041283216-5050-5349-0001`).
pub fn is_framework_id(text: &str) -> bool {
    let Some((master, counter)) = text.rsplit_once('-') else {
        return false;
    };
    !master.is_empty()
        && counter.len() >= 4
        && counter.bytes().all(|b| b.is_ascii_digit())
        && master
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.' || b == b'_')
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, serde::Serialize, serde::Deserialize)]
pub enum StoreError {
    #[error("{store}: unreachable: {reason}")]
    Unreachable { store: String, reason: String },
    #[error("{store}: {operation} failed: {reason}")]
    Failed {
        store: String,
        operation: String,
        reason: String,
    },
}

/// A value read from the store, with what is needed to replace it safely.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stored {
    pub framework_id: String,
    /// ZooKeeper's data version; `None` for a file.
    pub version: Option<i32>,
}

pub struct Store {
    url: StoreUrl,
    timeout: Duration,
}

const SESSION_TIMEOUT: Duration = Duration::from_secs(10);

impl Store {
    pub fn new(url: StoreUrl, timeout: Duration) -> Self {
        Self { url, timeout }
    }

    pub fn url(&self) -> &StoreUrl {
        &self.url
    }

    fn failed(&self, operation: &str, reason: impl ToString) -> StoreError {
        StoreError::Failed {
            store: self.url.to_string(),
            operation: operation.into(),
            reason: reason.to_string(),
        }
    }

    /// Runs a ZooKeeper session on a current-thread runtime for one operation.
    fn with_zk<T>(
        &self,
        f: impl for<'c> FnOnce(
            &'c zk::Client,
            &'c str,
        ) -> std::pin::Pin<
            Box<dyn std::future::Future<Output = Result<T, StoreError>> + 'c>,
        >,
    ) -> Result<T, StoreError> {
        let StoreUrl::Zk { hosts, path } = &self.url else {
            unreachable!("ZooKeeper operation on a file store");
        };
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| self.failed("starting the ZooKeeper client", e))?;
        let store = self.url.to_string();
        let timeout = self.timeout;
        runtime.block_on(async move {
            let store = store.clone();
            let connect = zk::Client::connector()
                .with_session_timeout(SESSION_TIMEOUT)
                .with_connection_timeout(timeout.min(SESSION_TIMEOUT))
                .connect(hosts);
            let client = match tokio::time::timeout(timeout, connect).await {
                Ok(Ok(client)) => client,
                Ok(Err(e)) => {
                    return Err(StoreError::Unreachable {
                        store,
                        reason: e.to_string(),
                    })
                }
                Err(_) => {
                    return Err(StoreError::Unreachable {
                        store,
                        reason: format!("no session within {} s", timeout.as_secs_f64()),
                    })
                }
            };
            // Every operation is bounded too: a session can hang on a server that went away.
            match tokio::time::timeout(timeout, f(&client, path)).await {
                Ok(result) => result,
                Err(_) => Err(StoreError::Unreachable {
                    store,
                    reason: format!("no answer within {} s", timeout.as_secs_f64()),
                }),
            }
        })
    }

    /// The stored framework ID, `None` when there is none.
    pub fn read(&self) -> Result<Option<Stored>, StoreError> {
        match &self.url {
            StoreUrl::File { path } => match std::fs::read_to_string(path) {
                Ok(text) => {
                    let id = text.trim_end_matches(['\n', '\r']).to_string();
                    Ok((!id.is_empty()).then_some(Stored {
                        framework_id: id,
                        version: None,
                    }))
                }
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
                Err(e) => Err(self.failed("reading", e)),
            },
            StoreUrl::Zk { .. } => self
                .with_zk(|client, path| {
                    Box::pin(async move {
                        let node = format!("{path}/framework-id");
                        match client.get_data(&node).await {
                            Ok((data, stat)) => Ok(Some(Stored {
                                framework_id: String::from_utf8_lossy(&data).trim().to_string(),
                                version: Some(stat.version),
                            })),
                            Err(zk::Error::NoNode) => Ok(None),
                            Err(e) => Err(StoreError::Failed {
                                store: String::new(),
                                operation: format!("reading {node}"),
                                reason: e.to_string(),
                            }),
                        }
                    })
                })
                .map_err(|e| self.fill(e)),
        }
    }

    /// Stores `id`: replaces `previous` (the value read) or creates the entry.
    pub fn write(&self, id: &str, previous: Option<&Stored>) -> Result<(), StoreError> {
        match &self.url {
            StoreUrl::File { path } => {
                write_atomically(path, &format!("{id}\n")).map_err(|e| self.failed("writing", e))
            }
            StoreUrl::Zk { .. } => {
                let version = previous.and_then(|p| p.version);
                let id = id.to_string();
                self.with_zk(move |client, path| {
                    Box::pin(async move {
                        let node = format!("{path}/framework-id");
                        let fail = |e: zk::Error| StoreError::Failed {
                            store: String::new(),
                            operation: format!("writing {node}"),
                            reason: e.to_string(),
                        };
                        match version {
                            Some(version) => client
                                .set_data(&node, id.as_bytes(), Some(version))
                                .await
                                .map(|_| ())
                                .map_err(fail),
                            None => {
                                let options =
                                    zk::CreateMode::Persistent.with_acls(zk::Acls::anyone_all());
                                let _ = client.mkdir(path, &options).await;
                                match client.create(&node, id.as_bytes(), &options).await {
                                    Ok(_) => Ok(()),
                                    // Another writer won the race: overwrite what it wrote.
                                    Err(zk::Error::NodeExists) => client
                                        .set_data(&node, id.as_bytes(), None)
                                        .await
                                        .map(|_| ())
                                        .map_err(fail),
                                    Err(e) => Err(fail(e)),
                                }
                            }
                        }
                    })
                })
                .map_err(|e| self.fill(e))
            }
        }
    }

    /// Removes the stored framework ID (absent is fine).
    pub fn clear(&self) -> Result<(), StoreError> {
        match &self.url {
            StoreUrl::File { path } => match std::fs::remove_file(path) {
                Ok(()) => Ok(()),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
                Err(e) => Err(self.failed("removing", e)),
            },
            StoreUrl::Zk { .. } => self
                .with_zk(|client, path| {
                    Box::pin(async move {
                        let node = format!("{path}/framework-id");
                        match client.delete(&node, None).await {
                            Ok(()) | Err(zk::Error::NoNode) => Ok(()),
                            Err(e) => Err(StoreError::Failed {
                                store: String::new(),
                                operation: format!("deleting {node}"),
                                reason: e.to_string(),
                            }),
                        }
                    })
                })
                .map_err(|e| self.fill(e)),
        }
    }

    /// A new executor ID: the sequence number of a new `executor-ids/id-` znode, plus one.
    /// `None` for a file store.
    pub fn allocate_executor_id(&self, data: &str) -> Result<Option<u32>, StoreError> {
        if matches!(self.url, StoreUrl::File { .. }) {
            return Ok(None);
        }
        let data = data.to_string();
        self.with_zk(move |client, path| {
            Box::pin(async move {
                let dir = format!("{path}/executor-ids");
                let fail = |e: zk::Error| StoreError::Failed {
                    store: String::new(),
                    operation: format!("creating a node under {dir}"),
                    reason: e.to_string(),
                };
                let options = zk::CreateMode::Persistent.with_acls(zk::Acls::anyone_all());
                match client.mkdir(&dir, &options).await {
                    Ok(()) | Err(zk::Error::NodeExists) => {}
                    Err(e) => return Err(fail(e)),
                }
                let sequential =
                    zk::CreateMode::PersistentSequential.with_acls(zk::Acls::anyone_all());
                let (_, sequence) = client
                    .create(&format!("{dir}/id-"), data.as_bytes(), &sequential)
                    .await
                    .map_err(fail)?;
                let n = sequence.into_i64() + 1;
                u32::try_from(n)
                    .ok()
                    .filter(|&n| n <= crate::spark::executor_id::MAX_ID)
                    .map(Some)
                    .ok_or_else(|| StoreError::Failed {
                        store: String::new(),
                        operation: format!("allocating an executor ID under {dir}"),
                        reason: format!("the sequence reached {n}, beyond Spark's Int range"),
                    })
            })
        })
        .map_err(|e| self.fill(e))
    }

    /// Names the store in an error raised inside a session.
    fn fill(&self, e: StoreError) -> StoreError {
        match e {
            StoreError::Failed {
                store,
                operation,
                reason,
            } if store.is_empty() => StoreError::Failed {
                store: self.url.to_string(),
                operation,
                reason,
            },
            other => other,
        }
    }
}

/// The narrow view of the framework store that the driver's lifecycle and the executor's
/// lookups need; [`Store`] is the real one.
pub trait FrameworkStore {
    fn url(&self) -> &StoreUrl;
    /// The stored framework ID, `None` when there is none.
    fn read(&self) -> Result<Option<Stored>, StoreError>;
    /// Stores `id`: replaces `previous` (the value read) or creates the entry.
    fn write(&self, id: &str, previous: Option<&Stored>) -> Result<(), StoreError>;
    /// Removes the stored framework ID (absent is fine).
    fn clear(&self) -> Result<(), StoreError>;
    /// A new executor ID labelled `label`; `None` for a file store.
    fn allocate_executor_id(&self, label: &str) -> Result<Option<u32>, StoreError>;
}

/// The methods stay inherent too, so callers without the trait in scope keep working.
impl FrameworkStore for Store {
    fn url(&self) -> &StoreUrl {
        Store::url(self)
    }

    fn read(&self) -> Result<Option<Stored>, StoreError> {
        Store::read(self)
    }

    fn write(&self, id: &str, previous: Option<&Stored>) -> Result<(), StoreError> {
        Store::write(self, id, previous)
    }

    fn clear(&self) -> Result<(), StoreError> {
        Store::clear(self)
    }

    fn allocate_executor_id(&self, label: &str) -> Result<Option<u32>, StoreError> {
        Store::allocate_executor_id(self, label)
    }
}

/// Writes `content` to a temporary file beside `path`, syncs it and renames it over `path`.
pub fn write_atomically(path: &Path, content: &str) -> std::io::Result<()> {
    use std::io::Write;
    let dir = path.parent().unwrap_or(Path::new("/"));
    std::fs::create_dir_all(dir)?;
    let tmp = dir.join(format!(
        ".{}.tmp.{}",
        path.file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("framework-id"),
        std::process::id()
    ));
    let mut file = std::fs::File::create(&tmp)?;
    file.write_all(content.as_bytes())?;
    file.sync_all()?;
    std::fs::rename(&tmp, path)?;
    // The rename itself is durable once the folder is synced.
    std::fs::File::open(dir).and_then(|d| d.sync_all()).ok();
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn store_urls() {
        assert_eq!(
            parse_url("zk://zk1:2181,zk2:2181/spark/orders").unwrap(),
            StoreUrl::Zk {
                hosts: "zk1:2181,zk2:2181".into(),
                path: "/spark/orders".into()
            }
        );
        assert_eq!(
            parse_url("file:///var/lib/spark/framework-id").unwrap(),
            StoreUrl::File {
                path: "/var/lib/spark/framework-id".into()
            }
        );
        for bad in [
            "zk://zk1:2181",
            "zk://zk1:2181/",
            "zk://zk1/spark",
            "zk://zk1:2181//x",
            "file://relative",
            "file:///dir/",
            "http://zk1:2181/x",
            "",
            // Credentials would reach the ZooKeeper client (and Spark's recovery) as a host.
            "zk://ops:hunter2@zk1:2181/x",
        ] {
            assert!(parse_url(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn framework_ids() {
        assert!(is_framework_id("5349f49b-68b3-4638-aab2-fc4ec845f993-0000"));
        assert!(is_framework_id("20140703-014514-3041283216-5050-5349-0001"));
        assert!(!is_framework_id(""));
        assert!(!is_framework_id("hello"));
        assert!(!is_framework_id("app-20261125-00a1"));
        assert!(!is_framework_id("x y-0001"));
    }

    #[test]
    fn file_store_round_trip_and_atomic_replace() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("fw/framework-id");
        let store = Store::new(
            StoreUrl::File { path: path.clone() },
            Duration::from_secs(1),
        );
        assert_eq!(store.read().unwrap(), None);
        store.write("abc-0001", None).unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "abc-0001\n");
        assert_eq!(store.read().unwrap().unwrap().framework_id, "abc-0001");
        // A crash between write and rename leaves a stray temporary file and the old value.
        std::fs::write(path.with_file_name(".framework-id.tmp.999"), "half").unwrap();
        assert_eq!(store.read().unwrap().unwrap().framework_id, "abc-0001");
        store.write("abc-0002", None).unwrap();
        assert_eq!(store.read().unwrap().unwrap().framework_id, "abc-0002");
        store.clear().unwrap();
        assert_eq!(store.read().unwrap(), None);
        store.clear().unwrap();
        assert_eq!(store.allocate_executor_id("x").unwrap(), None);
    }
}
