//! `SPARK_INIT_USER`: who the command runs as, written as gosu takes it (`user[:group]`, each a
//! name or a number), since the official Spark image's entrypoint drops root with gosu.

use crate::config::Problem;
use crate::sourced::Sourced;

/// A user or group as written: a name to look up, or a number taken as it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Who {
    Name(String),
    Id(u32),
}

/// `SPARK_INIT_USER`'s value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserSpec {
    /// As written, for messages.
    pub written: String,
    pub user: Who,
    pub group: Option<Who>,
}

pub const UNSET: &str = "SPARK_INIT_USER unset: a Spark role started as root runs as the image's \
                         user `spark`; a plain command keeps the container's user";

fn who(part: &str) -> Option<Who> {
    if part.is_empty() || part.contains(|c: char| c.is_whitespace() || c == ':') {
        return None;
    }
    if part.bytes().all(|b| b.is_ascii_digit()) {
        // As gosu and runc: ids above 2^31-1 are refused ((uid_t)-1 means "unchanged").
        return part
            .parse::<u32>()
            .ok()
            .filter(|&id| i32::try_from(id).is_ok())
            .map(Who::Id);
    }
    Some(Who::Name(part.to_string()))
}

/// Parses `SPARK_INIT_USER`; a value that is not `user[:group]` is a problem.
pub fn parse(raw: Option<&str>, problems: &mut Vec<Problem>) -> Sourced<Option<UserSpec>> {
    let Some(written) = raw.map(str::trim).filter(|r| !r.is_empty()) else {
        return Sourced::new(None, UNSET);
    };
    let (user, group) = match written.split_once(':') {
        Some((user, group)) => (user, Some(group)),
        None => (written, None),
    };
    let parsed = who(user).and_then(|user| match group.map(who) {
        None => Some((user, None)),
        Some(Some(group)) => Some((user, Some(group))),
        Some(None) => None,
    });
    match parsed {
        Some((user, group)) => Sourced::new(
            Some(UserSpec {
                written: written.to_string(),
                user,
                group,
            }),
            "SPARK_INIT_USER",
        ),
        None => {
            problems.push(Problem::new(
                "SPARK_INIT_USER",
                Some(written),
                "is not a user: give a name or a uid, with an optional group after a colon \
                 (spark, 185, 185:185, spark:hadoop; ids up to 2147483647), or unset it",
            ));
            Sourced::new(None, UNSET)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(raw: &str) -> (Who, Option<Who>) {
        let mut problems = Vec::new();
        let spec = parse(Some(raw), &mut problems).value.unwrap();
        assert!(problems.is_empty());
        (spec.user, spec.group)
    }

    #[test]
    fn names_numbers_and_groups_as_gosu_takes_them() {
        assert_eq!(ok("spark"), (Who::Name("spark".into()), None));
        assert_eq!(ok("185"), (Who::Id(185), None));
        assert_eq!(ok("185:0"), (Who::Id(185), Some(Who::Id(0))));
        assert_eq!(
            ok(" spark:hadoop "),
            (Who::Name("spark".into()), Some(Who::Name("hadoop".into())))
        );
    }

    #[test]
    fn unset_or_empty_is_the_default_rule() {
        let mut problems = Vec::new();
        assert_eq!(parse(None, &mut problems).value, None);
        assert_eq!(parse(Some(" "), &mut problems).value, None);
        assert!(problems.is_empty());
    }

    #[test]
    fn malformed_values_are_problems_naming_the_variable() {
        for bad in [
            "spark:",
            ":185",
            "a:b:c",
            "spark user",
            "99999999999",
            "4294967295",
            "0:2147483648",
        ] {
            let mut problems = Vec::new();
            assert_eq!(parse(Some(bad), &mut problems).value, None, "{bad}");
            assert_eq!(problems.len(), 1, "{bad}");
            assert_eq!(problems[0].name, "SPARK_INIT_USER");
        }
    }
}
