//! `gdalert redrive` against the local AWS API server: dead letters of both
//! shapes are delivered once and deleted; what cannot be handled stays. And
//! `gdalert silence` against the deployed table.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;
use std::process::Command;

use gdalert_aws::{AwsClients, DynamoStore};
use gdalert_testkit::aws::{queue, receive, topic_with_queue};
use gdalert_testkit::{fixture, moto_url, sdk_config, unique};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

#[tokio::test]
async fn redrive_delivers_dead_letters_once_and_keeps_what_it_cannot_handle() {
    let config = sdk_config(&moto_url()).await;
    let aws = AwsClients::from_config(&config);
    let sqs = aws_sdk_sqs::Client::new(&config);
    let table = unique("redrive-state");
    DynamoStore::new(aws.dynamodb.clone(), &table)
        .create_table()
        .await
        .unwrap();
    let (topic, alerts) = topic_with_queue(&aws.sns, &sqs, "redrive").await;
    let (dlq, _) = queue(&sqs, "dlq").await;

    let c2 = fixture("runtime-fargate-c2-high.json");
    let shell = fixture("runtime-eks-reverse-shell-high.json");
    let lambda_record = format!(
        r#"{{"version":"1.0","requestContext":{{"condition":"RetriesExhausted"}},"requestPayload":{c2},"responsePayload":{{"errorType":"gdalert.Retryable"}}}}"#
    );
    for body in [lambda_record.as_str(), shell.as_str(), "not json at all"] {
        sqs.send_message()
            .queue_url(&dlq)
            .message_body(body)
            .send()
            .await
            .unwrap();
    }

    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("routes.toml"),
        "[destinations.topic]\nkind = \"sns\"\ntopic_arn = \"${GDALERT_TOPIC_ARN}\"\n\n[[routes]]\nname = \"all\"\ndestinations = [\"topic\"]\n",
    )
    .unwrap();
    let run = || {
        let (dlq, table, dir, topic) = (
            dlq.clone(),
            table.clone(),
            dir.path().to_path_buf(),
            topic.clone(),
        );
        tokio::task::spawn_blocking(move || {
            Command::new(env!("CARGO_BIN_EXE_gdalert"))
                .args([
                    "redrive",
                    "--queue-url",
                    &dlq,
                    "--state-table",
                    &table,
                    "--patterns",
                ])
                .arg(&dir)
                .current_dir(root())
                .env("GDALERT_TOPIC_ARN", &topic)
                .env("AWS_ENDPOINT_URL", moto_url())
                .env("AWS_REGION", "us-east-1")
                .env("AWS_ACCESS_KEY_ID", "testing")
                .env("AWS_SECRET_ACCESS_KEY", "testing")
                .output()
                .unwrap()
        })
    };
    let first = run().await.unwrap();
    let stderr = String::from_utf8_lossy(&first.stderr);
    assert_eq!(first.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("2 redriven, 1 kept"), "{stderr}");
    assert_eq!(
        receive(&sqs, &alerts).await.len(),
        2,
        "one alert per redriven event"
    );

    // The garbage is still there (visible again after its timeout); the two
    // handled events are gone, so a second redrive posts nothing new.
    let left = sqs
        .get_queue_attributes()
        .queue_url(&dlq)
        .attribute_names(
            aws_sdk_sqs::types::QueueAttributeName::ApproximateNumberOfMessagesNotVisible,
        )
        .attribute_names(aws_sdk_sqs::types::QueueAttributeName::ApproximateNumberOfMessages)
        .send()
        .await
        .unwrap();
    let count: usize = left
        .attributes()
        .unwrap()
        .values()
        .map(|v| v.parse::<usize>().unwrap())
        .sum();
    assert_eq!(count, 1, "only the unreadable dead letter is kept");
}

