//! Issue 11: what a driver needs in the image is checked before anything starts. Its
//! application resource, when spark-submit reads it from the container (`local:`, `file:`, a
//! path without a scheme), must be a file there; a driver with a `mesos://` master must find
//! Mesos' native library where its JVM will look (`MESOS_NATIVE_JAVA_LIBRARY`, else
//! `System.loadLibrary("mesos")` on `java.library.path`). Missing: exit 78 naming the path or
//! variable and the fix, nothing started. Found: the dry run says where.
//!
//! The driver runs for real unless a dry run is asked for: with everything in place the
//! fixture's spark-submit stand-in starts and exits 99, so a 78 proves nothing was started.

use std::path::Path;

use entrypoint_tests::{executor_env, Finished, Init};
use serde_json::Value;

const MESOS: &str = "mesos://zk://zk1:2181/mesos";

/// A driver's environment over the fixtures (Spark 3.5.7, Java 17), with `more` on top.
fn driver_env(more: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut env: Vec<(String, String)> = executor_env()
        .into_iter()
        .filter(|(k, _)| k != "SPARK_DRIVER_URL" && k != "SPARK_APPLICATION_ID")
        .collect();
    env.extend(more.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    env
}

/// The driver role in `cwd` (its dry run, when asked for, in JSON).
fn driver(env: &[(String, String)], args: &[&str], cwd: &Path) -> Init {
    let role = ["--role", "driver", "--output", "json", "--"];
    let mut init = Init::new(role.iter().chain(args.iter())).cwd(cwd);
    for (k, v) in env {
        init = init.env(k, v);
    }
    init
}

fn dry_run(init: Init) -> Value {
    let out = init.env("SPARK_INIT_DRY_RUN", "1").run();
    assert_eq!(out.code, 0, "{}", out.stderr);
    serde_json::from_str(&out.stdout).unwrap()
}

/// A resolved value of the dry run and its source.
fn shown(plan: &Value, key: &str) -> (String, String) {
    let resolved = &plan["resolved"][key];
    (
        resolved["value"].as_str().unwrap_or("(none)").to_string(),
        resolved["source"].as_str().unwrap_or("").to_string(),
    )
}

fn refused(out: &Finished) {
    assert_eq!(out.code, 78, "{}", out.stderr);
    assert!(!out.stderr.contains("fixture stand-in"), "started anyway");
}

/// A folder with empty files at these relative paths.
fn files(paths: &[&str]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for path in paths {
        let path = dir.path().join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, b"").unwrap();
    }
    dir
}

fn path(dir: &tempfile::TempDir, rel: &str) -> String {
    dir.path().join(rel).display().to_string()
}

#[test]
fn libmesos_named_by_mesos_native_java_library_is_used_and_shown() {
    let image = files(&["lib/libmesos.so", "app/stream.jar"]);
    let jar = format!("local://{}", path(&image, "app/stream.jar"));
    let args = ["--master", MESOS, "--class", "Stream", &jar];
    let env = driver_env(&[(
        "MESOS_NATIVE_JAVA_LIBRARY",
        &path(&image, "lib/libmesos.so"),
    )]);
    let out = driver(&env, &args, image.path()).run();
    assert_eq!(out.code, 99, "{}", out.stderr);
    let plan = dry_run(driver(&env, &args, image.path()));
    let (library, source) = shown(&plan, "mesos_native_library");
    assert_eq!(library, path(&image, "lib/libmesos.so"));
    assert!(
        source.starts_with("MESOS_NATIVE_JAVA_LIBRARY: "),
        "{source}"
    );
    let (application, source) = shown(&plan, "application");
    assert_eq!(application, path(&image, "app/stream.jar"));
    assert!(source.ends_with("a file in the image"), "{source}");
}

/// `System.loadLibrary("mesos")` looks for `libmesos.so` only (not the versioned file), in
/// `LD_LIBRARY_PATH`'s folders in order and then in `--driver-library-path`'s, which
/// spark-submit appends; from spark-env.sh, which spark-submit loads, the variable counts too.
#[test]
fn libmesos_is_found_where_the_jvm_looks_and_shown_with_where_from() {
    let image = files(&[
        "versioned/libmesos-1.4.3.so",
        "mesos/libmesos.so",
        "extra/libmesos.so",
        "app.jar",
        "conf/spark-env.sh",
    ]);
    let ld = format!("{}:{}", path(&image, "versioned"), path(&image, "mesos"));
    let args = ["--master", MESOS, "app.jar"];
    let env = driver_env(&[("LD_LIBRARY_PATH", &ld)]);
    assert_eq!(driver(&env, &args, image.path()).run().code, 99);
    let (library, source) = shown(
        &dry_run(driver(&env, &args, image.path())),
        "mesos_native_library",
    );
    assert_eq!(library, path(&image, "mesos/libmesos.so"));
    assert!(
        source.contains(&format!(
            "the folder {} from LD_LIBRARY_PATH",
            path(&image, "mesos")
        )),
        "{source}"
    );

    let env = driver_env(&[("LD_LIBRARY_PATH", &path(&image, "versioned"))]);
    let extra = [
        "--driver-library-path",
        &path(&image, "extra"),
        "--master",
        MESOS,
        "app.jar",
    ];
    let (library, source) = shown(
        &dry_run(driver(&env, &extra, image.path())),
        "mesos_native_library",
    );
    assert_eq!(library, path(&image, "extra/libmesos.so"));
    assert!(source.contains("--driver-library-path"), "{source}");

    let script = format!(
        "MESOS_NATIVE_JAVA_LIBRARY={}\n",
        path(&image, "mesos/libmesos.so")
    );
    std::fs::write(image.path().join("conf/spark-env.sh"), script).unwrap();
    let env = driver_env(&[("SPARK_CONF_DIR", &path(&image, "conf"))]);
    let (library, source) = shown(
        &dry_run(driver(&env, &args, image.path())),
        "mesos_native_library",
    );
    assert_eq!(library, path(&image, "mesos/libmesos.so"));
    assert!(source.contains("(set by "), "{source}");
}

