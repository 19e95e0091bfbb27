//! Keeping secrets out of logs, errors and the dry-run plan.
//!
//! A value is secret when its key (the text before `=`, or a variable's name) contains one of
//! [`SECRET_WORDS`], in any case: `-Dspark.ssl.keyPassword=…`, `spark.authenticate.secret=…`,
//! `SPARK_INIT_MARATHON_AUTH_TOKEN`. Only the value is replaced, so the plan still shows that
//! the option is set. A URL with a password in it (`http://user:pw@host:8080`) keeps the user
//! and loses the password (`http://user:***@host:8080`) wherever it appears.

use std::borrow::Cow;

pub const SECRET_WORDS: &[&str] = &["password", "passwd", "secret", "token", "credential"];
pub const MASK: &str = "***";

/// Key names that hold a secret without saying so in one of [`SECRET_WORDS`], compared with
/// `.`, `-` and `_` left out: `-Dapi.key`, `--api-key`, `fs.s3a.session.key`, `private_key`.
pub const SECRET_KEYS: &[&str] = &["apikey", "sessionkey", "privatekey"];

pub fn is_secret_name(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    let joined: String = lower
        .chars()
        .filter(|c| !matches!(c, '.' | '-' | '_'))
        .collect();
    SECRET_WORDS.iter().any(|w| lower.contains(w))
        || SECRET_KEYS.iter().any(|k| joined.ends_with(k))
        // spark-init's credential variables (`SPARK_INIT_MARATHON_AUTH`, ...).
        || lower.ends_with("_auth")
}

/// One option or argument: `key=value` with a secret key keeps `key=` and masks the value;
/// a URL's password, and a secret parameter of a URL's query (`?user=u&password=x`), are
/// masked wherever they stand in the word.
pub fn option(token: &str) -> Cow<'_, str> {
    let masked = query_secrets(&url_passwords(token)).into_owned();
    // Any `name=` in the word counts, not only the first: `spark.x=-Dapi.key=v` hides the
    // key's value too (query parameters are done above).
    let mut start = 0;
    for (i, _) in masked.match_indices('=') {
        let name = &masked[start..i];
        if !name.contains(['?', '&', ';']) && is_secret_name(name) {
            return Cow::Owned(format!("{}={MASK}", &masked[..i]));
        }
        start = i + 1;
    }
    if masked == token {
        Cow::Borrowed(token)
    } else {
        Cow::Owned(masked)
    }
}

/// `...?user=u&password=x;token=y` → `...?user=u&password=***;token=***`: a parameter whose
/// name is secret, after `?`, `&` or `;`, loses its value up to the next separator.
fn query_secrets(text: &str) -> Cow<'_, str> {
    if !text.contains(['?', '&', ';']) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find(['?', '&', ';']) {
        out.push_str(&rest[..=i]);
        rest = &rest[i + 1..];
        let end = rest.find(['&', ';', '#']).unwrap_or(rest.len());
        match rest[..end].split_once('=') {
            Some((name, _)) if is_secret_name(name) => {
                out.push_str(name);
                out.push('=');
                out.push_str(MASK);
                rest = &rest[end..];
            }
            _ => {}
        }
    }
    out.push_str(rest);
    Cow::Owned(out)
}

/// `scheme://user:password@host...` → `scheme://user:***@host...`, for every URL in the text.
pub fn url_passwords(text: &str) -> Cow<'_, str> {
    if !text.contains("//") || !text.contains('@') {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    // Every `//` opens an authority (`mesos://zk://user:pw@zk1:2181/mesos` has two).
    while let Some(i) = rest.find("//") {
        let (before, after) = rest.split_at(i + 2);
        out.push_str(before);
        // The authority ends at the first '/', '?', '#' or white space.
        let end = after
            .find(|c: char| matches!(c, '/' | '?' | '#') || c.is_whitespace())
            .unwrap_or(after.len());
        let authority = &after[..end];
        match authority.rsplit_once('@') {
            Some((userinfo, host)) => {
                let user = userinfo.split_once(':').map_or(userinfo, |(user, _)| user);
                if userinfo.contains(':') {
                    out.push_str(&format!("{user}:{MASK}@{host}"));
                } else {
                    out.push_str(authority);
                }
            }
            None => out.push_str(authority),
        }
        rest = &after[end..];
    }
    out.push_str(rest);
    Cow::Owned(out)
}

/// A value meant to be a URL that did not parse: its password may hold `/`, `?` or `#`, or the
/// scheme may be missing (`ops:pw@host:8080`), so everything from the first `:` of the
/// user-info (after `//`, if any) to the last `@` is masked.
pub fn url_lenient(text: &str) -> Cow<'_, str> {
    let start = text.find("//").map_or(0, |i| i + 2);
    let Some(at) = text.rfind('@').filter(|&at| at > start) else {
        return url_passwords(text);
    };
    match text[start..at].find(':') {
        Some(colon) => Cow::Owned(format!(
            "{}{MASK}{}",
            &text[..start + colon + 1],
            &text[at..]
        )),
        None => url_passwords(text),
    }
}

