//! The driver's RPC address as executors are given it (`--driver-url`).

use crate::spark::version::SparkVersion;

/// `spark://CoarseGrainedScheduler@host:port` (Spark's `RpcEndpointAddress`, which refuses
/// another scheme, a missing name, host or port, and any path, query or fragment); Spark 1.6
/// may also use Akka's `akka.tcp://sparkDriver@host:port/user/CoarseGrainedScheduler`. A bad
/// one is said by the part that is wrong (issue 18: every fault was "is incomplete").
pub fn check_driver_url(url: &str, version: SparkVersion) -> Result<(), String> {
    let fix = "write it as spark://CoarseGrainedScheduler@<host>:<port>";
    let rest = match url.split_once("://") {
        Some(("spark", rest)) => {
            if let Some(at) = rest.find(['/', '?', '#']) {
                return Err(format!(
                    "has {:?} after the port; a driver URL ends with the port: {fix}",
                    &rest[at..]
                ));
            }
            rest
        }
        Some(("akka.tcp", rest)) if version.major == 1 => rest.split('/').next().unwrap_or(""),
        Some(("akka.tcp", _)) => {
            return Err(format!(
                "is Spark 1.6's Akka form, and Spark {version} takes spark:// only; {fix}"
            ))
        }
        Some((scheme, _)) => {
            return Err(format!("has the scheme {scheme}://, not spark://; {fix}"))
        }
        None => return Err(format!("has no scheme (spark://); {fix}")),
    };
    let (name, address) = rest.split_once('@').ok_or_else(|| {
        format!("has no endpoint name before '@' (CoarseGrainedScheduler); {fix}")
    })?;
    if name.is_empty() {
        return Err(format!("has an empty endpoint name before '@'; {fix}"));
    }
    let (host, port) = address
        .rsplit_once(':')
        .filter(|(_, port)| !port.contains(']'))
        .ok_or_else(|| format!("has no port after the host {address:?}; {fix}"))?;
    if host.is_empty() {
        return Err(format!("has no host before ':{port}'; {fix}"));
    }
    match port.parse::<u16>() {
        Ok(p) if p >= 1 => Ok(()),
        _ => Err(format!(
            "has the port {port:?}, not a number from 1 to 65535; {fix}"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn driver_urls() {
        let v3 = SparkVersion::new(3, 5, 7);
        let v1 = SparkVersion::new(1, 6, 3);
        assert!(check_driver_url("spark://CoarseGrainedScheduler@10.0.0.5:7001", v3).is_ok());
        assert!(check_driver_url("spark://CoarseGrainedScheduler@[fd00::5]:7001", v3).is_ok());
        assert!(check_driver_url(
            "akka.tcp://sparkDriver@10.0.0.5:7001/user/CoarseGrainedScheduler",
            v1
        )
        .is_ok());
    }

    /// Issue 18: each fault named by its part (it was "is incomplete" whatever was wrong).
    #[test]
    fn a_bad_driver_url_names_the_part_that_is_wrong() {
        let v3 = SparkVersion::new(3, 5, 7);
        for (url, said) in [
            ("CoarseGrainedScheduler@h:7001", "has no scheme (spark://)"),
            (
                "http://10.0.0.5:7001",
                "has the scheme http://, not spark://",
            ),
            (
                "akka.tcp://sparkDriver@10.0.0.5:7001/user/CoarseGrainedScheduler",
                "is Spark 1.6's Akka form, and Spark 3.5.7 takes spark:// only",
            ),
            ("spark://h:7001", "has no endpoint name before '@'"),
            ("spark://@h:1", "has an empty endpoint name"),
            (
                "spark://CoarseGrainedScheduler@10.0.0.5",
                "has no port after the host \"10.0.0.5\"",
            ),
            (
                "spark://CoarseGrainedScheduler@[fd00::5]",
                "has no port after the host",
            ),
            (
                "spark://CoarseGrainedScheduler@:7001",
                "has no host before ':7001'",
            ),
            (
                "spark://CoarseGrainedScheduler@h:70000",
                "has the port \"70000\", not a number from 1 to 65535",
            ),
            ("spark://CoarseGrainedScheduler@h:0", "has the port \"0\""),
            ("spark://CoarseGrainedScheduler@h:x", "has the port \"x\""),
            (
                "spark://CoarseGrainedScheduler@h:7001/driver",
                "has \"/driver\" after the port",
            ),
            (
                "spark://CoarseGrainedScheduler@h:7001?x=1",
                "has \"?x=1\" after the port",
            ),
        ] {
            let error = check_driver_url(url, v3).unwrap_err();
            assert!(error.starts_with(said), "{url}: {error}");
            assert!(
                error.ends_with("spark://CoarseGrainedScheduler@<host>:<port>"),
                "{url}: {error}"
            );
        }
    }
}
