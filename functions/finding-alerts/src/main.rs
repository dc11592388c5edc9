//! gdalert `finding-alerts`: GuardDuty findings (target of the finding rules).

use gdalert_lambda::{App, Role};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    gdalert_lambda::init_tracing();
    let app = App::from_env(Role::Findings).await?;
    gdalert_lambda::run(app).await
}
