//! Lists the accounts an ECS image is shared with.
//!
//! Credentials and region come from the environment, the CLI profile file and the other sources Alibaba's
//! own tools read, for example:
//!
//! ```text
//! ALIBABA_CLOUD_ACCESS_KEY_ID=... ALIBABA_CLOUD_ACCESS_KEY_SECRET=... ALIBABA_CLOUD_REGION_ID=cn-hangzhou \
//!     cargo run --example list_image_shares -- m-bp1g7004ksh0oeuc6ps1
//! ```

use std::process::ExitCode;
use std::time::Duration;

use alicloud_openapi::{CallContext, Client, Settings, SystemEnvironment, resolve_client_config};

#[tokio::main]
async fn main() -> ExitCode {
    let Some(image_id) = std::env::args().nth(1) else {
        eprintln!("usage: list_image_shares <image id>");
        return ExitCode::from(2);
    };
    match list(&image_id).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("{err}");
            ExitCode::FAILURE
        }
    }
}

async fn list(image_id: &str) -> Result<(), alicloud_openapi::Error> {
    let config = resolve_client_config(&Settings::default(), &SystemEnvironment)?;
    let client = Client::new(config)?;
    let ctx = CallContext::detached(Duration::from_secs(60));
    match client.list_image_share_accounts_now(&ctx, image_id).await? {
        None => println!("image {image_id} does not exist in {}", client.region()),
        Some(accounts) if accounts.is_empty() => println!("image {image_id} is not shared"),
        Some(accounts) => {
            for account in accounts {
                println!("{account}");
            }
        }
    }
    Ok(())
}
