//! The emulated cloud: accounts and keys, custom ECS images and their shares, ECD desktops and images, RAM
//! roles, OIDC providers, the emulated instance's role and the STS credentials issued so far.
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
    /// Published as a community image (ModifyImageSharePermission `IsPublic=true`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub is_public: bool,
    /// Made from encrypted snapshots: can be neither shared nor published.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub encrypted: bool,
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
    /// `DesktopName`, as DescribeDesktops reports it; empty when the seed gives none.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub desktop_name: String,
    /// `DesktopStatus`, e.g. `Running` or `Stopped` (ECD 2020-09-30 DescribeDesktops reference); `Running` when
    /// the seed gives none.
    #[serde(default = "running")]
    pub desktop_status: String,
}

fn running() -> String {
    "Running".into()
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

/// A RAM role that STS can issue credentials for.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Role {
    /// `acs:ram::<accountId>:role/<name>`.
    pub arn: String,
    /// The account that owns the role (the one in the ARN); issued credentials belong to it.
    pub account_id: String,
    /// Accounts whose keys may call AssumeRole for it; absent: only `accountId`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trusted_accounts: Option<Vec<String>>,
    /// The OIDC provider AssumeRoleWithOIDC may use for it; absent: none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub oidc_provider_arn: Option<String>,
    /// The `ExternalId` AssumeRole must carry; absent: none is needed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_id: Option<String>,
    /// The longest session, 3600 to 43200 seconds; RAM's default is 3600.
    #[serde(default = "default_max_session")]
    pub max_session_duration: u64,
}

fn default_max_session() -> u64 {
    3600
}

impl Role {
    /// The role's name: the part of the ARN after `role/`.
    pub fn name(&self) -> &str {
        self.arn
            .split_once(":role/")
            .map(|(_, n)| n)
            .unwrap_or_default()
    }

    /// A stable numeric role id, as `AssumedRoleId` starts with.
    pub fn role_id(&self) -> String {
        let digest = ring::digest::digest(&ring::digest::SHA256, self.arn.as_bytes());
        let n = digest.as_ref()[..8]
            .iter()
            .fold(0u64, |acc, b| (acc << 8) | u64::from(*b));
        format!("3{:018}", n % 1_000_000_000_000_000_000)
    }

    /// Whether keys of `account` may assume it.
    pub fn trusts(&self, account: &str) -> bool {
        match &self.trusted_accounts {
            Some(accounts) => accounts.iter().any(|a| a == account),
            None => self.account_id == account,
        }
    }

    /// Why the role cannot be used, if it cannot.
    pub fn problem(&self) -> Option<String> {
        let Some((account, name)) = parse_role_arn(&self.arn) else {
            return Some(format!(
                "role arn {:?} is not acs:ram::<accountId>:role/<name>",
                self.arn
            ));
        };
        if account != self.account_id {
            return Some(format!(
                "role {}: accountId {} is not the account in the arn",
                self.arn, self.account_id
            ));
        }
        if name.is_empty() {
            return Some(format!("role {}: empty name", self.arn));
        }
        if !(3600..=43200).contains(&self.max_session_duration) {
            return Some(format!(
                "role {}: maxSessionDuration must be 3600 to 43200",
                self.arn
            ));
        }
        if let Some(bad) = self
            .trusted_accounts
            .iter()
            .flatten()
            .find(|a| !well_formed_account_id(a))
        {
            return Some(format!("role {}: not an account id: {bad:?}", self.arn));
        }
        None
    }
}

/// `acs:ram::<digits>:role/<name>` split into account and name.
pub fn parse_role_arn(arn: &str) -> Option<(&str, &str)> {
    let rest = arn.strip_prefix("acs:ram::")?;
    let (account, name) = rest.split_once(":role/")?;
    (well_formed_account_id(account) && !name.is_empty() && !name.contains([':', '/']))
        .then_some((account, name))
}

fn well_formed_account_id(id: &str) -> bool {
    (1..=20).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_digit())
}

