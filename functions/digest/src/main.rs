//! gdalert `alert-digest`: the scheduled digest of grouped, storm and flap-held alerts.

use gdalert_lambda::{App, Role};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    gdalert_lambda::init_tracing();
    let app = App::from_env(Role::Digest).await?;
    gdalert_lambda::run(app).await
}
