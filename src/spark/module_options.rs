//! The JVM module options Spark's launcher adds on Java 17+, one list per Spark line: what
//! `spark-class` puts on every JVM it starts (`org.apache.spark.launcher.JavaModuleOptions.
//! defaultModuleOptions()`, since 3.3). Without them an executor on Java 17 dies with
//! `IllegalAccessError` (e.g. `sun.nio.ch.DirectBuffer`).
//!
//! Each list is copied from that line's released `spark-launcher` jar (PyPI pyspark, built from
//! the tag `v<version>`): the oracle test `module_options_match_sparks_launcher` reads it from the
//! jars of the releases the tests install (3.5.7, 4.3.0); the others were read the same way from
//! PyPI pyspark 4.0.0, 4.0.5, 4.1.0, 4.1.4, 4.2.0 and 4.2.1 (the patch releases of a line carry
//! the same list). Every list starts with `-XX:+IgnoreUnrecognizedVMOptions`, which is what lets
//! Java 17 accept options of later JDKs (`--sun-misc-unsafe-memory-access`, JDK 23); the oracle
//! test `java_17_starts_with_every_module_option_list` runs `java <list> -version` for each.
//! None of these releases varies its list with the JVM it runs on (checked on Java 17 and 25).

use crate::spark::version::SparkVersion;

/// Spark 3.3–3.5 (v3.5.7). The list of 3.5 is a superset of 3.3's and 3.4's, and harmless on
/// them.
pub const SPARK_3_5: &[&str] = &[
    "-XX:+IgnoreUnrecognizedVMOptions",
    "--add-opens=java.base/java.lang=ALL-UNNAMED",
    "--add-opens=java.base/java.lang.invoke=ALL-UNNAMED",
    "--add-opens=java.base/java.lang.reflect=ALL-UNNAMED",
    "--add-opens=java.base/java.io=ALL-UNNAMED",
    "--add-opens=java.base/java.net=ALL-UNNAMED",
    "--add-opens=java.base/java.nio=ALL-UNNAMED",
    "--add-opens=java.base/java.util=ALL-UNNAMED",
    "--add-opens=java.base/java.util.concurrent=ALL-UNNAMED",
    "--add-opens=java.base/java.util.concurrent.atomic=ALL-UNNAMED",
    "--add-opens=java.base/jdk.internal.ref=ALL-UNNAMED",
    "--add-opens=java.base/sun.nio.ch=ALL-UNNAMED",
    "--add-opens=java.base/sun.nio.cs=ALL-UNNAMED",
    "--add-opens=java.base/sun.security.action=ALL-UNNAMED",
    "--add-opens=java.base/sun.util.calendar=ALL-UNNAMED",
    "--add-opens=java.security.jgss/sun.security.krb5=ALL-UNNAMED",
    "-Djdk.reflect.useDirectMethodHandle=false",
];

/// Spark 4.0 (v4.0.0, v4.0.5): 3.5's, plus the Vector API module and Netty's reflection.
pub const SPARK_4_0: &[&str] = &[
    "-XX:+IgnoreUnrecognizedVMOptions",
    "--add-modules=jdk.incubator.vector",
    "--add-opens=java.base/java.lang=ALL-UNNAMED",
    "--add-opens=java.base/java.lang.invoke=ALL-UNNAMED",
    "--add-opens=java.base/java.lang.reflect=ALL-UNNAMED",
    "--add-opens=java.base/java.io=ALL-UNNAMED",
    "--add-opens=java.base/java.net=ALL-UNNAMED",
    "--add-opens=java.base/java.nio=ALL-UNNAMED",
    "--add-opens=java.base/java.util=ALL-UNNAMED",
    "--add-opens=java.base/java.util.concurrent=ALL-UNNAMED",
    "--add-opens=java.base/java.util.concurrent.atomic=ALL-UNNAMED",
    "--add-opens=java.base/jdk.internal.ref=ALL-UNNAMED",
    "--add-opens=java.base/sun.nio.ch=ALL-UNNAMED",
    "--add-opens=java.base/sun.nio.cs=ALL-UNNAMED",
    "--add-opens=java.base/sun.security.action=ALL-UNNAMED",
    "--add-opens=java.base/sun.util.calendar=ALL-UNNAMED",
    "--add-opens=java.security.jgss/sun.security.krb5=ALL-UNNAMED",
    "-Djdk.reflect.useDirectMethodHandle=false",
    "-Dio.netty.tryReflectionSetAccessible=true",
];

/// Spark 4.1 (v4.1.0, v4.1.4): 4.0's, plus Netty's pooled allocator, no SSL endpoint
/// verification default, and native access for the unnamed module.
pub const SPARK_4_1: &[&str] = &[
    "-XX:+IgnoreUnrecognizedVMOptions",
    "--add-modules=jdk.incubator.vector",
    "--add-opens=java.base/java.lang=ALL-UNNAMED",
    "--add-opens=java.base/java.lang.invoke=ALL-UNNAMED",
    "--add-opens=java.base/java.lang.reflect=ALL-UNNAMED",
    "--add-opens=java.base/java.io=ALL-UNNAMED",
    "--add-opens=java.base/java.net=ALL-UNNAMED",
    "--add-opens=java.base/java.nio=ALL-UNNAMED",
    "--add-opens=java.base/java.util=ALL-UNNAMED",
    "--add-opens=java.base/java.util.concurrent=ALL-UNNAMED",
    "--add-opens=java.base/java.util.concurrent.atomic=ALL-UNNAMED",
    "--add-opens=java.base/jdk.internal.ref=ALL-UNNAMED",
    "--add-opens=java.base/sun.nio.ch=ALL-UNNAMED",
    "--add-opens=java.base/sun.nio.cs=ALL-UNNAMED",
    "--add-opens=java.base/sun.security.action=ALL-UNNAMED",
    "--add-opens=java.base/sun.util.calendar=ALL-UNNAMED",
    "--add-opens=java.security.jgss/sun.security.krb5=ALL-UNNAMED",
    "-Djdk.reflect.useDirectMethodHandle=false",
    "-Dio.netty.tryReflectionSetAccessible=true",
    "-Dio.netty.allocator.type=pooled",
    "-Dio.netty.handler.ssl.defaultEndpointVerificationAlgorithm=NONE",
    "--enable-native-access=ALL-UNNAMED",
];