/// An argument vector: `key=value` arguments, and the argument after a secret-named flag
/// (`--password hunter2`), are masked.
pub fn argv<S: AsRef<str>>(args: &[S]) -> Vec<String> {
    let mut out = Vec::with_capacity(args.len());
    let mut mask_next = false;
    for arg in args {
        let arg = arg.as_ref();
        if arg.contains(char::is_whitespace) && !mask_next {
            // An option string (`--conf k=-Da=1 -Db.password=x -Dc=2`): word by word, so
            // what follows a secret is still shown.
            out.push(text(arg));
            continue;
        }
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

/// Free text such as an option string that failed to parse: split into words the way Spark
/// splits option strings (white space outside quotes; a backslash outside single quotes keeps
/// the next character, an escaped space included, in the word), leniently (an unclosed quote
/// runs to the end), and mask each secret `key=value` word and each URL's password.
pub fn text(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    let mut word = String::new();
    let mut quote: Option<char> = None;
    let mut escaped = false;
    let flush = |word: &mut String, out: &mut String| {
        out.push_str(&option(word));
        word.clear();
    };
    for c in value.chars() {
        if escaped {
            escaped = false;
            word.push(c);
            continue;
        }
        match quote {
            Some('\'') if c == '\'' => quote = None,
            Some('"') if c == '"' => quote = None,
            Some('"') if c == '\\' => escaped = true,
            Some(_) => {}
            None if c == '\\' => escaped = true,
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
    // nss_wrapper's file of passwd entries: a path, and entries hold no passwords ("x").
    if is_secret_name(name) && name != "NSS_WRAPPER_PASSWD" {
        MASK.to_string()
    } else {
        text(value)
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

    /// Regression (issue 16): a secret holding an escaped or quoted space leaked its tail
    /// (`-Dapi.token=abc\ Secret456` showed `=*** Secret456`).
    #[test]
    fn text_masks_values_with_escaped_spaces_whole() {
        assert_eq!(
            text(r"-Dapi.token=abc\ Secret456 -Db=2"),
            "-Dapi.token=*** -Db=2"
        );
        assert_eq!(
            text(r#"-Dapi.token="abc \" Secret456" -Db=2"#),
            "-Dapi.token=*** -Db=2"
        );
        assert_eq!(text(r"-Dx=a\ b"), r"-Dx=a\ b");
    }

    #[test]
    fn url_passwords_are_masked_wherever_they_stand() {
        assert_eq!(
            text("GET http://ops:Hunter2@marathon:8080/v2/apps failed"),
            "GET http://ops:***@marathon:8080/v2/apps failed"
        );
        assert_eq!(
            option("--master=mesos://zk://u:p@zk1:2181/mesos"),
            "--master=mesos://zk://u:***@zk1:2181/mesos"
        );
        assert_eq!(option("http://ops@host/x"), "http://ops@host/x");
        assert_eq!(option("http://host:8080/a@b"), "http://host:8080/a@b");
        assert_eq!(
            argv(&["--url", "https://a:b@h", "x://c:d@e"]),
            ["--url", "https://a:***@h", "x://c:***@e"]
        );
    }

    /// Review finding: a URL that did not parse showed its password.
    #[test]
    fn a_url_that_does_not_parse_loses_its_password_too() {
        assert_eq!(
            url_lenient("http://ops:p#SEC2@127.0.0.1:1/"),
            "http://ops:***@127.0.0.1:1/"
        );
        assert_eq!(url_lenient("ops:SEC7@127.0.0.1:1"), "ops:***@127.0.0.1:1");
        assert_eq!(url_lenient("ftp://m:8080/x"), "ftp://m:8080/x");
    }

    /// Review finding: `-Dz=1` after a masked option vanished from the shown argv.
    #[test]
    fn an_option_string_argument_is_masked_word_by_word() {
        assert_eq!(
            argv(&[
                "--conf",
                "spark.driver.extraJavaOptions=-Dk=v -Ddb.password=x -Dz=1"
            ]),
            [
                "--conf",
                "spark.driver.extraJavaOptions=-Dk=v -Ddb.password=*** -Dz=1"
            ]
        );
    }

    #[test]
    fn secret_query_parameters_and_key_names_are_masked() {
        assert_eq!(
            option("jdbc:postgresql://h/db?user=u&password=hunter2&ssl=true"),
            "jdbc:postgresql://h/db?user=u&password=***&ssl=true"
        );
        assert_eq!(option("-Dapi.key=k"), "-Dapi.key=***");
        assert_eq!(option("fs.s3a.session.key=k"), "fs.s3a.session.key=***");
        assert_eq!(argv(&["--api-key", "k"]), ["--api-key", "***"]);
        assert_eq!(option("-Dmonkey=banana"), "-Dmonkey=banana");
        assert_eq!(option("spark.x=-Dapi.key=k=v"), "spark.x=-Dapi.key=***");
        assert_eq!(value_of("SPARK_INIT_MARATHON_AUTH", "u:p"), "***");
        assert_eq!(
            value_of("SPARK_INIT_MARATHON_AUTH_FILE", "/etc/auth"),
            "/etc/auth"
        );
    }

    #[test]
    fn secret_variable_names_hide_everything() {
        assert_eq!(value_of("SPARK_INIT_MESOS_AUTH_TOKEN", "abc"), "***");
        assert_eq!(value_of("SPARK_INIT_JAVA_OPTS", "-Dx=1"), "-Dx=1");
    }

    #[test]
    fn urls_keep_the_user_and_lose_the_password() {
        assert_eq!(
            url_passwords("https://ops:hunter2@m1:8080/v2/apps?x=a@b"),
            "https://ops:***@m1:8080/v2/apps?x=a@b"
        );
        assert_eq!(url_passwords("//ops:p:w@m2:5050"), "//ops:***@m2:5050");
        assert_eq!(
            url_passwords("ftp://ops:pw@bad url"),
            "ftp://ops:***@bad url"
        );
        for unchanged in [
            "http://m1:8080/x@y",
            "spark://CoarseGrainedScheduler@10.0.0.2:31000",
            "not a url",
        ] {
            assert_eq!(url_passwords(unchanged), unchanged);
        }
    }
}
