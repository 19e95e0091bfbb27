//! The driver's stored framework ID, read before the plan (README "Framework store"): the ID
//! to re-register with, unless the Mesos master lists it as completed (it can never be reused:
//! "Framework has been removed") or it is not a framework ID at all; both are cleared. An
//! unreachable store is a warning, or fatal with `SPARK_INIT_STORE_REQUIRED=1`.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::clients::framework_store::{is_framework_id, FrameworkStore, Store, StoreUrl};
use crate::clients::http::{self, Service};
use crate::clients::mesos::{HttpMesos, MesosApi, Status};
use crate::facts::remote::DiscoveryError;
use crate::sourced::Sourced;

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct BeforeLaunch {
    /// The framework ID to re-register with, and where it came from.
    pub reuse: Option<Sourced<String>>,
    pub warnings: Vec<String>,
}

pub struct StoreLookup<'a> {
    pub url: &'a StoreUrl,
    pub required: bool,
    pub mesos: Option<&'a Service>,
    pub ca_file: Option<&'a std::path::Path>,
    pub http_timeout: Duration,
    pub timeout: Duration,
    /// A dry run reads but never writes.
    pub dry_run: bool,
    /// Each launch is a new application that can never take the stored ID (Spark 4, which
    /// has no Mesos to re-register with): why, to clear it before the launch, so that
    /// executors relaunched meanwhile ask the new driver instead of taking the old ID.
    pub new_application: Option<String>,
}

/// Reads the stored ID and checks it with the master (run it in a child process).
pub fn before_launch(lookup: &StoreLookup<'_>) -> Result<BeforeLaunch, DiscoveryError> {
    let store = Store::new(lookup.url.clone(), lookup.timeout);
    read_stored(lookup, &store, |service| {
        let client = http::client(lookup.ca_file, lookup.http_timeout)
            .map_err(|p| DiscoveryError::Refused(p.to_string()))?;
        Ok(HttpMesos { client, service })
    })
}

/// [`before_launch`] on any store and Mesos. `connect_mesos` is called only when there is an
/// ID to check and a master to check it with: a bad `SPARK_INIT_CA_FILE` matters only then.
fn read_stored<'a, M: MesosApi>(
    lookup: &StoreLookup<'a>,
    store: &dyn FrameworkStore,
    connect_mesos: impl FnOnce(&'a Service) -> Result<M, DiscoveryError>,
) -> Result<BeforeLaunch, DiscoveryError> {
    let url = store.url();
    let mut out = BeforeLaunch::default();
    let stored = match store.read() {
        Ok(stored) => stored,
        Err(e) if lookup.required => {
            return Err(DiscoveryError::Unavailable(format!(
                "{e} (SPARK_INIT_STORE_REQUIRED=1)"
            )))
        }
        Err(e) => {
            out.warnings.push(format!(
                "THE FRAMEWORK STORE IS NOT USABLE: {e}; starting without a stored framework \
                 ID, so this driver registers as a new framework (set \
                 SPARK_INIT_STORE_REQUIRED=1 to refuse instead)"
            ));
            return Ok(out);
        }
    };
    let Some(stored) = stored else {
        return Ok(out);
    };
    let id = stored.framework_id;
    let unusable = if let Some(why) = &lookup.new_application {
        Some(format!(
            "the stored ID {id} is the previous application's: {why}"
        ))
    } else if !is_framework_id(&id) {
        Some(format!(
            "the framework store {url} holds {id:?}, which is not a framework ID"
        ))
    } else if let Some(service) = lookup.mesos {
        let api = connect_mesos(service)?;
        mesos_verdict(&api, &id, lookup.http_timeout, &mut out)
    } else {
        None
    };
    match unusable {
        Some(why) => out.warnings.push(clear(store, lookup.dry_run, why)),
        None => {
            out.reuse = Some(Sourced::new(
                id,
                format!("the framework store {url} (framework-id)"),
            ))
        }
    }
    Ok(out)
}

