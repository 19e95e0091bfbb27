//! Java options: Spark's option-string syntax in, HotSpot's `JAVA_TOOL_OPTIONS` syntax out.
//!
//! Two tokenizers must be matched exactly, because two different programs read what we handle:
//!
//! * Operators write option strings in **Spark's** syntax (`SPARK_INIT_JAVA_OPTS`,
//!   `spark.executor.extraJavaOptions`). Spark splits them with
//!   `org.apache.spark.launcher.CommandBuilderUtils.parseOptionString`: whitespace is
//!   `Character.isWhitespace`, single quotes are literal, a backslash escapes the next character
//!   outside single quotes, an unclosed quote or trailing backslash is an error.
//! * The JVM reads `JAVA_TOOL_OPTIONS` with **HotSpot's** rules
//!   (`Arguments::parse_options_buffer` in `src/hotspot/share/runtime/arguments.cpp`): split on
//!   C `isspace`, a `'` or `"` opens a quoted run anywhere in a token and is removed, there is no
//!   escape character, an unmatched quote makes the JVM refuse to start.
//!
//! [`parse_option_string`] implements the first, [`split_hotspot`] the second and
//! [`encode_hotspot`] writes a token list so that HotSpot reads back exactly those tokens. The
//! black-box oracle tests run Spark's own `parseOptionString` and a real `java` against them.

use std::fmt;

use crate::redact;

/// An option string that Spark would reject.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OptionStringError {
    #[error("a {quote} quote is never closed")]
    UnclosedQuote { quote: &'static str },
    #[error("it ends with a backslash that escapes nothing")]
    TrailingBackslash,
}

/// `java.lang.Character.isWhitespace(int)`: Unicode space separators except the non-breaking
/// ones (U+00A0, U+2007, U+202F), the line and paragraph separators, and the ASCII controls
/// U+0009..U+000D and U+001C..U+001F. Rust's `char::is_whitespace` differs (it takes U+00A0 and
/// U+0085, and not U+001C..U+001F), so Spark's splitting needs this copy.
pub fn java_is_whitespace(c: char) -> bool {
    matches!(
        c,
        '\u{09}'..='\u{0D}'
            | '\u{1C}'..='\u{20}'
            | '\u{1680}'
            | '\u{2000}'..='\u{2006}'
            | '\u{2008}'..='\u{200A}'
            | '\u{2028}'
            | '\u{2029}'
            | '\u{205F}'
            | '\u{3000}'
    )
}

/// Splits an option string the way Spark's launcher does
/// (`CommandBuilderUtils.parseOptionString`, Spark 1.4 to 3.5, unchanged since).
///
/// A quoted empty string (`''` or `""`) is an (empty) option, as in Spark.
pub fn parse_option_string(s: &str) -> Result<Vec<String>, OptionStringError> {
    let mut opts = Vec::new();
    let mut opt = String::new();
    let mut in_opt = false;
    let mut in_single = false;
    let mut in_double = false;
    let mut escape_next = false;
    // Spark's `hasData`: an option was started even if it stays empty (`""`).
    let mut has_data = false;

    for c in s.chars() {
        if escape_next {
            opt.push(c);
            escape_next = false;
        } else if in_opt {
            match c {
                '\\' if in_single => opt.push(c),
                '\\' => escape_next = true,
                '\'' if in_double => opt.push(c),
                '\'' => in_single = !in_single,
                '"' if in_single => opt.push(c),
                '"' => in_double = !in_double,
                c if !java_is_whitespace(c) || in_single || in_double => opt.push(c),
                _ => {
                    opts.push(std::mem::take(&mut opt));
                    in_opt = false;
                    has_data = false;
                }
            }
        } else {
            match c {
                '\'' => {
                    in_single = true;
                    in_opt = true;
                    has_data = true;
                }
                '"' => {
                    in_double = true;
                    in_opt = true;
                    has_data = true;
                }
                '\\' => {
                    escape_next = true;
                    in_opt = true;
                    has_data = true;
                }
                c if !java_is_whitespace(c) => {
                    in_opt = true;
                    has_data = true;
                    opt.push(c);
                }
                _ => {}
            }
        }
    }
    if in_single {
        return Err(OptionStringError::UnclosedQuote { quote: "single" });
    }
    if in_double {
        return Err(OptionStringError::UnclosedQuote { quote: "double" });
    }
    if escape_next {
        return Err(OptionStringError::TrailingBackslash);
    }
    if has_data {
        opts.push(opt);
    }
    Ok(opts)
}