#[test]
fn no_libmesos_is_78_naming_the_variable_and_the_fix() {
    let image = files(&["versioned/libmesos-1.4.3.so", "app.jar"]);
    let env = driver_env(&[("LD_LIBRARY_PATH", &path(&image, "versioned"))]);
    let args = ["--master", MESOS, "app.jar"];
    for dry in ["0", "1"] {
        let out = driver(&env, &args, image.path())
            .env("SPARK_INIT_DRY_RUN", dry)
            .run();
        refused(&out);
        for said in [
            "MESOS_NATIVE_JAVA_LIBRARY: is not set, and no libmesos.so",
            &format!("{} (LD_LIBRARY_PATH)", path(&image, "versioned")),
            "UnsatisfiedLinkError: no mesos in java.library.path",
            "--build-arg LIBMESOS_DIR=",
        ] {
            assert!(out.stderr.contains(said), "{said}: {}", out.stderr);
        }
    }
    // A variable naming no file is that variable's problem, with its value.
    let missing = path(&image, "lib/libmesos.so");
    let env = driver_env(&[("MESOS_NATIVE_JAVA_LIBRARY", &missing)]);
    let out = driver(&env, &args, image.path()).run();
    refused(&out);
    let named = format!("MESOS_NATIVE_JAVA_LIBRARY=\"{missing}\": does not exist");
    assert!(out.stderr.contains(&named), "{}", out.stderr);
    // The master from --conf or the properties file counts as well.
    let conf = ["--conf", "spark.master=mesos://m:5050", "app.jar"];
    refused(&driver(&env, &conf, image.path()).run());
    let properties = image.path().join("mesos.conf");
    std::fs::write(&properties, "spark.master mesos://m:5050\n").unwrap();
    let from_file = ["--properties-file", properties.to_str().unwrap(), "app.jar"];
    refused(&driver(&env, &from_file, image.path()).run());
    // Not a Mesos master: nothing to load.
    let standalone = ["--master", "spark://master:7077", "app.jar"];
    assert_eq!(driver(&env, &standalone, image.path()).run().code, 99);
}

#[test]
fn an_application_spark_submit_reads_from_the_container_must_be_in_the_image() {
    let image = files(&["app/present.jar"]);
    let env = driver_env(&[]);
    let spark = ["--master", "spark://master:7077"];
    let run = |resource: &str| {
        let args: Vec<&str> = spark.iter().copied().chain([resource]).collect();
        driver(&env, &args, image.path()).run()
    };
    let missing = path(&image, "app/missing.jar");
    let out = run(&format!("local://{missing}"));
    refused(&out);
    let said = format!(
        "args=\"local://{missing}\": is the application resource, and {missing} does not \
         exist; for local: URLs the application jar must be in the image"
    );
    assert!(out.stderr.contains(&said), "{}", out.stderr);
    // A path without a scheme is a file here too, from the working directory.
    let out = run("app/missing.py");
    refused(&out);
    assert!(
        out.stderr.contains(&format!(
            "{} does not exist",
            path(&image, "app/missing.py")
        )),
        "{}",
        out.stderr
    );
    assert_eq!(run("app/present.jar").code, 99);
    assert_eq!(
        run(&format!("local:{}", path(&image, "app/present.jar"))).code,
        99
    );
    // Spark fetches these itself.
    assert_eq!(run("hdfs:///apps/stream.jar").code, 99);
    assert_eq!(run("https://repo.example/stream.jar").code, 99);
}

/// Review finding: a driver with no application resource passed, and spark-submit then exits 1
/// ("Error: Missing application resource.", seen with Spark 3.5.7) for ever under Marathon.
#[test]
fn a_driver_without_an_application_resource_is_refused_before_anything_starts() {
    let image = files(&[]);
    let env = driver_env(&[]);
    let out = driver(
        &env,
        &["--master", "spark://h:7077", "--class", "Main"],
        image.path(),
    )
    .run();
    refused(&out);
    assert!(
        out.stderr.contains("name no application resource")
            && out.stderr.contains("Missing application resource"),
        "{}",
        out.stderr
    );
}
