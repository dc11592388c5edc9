//! Timestamps as GuardDuty writes them: ISO 8601 text, or epoch numbers whose
//! unit is only known from their size.

use std::fmt;

use chrono::{DateTime, TimeZone, Utc};
use serde::de::{self, Deserializer, Visitor};
use serde::Deserialize;

/// A UTC instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(pub DateTime<Utc>);

impl Timestamp {
    /// Reads epoch seconds, milliseconds, microseconds or nanoseconds, told
    /// apart by magnitude (seconds until the year 5138, and so on).
    pub fn from_epoch(value: f64) -> Option<Timestamp> {
        if !value.is_finite() || value < 0.0 {
            return None;
        }
        let nanos = if value < 1e11 {
            value * 1e9
        } else if value < 1e14 {
            value * 1e6
        } else if value < 1e17 {
            value * 1e3
        } else {
            value
        };
        let secs = (nanos / 1e9).floor();
        // A float64 near 1.7e9 seconds resolves about 0.2 µs: round to 1 µs
        // so `1717401173897` ms does not print as `...896999936`.
        let micros = ((nanos - secs * 1e9) / 1e3).round().clamp(0.0, 999_999.0);
        Utc.timestamp_opt(secs as i64, micros as u32 * 1000)
            .single()
            .map(Timestamp)
    }

    /// Integer epoch values, without float rounding.
    pub fn from_epoch_int(value: u64) -> Option<Timestamp> {
        let (secs, nanos) = if value < 100_000_000_000 {
            (value, 0)
        } else if value < 100_000_000_000_000 {
            (value / 1_000, (value % 1_000) * 1_000_000)
        } else if value < 100_000_000_000_000_000 {
            (value / 1_000_000, (value % 1_000_000) * 1_000)
        } else {
            (value / 1_000_000_000, value % 1_000_000_000)
        };
        Utc.timestamp_opt(i64::try_from(secs).ok()?, nanos as u32)
            .single()
            .map(Timestamp)
    }

    /// Reads RFC 3339 text (`2024-05-31T09:29:28Z`, `...28.123Z`, offsets).
    pub fn parse(text: &str) -> Option<Timestamp> {
        if let Ok(t) = DateTime::parse_from_rfc3339(text) {
            return Some(Timestamp(t.with_timezone(&Utc)));
        }
        // Normalised exports drop the `T` and the zone; such times are UTC.
        for format in ["%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%dT%H:%M:%S%.f"] {
            if let Ok(t) = chrono::NaiveDateTime::parse_from_str(text, format) {
                return Some(Timestamp(t.and_utc()));
            }
        }
        // Numbers sometimes arrive quoted.
        let text = text.trim();
        match text.parse::<u64>() {
            Ok(n) => Timestamp::from_epoch_int(n),
            Err(_) => text.parse::<f64>().ok().and_then(Timestamp::from_epoch),
        }
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}",
            self.0.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)
        )
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Timestamp;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an ISO 8601 timestamp or epoch seconds, milliseconds or microseconds")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Timestamp, E> {
                Timestamp::parse(v)
                    .ok_or_else(|| E::custom(format!("`{v}` is not an ISO 8601 timestamp")))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Timestamp, E> {
                Timestamp::from_epoch(v)
                    .ok_or_else(|| E::custom(format!("{v} is not an epoch time")))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Timestamp, E> {
                Timestamp::from_epoch_int(v)
                    .ok_or_else(|| E::custom(format!("{v} is not an epoch time")))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Timestamp, E> {
                let v = u64::try_from(v).map_err(|_| E::custom(format!("{v} is before 1970")))?;
                self.visit_u64(v)
            }
        }
        d.deserialize_any(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn epoch_units_are_told_apart_by_size() {
        let secs = Timestamp::from_epoch(1_717_147_358.0).unwrap();
        let millis = Timestamp::from_epoch(1_717_147_358_000.0).unwrap();
        let micros = Timestamp::from_epoch(1_717_147_358_000_000.0).unwrap();
        assert_eq!(secs, millis);
        assert_eq!(millis, micros);
        assert_eq!(secs.to_string(), "2024-05-31T09:22:38Z");
    }

    #[test]
    fn iso_text_and_e_notation() {
        assert_eq!(
            Timestamp::parse("2024-05-31T09:29:28.500Z")
                .unwrap()
                .to_string(),
            "2024-05-31T09:29:28.500Z"
        );
        let t: Timestamp = serde_json::from_str("1.716854656938E9").unwrap();
        assert_eq!(t.0.timestamp(), 1_716_854_656);
        assert!(serde_json::from_str::<Timestamp>("\"yesterday\"").is_err());
    }
}
