//! The Java option variables: the image's `JAVA_TOOL_OPTIONS`, `SPARK_JAVA_OPT_<n>` and
//! `SPARK_INIT_JAVA_OPTS`.

use std::ffi::OsStr;

use crate::config::{EnvSnapshot, Problem};
use crate::spark::java_options::{self, OptionSource};

/// The image's `JAVA_TOOL_OPTIONS`, `SPARK_JAVA_OPT_*` and `SPARK_INIT_JAVA_OPTS`, in merge order.
pub fn java_sources(
    env: &EnvSnapshot,
    init_java_opts: Option<&str>,
    problems: &mut Vec<Problem>,
) -> Vec<OptionSource> {
    let mut sources = Vec::new();

    // The image's own value is read by HotSpot, so it is split with HotSpot's rules.
    if let Some(value) = env.get("JAVA_TOOL_OPTIONS") {
        match value.to_str() {
            None => problems.push(Problem {
                name: "JAVA_TOOL_OPTIONS".into(),
                value: Some(value.to_string_lossy().into_owned()),
                message: "is not valid UTF-8; write it as UTF-8 text".into(),
            }),
            Some(text) => match java_options::split_hotspot(text) {
                Ok(tokens) => sources.push(OptionSource {
                    name: "JAVA_TOOL_OPTIONS".into(),
                    tokens,
                }),
                Err(e) => problems.push(Problem {
                    name: "JAVA_TOOL_OPTIONS".into(),
                    value: Some(text.into()),
                    message: format!("{e}; close the quote"),
                }),
            },
        }
    }

    // SPARK_JAVA_OPT_<n>: one option each, ordered as Spark's Kubernetes entrypoint orders
    // them (`sort -t_ -k4 -n`: by the numeric suffix), names that are not numbers after those.
    let mut numbered: Vec<(Option<u64>, String, &OsStr)> = env
        .vars()
        .iter()
        .filter_map(|(k, v)| {
            let name = k.to_str()?;
            let suffix = name.strip_prefix("SPARK_JAVA_OPT_")?;
            Some((suffix.parse().ok(), name.to_string(), v.as_os_str()))
        })
        .collect();
    numbered.sort_by(|a, b| (a.0.is_none(), a.0, &a.1).cmp(&(b.0.is_none(), b.0, &b.1)));
    numbered.dedup_by(|a, b| a.1 == b.1);
    for (_, name, value) in numbered {
        let Some(text) = value.to_str() else {
            problems.push(Problem {
                name,
                value: Some(value.to_string_lossy().into_owned()),
                message: "is not valid UTF-8; write it as UTF-8 text".into(),
            });
            continue;
        };
        match java_options::parse_option_string(text) {
            Ok(tokens) if tokens.len() <= 1 => sources.push(OptionSource { name, tokens }),
            Ok(tokens) => problems.push(Problem {
                name,
                value: Some(text.into()),
                message: format!(
                    "holds {} options; set one option per SPARK_JAVA_OPT_<n> variable, or \
                     quote a value that contains spaces",
                    tokens.len()
                ),
            }),
            Err(e) => problems.push(Problem {
                name,
                value: Some(text.into()),
                message: format!("{e}; close the quote or escape it with a backslash"),
            }),
        }
    }

    if let Some(text) = init_java_opts {
        match java_options::parse_option_string(text) {
            Ok(tokens) => sources.push(OptionSource {
                name: "SPARK_INIT_JAVA_OPTS".into(),
                tokens,
            }),
            Err(e) => problems.push(Problem {
                name: "SPARK_INIT_JAVA_OPTS".into(),
                value: Some(text.into()),
                message: format!(
                    "{e}; it is split like Spark's extraJavaOptions, so close the quote or \
                     escape it with a backslash"
                ),
            }),
        }
    }
    sources
}
