//! What the driver's user set: the app's args beat `spark-defaults.conf` (or the
//! `--properties-file`), as in spark-submit (`SparkSubmitArguments`).

use crate::facts::LocalFacts;
use crate::plan::role::from_defaults;
use crate::sourced::Sourced;
use crate::spark::submit::SubmitArgs;

pub struct UserSettings<'a> {
    pub args: &'a SubmitArgs,
    pub facts: &'a LocalFacts,
}

impl UserSettings<'_> {
    /// A Spark conf the user set, with where. `--total-executor-cores` is spark-submit's
    /// `spark.cores.max` and beats `--conf spark.cores.max` (`SparkSubmit` assigns it after the
    /// confs; checked with Spark 3.5.7's `spark-submit --verbose`).
    pub fn get(&self, key: &str) -> Option<Sourced<String>> {
        let option =
            match key {
                "spark.cores.max" => self.args.total_executor_cores.clone().map(|v| {
                    Sourced::new(v, "the app's args (--total-executor-cores)".to_string())
                }),
                crate::spark::submit::DRIVER_CLASS_PATH => self.args.driver_class_path.clone(),
                _ => None,
            };
        option
            .or_else(|| {
                self.args
                    .conf
                    .get(key)
                    .map(|v| Sourced::new(v.clone(), format!("the app's args (--conf {key})")))
            })
            .or_else(|| from_defaults(self.facts, key))
    }

    /// `--master`, else `spark.master`.
    pub fn master(&self) -> Option<Sourced<String>> {
        self.args
            .master
            .clone()
            .map(|m| Sourced::new(m, "the app's args (--master)"))
            .or_else(|| self.get("spark.master"))
    }

    /// `--deploy-mode`, else `spark.submit.deployMode`.
    pub fn deploy_mode(&self) -> Option<String> {
        self.args
            .deploy_mode
            .clone()
            .or_else(|| self.get("spark.submit.deployMode").map(|v| v.value))
    }

    /// A port the user set for `key` (args, then spark-defaults.conf), as text.
    pub fn port_text(&self, key: &str) -> Option<String> {
        self.args
            .conf
            .get(key)
            .cloned()
            .or_else(|| self.facts.defaults.get(key).map(String::from))
    }

    /// `spark.driver.defaultJavaOptions` (Spark ≥ 3.0), then `spark.driver.extraJavaOptions`,
    /// which `--driver-java-options` beats.
    pub fn java_confs(&self) -> Vec<(&'static str, Option<Sourced<String>>)> {
        let mut confs = Vec::new();
        if self.facts.spark.version.value.at_least(3, 0) {
            let key = "spark.driver.defaultJavaOptions";
            confs.push((key, self.get(key)));
        }
        let extra = self
            .args
            .driver_java_options
            .clone()
            .map(|v| Sourced::new(v, "the app's args (--driver-java-options)"))
            .or_else(|| self.get("spark.driver.extraJavaOptions"));
        confs.push(("spark.driver.extraJavaOptions", extra));
        confs
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::testing::local_facts;
    use std::ffi::OsString;

    fn args(words: &[&str]) -> SubmitArgs {
        let words: Vec<OsString> = words.iter().map(OsString::from).collect();
        let mut problems = Vec::new();
        let parsed = SubmitArgs::parse(&words, &mut problems);
        assert!(problems.is_empty(), "{problems:?}");
        parsed
    }

    /// Review of issue 17: `--total-executor-cores 4` is spark-submit's `spark.cores.max`, and
    /// wins over `--conf spark.cores.max`; the receiver barrier added its own `spark.cores.max`
    /// beside it, and the dry run showed a value spark-submit would not use.
    #[test]
    fn total_executor_cores_is_the_users_spark_cores_max() {
        let facts = local_facts("3.5.7", Some(17), &[("spark.cores.max", "8")]);
        let parsed = args(&[
            "--conf",
            "spark.cores.max=6",
            "--total-executor-cores",
            "4",
            "app.jar",
        ]);
        let user = UserSettings {
            args: &parsed,
            facts: &facts,
        };
        let set = user.get("spark.cores.max").unwrap();
        assert_eq!(set.value, "4");
        assert_eq!(set.source, "the app's args (--total-executor-cores)");
        let parsed = args(&["--total-executor-cores=3", "app.jar"]);
        let user = UserSettings {
            args: &parsed,
            facts: &facts,
        };
        assert_eq!(user.get("spark.cores.max").unwrap().value, "3");
    }
}
