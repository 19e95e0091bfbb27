//! Keeping secrets out of logs, errors and the dry-run plan.
//!
//! A value is secret when its key (the text before `=`, or a variable's name) contains one of
//! [`SECRET_WORDS`], in any case: `-Dspark.ssl.keyPassword=…`, `spark.authenticate.secret=…`,
//! `SPARK_INIT_MARATHON_AUTH_TOKEN`. Only the value is replaced, so the plan still shows that
//! the option is set. A URL keeps its user and loses its password (`http://ops:***@host/`).

use std::borrow::Cow;

pub const SECRET_WORDS: &[&str] = &["password", "passwd", "secret", "token", "credential"];
pub const MASK: &str = "***";

pub fn is_secret_name(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    SECRET_WORDS.iter().any(|w| lower.contains(w))
}

/// One option or argument: `key=value` with a secret key keeps `key=` and masks the value.
pub fn option(token: &str) -> Cow<'_, str> {
    match token.split_once('=') {
        Some((key, _)) if is_secret_name(key) => Cow::Owned(format!("{key}={MASK}")),
        _ => Cow::Borrowed(token),
    }
}

/// An argument vector: `key=value` arguments, and the argument after a secret-named flag
/// (`--password hunter2`), are masked.
pub fn argv<S: AsRef<str>>(args: &[S]) -> Vec<String> {
    let mut out = Vec::with_capacity(args.len());
    let mut mask_next = false;
    for arg in args {
        let arg = arg.as_ref();
        if mask_next {
            out.push(MASK.to_string());
            mask_next = false;
            continue;
        }
        mask_next = arg.starts_with('-') && !arg.contains('=') && is_secret_name(arg);
        out.push(option(arg).into_owned());
    }
    out
}

/// Free text such as an option string that failed to parse: split leniently on whitespace
/// outside quotes (an unclosed quote runs to the end) and mask each secret `key=value` word.
pub fn text(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    let mut word = String::new();
    let mut quote: Option<char> = None;
    let flush = |word: &mut String, out: &mut String| {
        out.push_str(&option(word));
        word.clear();
    };
    for c in value.chars() {
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) => {}
            None if c == '\'' || c == '"' => quote = Some(c),
            None if c.is_whitespace() => {
                flush(&mut word, &mut out);
                out.push(c);
                continue;
            }
            None => {}
        }
        word.push(c);
    }
    flush(&mut word, &mut out);
    out
}

/// A variable's value: all of it when the name is secret, else its secret words.
pub fn value_of(name: &str, value: &str) -> String {
    if is_secret_name(name) {
        MASK.to_string()
    } else {
        text(value)
    }
}

/// A URL with the password in its userinfo masked: `https://ops:hunter2@m1:8080/x` →
/// `https://ops:***@m1:8080/x`. Anything else, a URL that failed to parse too, is unchanged.
pub fn url(text: &str) -> Cow<'_, str> {
    let Some(start) = text.find("//").map(|i| i + 2) else {
        return Cow::Borrowed(text);
    };
    let authority = &text[start..];
    let authority = &authority[..authority.find(['/', '?', '#']).unwrap_or(authority.len())];
    let Some(userinfo) = authority.rfind('@').map(|at| &authority[..at]) else {
        return Cow::Borrowed(text);
    };
    match userinfo.find(':') {
        Some(colon) => {
            let password = start + colon + 1..start + userinfo.len();
            Cow::Owned(format!(
                "{}{MASK}{}",
                &text[..password.start],
                &text[password.end..]
            ))
        }
        None => Cow::Borrowed(text),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options() {
        assert_eq!(
            option("-Dspark.ssl.keyPassword=hunter2"),
            "-Dspark.ssl.keyPassword=***"
        );
        assert_eq!(
            option("spark.authenticate.secret=s"),
            "spark.authenticate.secret=***"
        );
        assert_eq!(option("-Dapi.TOKEN=t"), "-Dapi.TOKEN=***");
        assert_eq!(option("-Dfile.encoding=UTF-8"), "-Dfile.encoding=UTF-8");
        assert_eq!(option("-Dx=password"), "-Dx=password");
    }

    #[test]
    fn argv_masks_values_after_secret_flags() {
        assert_eq!(
            argv(&[
                "app",
                "--password",
                "hunter2",
                "--conf",
                "spark.x.secret=s",
                "--verbose"
            ]),
            [
                "app",
                "--password",
                "***",
                "--conf",
                "spark.x.secret=***",
                "--verbose"
            ]
        );
    }

    #[test]
    fn text_masks_quoted_values_whole() {
        assert_eq!(
            text("-Da=1 -Dmy.password='two words' -Db=2"),
            "-Da=1 -Dmy.password=*** -Db=2"
        );
        assert_eq!(text("-Dsecret=\"unclosed and more"), "-Dsecret=***");
    }

    #[test]
    fn secret_variable_names_hide_everything() {
        assert_eq!(value_of("SPARK_INIT_MESOS_AUTH_TOKEN", "abc"), "***");
        assert_eq!(value_of("SPARK_INIT_JAVA_OPTS", "-Dx=1"), "-Dx=1");
    }

    #[test]
    fn urls_keep_the_user_and_lose_the_password() {
        assert_eq!(
            url("https://ops:hunter2@m1:8080/v2/apps?x=a@b"),
            "https://ops:***@m1:8080/v2/apps?x=a@b"
        );
        assert_eq!(url("//ops:p:w@m2:5050"), "//ops:***@m2:5050");
        assert_eq!(url("ftp://ops:pw@bad url"), "ftp://ops:***@bad url");
        for unchanged in [
            "http://m1:8080/x@y",
            "spark://CoarseGrainedScheduler@10.0.0.2:31000",
            "not a url",
        ] {
            assert_eq!(url(unchanged), unchanged);
        }
    }
}
