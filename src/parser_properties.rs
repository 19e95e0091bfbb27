//! Every parser of outside input, run on generated input for a bounded number of cases on each
//! `cargo test` (issue 16: no panic, ever). proptest keeps any failing input it finds under
//! `proptest-regressions/`, and those files are committed: they are re-run first every time,
//! so a case that once broke a parser stays a regression test.

use std::collections::BTreeMap;
use std::ffi::OsString;

use proptest::prelude::*;

use crate::clients::http::answer_start;
use crate::clients::marathon::is_unknown_app;
use crate::config::cli::{Cli, OutputFormat, Role};
use crate::config::task_env::parse_java_double;
use crate::config::{vars, Config, EnvSnapshot};
use crate::facts::mesos_library::find_c_string;
use crate::facts::spark_defaults;
use crate::redact;
use crate::spark::executor_id;
use crate::spark::java_options::{encode_hotspot, parse_option_string, split_hotspot};
use crate::spark::memory::{planned_mib, MAX_MIB};
use crate::spark::rpc::check_driver_url;
use crate::spark::submit::{resource_location, SubmitArgs};
use crate::spark::version::SparkVersion;

/// Text made of the characters the parsers treat specially, plus some ordinary ones.
fn tricky_text() -> impl Strategy<Value = String> {
    let pieces = prop::sample::select(vec![
        " ",
        "\t",
        "\n",
        "=",
        ":",
        "@",
        "/",
        "//",
        "'",
        "\"",
        "\\",
        "-D",
        "--",
        "password",
        "spark.",
        "a",
        "B",
        "7",
        "0",
        "1e9",
        ".",
        ",",
        "é",
        "\u{2028}",
        "\u{a0}",
        "\u{1F600}",
        "g",
        "mb",
        "-",
        "+",
        "#",
        "!",
        "\r",
    ]);
    prop::collection::vec(pieces, 0..24).prop_map(|p| p.concat())
}

fn cases() -> ProptestConfig {
    ProptestConfig::with_cases(1024)
}

