//! spark-init's copies of Spark facts, checked against Spark and the JDK themselves:
//! `spark-defaults.conf` parsing against `java.util.Properties` (as Spark loads the file), the
//! module options against `JavaModuleOptions` in the launcher jars of the releases the tests
//! install (`SPARK_3`, `SPARK_4`) and against Java 17, and the driver's `LD_LIBRARY_PATH`
//! against what the Spark 3.5.7 launcher gives the driver's JVM.

use std::path::Path;
use std::process::Command;

use entrypoint_tests::{java_classes, launcher_jar, module_options, spark_jars, SPARK_3, SPARK_4};
use spark_init::facts::mesos_library::driver_ld_library_path;
use spark_init::facts::spark_defaults;
use spark_init::sourced::Sourced;
use spark_init::spark::module_options::LINES;
use spark_init::spark::submit::SubmitArgs;

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Properties text that exercises every rule of `Properties.load`: separators, escapes,
/// continuations, comments, odd and even backslashes at line ends, Unicode escapes, CRLF.
const TRICKY: &[&str] = &[
    "spark.master  mesos://zk://zk1:2181/mesos\n",
    "a=b\nc:d\ne f\ng\th\n",
    "key.only\n",
    "   indented.key = value with = and : inside   \n",
    "sep.both := odd\n",
    "escaped\\ key\\:x\\=y = v\n",
    "tabs\\tand\\nnewlines = x\\ty\\nz\\rw\\fv\n",
    "unicode.escape = caf\\u00e9 \\u4e2d\\u6587\n",
    "surrogate.pair = \\ud83d\\ude00\n",
    "raw.unicode = 日本語 ✓\n",
    "# a comment = not a key\n! another\n   # indented comment\n",
    "cont = one \\\n      two \\\n\t three\n",
    "even.backslashes = ends with \\\\\\\\\nnext.line = present\n",
    "odd.backslashes = continues \\\\\\\n  here\n",
    "crlf.a = 1\r\ncrlf.b = 2\r\n",
    "cr.only = 1\rcr.next = 2\r",
    "unknown.escape = \\q\\z\\ \n",
    "dup = first\ndup = second\n",
    "empty.value =\n",
    "  \n\n",
    "spark.executor.extraJavaOptions=-Dx=\"a b\" -Dy='c d' \\\n  -Dz=\\\\e\n",
    "trailing.backslash.at.eof = x\\",
];

fn java_load(text: &str) -> String {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("spark-defaults.conf");
    std::fs::write(&file, text).unwrap();
    let out = Command::new("java")
        .arg("-cp")
        .arg(java_classes())
        .arg("LoadProps")
        .arg(&file)
        .env_remove("JAVA_TOOL_OPTIONS")
        .output()
        .expect("java");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn ours(text: &str) -> String {
    match spark_defaults::parse(text.as_bytes()) {
        Ok(entries) => {
            // Java sorts keys as UTF-16 strings, ours by bytes; the same for these inputs.
            let mut lines: Vec<(String, String)> = entries
                .iter()
                .map(|(k, v)| {
                    (
                        k.clone(),
                        format!("{}={}", hex(k.as_bytes()), hex(v.as_bytes())),
                    )
                })
                .collect();
            lines.sort_by(|a, b| a.0.encode_utf16().cmp(b.0.encode_utf16()));
            lines.into_iter().map(|(_, l)| l + "\n").collect()
        }
        Err(e) => format!("error {e}\n"),
    }
}

#[test]
fn spark_defaults_parse_like_java_util_properties() {
    // Each snippet alone, then all of them in one file.
    let mut inputs: Vec<String> = TRICKY.iter().map(|s| s.to_string()).collect();
    inputs.push(TRICKY[..TRICKY.len() - 1].concat());
    for input in &inputs {
        assert_eq!(ours(input), java_load(input), "input {input:?}");
    }
}

/// Pieces the generated files are made of: every character `Properties.load` treats specially,
/// escapes good and bad, line ends of all three kinds, and ordinary text around them. Surrogate
/// escapes are left out: a backslash piece before a pair would leave a lone one, which Java keeps
/// in its strings and a Rust string cannot (spark-init makes it U+FFFD, pinned by a unit test in
/// `spark::properties`); a whole pair is in `TRICKY`.
const PIECES: &[&str] = &[
    "a", "key", "spark.x", "v", "7", " ", "  ", "\t", "\x0c", "=", ":", "\\", "\\\\", "\n", "\r",
    "\r\n", "#", "!", "\\u00e9", "\\u4E2D", "\\u12", "\\uZZZZ", "\\t", "\\n", "\\ ", "\\=", "\\:",
    "\\#", "\\q", "é", "中", "\u{a0}", "\u{1}", "\u{2028}", "😀",
];

/// xorshift64*: a fixed, reproducible stream of choices (no dependency for a dozen lines).
struct Choices(u64);

impl Choices {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 33) as usize % n
    }
}

