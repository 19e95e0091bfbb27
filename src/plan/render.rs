//! The plan as people and programs read it: text for the dry run and the log, JSON for tools;
//! secrets masked, commands quoted so they can be pasted into a shell.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::Serialize;
use serde_json::Value;

use crate::config::lossy;
use crate::plan::{Plan, Resolved};
use crate::redact;
use crate::spark::java_options;

/// A resolved value as shown: every text in it masked again (a URL's password, a secret
/// option), whatever the decision that made it already masked.
fn masked(resolved: &Resolved) -> Resolved {
    fn mask(value: &Value) -> Value {
        match value {
            Value::String(s) => Value::String(redact::text(s)),
            Value::Array(items) => Value::Array(items.iter().map(mask).collect()),
            Value::Object(map) => {
                Value::Object(map.iter().map(|(k, v)| (k.clone(), mask(v))).collect())
            }
            other => other.clone(),
        }
    }
    Resolved {
        value: mask(&resolved.value),
        source: redact::text(&resolved.source),
    }
}

/// The plan as printed: secrets masked.
#[derive(Debug, Serialize)]
struct Shown<'a> {
    role: &'a str,
    argv: Vec<String>,
    env: BTreeMap<&'a str, String>,
    resolved: BTreeMap<&'a str, Resolved>,
    warnings: Vec<String>,
}

impl Plan {
    fn shown(&self) -> Shown<'_> {
        let env = self
            .env
            .iter()
            .map(|(name, value)| {
                let shown = if name == "JAVA_TOOL_OPTIONS" {
                    let masked: Vec<_> =
                        self.java_tokens.iter().map(|t| redact::option(t)).collect();
                    java_options::encode_hotspot(&masked)
                } else {
                    redact::value_of(name, value)
                };
                (name.as_str(), shown)
            })
            .collect();
        Shown {
            role: &self.role,
            argv: redact::argv(&lossy(&self.argv)),
            env,
            resolved: self
                .resolved
                .iter()
                .map(|(name, r)| (name.as_str(), masked(r)))
                .collect(),
            warnings: self.warnings.iter().map(|w| redact::text(w)).collect(),
        }
    }

    /// The command line as a shell would read it, secrets masked (for the log).
    pub fn shown_command(&self) -> String {
        shell_words(&redact::argv(&lossy(&self.argv)))
    }

    /// At info, what a real run resolved, for whoever reads the container log without a dry
    /// run (issue 18): the command, then one line per resolved value with its source. In JSON
    /// the command is an array (`argv`) and each value JSON (`value`), beside `name`, `source`.
    pub fn log(&self) {
        let shown = self.shown();
        let role = shown.role;
        if crate::logging::is_json() {
            let argv = serde_json::to_string(&shown.argv).unwrap_or_default();
            tracing::info!(role, argv = %argv, "command");
            for (name, r) in &shown.resolved {
                let value = r.value.to_string();
                let source = r.source.as_str();
                tracing::info!(role, name, value = %value, source, "resolved {name}");
            }
        } else {
            tracing::info!(role, "command: {}", shell_words(&shown.argv));
            for (name, r) in &shown.resolved {
                let value = text_value(&r.value);
                tracing::info!("resolved {name} = {value} (from {})", r.source);
            }
        }
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(&self.shown())
            .unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"))
    }

    /// For people: aligned columns, each value with its source.
    pub fn to_text(&self) -> String {
        let shown = self.shown();
        let mut out = String::new();
        let _ = writeln!(
            out,
            "spark-init dry run: resolved the plan below and started nothing.\n"
        );
        let _ = writeln!(out, "role     {}", shown.role);
        let _ = writeln!(out, "command  {}", shell_words(&shown.argv));
        for (name, value) in &shown.env {
            let _ = writeln!(out, "env      {name}={}", shell_quote(value));
        }
        let width = shown.resolved.keys().map(|k| k.len()).max().unwrap_or(0);
        let _ = writeln!(out, "\nresolved");
        for (name, r) in shown.resolved {
            let value = text_value(&r.value);
            let _ = writeln!(out, "  {name:<width$}  {value}");
            let _ = writeln!(out, "  {:<width$}    from {}", "", r.source);
        }
        if !shown.warnings.is_empty() {
            let _ = writeln!(out, "\nwarnings");
            for w in shown.warnings {
                let _ = writeln!(out, "  - {w}");
            }
        }
        out
    }
}

/// A resolved value for people: a text as it is, nothing as `(none)`, the rest as JSON.
fn text_value(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Null => "(none)".to_string(),
        other => without_nulls(other).to_string(),
    }
}

/// A value for people: an object's members that have no value are left out (issue 18:
/// `"instances":null` was printed); JSON output keeps them, as the documented shape.
fn without_nulls(value: &Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| (k.clone(), without_nulls(v)))
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(without_nulls).collect()),
        other => other.clone(),
    }
}

/// POSIX shell quoting, so a printed command can be pasted into a shell.
pub fn shell_quote(word: &str) -> String {
    let plain = |c: char| c.is_ascii_alphanumeric() || "-_./=:,+@%".contains(c);
    if !word.is_empty() && word.chars().all(plain) {
        word.to_string()
    } else {
        format!("'{}'", word.replace('\'', r"'\''"))
    }
}

fn shell_words(words: &[String]) -> String {
    words
        .iter()
        .map(|w| shell_quote(w))
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_leaves_out_members_without_a_value() {
        let value =
            serde_json::json!({"app": "/e", "instances": null, "ports": [{"a": null, "b": 1}]});
        assert_eq!(
            without_nulls(&value).to_string(),
            r#"{"app":"/e","ports":[{"b":1}]}"#
        );
    }

    #[test]
    fn shell_quoting() {
        assert_eq!(shell_quote("-Dx=1"), "-Dx=1");
        assert_eq!(shell_quote("a b"), "'a b'");
        assert_eq!(shell_quote("it's"), r"'it'\''s'");
        assert_eq!(shell_quote(""), "''");
    }
}