/// C `isspace` in the "C" locale, which is what HotSpot splits `JAVA_TOOL_OPTIONS` on.
fn hotspot_is_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\u{0B}' | '\u{0C}' | '\r')
}

/// A `JAVA_TOOL_OPTIONS` value HotSpot would refuse ("Unmatched quote in JAVA_TOOL_OPTIONS").
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a {0} quote is never closed (the JVM would refuse to start)")]
pub struct UnmatchedQuote(pub char);

/// Splits a value the way HotSpot splits `JAVA_TOOL_OPTIONS` (see the module comment).
pub fn split_hotspot(s: &str) -> Result<Vec<String>, UnmatchedQuote> {
    let mut out = Vec::new();
    let mut chars = s.chars().peekable();
    loop {
        while chars.next_if(|&c| hotspot_is_space(c)).is_some() {}
        if chars.peek().is_none() {
            return Ok(out);
        }
        let mut token = String::new();
        while let Some(c) = chars.next_if(|&c| !hotspot_is_space(c)) {
            if c == '\'' || c == '"' {
                loop {
                    match chars.next() {
                        Some(q) if q == c => break,
                        Some(other) => token.push(other),
                        None => return Err(UnmatchedQuote(c)),
                    }
                }
            } else {
                token.push(c);
            }
        }
        out.push(token);
    }
}

/// Writes tokens so that [`split_hotspot`] (and so the JVM) reads back exactly `tokens`.
///
/// Empty tokens cannot be written (HotSpot would pass an empty option and fail); callers drop
/// them first. Plain tokens stay as they are, so the common case reads naturally.
pub fn encode_hotspot<S: AsRef<str>>(tokens: &[S]) -> String {
    let mut out = String::new();
    for (i, token) in tokens.iter().enumerate() {
        if i > 0 {
            out.push(' ');
        }
        encode_token(token.as_ref(), &mut out);
    }
    out
}

fn encode_token(token: &str, out: &mut String) {
    let needs_quotes = |c: char| hotspot_is_space(c) || c == '\'' || c == '"';
    if !token.contains(needs_quotes) {
        out.push_str(token);
    } else if !token.contains('"') {
        out.push('"');
        out.push_str(token);
        out.push('"');
    } else if !token.contains('\'') {
        out.push('\'');
        out.push_str(token);
        out.push('\'');
    } else {
        // Both quote kinds: double-quote the runs without `"`, single-quote each `"`.
        // Quoted runs join into one token because nothing separates them.
        for (i, run) in token.split('"').enumerate() {
            if i > 0 {
                out.push_str("'\"'");
            }
            if !run.is_empty() {
                out.push('"');
                out.push_str(run);
                out.push('"');
            }
        }
    }
}

/// Where a Java option came from, for the dry-run plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OptionSource {
    /// A short name, e.g. `default`, `JAVA_TOOL_OPTIONS`, `SPARK_JAVA_OPT_2`.
    pub name: String,
    /// The options, already split into tokens.
    pub tokens: Vec<String>,
}

/// One JVM option after merging: one token, or a long option joined with its value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JavaOption {
    pub text: String,
    pub source: String,
}

/// What [`merge`] did, so the plan can show it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Merged {
    pub options: Vec<JavaOption>,
    /// Human-readable notes: overrides, dropped duplicates, dropped empty options.
    pub notes: Vec<String>,
}

impl Merged {
    pub fn tokens(&self) -> Vec<&str> {
        self.options.iter().map(|o| o.text.as_str()).collect()
    }

    /// The `JAVA_TOOL_OPTIONS` value, `None` when there is nothing to set.
    pub fn java_tool_options(&self) -> Option<String> {
        (!self.options.is_empty()).then(|| encode_hotspot(&self.tokens()))
    }
}

