//! A role's class-data sharing archive as the image holds it: whether the archive is
//! there, its manifest, and the state now of everything the manifest names (the JVM library,
//! each classpath entry), plus Spark's jars as an explicit sorted list. The plan decides with
//! them (`crate::cds::manifest::check`).

use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::cds::manifest::{self, Manifest, PathState};
use crate::cds::{explicit_jars, manifest_path};
use crate::sourced::Sourced;

#[derive(Debug, Clone, Serialize)]
pub struct CdsFacts {
    /// The archive's path and where it came from (`SPARK_INIT_CDS_ARCHIVE` or the default).
    pub archive: Sourced<PathBuf>,
    pub found: Found,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Found {
    /// No file at the path. The JVM is then given no flag at all: a `-XX:SharedArchiveFile`
    /// naming a missing file also turns off the JDK's default archive ("Unable to map shared
    /// spaces"), which is slower than no flag.
    NoArchive,
    /// An archive whose manifest cannot be read: why.
    NoManifest(String),
    Present {
        manifest: Box<Manifest>,
        /// The JVM library now, at the path the manifest names.
        jvm: PathState,
        /// Each of the manifest's classpath entries now, in its order.
        now: Vec<PathState>,
        /// `jars/*` expanded, sorted by name.
        jars: Vec<String>,
        /// The archive file's size now.
        archive_bytes: u64,
    },
}

/// Reads the archive's manifest and looks at what it names; `jars_dir` is Spark's `jars/`.
pub fn discover(archive: &Sourced<PathBuf>, java: &Path, jars_dir: &Path) -> CdsFacts {
    let found = if !archive.value.is_file() {
        Found::NoArchive
    } else {
        match read_manifest(&archive.value) {
            Err(why) => Found::NoManifest(why),
            Ok(manifest) => Found::Present {
                jvm: manifest::observe(&manifest::libjvm(java)),
                now: (manifest.classpath.iter())
                    .map(|e| manifest::observe(&e.path))
                    .collect(),
                jars: explicit_jars(jars_dir),
                archive_bytes: std::fs::metadata(&archive.value).map_or(0, |m| m.len()),
                manifest: Box::new(manifest),
            },
        }
    };
    CdsFacts {
        archive: archive.clone(),
        found,
    }
}

fn read_manifest(archive: &Path) -> Result<Manifest, String> {
    let path = manifest_path(archive);
    let text = std::fs::read_to_string(&path)
        .map_err(|e| format!("its manifest {} cannot be read ({e})", path.display()))?;
    serde_json::from_str(&text).map_err(|e| {
        format!(
            "its manifest {} is not one spark-init wrote ({e})",
            path.display()
        )
    })
}
