//! The `java.util.Properties` text format, as `Properties.load(Reader)` reads it (JDK 17
//! `java/util/Properties.java`: `LineReader.readLine`, `load0`, `loadConvert`). Spark reads its
//! properties files through it (`Utils.getPropertiesFromFile`, the launcher's
//! `AbstractCommandBuilder.loadPropertiesFile`). Written here rather than taken from a crate: the
//! one crate there is pulled a regex engine into a binary that has to stay small, and this must
//! match the JDK exactly, which `entrypoint-tests/tests/spark_oracles.rs` checks against
//! `java.util.Properties` itself, on fixed and on generated input.
//!
//! The input is text (the caller decodes the file); the rules work on ASCII characters only, so
//! reading it by `char` is reading it by UTF-16 unit, as Java does. A `\uXXXX` escape is a UTF-16
//! unit: two escapes that make a surrogate pair are one character; a lone surrogate, which a Rust
//! string cannot hold, becomes U+FFFD.

/// Java's whitespace between a key and its value, and before a line (`' '`, `'\t'`, `'\f'`).
fn is_blank(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\x0c')
}

/// One logical line of the text: continuation lines joined, with the number of the natural
/// line where it started (1-based), for errors.
struct LogicalLine {
    text: Vec<char>,
    line: usize,
}

/// Splits text into logical lines as `LineReader.readLine` does: leading blanks skipped on each
/// natural line, blank lines and `#`/`!` comment lines dropped, and a line that ends in an odd
/// number of backslashes continued on the next one (the backslash and line end removed, the next
/// line's leading blanks skipped). `\n`, `\r` and `\r\n` end a line.
fn logical_lines(text: &str) -> Vec<LogicalLine> {
    let chars: Vec<char> = text.chars().collect();
    let mut lines = Vec::new();
    let mut i = 0;
    let mut line_no = 1;
    while i < chars.len() {
        let (line, next, next_line_no) = read_line(&chars, i, line_no);
        if let Some(line) = line {
            lines.push(line);
        }
        i = next;
        line_no = next_line_no;
    }
    lines
}

/// Reads from `start` to the end of one logical line (or of a skipped blank or comment line);
/// returns it (if any), where the next one starts, and that position's natural line number.
fn read_line(chars: &[char], start: usize, line_no: usize) -> (Option<LogicalLine>, usize, usize) {
    let mut i = start;
    let mut line_no = line_no;
    let mut text = Vec::new();
    let mut first_line = line_no;
    let mut skip_blanks = true;
    let mut appended_line_begin = false;
    let mut preceding_backslash = false;
    while i < chars.len() {
        let c = chars[i];
        i += 1;
        if skip_blanks {
            if is_blank(c) {
                continue;
            }
            if !appended_line_begin && matches!(c, '\r' | '\n') {
                line_no += 1;
                i = i - 1 + line_end_chars(chars, i - 1);
                first_line = line_no;
                continue;
            }
            skip_blanks = false;
            appended_line_begin = false;
        }
        // A comment is recognised wherever the logical line is still empty, also after a
        // continuation that left nothing (a line that was only a backslash), as in the JDK.
        if text.is_empty() && matches!(c, '#' | '!') {
            while i < chars.len() && !matches!(chars[i], '\r' | '\n') {
                i += 1;
            }
            if i == chars.len() {
                return (None, i, line_no);
            }
            skip_blanks = true;
            continue;
        }
        if !matches!(c, '\r' | '\n') {
            text.push(c);
            preceding_backslash = c == '\\' && !preceding_backslash;
            continue;
        }
        // The end of a natural line.
        let after = i - 1 + line_end_chars(chars, i - 1);
        if text.is_empty() {
            line_no += 1;
            i = after;
            first_line = line_no;
            skip_blanks = true;
            continue;
        }
        // The text ending right after this line end character (so not inside a `\r\n`) ends
        // the line even after a continuation backslash: the JDK then drops the backslash and
        // keeps the line, even an empty one.
        if i >= chars.len() || !preceding_backslash {
            if preceding_backslash {
                text.pop();
            }
            let line = LogicalLine {
                text,
                line: first_line,
            };
            return (Some(line), after, line_no + 1);
        }
        // A continuation: drop the backslash, skip the next line's leading blanks.
        text.pop();
        line_no += 1;
        i = after;
        skip_blanks = true;
        appended_line_begin = true;
        preceding_backslash = false;
    }
    // At the end of the text, a line that had anything is a line, even if removing a final
    // continuation backslash leaves it empty (the JDK then loads the key "").
    if text.is_empty() {
        return (None, i, line_no);
    }
    if preceding_backslash {
        text.pop();
    }
    let line = LogicalLine {
        text,
        line: first_line,
    };
    (Some(line), i, line_no)
}

/// How many characters the line end at `at` takes: 2 for `\r\n`, else 1.
fn line_end_chars(chars: &[char], at: usize) -> usize {
    if chars[at] == '\r' && chars.get(at + 1) == Some(&'\n') {
        2
    } else {
        1
    }
}

/// Splits a logical line into its raw key and raw value, as `Properties.load0` does: the key
/// ends at the first unescaped `=`, `:` or blank; blanks after it, then at most one `=` or `:`,
/// then blanks are skipped.
fn split_key_value(line: &[char]) -> (&[char], &[char]) {
    let mut key_len = 0;
    let mut value_start = line.len();
    let mut has_separator = false;
    let mut preceding_backslash = false;
    while key_len < line.len() {
        let c = line[key_len];
        if matches!(c, '=' | ':') && !preceding_backslash {
            value_start = key_len + 1;
            has_separator = true;
            break;
        }
        if is_blank(c) && !preceding_backslash {
            value_start = key_len + 1;
            break;
        }
        preceding_backslash = c == '\\' && !preceding_backslash;
        key_len += 1;
    }
    while value_start < line.len() {
        let c = line[value_start];
        if !is_blank(c) {
            if !has_separator && matches!(c, '=' | ':') {
                has_separator = true;
            } else {
                break;
            }
        }
        value_start += 1;
    }
    (&line[..key_len], &line[value_start..])
}

