//! Secrets by reference, resolved late and never shown.
//!
//! A [`Secret`] prints as `[redacted]` through `Debug` and `Display`, so a
//! secret cannot reach a log line, an error or dry-run output by accident;
//! the value is read only with [`Secret::expose`], at the point of use.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use gdalert_pipeline::config::SecretRef;
use gdalert_pipeline::Failure;

/// A secret value. Its `Debug` and `Display` never show it.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Secret {
        Secret(value.into())
    }

    /// The value, for the one place that needs it (a header, a URL, a login).
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("[redacted]")
    }
}

impl std::fmt::Display for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("[redacted]")
    }
}

/// Reads secrets (Secrets Manager, SSM Parameter Store, or a fixed map).
/// A failure names the reference, never a value.
#[async_trait::async_trait]
pub trait SecretSource: Send + Sync {
    async fn read(&self, reference: &SecretRef) -> Result<Secret, Failure>;
}

/// Fixed secrets keyed by reference: tests and local runs.
#[derive(Debug, Default)]
pub struct StaticSecrets(BTreeMap<String, Secret>);

impl StaticSecrets {
    pub fn new() -> StaticSecrets {
        StaticSecrets::default()
    }

    pub fn with(mut self, reference: &str, value: &str) -> StaticSecrets {
        self.0.insert(reference.to_string(), Secret::new(value));
        self
    }
}

#[async_trait::async_trait]
impl SecretSource for StaticSecrets {
    async fn read(&self, reference: &SecretRef) -> Result<Secret, Failure> {
        self.0.get(reference.as_str()).cloned().ok_or_else(|| {
            Failure::fatal(format!(
                "cannot read secret {}: not configured for this run",
                reference.as_str()
            ))
        })
    }
}

/// Caches another source's answers for `ttl`, so a warm Lambda reads each
/// secret once per TTL instead of once per alert, and rotation still lands.
pub struct CachedSecrets<S> {
    inner: S,
    ttl: Duration,
    cache: Mutex<BTreeMap<String, (Instant, Secret)>>,
}

impl<S> std::fmt::Debug for CachedSecrets<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CachedSecrets")
            .field("ttl", &self.ttl)
            .finish_non_exhaustive()
    }
}

impl<S: SecretSource> CachedSecrets<S> {
    pub fn new(inner: S, ttl: Duration) -> CachedSecrets<S> {
        CachedSecrets {
            inner,
            ttl,
            cache: Mutex::new(BTreeMap::new()),
        }
    }
}

#[async_trait::async_trait]
impl<S: SecretSource> SecretSource for CachedSecrets<S> {
    async fn read(&self, reference: &SecretRef) -> Result<Secret, Failure> {
        let key = reference.as_str();
        if let Ok(cache) = self.cache.lock() {
            if let Some((at, secret)) = cache.get(key) {
                if at.elapsed() < self.ttl {
                    return Ok(secret.clone());
                }
            }
        }
        let secret = self.inner.read(reference).await?;
        if let Ok(mut cache) = self.cache.lock() {
            cache.insert(key.to_string(), (Instant::now(), secret.clone()));
        }
        Ok(secret)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[test]
    fn a_secret_never_prints_its_value() {
        let s = Secret::new("xoxb-very-secret");
        assert_eq!(format!("{s}"), "[redacted]");
        assert_eq!(format!("{s:?}"), "[redacted]");
        assert_eq!(format!("{:?}", Some(&s)), "Some([redacted])");
        assert_eq!(s.expose(), "xoxb-very-secret");
    }

    struct Counting(AtomicUsize);

    #[async_trait::async_trait]
    impl SecretSource for Counting {
        async fn read(&self, _: &SecretRef) -> Result<Secret, Failure> {
            let n = self.0.fetch_add(1, Ordering::SeqCst);
            Ok(Secret::new(format!("v{n}")))
        }
    }

    #[tokio::test]
    async fn the_cache_reads_once_per_ttl() {
        let r = SecretRef::Parameter("/gdalert/x".into());
        let cached = CachedSecrets::new(Counting(AtomicUsize::new(0)), Duration::from_secs(60));
        assert_eq!(cached.read(&r).await.unwrap().expose(), "v0");
        assert_eq!(cached.read(&r).await.unwrap().expose(), "v0");
        let expired = CachedSecrets::new(Counting(AtomicUsize::new(0)), Duration::ZERO);
        assert_eq!(expired.read(&r).await.unwrap().expose(), "v0");
        assert_eq!(expired.read(&r).await.unwrap().expose(), "v1");
    }
}
