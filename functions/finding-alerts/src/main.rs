//! gdalert `finding-alerts`: GuardDuty findings (target of the finding rules).

use gdalert_lambda::Role;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    gdalert_lambda::main(Role::Findings).await
}
