//! `gdalert state create-table`: the functions' state table, created with
//! exactly the template's schema (`pk`, the `due-index` GSI, TTL on `ttl`)
//! against whatever endpoint the AWS configuration names: a real account,
//! DynamoDB Local, or a local AWS API server (`AWS_ENDPOINT_URL`). For
//! running the functions locally against DynamoDB.

use std::process::ExitCode;

use anyhow::Result;
use clap::{Args, Subcommand};
use gdalert_aws::{AwsClients, DynamoStore};

#[derive(Debug, Subcommand)]
pub enum StateCommand {
    /// Create the state table (as `infra/template.yaml` does).
    CreateTable(CreateTableArgs),
}

#[derive(Debug, Args)]
pub struct CreateTableArgs {
    /// The table name (the functions' `GDALERT_STATE_TABLE`).
    #[arg(long)]
    table: String,
}

pub async fn run(cmd: StateCommand) -> Result<ExitCode> {
    match cmd {
        StateCommand::CreateTable(args) => {
            let aws = AwsClients::load().await;
            let store = DynamoStore::new(aws.dynamodb.clone(), &args.table);
            store
                .create_table()
                .await
                .map_err(|e| anyhow::anyhow!("cannot create table {}: {e}", args.table))?;
            crate::out!(
                "created table {} (key pk, index {}, TTL on ttl); set GDALERT_STATE_TABLE={}",
                args.table,
                gdalert_aws::dynamodb::DUE_INDEX,
                args.table
            )?;
            Ok(ExitCode::SUCCESS)
        }
    }
}
