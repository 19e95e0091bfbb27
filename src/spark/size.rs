//! Spark's memory strings (`org.apache.spark.network.util.JavaUtils.byteStringAs`): an integer
//! with an optional unit `b`, `k`/`kb`, `m`/`mb`, `g`/`gb`, `t`/`tb`, `p`/`pb` (powers of 1024,
//! any case); no fractions ("Fractional values are not supported"). A bare number takes the
//! setting's default unit: MiB for `spark.executor.memory` and `...memoryOverhead`.

/// Parses `text` into MiB (rounded down, as Spark's `byteStringAsMb`).
pub fn parse_mib(text: &str) -> Result<u64, String> {
    let t = text.trim().to_ascii_lowercase();
    let digits = t.bytes().take_while(u8::is_ascii_digit).count();
    if digits == 0 {
        return Err("is not a size such as 4g or 512m".into());
    }
    let (number, unit) = t.split_at(digits);
    let n: u64 = number.parse().map_err(|_| "is too large".to_string())?;
    let shift_from_mib: i32 = match unit {
        "b" => -20,
        "k" | "kb" => -10,
        "" | "m" | "mb" => 0,
        "g" | "gb" => 10,
        "t" | "tb" => 20,
        "p" | "pb" => 30,
        other if other.starts_with('.') => {
            return Err("has a fraction; Spark refuses those: write 1536m, not 1.5g".into())
        }
        _ => return Err(format!("has an unknown unit {unit:?}; use k, m, g, t or p")),
    };
    if shift_from_mib < 0 {
        Ok(n >> (-shift_from_mib))
    } else {
        n.checked_mul(1 << shift_from_mib)
            .ok_or_else(|| "is too large".to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(parse_mib("4g"), Ok(4096));
        assert_eq!(parse_mib("4G"), Ok(4096));
        assert_eq!(parse_mib("512m"), Ok(512));
        assert_eq!(parse_mib("512"), Ok(512));
        assert_eq!(parse_mib("1048576k"), Ok(1024));
        assert_eq!(parse_mib("1t"), Ok(1 << 20));
        assert_eq!(parse_mib("2097152b"), Ok(2));
        assert!(parse_mib("1.5g").unwrap_err().contains("fraction"));
        assert!(parse_mib("lots").is_err());
        assert!(parse_mib("4x").unwrap_err().contains("unit"));
        assert!(parse_mib("").is_err());
    }
}
