//! The JVM's options for the plan: spark-init's defaults, the image's `JAVA_TOOL_OPTIONS`,
//! Spark's `spark.<role>.{default,extra}JavaOptions`, `SPARK_JAVA_OPT_<n>` and
//! `SPARK_INIT_JAVA_OPTS`, merged in that order (a later one wins) into one
//! `JAVA_TOOL_OPTIONS`, with what the dry run shows about them.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::config::Config;
use crate::plan::{sourced, Resolved};
use crate::redact;
use crate::spark::java_options::{self, Merged, OptionSource};

pub struct JavaOptions {
    /// The value for the child, `None` when there is nothing to set.
    pub java_tool_options: Option<String>,
    /// The tokens behind it, kept to mask them one by one for display.
    pub tokens: Vec<String>,
    pub resolved: BTreeMap<String, Resolved>,
    pub warnings: Vec<String>,
}

pub fn resolve(config: &Config, spark_sources: Vec<OptionSource>) -> JavaOptions {
    let merged = java_options::merge(&config.java_sources_with(spark_sources));
    let tokens: Vec<String> = merged.tokens().iter().map(|t| t.to_string()).collect();
    let shown: Vec<String> = tokens
        .iter()
        .map(|t| redact::option(t).into_owned())
        .collect();
    let mut resolved = BTreeMap::from([(
        "java_options".to_string(),
        sourced(shown, by_source(&merged)),
    )]);
    resolved.extend(effective_properties(config, &merged));
    let mut warnings: Vec<String> = merged
        .notes
        .iter()
        .map(|note| format!("java options: {}", redact::text(note)))
        .collect();
    warnings.extend(secrets_warning(&merged));
    JavaOptions {
        java_tool_options: merged.java_tool_options(),
        tokens,
        resolved,
        warnings,
    }
}

/// "default: -Dfile.encoding=UTF-8 -Duser.timezone=PRC; SPARK_INIT_JAVA_OPTS: '-Da=b c'", in
/// the order the options end up in.
fn by_source(merged: &Merged) -> String {
    let mut groups: Vec<String> = Vec::new();
    let mut last_source: Option<&str> = None;
    for option in &merged.options {
        // Quoted as a shell would take it, so an option with a space (`-Dx=a b`) does not run
        // into the next source's clause (issue 18).
        // (Only then: the source is masked again as a whole, which a quoted secret's closing
        // quote would not survive.)
        let shown = redact::option(&option.text);
        let shown = if shown.contains(char::is_whitespace) || shown.contains(';') {
            crate::plan::render::shell_quote(&shown).into()
        } else {
            shown
        };
        match (last_source, groups.last_mut()) {
            (Some(source), Some(group)) if source == option.source => {
                group.push(' ');
                group.push_str(&shown);
            }
            _ => groups.push(format!("{}: {}", option.source, shown)),
        }
        last_source = Some(&option.source);
    }
    if groups.is_empty() {
        "nothing to set".to_string()
    } else {
        groups.join("; ")
    }
}

/// HotSpot echoes the whole variable to stderr at start ("Picked up JAVA_TOOL_OPTIONS: ...",
/// `Arguments::parse_java_tool_options_environment_variable`), so a secret put there ends up in
/// the container log whatever we mask.
fn secrets_warning(merged: &Merged) -> Option<String> {
    let secrets: Vec<String> = merged
        .options
        .iter()
        .filter(|o| redact::option(&o.text) != o.text.as_str())
        .map(|o| format!("{} (from {})", redact::option(&o.text), o.source))
        .collect();
    (!secrets.is_empty()).then(|| {
        format!(
            "secret-looking Java options go into JAVA_TOOL_OPTIONS, which the JVM prints to \
             stderr when it starts (\"Picked up JAVA_TOOL_OPTIONS\"), so they will appear in \
             the container log: {}; pass secrets in a file instead (for Spark, a properties \
             file or a keystore password file)",
            secrets.join(", ")
        )
    })
}

/// The effective values, after the merge: an image's or operator's -Duser.timezone beats the
/// default, and the dry run must say which one the JVM will see.
fn effective_properties(config: &Config, merged: &Merged) -> BTreeMap<String, Resolved> {
    let mut resolved = BTreeMap::new();
    for (name, property, config_value) in [
        ("file_encoding", "file.encoding", &config.encoding),
        ("user_timezone", "user.timezone", &config.timezone),
    ] {
        let prefix = format!("-D{property}=");
        let effective = merged
            .options
            .iter()
            .rev()
            .find_map(|o| Some((o.text.strip_prefix(&prefix)?, o.source.as_str())));
        let value = match effective {
            Some((value, "default")) => sourced(value, config_value.source.clone()),
            Some((value, source)) => sourced(value, source),
            None => sourced(Value::Null, config_value.source.clone()),
        };
        resolved.insert(name.to_string(), value);
    }
    resolved
}