/// An OIDC identity provider registered in RAM.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct OidcProvider {
    /// `acs:ram::<accountId>:oidc-provider/<name>`.
    pub arn: String,
    /// The `iss` its tokens carry.
    pub issuer: String,
    /// The `aud` values (client ids) it accepts.
    pub audiences: Vec<String>,
}

/// The RAM role attached to the emulated ECS instance, served by the metadata service.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct InstanceRole {
    /// The name the metadata service lists (on ECS, the RAM role's name).
    pub name: String,
    /// The role whose credentials it hands out.
    pub role_arn: String,
    /// How long each credential it issues lasts; 21600 when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_seconds: Option<u64>,
}

/// What `GET /_emulator/credentials-uri` issues credentials for.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CredentialsUri {
    /// The role.
    pub role_arn: String,
    /// How long each credential lasts; 3600 when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_seconds: Option<u64>,
}

/// A temporary credential STS (or the metadata service, or the credentials URI) issued.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct StsCredential {
    /// `STS.` followed by letters and digits.
    pub access_key_id: String,
    /// Secret.
    pub access_key_secret: String,
    /// The token that must accompany the key.
    pub security_token: String,
    /// When it was issued (Unix seconds on the credential clock).
    pub issued_at: f64,
    /// When it stops working (Unix seconds on the credential clock).
    pub expires_at: f64,
    /// The role's account, on whose behalf the key calls.
    pub account_id: String,
    /// The role assumed.
    pub role_arn: String,
    /// The session name.
    pub role_session_name: String,
    /// What issued it: `AssumeRole`, `AssumeRoleWithOIDC`, `metadata` or `credentials-uri`.
    pub source: String,
}

/// A key as the signature checks see it: permanent or temporary.
#[derive(Debug, Clone, Copy)]
pub struct KeyRef<'a> {
    /// The account the key calls for.
    pub account_id: &'a str,
    /// Its secret.
    pub secret: &'a str,
    /// The token that must accompany it, for temporary keys.
    pub security_token: Option<&'a str>,
    /// When a temporary key stops working (Unix seconds), if it does.
    pub expires_at: Option<f64>,
}

/// The most issued credentials kept; past it, those that expired first are forgotten.
pub const MAX_STS_CREDENTIALS: usize = 10_000;

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
    /// Accounts that have not signed the Community Image Terms of Service, so cannot publish images; every
    /// other account has.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub community_terms_unsigned: Vec<String>,
    /// Regions where community images cannot be published.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub regions_without_community_images: Vec<String>,
    /// ECD desktops.
    #[serde(default)]
    pub ecd_desktops: Vec<Desktop>,
    /// ECD images.
    #[serde(default)]
    pub ecd_images: Vec<EcdImage>,
    /// RAM roles STS can issue credentials for.
    #[serde(default)]
    pub roles: Vec<Role>,
    /// OIDC providers AssumeRoleWithOIDC accepts tokens of.
    #[serde(default)]
    pub oidc_providers: Vec<OidcProvider>,
    /// The role of the emulated ECS instance; absent: the instance has none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instance_role: Option<InstanceRole>,
    /// The role `GET /_emulator/credentials-uri` issues credentials for; absent: it answers 404.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credentials_uri: Option<CredentialsUri>,
    /// Temporary credentials issued so far.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sts_credentials: Vec<StsCredential>,
}

/// The current time as Unix seconds.
pub fn now() -> f64 {
    chrono::Utc::now().timestamp_micros() as f64 / 1e6
}

