//! Kubernetes resource quantities (`250m`, `1`, `256Mi`, `8029564Ki`) as numbers: read once for
//! the rows sitrep keeps (requests, limits, metrics.k8s.io usage) and for the lab's stand-in.

/// A CPU quantity (`250m`, `1`, `0.5`, `137512345n`) in nanocores.
pub fn cpu_nanos(quantity: &str) -> Option<u64> {
    let (number, scale) = match quantity.char_indices().last()? {
        (i, 'n') => (&quantity[..i], 1.0),
        (i, 'u') => (&quantity[..i], 1e3),
        (i, 'm') => (&quantity[..i], 1e6),
        _ => (quantity, 1e9),
    };
    let value: f64 = number.parse().ok()?;
    (value.is_finite() && value >= 0.0).then(|| (value * scale).round() as u64)
}

/// A memory quantity (`256Mi`, `1Gi`, `512M`, `1048576`) in bytes.
pub fn memory_bytes(quantity: &str) -> Option<u64> {
    let split = quantity.find(|c: char| c.is_ascii_alphabetic()).unwrap_or(quantity.len());
    let (number, suffix) = quantity.split_at(split);
    let scale: f64 = match suffix {
        "" => 1.0,
        "Ki" => 1024.0,
        "Mi" => 1024f64.powi(2),
        "Gi" => 1024f64.powi(3),
        "Ti" => 1024f64.powi(4),
        "k" => 1e3,
        "M" => 1e6,
        "G" => 1e9,
        "T" => 1e12,
        _ => return None,
    };
    let value: f64 = number.parse().ok()?;
    (value.is_finite() && value >= 0.0).then(|| (value * scale).round() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantities_read_as_the_api_writes_them() {
        assert_eq!(cpu_nanos("250m"), Some(250_000_000));
        assert_eq!(cpu_nanos("2"), Some(2_000_000_000));
        assert_eq!(cpu_nanos("0.5"), Some(500_000_000));
        assert_eq!(cpu_nanos("137n"), Some(137));
        assert_eq!(memory_bytes("256Mi"), Some(256 << 20));
        assert_eq!(memory_bytes("8029564Ki"), Some(8_029_564 << 10));
        assert_eq!(memory_bytes("1G"), Some(1_000_000_000));
        assert_eq!(memory_bytes("lots"), None);
        assert_eq!(cpu_nanos("infm"), None, "a hostile quantity is no number");
        assert_eq!(memory_bytes("-1Mi"), None);
    }
}
