//! gdalert `coverage-alerts`: Runtime Protection Unhealthy / Healthy (target of the coverage rules).

use gdalert_lambda::Role;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    gdalert_lambda::main(Role::Coverage).await
}
