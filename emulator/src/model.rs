//! The emulated cloud: accounts and keys, custom ECS images and their shares, ECD desktops and images.
//! Serialisable both as a seed and as the `--state-file`.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// An AccessKey, optionally an STS credential with a token and expiry.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AccessKey {
    /// AccessKey ID.
    pub access_key_id: String,
    /// Secret.
    pub access_key_secret: String,
    /// STS token that must accompany this key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub security_token: Option<String>,
    /// When an STS credential stops working (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expiration: Option<String>,
}

/// An Alibaba Cloud account.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Account {
    /// The numeric account id (UID).
    pub id: String,
    /// Its keys.
    #[serde(default)]
    pub access_keys: Vec<AccessKey>,
}

/// One account an image is shared with.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Share {
    /// The account.
    pub account_id: String,
    /// When (RFC 3339, as DescribeImageSharePermission reports it).
    pub shared_time: String,
}

/// A custom ECS image.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EcsImage {
    /// Region.
    pub region_id: String,
    /// Image id.
    pub image_id: String,
    /// Owning account.
    pub owner_id: String,
    /// Accounts it is shared with, in sharing order. Seeds may list plain account ids.
    #[serde(default, deserialize_with = "shares")]
    pub shared_with: Vec<Share>,
}

fn shares<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<Share>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Entry {
        Id(String),
        Full(Share),
    }
    let entries: Vec<Entry> = Vec::deserialize(d)?;
    Ok(entries
        .into_iter()
        .map(|e| match e {
            Entry::Id(account_id) => Share {
                account_id,
                shared_time: now_rfc3339(),
            },
            Entry::Full(s) => s,
        })
        .collect())
}

/// An ECD desktop images can be made from.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Desktop {
    /// Region.
    pub region_id: String,
    /// Desktop id.
    pub desktop_id: String,
    /// Owning account.
    pub owner_id: String,
}

/// A custom ECD image.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EcdImage {
    /// Region.
    pub region_id: String,
    /// Image id.
    pub image_id: String,
    /// Owning account.
    pub owner_id: String,
    /// The desktop it was made from (never reported by DescribeImages, as on Alibaba).
    pub desktop_id: String,
    /// Name.
    #[serde(default)]
    pub name: String,
    /// Description.
    #[serde(default)]
    pub description: String,
    /// Creation time (RFC 3339).
    #[serde(default = "now_rfc3339")]
    pub creation_time: String,
    /// Unix time at which creation finishes.
    #[serde(default)]
    pub ready_at: f64,
    /// Whether creation ends `CreateFailed`.
    #[serde(default)]
    pub fails: bool,
    /// Whether the image stays `Creating` until released through the control API.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub held: bool,
    /// Unix time at which a requested deletion completes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deleted_at: Option<f64>,
}

impl EcdImage {
    /// The status at `now`.
    pub fn status(&self, now: f64) -> &'static str {
        if self.held || now < self.ready_at {
            "Creating"
        } else if self.fails {
            "CreateFailed"
        } else {
            "Available"
        }
    }
}

/// The whole emulated cloud.
#[derive(Debug, Clone, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct World {
    /// Regions.
    #[serde(default)]
    pub regions: Vec<String>,
    /// Accounts that exist: those with keys can call; the others can only be shared with.
    #[serde(default)]
    pub accounts: Vec<Account>,
    /// Custom ECS images.
    #[serde(default)]
    pub ecs_images: Vec<EcsImage>,
    /// ECD desktops.
    #[serde(default)]
    pub ecd_desktops: Vec<Desktop>,
    /// ECD images.
    #[serde(default)]
    pub ecd_images: Vec<EcdImage>,
}

/// The current time as Unix seconds.
pub fn now() -> f64 {
    chrono::Utc::now().timestamp_micros() as f64 / 1e6
}

/// The current time as Alibaba formats it.
pub fn now_rfc3339() -> String {
    chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

impl World {
    /// Drops images whose deletion has completed.
    pub fn settle(&mut self, now: f64) {
        self.ecd_images
            .retain(|i| i.deleted_at.is_none_or(|t| now < t));
    }

    /// The control API's view: sorted, without secrets, statuses resolved.
    pub fn dump(&self, now: f64) -> Value {
        let mut ecs: Vec<&EcsImage> = self.ecs_images.iter().collect();
        ecs.sort_by(|a, b| a.image_id.cmp(&b.image_id));
        let mut desktops: Vec<&Desktop> = self.ecd_desktops.iter().collect();
        desktops.sort_by(|a, b| a.desktop_id.cmp(&b.desktop_id));
        let mut images: Vec<&EcdImage> = self
            .ecd_images
            .iter()
            .filter(|i| i.deleted_at.is_none_or(|t| now < t))
            .collect();
        images.sort_by(|a, b| a.image_id.cmp(&b.image_id));
        json!({
            "regions": self.regions,
            "accounts": self.accounts.iter().map(|a| json!({
                "id": a.id,
                "accessKeys": a.access_keys.iter().map(|k| json!({"accessKeyId": k.access_key_id})).collect::<Vec<_>>(),
            })).collect::<Vec<_>>(),
            "ecsImages": ecs.iter().map(|i| json!({
                "regionId": i.region_id, "imageId": i.image_id, "ownerId": i.owner_id,
                "sharedWith": i.shared_with.iter().map(|s| s.account_id.clone()).collect::<Vec<_>>(),
            })).collect::<Vec<_>>(),
            "ecdDesktops": desktops,
            "ecdImages": images.iter().map(|i| json!({
                "regionId": i.region_id, "imageId": i.image_id, "ownerId": i.owner_id, "desktopId": i.desktop_id,
                "name": i.name, "description": i.description, "status": i.status(now),
            })).collect::<Vec<_>>(),
        })
    }

    /// Whether an account with this id exists.
    pub fn account_exists(&self, id: &str) -> bool {
        self.accounts.iter().any(|a| a.id == id)
    }

    /// Adds an account without keys unless it exists; true when it was added.
    pub fn add_account(&mut self, id: &str) -> bool {
        if self.account_exists(id) {
            return false;
        }
        self.accounts.push(Account {
            id: id.to_string(),
            access_keys: Vec::new(),
        });
        true
    }

    /// Makes every account the world mentions exist: image and desktop owners and the accounts images are
    /// shared with. A seed that shares an image with an account implies that the account exists.
    pub fn register_implied_accounts(&mut self) {
        let implied: Vec<String> = self
            .ecs_images
            .iter()
            .flat_map(|i| {
                std::iter::once(i.owner_id.clone())
                    .chain(i.shared_with.iter().map(|s| s.account_id.clone()))
            })
            .chain(self.ecd_desktops.iter().map(|d| d.owner_id.clone()))
            .chain(self.ecd_images.iter().map(|i| i.owner_id.clone()))
            .collect();
        for id in implied {
            self.add_account(&id);
        }
    }

    /// The key with this id, and its account.
    pub fn key(&self, access_key_id: &str) -> Option<(&Account, &AccessKey)> {
        self.accounts.iter().find_map(|a| {
            a.access_keys
                .iter()
                .find(|k| k.access_key_id == access_key_id)
                .map(|k| (a, k))
        })
    }
}

/// The seed shipped with the emulator.
pub const DEFAULT_SEED: &str = include_str!("../seed/default.json");