/// The current time as Alibaba formats it.
pub fn now_rfc3339() -> String {
    chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// Unix seconds as Alibaba formats times (`YYYY-MM-DDThh:mm:ssZ`, UTC).
pub fn rfc3339(unix: f64) -> String {
    chrono::DateTime::from_timestamp(unix.floor() as i64, 0)
        .unwrap_or_default()
        .format("%Y-%m-%dT%H:%M:%SZ")
        .to_string()
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
                "isPublic": i.is_public,
            })).collect::<Vec<_>>(),
            "ecdDesktops": desktops,
            "ecdImages": images.iter().map(|i| json!({
                "regionId": i.region_id, "imageId": i.image_id, "ownerId": i.owner_id, "desktopId": i.desktop_id,
                "name": i.name, "description": i.description, "status": i.status(now),
            })).collect::<Vec<_>>(),
            "roles": self.roles,
            "oidcProviders": self.oidc_providers,
            "instanceRole": self.instance_role,
            "credentialsUri": self.credentials_uri,
            "stsCredentials": self.sts_credentials.iter().map(|c| json!({
                "accessKeyId": c.access_key_id, "accountId": c.account_id, "roleArn": c.role_arn,
                "roleSessionName": c.role_session_name, "source": c.source, "expiration": rfc3339(c.expires_at),
            })).collect::<Vec<_>>(),
        })
    }

    /// Why the world cannot be used, if it cannot: a malformed role, an instance role or credentials URI
    /// naming a role that does not exist.
    pub fn problem(&self) -> Option<String> {
        if let Some(problem) = self.roles.iter().find_map(Role::problem) {
            return Some(problem);
        }
        let known = |arn: &str| self.role(arn).is_some();
        if let Some(r) = &self.instance_role
            && !known(&r.role_arn)
        {
            return Some(format!("instanceRole names an unknown role {}", r.role_arn));
        }
        if let Some(r) = &self.instance_role
            && r.name.is_empty()
        {
            return Some("instanceRole needs a name".into());
        }
        if let Some(u) = &self.credentials_uri
            && !known(&u.role_arn)
        {
            return Some(format!(
                "credentialsUri names an unknown role {}",
                u.role_arn
            ));
        }
        None
    }

    /// The role with this ARN (ARNs compare without regard to ASCII case).
    pub fn role(&self, arn: &str) -> Option<&Role> {
        self.roles.iter().find(|r| r.arn.eq_ignore_ascii_case(arn))
    }

    /// Adds an issued credential, forgetting those that expired first when there are too many.
    pub fn add_sts_credential(&mut self, credential: StsCredential) {
        if self.sts_credentials.len() >= MAX_STS_CREDENTIALS {
            let mut expiries: Vec<f64> =
                self.sts_credentials.iter().map(|c| c.expires_at).collect();
            expiries.sort_by(f64::total_cmp);
            let cut = expiries[MAX_STS_CREDENTIALS / 10];
            self.sts_credentials.retain(|c| c.expires_at > cut);
        }
        self.sts_credentials.push(credential);
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
            .chain(self.roles.iter().flat_map(|r| {
                std::iter::once(r.account_id.clone())
                    .chain(r.trusted_accounts.iter().flatten().cloned())
            }))
            .collect();
        for id in implied {
            self.add_account(&id);
        }
    }

    /// The key with this id: a seeded key of an account, or an issued temporary one.
    pub fn key(&self, access_key_id: &str) -> Option<KeyRef<'_>> {
        let seeded = self.accounts.iter().find_map(|a| {
            let k = a
                .access_keys
                .iter()
                .find(|k| k.access_key_id == access_key_id)?;
            Some(KeyRef {
                account_id: &a.id,
                secret: &k.access_key_secret,
                security_token: k.security_token.as_deref(),
                // A seeded expiry that does not parse never expires, as before.
                expires_at: k
                    .expiration
                    .as_deref()
                    .and_then(|e| chrono::DateTime::parse_from_rfc3339(e).ok())
                    .map(|e| e.timestamp() as f64),
            })
        });
        seeded.or_else(|| {
            self.sts_credentials
                .iter()
                .rev()
                .find(|c| c.access_key_id == access_key_id)
                .map(|c| KeyRef {
                    account_id: &c.account_id,
                    secret: &c.access_key_secret,
                    security_token: Some(&c.security_token),
                    expires_at: Some(c.expires_at),
                })
        })
    }
}

/// The seed shipped with the emulator.
pub const DEFAULT_SEED: &str = include_str!("../seed/default.json");