/// Differential fuzz test: generated files, each read by spark-init and by
/// `java.util.Properties` (one JVM for all of them), must give the same keys and values, or both
/// an error. `SPARK_INIT_FUZZ_SEED` picks another stream of inputs; the default one is fixed so
/// that CI runs the same cases every time.
#[test]
fn spark_defaults_parse_like_java_util_properties_on_generated_files() {
    let seed = std::env::var("SPARK_INIT_FUZZ_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x5eed_5a7c_0f1e_u64);
    let mut choices = Choices(seed | 1);
    let dir = tempfile::tempdir().unwrap();
    let mut inputs = Vec::new();
    for i in 0..3000 {
        let len = 1 + choices.below(24);
        let text: String = (0..len)
            .map(|_| PIECES[choices.below(PIECES.len())])
            .collect();
        let file = dir.path().join(format!("{i}.properties"));
        std::fs::write(&file, &text).unwrap();
        inputs.push((file, text));
    }
    let out = Command::new("java")
        .arg("-cp")
        .arg(java_classes())
        .arg("LoadProps")
        .args(inputs.iter().map(|(file, _)| file))
        .env_remove("JAVA_TOOL_OPTIONS")
        .output()
        .expect("java");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let java = String::from_utf8(out.stdout).unwrap();
    let mut answers = java.split("== ").skip(1);
    for (file, text) in &inputs {
        let answer = answers.next().expect("one answer per file");
        let (name, lines) = answer.split_once('\n').unwrap();
        assert_eq!(Path::new(name), file.as_path());
        // Both refuse a malformed escape; the message may differ in the line it names.
        if lines.starts_with("error ") {
            assert!(
                ours(text).starts_with("error "),
                "seed {seed}, input {text:?}"
            );
        } else {
            assert_eq!(ours(text), lines, "seed {seed}, input {text:?}");
        }
    }
}

#[test]
fn malformed_unicode_escapes_fail_in_both() {
    for input in ["a = \\u12G4\n", "b = \\u12\n", "ok = 1\nbad = x\\uZZZZ\n"] {
        let java = java_load(input);
        assert!(java.starts_with("error Malformed"), "{input:?}: {java}");
        assert!(ours(input).starts_with("error "), "{input:?}");
    }
}

/// spark-init's list for each release the tests install is what that release's own
/// `JavaModuleOptions.defaultModuleOptions()` returns (run on this machine's Java 17).
#[test]
fn module_options_match_sparks_launcher() {
    for spark in [SPARK_3, SPARK_4] {
        let classpath = format!(
            "{}:{}",
            java_classes().display(),
            launcher_jar(spark).display()
        );
        let out = Command::new("java")
            .args(["-cp", &classpath, "ModuleOptions"])
            .env_remove("JAVA_TOOL_OPTIONS")
            .output()
            .expect("java");
        assert!(out.status.success(), "Spark {spark}: {out:?}");
        let theirs = String::from_utf8(out.stdout).unwrap();
        let theirs: Vec<&str> = theirs.split_whitespace().collect();
        assert_eq!(module_options(spark), theirs.as_slice(), "Spark {spark}");
    }
}

/// Java 17 (the JVM Spark 4 needs at least) starts with every line's list: an option it does
/// not know (`--sun-misc-unsafe-memory-access`, JDK 23) is skipped because the list starts
/// with `-XX:+IgnoreUnrecognizedVMOptions`, and nothing else is refused.
#[test]
fn java_17_starts_with_every_module_option_list() {
    let version = Command::new("java").arg("-version").output().expect("java");
    let banner = String::from_utf8_lossy(&version.stderr).into_owned();
    assert!(
        banner.contains("version \"17."),
        "the tests need Java 17: {banner}"
    );
    for ((major, minor), options) in LINES {
        let out = Command::new("java")
            .args(*options)
            .arg("-version")
            .env_remove("JAVA_TOOL_OPTIONS")
            .output()
            .expect("java");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            out.status.success(),
            "Spark {major}.{minor}'s list: {stderr}"
        );
        assert!(
            !stderr.contains("Unrecognized"),
            "Spark {major}.{minor}: {stderr}"
        );
    }
    // The one option Java 17 does not know is refused without the flag that comes with it.
    let out = Command::new("java")
        .args(["--sun-misc-unsafe-memory-access=allow", "-version"])
        .env_remove("JAVA_TOOL_OPTIONS")
        .output()
        .expect("java");
    assert!(!out.status.success(), "{out:?}");
}

