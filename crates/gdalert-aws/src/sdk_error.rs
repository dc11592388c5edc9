//! One verdict for every AWS SDK error: retry or not.

use aws_sdk_sns::config::http::HttpResponse;
use aws_sdk_sns::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
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
    E: ProvideErrorMetadata,
{
    match err {
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) | SdkError::ResponseError(_) => {
            true
        }
        SdkError::ServiceError(ctx) => {
            let code = ctx.err().code().unwrap_or_default();
            let status = ctx.raw().status().as_u16();
            RETRYABLE_CODES.contains(&code) || status == 429 || status >= 500
        }
        _ => false,
    }
}

/// The attempt failure for an SDK error, with the full error chain.
pub fn failure<E>(service: &str, err: &SdkError<E, HttpResponse>) -> Failure
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    let message = format!("{service}: {}", DisplayErrorContext(err));
    if is_retryable(err) {
        Failure::retry(message)
    } else {
        Failure::fatal(message)
    }
}
