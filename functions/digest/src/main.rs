//! gdalert `alert-digest`: the scheduled digest of grouped, storm and flap-held alerts.

use gdalert_lambda::Role;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    gdalert_lambda::main(Role::Digest).await
}
