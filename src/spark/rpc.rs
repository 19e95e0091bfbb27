//! The driver's RPC address as executors are given it (`--driver-url`).

use crate::spark::version::SparkVersion;

/// `spark://CoarseGrainedScheduler@host:port` (Spark's `RpcEndpointAddress`); Spark 1.6 may
/// also use Akka's `akka.tcp://sparkDriver@host:port/user/CoarseGrainedScheduler`.
pub fn check_driver_url(url: &str, version: SparkVersion) -> Result<(), String> {
    let fix = "write it as spark://CoarseGrainedScheduler@<host>:<port>";
    let rest = if let Some(rest) = url.strip_prefix("spark://") {
        rest
    } else if let (Some(rest), 1) = (url.strip_prefix("akka.tcp://"), version.major) {
        rest.split('/').next().unwrap_or_default()
    } else {
        return Err(format!("is not a Spark driver URL; {fix}"));
    };
    let (name, address) = rest
        .split_once('@')
        .ok_or_else(|| format!("has no endpoint name before '@'; {fix}"))?;
    let (host, port) = address
        .rsplit_once(':')
        .ok_or_else(|| format!("has no port; {fix}"))?;
    if name.is_empty() || host.is_empty() || port.parse::<u16>().map_or(true, |p| p == 0) {
        return Err(format!("is incomplete; {fix}"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn driver_urls() {
        let v3 = SparkVersion::new(3, 5, 7);
        let v1 = SparkVersion::new(1, 6, 3);
        assert!(check_driver_url("spark://CoarseGrainedScheduler@10.0.0.5:7001", v3).is_ok());
        assert!(check_driver_url("spark://CoarseGrainedScheduler@10.0.0.5", v3).is_err());
        assert!(check_driver_url("http://10.0.0.5:7001", v3).is_err());
        assert!(check_driver_url("spark://@h:1", v3).is_err());
        assert!(check_driver_url(
            "akka.tcp://sparkDriver@10.0.0.5:7001/user/CoarseGrainedScheduler",
            v1
        )
        .is_ok());
        assert!(check_driver_url("akka.tcp://sparkDriver@10.0.0.5:7001/user/x", v3).is_err());
    }
}
