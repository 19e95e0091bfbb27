//! `$SPARK_CONF_DIR/spark-defaults.conf`, read as Spark reads it: `java.util.Properties` syntax
//! (`crate::spark::properties`; the tests check it against `java.util.Properties` itself), the
//! file decoded as UTF-8 and every value trimmed with `String.trim`
//! (`org.apache.spark.util.Utils.getPropertiesFromFile`).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::config::Problem;
use crate::spark::properties;

#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct SparkDefaults {
    /// The file, when there is one.
    pub path: Option<PathBuf>,
    pub entries: BTreeMap<String, String>,
}

impl SparkDefaults {
    pub fn get(&self, key: &str) -> Option<&str> {
        self.entries.get(key).map(String::as_str)
    }

    /// Where a value from this file came from, for the dry run.
    pub fn source(&self, key: &str) -> String {
        match &self.path {
            Some(path) => format!("{} ({key})", path.display()),
            None => key.to_string(),
        }
    }
}

/// Reads `dir/spark-defaults.conf`; no file is no defaults, as for Spark.
pub fn load(dir: &Path) -> Result<SparkDefaults, Problem> {
    let path = dir.join("spark-defaults.conf");
    if !path.exists() {
        return Ok(SparkDefaults::default());
    }
    load_file(&path, "SPARK_CONF_DIR")
}

/// Reads a properties file that must exist (`--properties-file`, or spark-defaults.conf);
/// problems are reported under `name`.
pub fn load_file(path: &Path, name: &str) -> Result<SparkDefaults, Problem> {
    let bytes = std::fs::read(path).map_err(|e| Problem {
        name: name.into(),
        value: Some(path.display().to_string()),
        message: format!("cannot read {}: {e}", path.display()),
    })?;
    // An encoding Spark would read as garbage is said as it is, with its own fix.
    check_encoding(&bytes).map_err(|why| Problem {
        name: name.into(),
        value: Some(path.display().to_string()),
        message: format!("{}: {why}", path.display()),
    })?;
    let entries = parse(&bytes).map_err(|why| Problem {
        name: name.into(),
        value: Some(path.display().to_string()),
        message: format!(
            "{} is malformed ({why}); Spark would refuse it too: fix that line",
            path.display()
        ),
    })?;
    Ok(SparkDefaults {
        path: Some(path.to_path_buf()),
        entries,
    })
}

/// Parses properties text; the error names the line.
pub fn parse(bytes: &[u8]) -> Result<BTreeMap<String, String>, String> {
    check_encoding(bytes)?;
    let text = std::str::from_utf8(bytes).map_err(|e| e.to_string())?;
    // Later lines win, as in Properties.load.
    Ok(properties::parse(text)?
        .into_iter()
        .map(|(key, value)| (key, java_trim(&value).to_string()))
        .collect())
}

/// `String.trim`: every character up to U+0020 off both ends, control characters included,
/// and nothing else (not U+00A0 or U+2028, which Rust's `trim` would take).
fn java_trim(value: &str) -> &str {
    value.trim_matches(|c: char| c <= ' ')
}

/// Spark reads the file as UTF-8 (`Utils.getPropertiesFromFile` and the launcher's
/// `AbstractCommandBuilder.loadPropertiesFile`: an `InputStreamReader` with `UTF_8`): a UTF-16
/// file would be read as garbage, a UTF-8 byte-order mark would become part of the first key
/// (`\u{feff}spark.master`), and bytes that are not UTF-8 would become U+FFFD. Each is refused
/// with what to do, never decoded some other way.
fn check_encoding(bytes: &[u8]) -> Result<(), String> {
    if bytes.starts_with(&[0xff, 0xfe]) || bytes.starts_with(&[0xfe, 0xff]) {
        return Err(
            "it is UTF-16 (it starts with a UTF-16 byte-order mark), and Spark reads it \
                    as UTF-8: save it as UTF-8"
                .into(),
        );
    }
    if bytes.starts_with(&[0xef, 0xbb, 0xbf]) {
        return Err(
            "it starts with a UTF-8 byte-order mark, which Spark would keep as part of \
                    the first key: save it without the byte-order mark"
                .into(),
        );
    }
    if let Err(e) = std::str::from_utf8(bytes) {
        let at = e.valid_up_to();
        let line = 1 + bytes[..at].iter().filter(|&&b| b == b'\n').count();
        return Err(format!(
            "line {line}: byte {at} is not UTF-8, and Spark reads the file as UTF-8: save it \
             as UTF-8"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spark_style_file() {
        let text = b"# comment\n! also a comment\nspark.master  mesos://zk://zk1:2181/mesos\n\
spark.executor.extraJavaOptions=-Da=1 \\\n    -Db=2\nspark.app.name : orders  \n\
spark.k\\=ey v\\u00e9\n";
        let entries = parse(text).unwrap();
        assert_eq!(entries["spark.master"], "mesos://zk://zk1:2181/mesos");
        assert_eq!(entries["spark.executor.extraJavaOptions"], "-Da=1 -Db=2");
        assert_eq!(entries["spark.app.name"], "orders");
        assert_eq!(entries["spark.k=ey"], "vé");
    }

    #[test]
    fn values_are_trimmed_as_java_trims() {
        // Regression: Rust's trim took a no-break space and left control characters, unlike
        // String.trim, which Spark applies.
        assert_eq!(
            parse("k=\\u00a0x\\u0001".as_bytes()).unwrap()["k"],
            "\u{a0}x"
        );
    }

    #[test]
    fn a_continuation_at_the_end_of_the_file_keeps_the_line() {
        // Regression: the java-properties crate dropped this line; java.util.Properties keeps it.
        assert_eq!(parse(b"k = x\\").unwrap()["k"], "x");
        assert_eq!(parse(b"k = x\\\\").unwrap()["k"], "x\\");
    }

    #[test]
    fn malformed_unicode_escape_is_an_error_naming_the_line() {
        let err = parse(b"a=1\nb=\\u12G4\n").unwrap_err();
        assert!(err.contains("line 2"), "{err}");
    }

    /// Regression (issue 16): a file starting with a UTF-16 byte-order mark panicked the
    /// release binary inside the decoder ("Must not use a decoder that has finished").
    #[test]
    fn files_spark_would_not_read_as_utf8_are_refused_not_decoded() {
        let mut utf16 = vec![0xff, 0xfe];
        for c in "spark.master=local\n".bytes() {
            utf16.extend([c, 0]);
        }
        let mut utf16be = vec![0xfe, 0xff];
        for c in "spark.master=local\n".bytes() {
            utf16be.extend([0, c]);
        }
        assert!(parse(&utf16).unwrap_err().contains("UTF-16"));
        assert!(parse(&utf16be).unwrap_err().contains("UTF-16"));
        let bom = parse(b"\xef\xbb\xbfspark.master=x\n").unwrap_err();
        assert!(bom.contains("byte-order mark"), "{bom}");
        let latin1 = parse(b"a=1\nb=caf\xe9\n").unwrap_err();
        assert!(
            latin1.contains("line 2") && latin1.contains("not UTF-8"),
            "{latin1}"
        );
        assert_eq!(parse("k=caf\u{e9}\n".as_bytes()).unwrap()["k"], "caf\u{e9}");
    }
}