/// Spark 4.2 (v4.2.0, v4.2.1): 4.1's without `-Djdk.reflect.useDirectMethodHandle=false`, with
/// `--sun-misc-unsafe-memory-access=allow` (JDK 23+; Java 17 skips it only because of
/// `-XX:+IgnoreUnrecognizedVMOptions`) before `--enable-native-access`.
pub const SPARK_4_2: &[&str] = &[
    "-XX:+IgnoreUnrecognizedVMOptions",
    "--add-modules=jdk.incubator.vector",
    "--add-opens=java.base/java.lang=ALL-UNNAMED",
    "--add-opens=java.base/java.lang.invoke=ALL-UNNAMED",
    "--add-opens=java.base/java.lang.reflect=ALL-UNNAMED",
    "--add-opens=java.base/java.io=ALL-UNNAMED",
    "--add-opens=java.base/java.net=ALL-UNNAMED",
    "--add-opens=java.base/java.nio=ALL-UNNAMED",
    "--add-opens=java.base/java.util=ALL-UNNAMED",
    "--add-opens=java.base/java.util.concurrent=ALL-UNNAMED",
    "--add-opens=java.base/java.util.concurrent.atomic=ALL-UNNAMED",
    "--add-opens=java.base/jdk.internal.ref=ALL-UNNAMED",
    "--add-opens=java.base/sun.nio.ch=ALL-UNNAMED",
    "--add-opens=java.base/sun.nio.cs=ALL-UNNAMED",
    "--add-opens=java.base/sun.security.action=ALL-UNNAMED",
    "--add-opens=java.base/sun.util.calendar=ALL-UNNAMED",
    "--add-opens=java.security.jgss/sun.security.krb5=ALL-UNNAMED",
    "-Dio.netty.tryReflectionSetAccessible=true",
    "-Dio.netty.allocator.type=pooled",
    "-Dio.netty.handler.ssl.defaultEndpointVerificationAlgorithm=NONE",
    "--sun-misc-unsafe-memory-access=allow",
    "--enable-native-access=ALL-UNNAMED",
];

/// Spark 4.3 (v4.3.0): unchanged from 4.2.
pub const SPARK_4_3: &[&str] = SPARK_4_2;

/// Each line's list, from that line on: a release takes the list of the last line at or
/// below it, so a 4.x newer than spark-init knows gets the newest known list.
pub const LINES: &[((u32, u32), &[&str])] = &[
    ((3, 3), SPARK_3_5),
    ((4, 0), SPARK_4_0),
    ((4, 1), SPARK_4_1),
    ((4, 2), SPARK_4_2),
    ((4, 3), SPARK_4_3),
];

/// What `spark-class` of `version` adds on Java 17+; nothing before Spark 3.3.
pub fn for_version(version: SparkVersion) -> &'static [&'static str] {
    LINES
        .iter()
        .rev()
        .find(|((major, minor), _)| version.at_least(*major, *minor))
        .map_or(&[], |(_, options)| options)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn of(version: &str) -> &'static [&'static str] {
        for_version(SparkVersion::parse(version).unwrap())
    }

    #[test]
    fn each_line_gets_its_own_list() {
        assert!(of("3.2.4").is_empty());
        assert_eq!(of("3.3.0"), SPARK_3_5);
        assert_eq!(of("3.5.7"), SPARK_3_5);
        assert_eq!(of("4.0.0"), SPARK_4_0);
        assert_eq!(of("4.0.5"), SPARK_4_0);
        assert_eq!(of("4.1.4"), SPARK_4_1);
        assert_eq!(of("4.2.1"), SPARK_4_2);
        assert_eq!(of("4.3.0"), SPARK_4_3);
        // A newer 4.x runs with the newest list spark-init knows.
        assert_eq!(of("4.4.0"), SPARK_4_3);
    }

    /// The differences between the lines, as the launcher jars show them.
    #[test]
    fn the_lines_differ_where_spark_changed_them() {
        let added = |from: &[&str], to: &[&str]| -> Vec<String> {
            to.iter()
                .filter(|o| !from.contains(o))
                .map(|o| o.to_string())
                .collect()
        };
        assert_eq!(
            added(SPARK_3_5, SPARK_4_0),
            [
                "--add-modules=jdk.incubator.vector",
                "-Dio.netty.tryReflectionSetAccessible=true"
            ]
        );
        assert_eq!(
            added(SPARK_4_0, SPARK_4_1),
            [
                "-Dio.netty.allocator.type=pooled",
                "-Dio.netty.handler.ssl.defaultEndpointVerificationAlgorithm=NONE",
                "--enable-native-access=ALL-UNNAMED"
            ]
        );
        assert_eq!(
            added(SPARK_4_1, SPARK_4_2),
            ["--sun-misc-unsafe-memory-access=allow"]
        );
        assert_eq!(
            added(SPARK_4_2, SPARK_4_1),
            ["-Djdk.reflect.useDirectMethodHandle=false"]
        );
        for (_, options) in LINES {
            assert_eq!(options[0], "-XX:+IgnoreUnrecognizedVMOptions");
        }
    }
}