/// Undoes the escapes as `Properties.loadConvert` does: `\t \n \r \f`, `\uXXXX` (exactly four
/// hexadecimal digits, else "Malformed \uxxxx encoding."), and any other escaped character as
/// itself.
fn unescape(raw: &[char]) -> Result<String, String> {
    let mut units: Vec<u16> = Vec::with_capacity(raw.len());
    let mut i = 0;
    while i < raw.len() {
        let c = raw[i];
        i += 1;
        if c != '\\' || i == raw.len() {
            push_char(&mut units, c);
            continue;
        }
        let escaped = raw[i];
        i += 1;
        let plain = match escaped {
            'u' => {
                let digits = raw.get(i..i + 4).ok_or_else(malformed)?;
                let mut value = 0u16;
                for d in digits {
                    value = (value << 4) | d.to_digit(16).ok_or_else(malformed)? as u16;
                }
                units.push(value);
                i += 4;
                continue;
            }
            't' => '\t',
            'r' => '\r',
            'n' => '\n',
            'f' => '\x0c',
            other => other,
        };
        push_char(&mut units, plain);
    }
    Ok(char::decode_utf16(units)
        .map(|c| c.unwrap_or(char::REPLACEMENT_CHARACTER))
        .collect())
}

fn push_char(units: &mut Vec<u16>, c: char) {
    let mut buf = [0u16; 2];
    units.extend_from_slice(c.encode_utf16(&mut buf));
}

fn malformed() -> String {
    "Malformed \\uxxxx encoding.".to_string()
}

/// Every key and value of the text, in file order (a later key replaces an earlier one, as in
/// `Properties.load`: the caller's map does that). The error names the natural line where the
/// bad logical line starts, with the JDK's own message.
pub fn parse(text: &str) -> Result<Vec<(String, String)>, String> {
    logical_lines(text)
        .into_iter()
        .map(|line| {
            let (key, value) = split_key_value(&line.text);
            let named = |why: String| format!("line {}: {why}", line.line);
            Ok((
                unescape(key).map_err(named)?,
                unescape(value).map_err(named)?,
            ))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(text: &str) -> (String, String) {
        let mut all = parse(text).unwrap();
        assert_eq!(all.len(), 1, "{text:?}: {all:?}");
        all.remove(0)
    }

    #[test]
    fn separators_and_blanks() {
        assert_eq!(one("a=b"), ("a".into(), "b".into()));
        assert_eq!(one("a : b "), ("a".into(), "b ".into()));
        assert_eq!(one("a b"), ("a".into(), "b".into()));
        assert_eq!(one("a := b"), ("a".into(), "= b".into()));
        assert_eq!(one("  key.only"), ("key.only".into(), "".into()));
        assert_eq!(one("a\\=b\\ c=d"), ("a=b c".into(), "d".into()));
    }

    #[test]
    fn comments_only_at_the_start_of_a_logical_line() {
        assert!(parse("# a=b\n  ! c=d\n").unwrap().is_empty());
        assert_eq!(
            one("k = v \\\n  # not a comment"),
            ("k".into(), "v # not a comment".into())
        );
        // A line that is only a backslash leaves the logical line empty: the next one can be a
        // comment (JDK 17 LineReader).
        assert!(parse("\\\n# c=d\n").unwrap().is_empty());
    }

    #[test]
    fn continuations_and_line_ends() {
        assert_eq!(
            one("k = a \\\n   b \\\r\n\tc"),
            ("k".into(), "a b c".into())
        );
        assert_eq!(one("k = a\\\\"), ("k".into(), "a\\".into()));
        assert_eq!(one("k = a\\"), ("k".into(), "a".into()));
        // An empty line after a continuation ends the logical line.
        assert_eq!(parse("k = a\\\n\nj=b").unwrap().len(), 2);
        assert_eq!(parse("a=1\rb=2\r\nc=3").unwrap().len(), 3);
        // Found by the differential fuzz test: a last line that is only a backslash is the key
        // "" before `\n` and nothing before `\r\n` (JDK 17 LineReader reads past the `\r`).
        assert_eq!(parse("a=1\n\\\n").unwrap().len(), 2);
        assert_eq!(parse("a=1\n\\\r\n").unwrap().len(), 1);
    }

    #[test]
    fn escapes() {
        assert_eq!(
            one("k=\\t\\n\\r\\f\\q\\\\"),
            ("k".into(), "\t\n\r\x0cq\\".into())
        );
        assert_eq!(one("k=caf\\u00E9"), ("k".into(), "café".into()));
        assert_eq!(one("k=\\ud83d\\ude00"), ("k".into(), "\u{1F600}".into()));
        assert_eq!(one("k=\\ud83d"), ("k".into(), "\u{FFFD}".into()));
    }

    #[test]
    fn malformed_unicode_escapes_name_the_line() {
        assert_eq!(
            parse("a=1\n\nb=\\u12G4").unwrap_err(),
            "line 3: Malformed \\uxxxx encoding."
        );
        assert!(parse("b=\\u12").is_err());
        let err = parse("a=1\nb = x \\\n  y\\uZZZZ\n").unwrap_err();
        assert!(err.starts_with("line 2:"), "{err}");
    }
}