/// The identity that decides "the same option" when sources are merged.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Key {
    /// `-Dname[=value]`: the last value wins (as on a java command line).
    Property(String),
    /// `-XX:+Name`, `-XX:-Name`, `-XX:Name=value`.
    Flag(String),
    /// `-Xmx`, `-Xms`, `-Xss`: sizes, the last wins.
    Size(&'static str),
    /// Anything else: kept once, at its first place.
    Exact(String),
}

fn key_of(option: &str) -> Key {
    if let Some(rest) = option.strip_prefix("-D") {
        let name = rest.split('=').next().unwrap_or_default();
        if !name.is_empty() {
            return Key::Property(name.to_string());
        }
    } else if let Some(rest) = option.strip_prefix("-XX:") {
        let rest = rest.strip_prefix(['+', '-']).unwrap_or(rest);
        let name = rest.split('=').next().unwrap_or_default();
        if !name.is_empty() {
            return Key::Flag(name.to_string());
        }
    } else {
        for size in ["-Xmx", "-Xms", "-Xss"] {
            if option.starts_with(size) {
                return Key::Size(size);
            }
        }
    }
    Key::Exact(option.to_string())
}

/// Long options that the `java` launcher lets take their value as the next word, but that
/// HotSpot only accepts as `--name=value` inside `JAVA_TOOL_OPTIONS` (checked on OpenJDK 17:
/// `--add-opens x` there is "Unrecognized option: --add-opens").
pub const LONG_OPTIONS_WITH_VALUE: &[&str] = &[
    "--add-exports",
    "--add-opens",
    "--add-reads",
    "--add-modules",
    "--enable-native-access",
    "--limit-modules",
    "--module-path",
    "--patch-module",
    "--upgrade-module-path",
];

/// `text` when it is one of [`LONG_OPTIONS_WITH_VALUE`] alone (its value is the next word).
pub fn option_taking_a_word(text: &str) -> Option<&'static str> {
    LONG_OPTIONS_WITH_VALUE.iter().copied().find(|o| *o == text)
}

/// The first of [`LONG_OPTIONS_WITH_VALUE`] in `tokens` with no value after it (last, or
/// followed by another option): the JVM would stop with "Unrecognized option".
pub fn dangling_option(tokens: &[String]) -> Option<&'static str> {
    tokens.iter().enumerate().find_map(|(i, t)| {
        let option = option_taking_a_word(t)?;
        let value = tokens.get(i + 1);
        value.map_or(true, |v| v.starts_with('-')).then_some(option)
    })
}

/// Merges option sources in order; a later source wins over an earlier one for the same key
/// (see `Key`), other options are kept once in their first place.
pub fn merge(sources: &[OptionSource]) -> Merged {
    let mut merged = Merged::default();
    for source in sources {
        let mut tokens = source.tokens.iter().peekable();
        while let Some(token) = tokens.next() {
            if token.is_empty() {
                merged
                    .notes
                    .push(format!("dropped an empty option from {}", source.name));
                continue;
            }
            let text = match tokens.peek() {
                Some(value)
                    if LONG_OPTIONS_WITH_VALUE.contains(&token.as_str())
                        && !value.starts_with('-') =>
                {
                    let text = format!("{token}={value}");
                    tokens.next();
                    text
                }
                _ => token.clone(),
            };
            let key = key_of(&text);
            let existing = merged.options.iter().position(|o| key_of(&o.text) == key);
            match (existing, &key) {
                (Some(i), Key::Exact(_)) => merged.notes.push(format!(
                    "{} from {} is already set by {}",
                    redact::option(&text),
                    source.name,
                    merged.options[i].source
                )),
                (Some(i), _) => {
                    let old = merged.options.remove(i);
                    if old.text != text || old.source != source.name {
                        // Masked option by option: the text may hold a space.
                        merged.notes.push(format!(
                            "{} from {} overridden by {} from {}",
                            redact::option(&old.text),
                            old.source,
                            redact::option(&text),
                            source.name
                        ));
                    }
                    merged.options.push(JavaOption {
                        text,
                        source: source.name.clone(),
                    });
                }
                (None, _) => merged.options.push(JavaOption {
                    text,
                    source: source.name.clone(),
                }),
            }
        }
    }
    merged
}

