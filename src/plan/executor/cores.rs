//! `--cores`: `SPARK_EXECUTOR_CORES`, else Marathon's cpus, else the cgroup quota, else the
//! CPUs available; fractions rounded down, at least 1.

use crate::config::role::RoleConfig;
use crate::config::task_env::MAX_CPUS;
use crate::facts::LocalFacts;
use crate::plan::Findings;
use crate::sourced::Sourced;

pub fn executor_cores(
    config: &RoleConfig,
    facts: &LocalFacts,
    findings: &mut Findings,
) -> Option<Sourced<u32>> {
    if let Some(cores) = &config.executor_cores {
        return match cores.value.parse::<u32>() {
            Ok(n) if n >= 1 && f64::from(n) <= MAX_CPUS => {
                Some(Sourced::new(n, cores.source.clone()))
            }
            _ => {
                findings.problem(
                    &cores.source,
                    Some(&cores.value),
                    format!("is not a whole number of cores from 1 to {MAX_CPUS}"),
                );
                None
            }
        };
    }
    if let Some(cpus) = &config.task.cpus {
        let what = format!("{}={}", cpus.source, cpus.value.written);
        warn_below_one(cpus.value.value, &what, findings);
        return Some(whole_cores(cpus.value.value, what));
    }
    if let Some(limit) = &facts.cgroup.cpus {
        warn_below_one(limit.value, &limit.source, findings);
        return Some(whole_cores(limit.value, limit.source.clone()));
    }
    Some(Sourced::new(
        facts.available_cpus,
        "CPUs available to the container",
    ))
}

/// Below one CPU, Spark still runs a task per core it is given (`--cores 1`), and the kernel
/// throttles it to the share: say so, since the task's slowness shows nowhere else.
fn warn_below_one(cpus: f64, what: &str, findings: &mut Findings) {
    if cpus < 1.0 {
        findings.warn(format!(
            "{what} is less than one CPU: the executor gets --cores 1, and Spark runs a task on \
             a {cpus} share of a CPU, throttled by the kernel (CFS quota); give the app cpus of \
             at least 1, or set SPARK_EXECUTOR_CORES to say so on purpose"
        ));
    }
}

/// A fractional CPU share as Spark's whole cores: rounded down, at least 1.
pub(crate) fn whole_cores(cpus: f64, what: String) -> Sourced<u32> {
    if cpus > MAX_CPUS {
        return Sourced::new(
            MAX_CPUS as u32,
            format!("{what} (above {MAX_CPUS}: {MAX_CPUS})"),
        );
    }
    let whole = cpus.floor();
    if whole < 1.0 {
        Sourced::new(1, format!("{what} (below 1: 1)"))
    } else if whole < cpus {
        Sourced::new(whole as u32, format!("{what} (rounded down)"))
    } else {
        Sourced::new(whole as u32, what)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fractions_round_down_to_at_least_one() {
        assert_eq!(
            whole_cores(2.5, "x".into()),
            Sourced::new(2, "x (rounded down)")
        );
        assert_eq!(whole_cores(8.0, "x".into()), Sourced::new(8, "x"));
        assert_eq!(
            whole_cores(0.0001, "x".into()),
            Sourced::new(1, "x (below 1: 1)")
        );
    }

    /// Issue 18: `MARATHON_APP_RESOURCE_CPUS=0.1` became `--cores 1` silently.
    #[test]
    fn below_one_cpu_is_a_warning_naming_the_share() {
        let mut findings = Findings::default();
        warn_below_one(0.1, "MARATHON_APP_RESOURCE_CPUS=0.1", &mut findings);
        assert_eq!(findings.warnings.len(), 1);
        let warning = &findings.warnings[0];
        assert!(
            warning.contains("MARATHON_APP_RESOURCE_CPUS=0.1 is less than one CPU"),
            "{warning}"
        );
        assert!(warning.contains("a 0.1 share"), "{warning}");
        let mut findings = Findings::default();
        warn_below_one(1.0, "MARATHON_APP_RESOURCE_CPUS=1.0", &mut findings);
        assert!(findings.warnings.is_empty());
    }
}