proptest! {
    #![proptest_config(cases())]

    #[test]
    fn option_strings_never_panic(text in tricky_text()) {
        let _ = parse_option_string(&text);
        let _ = split_hotspot(&text);
        let _ = redact::text(&text);
    }

    #[test]
    fn hotspot_reads_back_what_spark_init_writes(
        tokens in prop::collection::vec(tricky_text().prop_filter("non-empty", |t| !t.is_empty()), 0..6)
    ) {
        prop_assert_eq!(split_hotspot(&encode_hotspot(&tokens)), Ok(tokens));
    }

    #[test]
    fn a_secret_value_never_survives_masking(value in "[A-Za-z0-9]{4,12}", spaced in any::<bool>()) {
        let text = if spaced {
            format!(r"-Dx=1 -Dapp.password=ab\ {value} -Dy=2")
        } else {
            format!("-Dx=1 -Dapp.password={value}")
        };
        prop_assert!(!redact::text(&text).contains(&value));
        let url = format!("http://ops:{value}@marathon:8080/v2");
        prop_assert!(!redact::text(&url).contains(&value));
    }

    #[test]
    fn properties_files_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..200)) {
        let _ = spark_defaults::parse(&bytes);
    }

    #[test]
    fn properties_text_never_panics(text in tricky_text()) {
        let _ = spark_defaults::parse(text.as_bytes());
    }

    #[test]
    fn sizes_stay_in_range(text in tricky_text(), n in any::<u64>(), unit in "[bkmgtp]?b?") {
        let _ = planned_mib(&text);
        if let Ok(mib) = planned_mib(&format!("{n}{unit}")) {
            prop_assert!(mib <= MAX_MIB);
        }
    }

    #[test]
    fn numbers_and_words_never_panic(text in tricky_text()) {
        if let Some(v) = parse_java_double(&text) {
            prop_assert!(v.is_finite());
        }
        let _ = vars::parse_seconds(&text);
        let _ = vars::parse_exit_remap(&text);
        let _ = vars::flag(&mut Vec::new(), "V", Some(&text));
        let _ = check_driver_url(&text, SparkVersion::new(3, 5, 7));
        let _ = check_driver_url(&text, SparkVersion::new(1, 6, 3));
        let _ = SparkVersion::parse(&text);
    }

    #[test]
    fn executor_ids_are_what_spark_reads(task_id in tricky_text()) {
        let _ = executor_id::parse_task_id(&task_id);
        let id = executor_id::derive(&task_id);
        prop_assert!((1..=i32::MAX as u32).contains(&id));
        if let Ok(n) = executor_id::parse_explicit(&task_id) {
            prop_assert!((1..=i32::MAX as u32).contains(&n));
        }
    }

    #[test]
    fn submit_args_never_panic(args in prop::collection::vec(tricky_text(), 0..8)) {
        let args: Vec<OsString> = args.into_iter().map(OsString::from).collect();
        let _ = SubmitArgs::parse(&args, &mut Vec::new()).resource_location();
    }

    /// Where spark-submit reads an application resource from: any text, `local:`/`file:` URLs
    /// with escapes, authorities and fragments included.
    #[test]
    fn application_resources_never_panic(text in tricky_text(), scheme in "(local:|file:|hdfs:)?%?[0-9a-fA-F]?") {
        let _ = resource_location(&text);
        let _ = resource_location(&format!("{scheme}{text}"));
    }

    /// HTTP answers (a 404's body, its first line in an error) and the JDK's libjvm.so bytes.
    #[test]
    fn answers_and_binaries_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..300), text in tricky_text()) {
        let _ = is_unknown_app(&bytes);
        let _ = answer_start(&bytes);
        let _ = answer_start(text.as_bytes());
        let _ = is_unknown_app(format!("{{\"message\":\"App '{text}' does not exist\"}}").as_bytes());
        let with_format = [b"%s%s/usr/java/packages/lib".as_slice(), &bytes].concat();
        let _ = find_c_string(&with_format[..], b"%s%s/usr/java/packages/lib");
    }

    /// Every variable spark-init reads, given tricky values at once: the configuration is
    /// gathered (with problems), never a panic.
    #[test]
    fn any_environment_is_gathered(values in prop::collection::vec(tricky_text(), 40)) {
        let names = [
            "SPARK_INIT_ROLE", "SPARK_INIT_DRY_RUN", "SPARK_INIT_ENCODING", "SPARK_INIT_TIMEZONE",
            "SPARK_INIT_JAVA_OPTS", "SPARK_INIT_GRACE_SECONDS", "SPARK_INIT_SIGNAL_GROUP",
            "SPARK_INIT_EXIT_REMAP", "SPARK_INIT_LOG", "SPARK_INIT_LOG_FORMAT", "JAVA_TOOL_OPTIONS",
            "SPARK_JAVA_OPT_0", "SPARK_HOME", "SPARK_CONF_DIR", "HOST", "PORT0", "PORT_UI",
            "MESOS_TASK_ID", "MARATHON_APP_RESOURCE_CPUS", "MARATHON_APP_RESOURCE_MEM",
            "SPARK_DRIVER_URL", "SPARK_APPLICATION_ID", "SPARK_EXECUTOR_ID",
            "SPARK_EXECUTOR_CORES", "SPARK_EXECUTOR_MEMORY", "SPARK_INIT_MARATHON_URL",
            "SPARK_INIT_MARATHON_AUTH", "SPARK_INIT_MESOS_URL", "SPARK_INIT_DRIVER_ADDRESS",
            "SPARK_INIT_RESOLVE_TIMEOUT", "SPARK_INIT_HTTP_TIMEOUT", "SPARK_INIT_FRAMEWORK_STORE",
            "SPARK_INIT_STORE_REQUIRED", "SPARK_INIT_REREGISTER_WINDOW", "SPARK_INIT_EXECUTOR_APP",
            "SPARK_INIT_EXECUTOR_INSTANCES", "SPARK_INIT_SCALE_DOWN_ON_EXIT",
            "SPARK_INIT_FAILOVER_TIMEOUT", "SPARK_INIT_MESOS_CONSTRAINTS", "SPARK_INIT_HOSTNAME",
        ];
        let env: BTreeMap<&str, String> = names.into_iter().zip(values).collect();
        let snapshot = EnvSnapshot::new(env.iter().map(|(k, v)| ((*k).into(), v.into())));
        for role in [Role::Executor, Role::Driver] {
            let cli = Cli {
                role: Some(role),
                dry_run: true,
                output: Some(OutputFormat::Json),
                command: vec![OsString::from("--conf"), OsString::from("a=b")],
            };
            let _ = Config::gather(cli, &snapshot);
        }
    }
}
