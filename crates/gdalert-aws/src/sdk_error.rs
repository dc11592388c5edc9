//! One verdict for every AWS SDK error: retry or not.

use aws_sdk_sns::config::http::HttpResponse;
use aws_sdk_sns::error::{ProvideErrorMetadata, SdkError};
use gdalert_delivery::Failure;

/// Error codes AWS services use for "slow down" or "our fault".
const RETRYABLE_CODES: &[&str] = &[
    "Throttling",
    "ThrottlingException",
    "ThrottledException",
    "TooManyRequestsException",
    "RequestLimitExceeded",
    "RequestThrottled",
    "ProvisionedThroughputExceededException",
    "TransactionInProgressException",
    "KMSThrottlingException",
    "ServiceUnavailable",
    "ServiceUnavailableException",
    "InternalError",
    "InternalFailure",
    "InternalServerError",
    "InternalErrorException",
    "InternalServiceError",
    "InternalException",
    "RequestTimeout",
    "RequestTimeoutException",
];

/// Whether an SDK error is worth retrying: timeouts, connection failures,
/// throttling and 5xx are; anything else (access denied, not found, bad
/// parameter) is a configuration problem.
pub fn is_retryable<E>(err: &SdkError<E, HttpResponse>) -> bool
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    match err {
        // A missing region or no credentials anywhere is a dispatch
        // failure that no retry mends.
        SdkError::DispatchFailure(_) => {
            let cause = innermost(err).to_lowercase();
            !(cause.contains("credentials") || cause.contains("region"))
        }
        SdkError::TimeoutError(_) | SdkError::ResponseError(_) => true,
        SdkError::ServiceError(ctx) => {
            let code = ctx.err().code().unwrap_or_default();
            let status = ctx.raw().status().as_u16();
            RETRYABLE_CODES.contains(&code) || status == 429 || status >= 500
        }
        _ => false,
    }
}

/// The innermost cause of an error: it says it best ("Connection refused",
/// "Missing Region").
fn innermost(err: &(dyn std::error::Error + 'static)) -> String {
    let mut cause = err;
    while let Some(next) = cause.source() {
        cause = next;
    }
    cause.to_string()
}

/// One line for people: the service's code and message, or the innermost
/// cause with what to set. Never the SDK's multi-line debug form (which can
/// carry request details).
pub fn describe<E>(err: &SdkError<E, HttpResponse>) -> String
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    let text = match err {
        SdkError::ServiceError(ctx) => {
            let code = ctx.err().code().unwrap_or("error");
            let hint = match code {
                "AccessDenied"
                | "AccessDeniedException"
                | "AuthorizationError"
                | "AuthorizationErrorException" => {
                    " (the role lacks this permission: see the template's policies)"
                }
                "ResourceNotFoundException" | "NotFound" | "NotFoundException" => {
                    " (check the name or ARN, and the region)"
                }
                _ => "",
            };
            format!(
                "{code}: {}{hint}",
                ctx.err().message().unwrap_or("(no message)")
            )
        }
        SdkError::TimeoutError(_) => "no answer in time".to_string(),
        other => {
            let cause = innermost(other);
            let lower = cause.to_lowercase();
            let hint = if lower.contains("region") {
                " (set AWS_REGION)"
            } else if lower.contains("credentials") {
                " (set AWS credentials: AWS_PROFILE, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY; deployed, the function's role)"
            } else {
                ""
            };
            format!("{cause}{hint}")
        }
    };
    text.lines().next().unwrap_or_default().to_string()
}

/// The attempt failure for an SDK error, in one line.
pub fn failure<E>(service: &str, err: &SdkError<E, HttpResponse>) -> Failure
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    let message = format!("{service}: {}", describe(err));
    if is_retryable(err) {
        Failure::retry(message)
    } else {
        Failure::fatal(message)
    }
}