/// The executor's overhead under Spark 4's floor (`spark.executor.minMemoryOverhead`, new in
/// 4.0) is what Spark's own `ResourceProfile.calculateOverHeadMemory` computes from the same
/// confs, read by Spark's own config entries (defaults and sizes included).
#[test]
fn the_executor_overhead_matches_spark_4s_resource_profile() {
    use spark_init::plan::memory::Overhead;
    use spark_init::plan::Findings;
    use spark_init::sourced::Sourced;
    use spark_init::spark::version::SparkVersion;
    let cases: &[(u64, &[(&str, &str)])] = &[
        (2048, &[]),
        (3841, &[]),
        (8192, &[]),
        (2048, &[("spark.executor.minMemoryOverhead", "1g")]),
        (20480, &[("spark.executor.minMemoryOverhead", "1g")]),
        (10241, &[("spark.executor.minMemoryOverhead", "1024")]),
        (1000, &[("spark.executor.minMemoryOverhead", "0")]),
        (
            8192,
            &[
                ("spark.executor.memoryOverheadFactor", "0.25"),
                ("spark.executor.minMemoryOverhead", "3000m"),
            ],
        ),
        (
            100,
            &[
                ("spark.executor.minMemoryOverhead", "1g"),
                ("spark.executor.memoryOverhead", "512m"),
            ],
        ),
    ];
    let classpath = format!(
        "{}:{}/*",
        java_classes().display(),
        spark_jars(SPARK_4).display()
    );
    let input: String = cases
        .iter()
        .map(|(heap, confs)| {
            let confs: Vec<String> = confs.iter().map(|(k, v)| format!(" {k}={v}")).collect();
            format!("{heap}{}\n", confs.concat())
        })
        .collect();
    let theirs = java_with_stdin(&["-cp", &classpath, "SparkOverhead"], &input);
    let theirs: Vec<u64> = theirs.lines().map(|l| l.parse().unwrap()).collect();
    assert_eq!(theirs.len(), cases.len(), "{theirs:?}");
    for ((heap, confs), theirs) in cases.iter().zip(theirs) {
        let get = |key: &str| {
            confs
                .iter()
                .find(|(k, _)| *k == key)
                .map(|(_, v)| Sourced::new(v.to_string(), key))
        };
        let mut findings = Findings::default();
        let version = SparkVersion::parse(SPARK_4).unwrap();
        let ours = Overhead::read(&get, "executor", version, &mut findings).unwrap();
        assert_eq!(
            ours.for_heap(*heap).value,
            theirs,
            "heap {heap} MiB, {confs:?}"
        );
    }
}

/// Runs `java <args>` with `input` on stdin; its stdout.
fn java_with_stdin(args: &[&str], input: &str) -> String {
    use std::io::Write;
    let mut child = Command::new("java")
        .args(args)
        .env_remove("JAVA_TOOL_OPTIONS")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("java");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{out:?}");
    String::from_utf8(out.stdout).unwrap()
}