impl fmt::Display for JavaOption {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.text, self.source)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spark(s: &str) -> Vec<String> {
        parse_option_string(s).unwrap()
    }

    #[test]
    fn spark_splits_on_java_whitespace() {
        assert_eq!(spark("  -Da=1 \t-Db=2\n"), ["-Da=1", "-Db=2"]);
        // U+001F is whitespace for Java, U+00A0 (no-break space) is not.
        assert_eq!(spark("a\u{1F}b\u{A0}c"), ["a", "b\u{A0}c"]);
        assert_eq!(spark("a\u{3000}b\u{2007}c"), ["a", "b\u{2007}c"]);
        assert_eq!(spark(""), Vec::<String>::new());
        assert_eq!(spark("   "), Vec::<String>::new());
    }

    #[test]
    fn spark_quotes_and_escapes() {
        assert_eq!(spark(r#"-Dx="a b" -Dy='c d'"#), ["-Dx=a b", "-Dy=c d"]);
        assert_eq!(spark(r#"'it''s'"#), ["its"]);
        assert_eq!(spark(r#""say \"hi\"""#), [r#"say "hi""#]);
        assert_eq!(spark(r"'a\b'"), [r"a\b"]);
        assert_eq!(spark(r"a\ b"), ["a b"]);
        assert_eq!(spark(r"\\"), [r"\"]);
        assert_eq!(spark(r#"'"' "'""#), [r#"""#, "'"]);
        assert_eq!(spark(r#"-Da="x"y'z w'"#), ["-Da=xyz w"]);
    }

    #[test]
    fn spark_quoted_empty_strings_are_options() {
        assert_eq!(spark(r#""" ''"#), ["", ""]);
        assert_eq!(spark(r#"a "" b"#), ["a", "", "b"]);
    }

    #[test]
    fn spark_rejects_unclosed_quotes_and_trailing_backslash() {
        assert_eq!(
            parse_option_string("-Dx='a"),
            Err(OptionStringError::UnclosedQuote { quote: "single" })
        );
        assert_eq!(
            parse_option_string(r#"-Dx="a"#),
            Err(OptionStringError::UnclosedQuote { quote: "double" })
        );
        assert_eq!(
            parse_option_string(r"-Dx=a\"),
            Err(OptionStringError::TrailingBackslash)
        );
    }

    #[test]
    fn hotspot_split_rules() {
        let split = |s: &str| split_hotspot(s).unwrap();
        assert_eq!(split(" -Da=1\t\n-Db=2 "), ["-Da=1", "-Db=2"]);
        assert_eq!(split(r#"-Dx="a b"c'd e'"#), ["-Dx=a bcd e"]);
        assert_eq!(split(r"-Dy=\n\"), [r"-Dy=\n\"]);
        assert_eq!(split(r#"'"'"'""#), [r#""'"#]);
        // U+001F and U+00A0 are not C isspace.
        assert_eq!(split("a\u{1F}b\u{A0}c"), ["a\u{1F}b\u{A0}c"]);
        assert_eq!(split_hotspot("-Dx='a"), Err(UnmatchedQuote('\'')));
        assert_eq!(split_hotspot(r#"-Dx="a"#), Err(UnmatchedQuote('"')));
    }

    #[test]
    fn encode_keeps_plain_tokens_plain() {
        assert_eq!(
            encode_hotspot(&["-Dfile.encoding=UTF-8", "-Duser.timezone=PRC"]),
            "-Dfile.encoding=UTF-8 -Duser.timezone=PRC"
        );
        assert_eq!(encode_hotspot(&["-Dx=a b"]), r#""-Dx=a b""#);
        assert_eq!(encode_hotspot(&[r#"-Dx="q""#]), r#"'-Dx="q"'"#);
        assert_eq!(encode_hotspot(&[r#"a"b'c"#]), r#""a"'"'"b'c""#);
        assert_eq!(encode_hotspot(&[r#""""#]), r#"'""'"#);
        assert_eq!(encode_hotspot(&[r#""'""#]), r#"'"'"'"'"'"#);
    }

    /// Every awkward value round-trips through the HotSpot encoding.
    #[test]
    fn encode_round_trips() {
        let values = [
            "plain",
            "two words",
            "tab\there",
            "new\nline",
            "cr\rlf\u{0B}\u{0C}",
            "'single'",
            "\"double\"",
            "mixed ' and \" quotes",
            "\"'\"'\"",
            "'",
            "\"",
            "a=b=c",
            r"back\slash\",
            r"\\server\share",
            "中文 時區",
            "emoji 😀 ok",
            "  leading and trailing  ",
            "\u{A0}nbsp\u{A0}",
        ];
        for value in values {
            let tokens = vec![format!("-Dk={value}"), "-Dnext=1".to_string()];
            let encoded = encode_hotspot(&tokens);
            assert_eq!(
                split_hotspot(&encoded).unwrap(),
                tokens,
                "encoded as {encoded}"
            );
        }
    }

    /// Exhaustive small alphabet: every string of length ≤ 5 over the troublesome characters.
    #[test]
    fn encode_round_trips_exhaustively() {
        let alphabet = ['a', ' ', '\'', '"', '\\', '\t'];
        let mut strings = vec![String::new()];
        for _ in 0..5 {
            let mut next = Vec::new();
            for s in &strings {
                for c in alphabet {
                    next.push(format!("{s}{c}"));
                }
            }
            for s in &next {
                let tokens = vec![format!("x{s}")];
                assert_eq!(split_hotspot(&encode_hotspot(&tokens)).unwrap(), tokens);
            }
            strings = next;
        }
    }

    fn source(name: &str, s: &str) -> OptionSource {
        OptionSource {
            name: name.into(),
            tokens: spark(s),
        }
    }

    #[test]
    fn merge_later_source_wins_per_key() {
        let merged = merge(&[
            source("default", "-Dfile.encoding=UTF-8 -Duser.timezone=PRC"),
            source(
                "image",
                "-Xmx1g -XX:+UseG1GC -verbose:gc -Duser.timezone=UTC",
            ),
            source(
                "user",
                "-Xmx2g -XX:-UseG1GC -verbose:gc -XX:MaxGCPauseMillis=100",
            ),
            source("late", "-XX:MaxGCPauseMillis=200 -Dfile.encoding=GBK"),
        ]);
        assert_eq!(
            merged.tokens(),
            [
                "-verbose:gc",
                "-Duser.timezone=UTC",
                "-Xmx2g",
                "-XX:-UseG1GC",
                "-XX:MaxGCPauseMillis=200",
                "-Dfile.encoding=GBK",
            ]
        );
        let sources: Vec<_> = merged.options.iter().map(|o| o.source.as_str()).collect();
        assert_eq!(sources, ["image", "image", "user", "user", "late", "late"]);
        assert!(merged.notes.iter().any(|n| n
            == "-Duser.timezone=PRC from default overridden by -Duser.timezone=UTC from image"));
    }

    #[test]
    fn merge_keeps_distinct_unkeyed_options_and_drops_repeats() {
        let merged = merge(&[
            source(
                "a",
                "-ea -javaagent:/a.jar --add-opens=java.base/java.lang=ALL-UNNAMED",
            ),
            source(
                "b",
                "-ea --add-opens java.base/java.nio=ALL-UNNAMED -javaagent:/b.jar",
            ),
        ]);
        assert_eq!(
            merged.tokens(),
            [
                "-ea",
                "-javaagent:/a.jar",
                "--add-opens=java.base/java.lang=ALL-UNNAMED",
                "--add-opens=java.base/java.nio=ALL-UNNAMED",
                "-javaagent:/b.jar",
            ]
        );
    }

    #[test]
    fn merge_distinguishes_sizes_and_properties_by_name() {
        let merged = merge(&[source("a", "-Xms1g -Xss2m -Da -Dab=1 -Da=2")]);
        assert_eq!(merged.tokens(), ["-Xms1g", "-Xss2m", "-Dab=1", "-Da=2"]);
    }

    #[test]
    fn merge_drops_empty_options_with_a_note() {
        let merged = merge(&[source("x", r#"-Da=1 "" -Db=2"#)]);
        assert_eq!(merged.tokens(), ["-Da=1", "-Db=2"]);
        assert_eq!(merged.notes, ["dropped an empty option from x"]);
        assert_eq!(merge(&[]).java_tool_options(), None);
    }
}
