//! Secrets from Secrets Manager (ARNs) and SSM Parameter Store (names or ARNs).

use gdalert_delivery::{Failure, Secret, SecretSource};
use gdalert_pipeline::config::SecretRef;

use crate::sdk_error::{describe, is_retryable};

/// Reads secret references with the AWS SDK. Wrap in
/// [`gdalert_delivery::CachedSecrets`] to read each one once per TTL.
#[derive(Debug, Clone)]
pub struct AwsSecrets {
    secrets_manager: aws_sdk_secretsmanager::Client,
    ssm: aws_sdk_ssm::Client,
}

impl AwsSecrets {
    pub fn new(
        secrets_manager: aws_sdk_secretsmanager::Client,
        ssm: aws_sdk_ssm::Client,
    ) -> AwsSecrets {
        AwsSecrets {
            secrets_manager,
            ssm,
        }
    }
}

#[async_trait::async_trait]
impl SecretSource for AwsSecrets {
    async fn read(&self, reference: &SecretRef) -> Result<Secret, Failure> {
        let error = |reason: String, retryable: bool| {
            Failure::new(
                retryable,
                format!("cannot read secret {}: {reason}", reference.as_str()),
            )
        };
        match reference {
            SecretRef::SecretsManager(arn) => {
                let out = self
                    .secrets_manager
                    .get_secret_value()
                    .secret_id(arn)
                    .send()
                    .await
                    .map_err(|e| error(describe(&e), is_retryable(&e)))?;
                out.secret_string()
                    .map(Secret::new)
                    .ok_or_else(|| error("the secret has no string value".into(), false))
            }
            SecretRef::Parameter(name) => {
                let out = self
                    .ssm
                    .get_parameter()
                    .name(name)
                    .with_decryption(true)
                    .send()
                    .await
                    .map_err(|e| error(describe(&e), is_retryable(&e)))?;
                out.parameter()
                    .and_then(|p| p.value())
                    .map(Secret::new)
                    .ok_or_else(|| error("the parameter has no value".into(), false))
            }
        }
    }
}
