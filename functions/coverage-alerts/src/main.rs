//! gdalert `coverage-alerts`: Runtime Protection Unhealthy / Healthy (target of the coverage rules).

use gdalert_lambda::{App, Role};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    gdalert_lambda::init_tracing();
    let app = App::from_env(Role::Coverage).await?;
    gdalert_lambda::run(app).await
}
