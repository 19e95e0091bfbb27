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
    if let Some(value) = env.get("JAVA_TOOL_OPTIONS") {
        sources.extend(image_options(value, problems));
    }
    for (name, value) in spark_java_opts(env) {
        sources.extend(spark_java_opt(name, value, problems));
    }
    if let Some(text) = init_java_opts {
        match java_options::parse_option_string(text) {
            Ok(tokens) => sources.push(source("SPARK_INIT_JAVA_OPTS", tokens)),
            Err(e) => problems.push(Problem::new(
                "SPARK_INIT_JAVA_OPTS",
                Some(text),
                format!(
                    "{e}; it is split like Spark's extraJavaOptions, so close the quote or \
                     escape it with a backslash"
                ),
            )),
        }
    }
    sources
}

fn source(name: &str, tokens: Vec<String>) -> OptionSource {
    OptionSource {
        name: name.into(),
        tokens,
    }
}

fn not_utf8(name: &str, value: &OsStr) -> Problem {
    Problem::new(
        name,
        Some(&value.to_string_lossy()),
        "is not valid UTF-8; write it as UTF-8 text",
    )
}

/// The image's own `JAVA_TOOL_OPTIONS` is read by HotSpot, so it is split with HotSpot's rules.
fn image_options(value: &OsStr, problems: &mut Vec<Problem>) -> Option<OptionSource> {
    let name = "JAVA_TOOL_OPTIONS";
    let Some(text) = value.to_str() else {
        problems.push(not_utf8(name, value));
        return None;
    };
    match java_options::split_hotspot(text) {
        Ok(tokens) => Some(source(name, tokens)),
        Err(e) => {
            problems.push(Problem::new(
                name,
                Some(text),
                format!("{e}; close the quote"),
            ));
            None
        }
    }
}

/// `SPARK_JAVA_OPT_<n>`, ordered as Spark's Kubernetes entrypoint orders them
/// (`sort -t_ -k4 -n`: by the numeric suffix), names that are not numbers after those.
fn spark_java_opts(env: &EnvSnapshot) -> Vec<(String, &OsStr)> {
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
    numbered.into_iter().map(|(_, name, v)| (name, v)).collect()
}

/// One `SPARK_JAVA_OPT_<n>`: one option.
fn spark_java_opt(
    name: String,
    value: &OsStr,
    problems: &mut Vec<Problem>,
) -> Option<OptionSource> {
    let Some(text) = value.to_str() else {
        problems.push(not_utf8(&name, value));
        return None;
    };
    let message = match java_options::parse_option_string(text) {
        Ok(tokens) if tokens.len() <= 1 => return Some(OptionSource { name, tokens }),
        Ok(tokens) => format!(
            "holds {} options; set one option per SPARK_JAVA_OPT_<n> variable, or quote a \
             value that contains spaces",
            tokens.len()
        ),
        Err(e) => format!("{e}; close the quote or escape it with a backslash"),
    };
    problems.push(Problem::new(&name, Some(text), message));
    None
}