/// What the master says of the stored ID: why it cannot be used (completed), or `None` to use
/// it, with a warning when it is still active or the master cannot say (within `timeout`).
fn mesos_verdict(
    api: &dyn MesosApi,
    id: &str,
    timeout: Duration,
    out: &mut BeforeLaunch,
) -> Option<String> {
    match api.frameworks(timeout) {
        Ok(all) => match all.by_id(id) {
            Some((_, Status::Completed)) => {
                return Some(format!(
                    "the stored framework ID {id} is completed on the Mesos master and can \
                     never be used again (\"Framework has been removed\")"
                ))
            }
            Some((_, Status::Active)) => out.warnings.push(format!(
                "the stored framework {id} is still active on the Mesos master: is another \
                 driver of this application running?"
            )),
            Some((_, Status::Inactive)) | None => {}
        },
        Err(e) => out.warnings.push(format!(
            "could not check the stored framework ID with Mesos ({e}); using it"
        )),
    }
    None
}

/// Deletes an unusable stored ID (a dry run only says it would); the warning to show.
fn clear(store: &dyn FrameworkStore, dry_run: bool, why: String) -> String {
    if dry_run {
        return format!("{why}; it would be deleted (a dry run writes nothing)");
    }
    match store.clear() {
        Ok(()) => format!("{why}; deleted it"),
        Err(e) => format!("{why}; could not delete it: {e}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clients::fake::{FakeMesos, FakeStore, Script};
    use crate::clients::http::HttpError;
    use crate::clients::mesos::{Framework, Frameworks};

    const FW: &str = "5349f49b-68b3-4638-aab2-fc4ec845f993-0001";
    const STORE: &str = "zk://zk1:2181/spark/orders";

    fn master() -> Service {
        Service::parse("Mesos", "URL", "http://master:5050", None, &mut Vec::new()).unwrap()
    }

    /// A driver that reads its store and checks the ID with Mesos.
    fn lookup<'a>(url: &'a StoreUrl, mesos: &'a Service) -> StoreLookup<'a> {
        StoreLookup {
            url,
            required: false,
            mesos: Some(mesos),
            ca_file: None,
            http_timeout: Duration::from_secs(10),
            timeout: Duration::from_secs(30),
            dry_run: false,
            new_application: None,
        }
    }

    /// The master's view: the stored framework, active or not, or completed.
    fn mesos(active: Option<bool>) -> Result<Frameworks, HttpError> {
        let fw = |active| Framework {
            id: FW.into(),
            active,
            ..Framework::default()
        };
        Ok(match active {
            Some(active) => Frameworks {
                frameworks: vec![fw(active)],
                ..Frameworks::default()
            },
            None => Frameworks {
                completed_frameworks: vec![fw(false)],
                ..Frameworks::default()
            },
        })
    }

    /// Reads `store` as `change` makes the base lookup, Mesos answering `answer`.
    fn read(
        store: &FakeStore,
        change: impl FnOnce(StoreLookup<'_>) -> StoreLookup<'_>,
        answer: Result<Frameworks, HttpError>,
    ) -> Result<BeforeLaunch, DiscoveryError> {
        let master = master();
        let lookup = change(lookup(&store.url, &master));
        read_stored(&lookup, store, |_| Ok(FakeMesos(Script::new([answer]))))
    }

    fn reused() -> Option<Sourced<String>> {
        Some(Sourced::new(
            FW.into(),
            format!("the framework store {STORE} (framework-id)"),
        ))
    }

    #[test]
    fn an_inactive_stored_id_is_reused_and_an_empty_store_gives_nothing() {
        let store = FakeStore::holding(Some(FW));
        let got = read(&store, |l| l, mesos(Some(false))).unwrap();
        assert_eq!(got.reuse, reused());
        assert!(got.warnings.is_empty());
        let empty = read(&FakeStore::holding(None), |l| l, mesos(Some(false)));
        assert_eq!(empty, Ok(BeforeLaunch::default()));
    }

    #[test]
    fn a_completed_id_is_cleared_but_not_by_a_dry_run() {
        let why = format!(
            "the stored framework ID {FW} is completed on the Mesos master and can never be \
             used again (\"Framework has been removed\")"
        );
        let store = FakeStore::holding(Some(FW));
        let got = read(&store, |l| l, mesos(None)).unwrap();
        assert_eq!(got.reuse, None);
        assert_eq!(got.warnings, [format!("{why}; deleted it")]);
        assert_eq!(store.clears.get(), 1);

        let store = FakeStore::holding(Some(FW));
        let got = read(&store, |l| StoreLookup { dry_run: true, ..l }, mesos(None)).unwrap();
        assert_eq!(
            got.warnings,
            [format!(
                "{why}; it would be deleted (a dry run writes nothing)"
            )]
        );
        assert_eq!(store.clears.get(), 0);
    }

    #[test]
    fn an_invalid_id_is_cleared_without_asking_mesos() {
        let store = FakeStore::holding(Some("hello"));
        let master = master();
        let lookup = lookup(&store.url, &master);
        let got = read_stored(&lookup, &store, |_| -> Result<FakeMesos, _> {
            panic!("Mesos asked")
        });
        assert_eq!(
            got.unwrap().warnings,
            [format!(
                "the framework store {STORE} holds \"hello\", which is not a framework ID; \
                 deleted it"
            )]
        );
        assert_eq!(store.clears.get(), 1);
    }

    #[test]
    fn an_active_id_or_a_silent_master_is_warned_about_and_reused() {
        let store = FakeStore::holding(Some(FW));
        let got = read(&store, |l| l, mesos(Some(true))).unwrap();
        assert_eq!(got.reuse, reused());
        assert_eq!(
            got.warnings,
            [format!(
                "the stored framework {FW} is still active on the Mesos master: is another \
                 driver of this application running?"
            )]
        );
        let down = Err(HttpError::Timeout {
            method: http::Method::Get,
            url: "http://master:5050/master/frameworks".into(),
        });
        let got = read(&store, |l| l, down).unwrap();
        assert_eq!(got.reuse, reused());
        assert_eq!(
            got.warnings,
            ["could not check the stored framework ID with Mesos (GET \
              http://master:5050/master/frameworks: no answer in time (SPARK_INIT_HTTP_TIMEOUT)); \
              using it"]
        );
        assert_eq!(store.clears.get(), 0);
    }

    #[test]
    fn an_unreachable_store_is_a_warning_unless_required() {
        let store = FakeStore::unreachable();
        let got = read(&store, |l| l, mesos(Some(false))).unwrap();
        assert_eq!(got.reuse, None);
        assert!(
            got.warnings[0].starts_with("THE FRAMEWORK STORE IS NOT USABLE: "),
            "{:?}",
            got.warnings
        );
        assert_eq!(
            read(
                &store,
                |l| StoreLookup {
                    required: true,
                    ..l
                },
                mesos(Some(false))
            ),
            Err(DiscoveryError::Unavailable(format!(
                "{STORE}: unreachable: no session within 5 s (SPARK_INIT_STORE_REQUIRED=1)"
            )))
        );
    }

    #[test]
    fn a_new_application_clears_the_previous_ones_id_without_asking_mesos() {
        let store = FakeStore::holding(Some(FW));
        let why = "Spark 4.3.0 starts a new application at every launch";
        let got = read(
            &store,
            |l| StoreLookup {
                new_application: Some(why.into()),
                ..l
            },
            mesos(None),
        )
        .unwrap();
        assert_eq!(got.reuse, None);
        assert_eq!(
            got.warnings,
            [format!(
                "the stored ID {FW} is the previous application's: {why}; deleted it"
            )]
        );
        assert_eq!(store.clears.get(), 1);
    }
}
