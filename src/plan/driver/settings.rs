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
    /// A Spark conf the user set, with where.
    pub fn get(&self, key: &str) -> Option<Sourced<String>> {
        self.args
            .conf
            .get(key)
            .map(|v| Sourced::new(v.clone(), format!("the app's args (--conf {key})")))
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
