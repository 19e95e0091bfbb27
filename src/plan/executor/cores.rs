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
        return Some(whole_cores(cpus.value.value, what));
    }
    if let Some(limit) = &facts.cgroup.cpus {
        return Some(whole_cores(limit.value, limit.source.clone()));
    }
    Some(Sourced::new(
        facts.available_cpus,
        "CPUs available to the container",
    ))
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
}
