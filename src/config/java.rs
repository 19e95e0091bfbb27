//! The Java option variables: the image's `JAVA_TOOL_OPTIONS`, `SPARK_JAVA_OPT_<n>` and
//! `SPARK_INIT_JAVA_OPTS`.

use std::ffi::OsStr;

use crate::config::{EnvSnapshot, Problem};
use crate::spark::java_options::{self, OptionSource};

/// The image's `JAVA_TOOL_OPTIONS`, `SPARK_JAVA_OPT_*` and `SPARK_INIT_JAVA_OPTS`, in merge order;
/// `warnings` gets what was dropped.
pub fn java_sources(
    env: &EnvSnapshot,
    init_java_opts: Option<&str>,
    problems: &mut Vec<Problem>,
    warnings: &mut Vec<String>,
) -> Vec<OptionSource> {
    let mut sources = Vec::new();
    if let Some(value) = env.get("JAVA_TOOL_OPTIONS") {
        sources.extend(image_options(value, problems));
    }
    sources.extend(spark_java_opt_sources(env, problems, warnings));
    if let Some(text) = init_java_opts {
        match java_options::parse_option_string(text) {
            Ok(tokens) => match java_options::dangling_option(&tokens) {
                None => sources.push(source("SPARK_INIT_JAVA_OPTS", tokens)),
                Some(option) => problems.push(Problem::new(
                    "SPARK_INIT_JAVA_OPTS",
                    Some(text),
                    format!("{option} has no value after it; write {option}=<value>"),
                )),
            },
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

/// `SPARK_JAVA_OPT_<n>`: one option each, taken verbatim, the way Spark's Kubernetes backend
/// writes them (`BasicExecutorFeatureStep`: `SPARK_JAVA_OPT_0=-Dfoo=a b`, no quoting) and its
/// image's entrypoint reads them (`readarray` of the sorted values). An empty one is dropped
/// with a warning. A JVM option that takes its value as the next word on a command line
/// (`--add-opens`, ...) but only as `--opt=value` in `JAVA_TOOL_OPTIONS` is joined with its
/// value, whether that stands after a space in the same variable or alone in the next one.
fn spark_java_opt_sources(
    env: &EnvSnapshot,
    problems: &mut Vec<Problem>,
    warnings: &mut Vec<String>,
) -> Vec<OptionSource> {
    let mut texts: Vec<(String, String)> = Vec::new();
    for (name, value) in spark_java_opts(env) {
        match value.to_str() {
            None => problems.push(not_utf8(&name, value)),
            Some("") => warnings.push(format!(
                "{name} is empty: dropped (it holds one JVM option, as Spark's Kubernetes \
                 backend writes them)"
            )),
            Some(text) => texts.push((name, text.to_string())),
        }
    }
    let mut sources = Vec::new();
    let mut texts = texts.into_iter().peekable();
    while let Some((name, text)) = texts.next() {
        let Some(option) = java_options::option_taking_a_word(&text) else {
            sources.push(source(&name, vec![joined_in_place(&text)]));
            continue;
        };
        match texts.next_if(|(_, next)| !next.starts_with('-')) {
            Some((next_name, value)) => sources.push(source(
                &format!("{name} and {next_name}"),
                vec![format!("{option}={value}")],
            )),
            None => problems.push(Problem::new(
                &name,
                Some(&text),
                format!(
                    "{option} needs its value, and no SPARK_JAVA_OPT_<n> after it holds one: \
                     write {option}=<value> in this variable, or put the value alone in the next \
                     one"
                ),
            )),
        }
    }
    sources
}

/// `--add-opens java.base/x=ALL-UNNAMED` in one variable → `--add-opens=java.base/x=ALL-UNNAMED`.
fn joined_in_place(text: &str) -> String {
    match text.split_once(char::is_whitespace) {
        Some((option, value))
            if java_options::option_taking_a_word(option).is_some() && !value.trim().is_empty() =>
        {
            format!("{option}={}", value.trim())
        }
        _ => text.to_string(),
    }
}