#[tokio::test]
async fn state_create_table_makes_the_templates_table_the_functions_can_use() {
    let table = unique("gdalert-created");
    let name = table.clone();
    let out = tokio::task::spawn_blocking(move || {
        Command::new(env!("CARGO_BIN_EXE_gdalert"))
            .args(["state", "create-table", "--table", &name])
            .current_dir(root())
            .env("AWS_ENDPOINT_URL", moto_url())
            .env("AWS_REGION", "us-east-1")
            .env("AWS_ACCESS_KEY_ID", "testing")
            .env("AWS_SECRET_ACCESS_KEY", "testing")
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains(&format!("GDALERT_STATE_TABLE={table}")));
    let dynamodb = aws_sdk_dynamodb::Client::new(&sdk_config(&moto_url()).await);
    let described = dynamodb
        .describe_table()
        .table_name(&table)
        .send()
        .await
        .unwrap();
    let t = described.table().unwrap();
    assert_eq!(t.key_schema()[0].attribute_name(), "pk");
    assert_eq!(
        t.global_secondary_indexes()[0].index_name(),
        Some("due-index")
    );
    let ttl = dynamodb
        .describe_time_to_live()
        .table_name(&table)
        .send()
        .await
        .unwrap();
    assert_eq!(
        ttl.time_to_live_description()
            .and_then(|d| d.attribute_name()),
        Some("ttl")
    );
    // The store works on it.
    let aws = gdalert_aws::AwsClients::from_config(&sdk_config(&moto_url()).await);
    gdalert_pipeline::store::contract::check(&gdalert_aws::DynamoStore::new(aws.dynamodb, &table))
        .await;
}

#[tokio::test]
async fn silence_add_list_and_expire_work_against_the_deployed_table() {
    let config = sdk_config(&moto_url()).await;
    let aws = gdalert_aws::AwsClients::from_config(&config);
    let table = unique("gdalert-silences");
    gdalert_aws::DynamoStore::new(aws.dynamodb.clone(), &table)
        .create_table()
        .await
        .unwrap();
    let cli = |args: Vec<String>| {
        tokio::task::spawn_blocking(move || {
            Command::new(env!("CARGO_BIN_EXE_gdalert"))
                .args(&args)
                .current_dir(root())
                .env("AWS_ENDPOINT_URL", moto_url())
                .env("AWS_REGION", "us-east-1")
                .env("AWS_ACCESS_KEY_ID", "testing")
                .env("AWS_SECRET_ACCESS_KEY", "testing")
                .output()
                .unwrap()
        })
    };
    let args = |list: &[&str]| -> Vec<String> {
        list.iter()
            .map(|s| s.to_string())
            .chain(["--state-table".to_string(), table.clone()])
            .collect()
    };
    let added = cli(args(&[
        "silence",
        "add",
        "--match",
        r#"{"detail": {"type": ["Execution:Runtime/SuspiciousTool"]}}"#,
        "--owner",
        "alice",
        "--reason",
        "scanner in the build cluster",
        "--for",
        "2h",
    ]))
    .await
    .unwrap();
    let out = String::from_utf8_lossy(&added.stdout).into_owned();
    assert!(
        added.status.success(),
        "{}",
        String::from_utf8_lossy(&added.stderr)
    );
    let id = out.split_whitespace().nth(1).unwrap().to_string();
    let listed = cli(args(&["silence", "list"])).await.unwrap();
    let listed = String::from_utf8_lossy(&listed.stdout).into_owned();
    assert!(
        listed.contains(&id) && listed.contains("active"),
        "{listed}"
    );
    let expired = cli(args(&["silence", "expire", &id])).await.unwrap();
    assert!(
        expired.status.success(),
        "{}",
        String::from_utf8_lossy(&expired.stderr)
    );
    let listed = cli(args(&["silence", "list"])).await.unwrap();
    assert!(
        String::from_utf8_lossy(&listed.stdout).contains("no silences in force"),
        "{}",
        String::from_utf8_lossy(&listed.stdout)
    );
}
