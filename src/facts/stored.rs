//! The driver's stored framework ID, read before the plan (README "Framework store"): the ID
//! to re-register with, unless the Mesos master lists it as completed (it can never be reused:
//! "Framework has been removed") or it is not a framework ID at all; both are cleared. An
//! unreachable store is a warning, or fatal with `SPARK_INIT_STORE_REQUIRED=1`.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::clients::framework_store::{is_framework_id, Store, StoreUrl};
use crate::clients::http::{self, Service};
use crate::clients::mesos::{HttpMesos, MesosApi, Status};
use crate::facts::remote::DiscoveryError;

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct BeforeLaunch {
    /// The framework ID to re-register with, and where it came from.
    pub reuse: Option<(String, String)>,
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
}

/// Reads the stored ID and checks it with the master (run it in a child process).
pub fn before_launch(lookup: &StoreLookup<'_>) -> Result<BeforeLaunch, DiscoveryError> {
    let url = lookup.url;
    let store = Store::new(url.clone(), lookup.timeout);
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
    let clear = |why: String, out: &mut BeforeLaunch| {
        if lookup.dry_run {
            out.warnings.push(format!(
                "{why}; it would be deleted (a dry run writes nothing)"
            ));
        } else {
            match store.clear() {
                Ok(()) => out.warnings.push(format!("{why}; deleted it")),
                Err(e) => out
                    .warnings
                    .push(format!("{why}; could not delete it: {e}")),
            }
        }
    };
    let id = stored.framework_id;
    if !is_framework_id(&id) {
        clear(
            format!("the framework store {url} holds {id:?}, which is not a framework ID"),
            &mut out,
        );
        return Ok(out);
    }
    if let Some(service) = lookup.mesos {
        let client = http::client(lookup.ca_file, lookup.http_timeout)
            .map_err(|p| DiscoveryError::Refused(p.to_string()))?;
        let api = HttpMesos { client, service };
        match api.frameworks() {
            Ok(all) => match all.by_id(&id) {
                Some((_, Status::Completed)) => {
                    clear(
                        format!(
                            "the stored framework ID {id} is completed on the Mesos master and \
                             can never be used again (\"Framework has been removed\")"
                        ),
                        &mut out,
                    );
                    return Ok(out);
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
    }
    out.reuse = Some((id, format!("the framework store {url} (framework-id)")));
    Ok(out)
}