/// Issue 10: the smallest heap spark-init plans must really start a Spark executor. In a
/// container with one CPU the JVM picks SerialGC and `Runtime.maxMemory()` is less than -Xmx
/// (-Xmx450m, the old minimum, gives 435 MiB, which Spark refuses). Spark's own
/// `UnifiedMemoryManager` judges: accepted at `MIN_HEAP_MIB`, refused one MiB under.
#[test]
fn the_minimum_heap_starts_sparks_memory_manager_and_one_mib_less_does_not() {
    use spark_init::spark::memory::MIN_HEAP_MIB;
    let classpath = format!(
        "{}:{}/*",
        java_classes().display(),
        spark_jars(SPARK_3).display()
    );
    let run = |heap: u64| {
        let out = Command::new("java")
            .args(module_options(SPARK_3))
            .arg("-XX:-UsePerfData")
            // As in a one-CPU container: the JVM's ergonomics pick SerialGC.
            .arg("-XX:ActiveProcessorCount=1")
            .arg(format!("-Xms{heap}m"))
            .arg(format!("-Xmx{heap}m"))
            .args(["-cp", &classpath, "MinHeap"])
            .env_remove("JAVA_TOOL_OPTIONS")
            .output()
            .expect("java");
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(
            out.status.success(),
            "{stdout}{}",
            String::from_utf8_lossy(&out.stderr)
        );
        stdout
    };
    let at = run(MIN_HEAP_MIB);
    assert!(at.contains("accepted"), "-Xmx{MIN_HEAP_MIB}m: {at}");
    let under = run(MIN_HEAP_MIB - 1);
    assert!(
        under.contains("refused:") && under.contains("System memory"),
        "-Xmx{}m: {under}",
        MIN_HEAP_MIB - 1
    );
}

/// The `LD_LIBRARY_PATH` Spark 3.5.7's launcher gives the driver's JVM (`Main` prints the command
/// NUL-separated, `env LD_LIBRARY_PATH=... java ...` when it changes it), an empty entry
/// written `.` as spark-init writes it.
fn launchers_ld_library_path(home: &Path, ld: Option<&str>, args: &[&str]) -> Option<String> {
    let mut launcher = Command::new("java");
    launcher
        .arg("-cp")
        .arg(format!("{}/*", spark_jars(SPARK_3).display()))
        .args([
            "org.apache.spark.launcher.Main",
            "org.apache.spark.deploy.SparkSubmit",
        ])
        .args(args)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("SPARK_HOME", home)
        .env("SPARK_SCALA_VERSION", "2.12");
    if let Some(ld) = ld {
        launcher.env("LD_LIBRARY_PATH", ld);
    }
    let out = launcher.output().expect("java");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let set = stdout
        .split('\0')
        .find_map(|word| word.strip_prefix("LD_LIBRARY_PATH="))
        .map(String::from);
    set.or(ld.map(String::from)).map(|list| {
        let entries: Vec<&str> = list
            .split(':')
            .map(|e| if e.is_empty() { "." } else { e })
            .collect();
        entries.join(":")
    })
}

/// Issue 11: the driver JVM's `LD_LIBRARY_PATH` as spark-init reckons it (where
/// `System.loadLibrary("mesos")` looks) is what Spark 3.5.7's launcher gives it:
/// `spark.driver.extraLibraryPath` (`--driver-library-path` or `--conf`, the later one) appended
/// to the container's, an empty one dropped.
#[test]
fn the_drivers_ld_library_path_is_what_sparks_launcher_gives_it() {
    // A Spark home the launcher accepts: RELEASE and the jars.
    let home = tempfile::tempdir().unwrap();
    std::fs::write(
        home.path().join("RELEASE"),
        "Spark 3.5.7 built for Hadoop 3.3.4\n",
    )
    .unwrap();
    std::os::unix::fs::symlink(spark_jars(SPARK_3), home.path().join("jars")).unwrap();
    let flag = ["--driver-library-path", "/flag/a:/flag/b"];
    let conf = ["--conf", "spark.driver.extraLibraryPath=/conf"];
    let options: [Vec<&str>; 5] = [
        vec![],
        flag.to_vec(),
        conf.to_vec(),
        [&flag[..], &conf[..]].concat(),
        [&conf[..], &flag[..]].concat(),
    ];
    for ld in [None, Some(""), Some("/cur"), Some("/cur::/x")] {
        for options in &options {
            let args: Vec<&str> = ["--master", "mesos://m:5050"]
                .iter()
                .chain(options)
                .chain(&["app.jar"])
                .copied()
                .collect();
            let os: Vec<std::ffi::OsString> = args.iter().map(Into::into).collect();
            let submit = SubmitArgs::parse(&os, &mut Vec::new());
            let given = ld.map(|ld| Sourced::new(ld.into(), "LD_LIBRARY_PATH"));
            let ours =
                driver_ld_library_path(given.as_ref(), submit.library_path.as_ref()).map(|dirs| {
                    let dirs: Vec<String> =
                        dirs.iter().map(|d| d.value.display().to_string()).collect();
                    dirs.join(":")
                });
            let sparks = launchers_ld_library_path(home.path(), ld, &args);
            assert_eq!(ours, sparks, "LD_LIBRARY_PATH={ld:?} {args:?}");
        }
    }
}
