//! Names for what the default seed (`seed/default.json`) holds, so that tests, benchmarks and examples name
//! its accounts, keys, images, desktops and roles instead of copying them. Harnesses in other languages read
//! the same names from `seed/names.json` ([`NAMES_JSON`]); a test keeps the two equal and checks each value
//! against the seed.

/// `seed/names.json`: every constant of this module by name, for harnesses that are not written in Rust.
pub const NAMES_JSON: &str = include_str!("../seed/names.json");

/// Declares each name as a `&str` constant, and [`ALL`] listing them with their names.
macro_rules! names {
    ($($(#[$doc:meta])* $name:ident = $value:literal;)*) => {
        $($(#[$doc])* pub const $name: &str = $value;)*
        /// Every name of this module with its value, as in [`NAMES_JSON`].
        pub const ALL: &[(&str, &str)] = &[$((stringify!($name), $name)),*];
    };
}

names! {
    /// The region every seeded image and desktop is in.
    REGION = "cn-hangzhou";
    /// The account that owns `IMAGE_1`..`IMAGE_3` and both desktops, and holds `ACCESS_KEY_ID`.
    OWNER = "1234567890123456";
    /// The owner's permanent AccessKey.
    ACCESS_KEY_ID = "LTAI5tDemoEmulatorKey01";
    /// Its secret.
    ACCESS_KEY_SECRET = "demoEmulatorSecret01";
    /// Temporary credentials of the owner, valid until 2099.
    STS_KEY_ID = "STS.DemoEmulatorKey01";
    /// Their secret.
    STS_KEY_SECRET = "stsDemoSecret01";
    /// Their security token.
    STS_TOKEN = "demo-sts-token-01";
    /// Temporary credentials of the owner that expired in 2020.
    EXPIRED_STS_KEY_ID = "STS.ExpiredEmulatorKey1";
    /// Their secret.
    EXPIRED_STS_KEY_SECRET = "stsExpiredSecret01";
    /// Their security token.
    EXPIRED_STS_TOKEN = "expired-sts-token-01";
    /// A second account with keys of its own; it owns `OTHERS_IMAGE`.
    OTHER_ACCOUNT = "2234567890123456";
    /// The second account's AccessKey.
    OTHER_ACCESS_KEY_ID = "LTAI5tOtherEmulatorKey2";
    /// Its secret.
    OTHER_ACCESS_KEY_SECRET = "otherEmulatorSecret02";
    /// An account without keys that images can be shared with.
    RECIPIENT = "3234567890123456";
    /// The first of 50 more keyless accounts, `3000000000000000`..`3000000000000049`: a full image's worth.
    FIRST_OF_FIFTY_RECIPIENTS = "3000000000000000";
    /// Custom ECS images of the owner, shared with no one.
    IMAGE_1 = "m-bp1demoimage00000001";
    /// A second one.
    IMAGE_2 = "m-bp1demoimage00000002";
    /// A third one.
    IMAGE_3 = "m-bp1demoimage00000003";
    /// A custom ECS image of `OTHER_ACCOUNT`: only its keys can share it.
    OTHERS_IMAGE = "m-bp1otherimage0000001";
    /// Cloud desktops of the owner, to make ECD images from.
    DESKTOP_1 = "ecd-demodesktop0000001";
    /// A second one.
    DESKTOP_2 = "ecd-demodesktop0000002";
    /// A role of the owner that the owner and `OTHER_ACCOUNT` may assume, also through `OIDC_PROVIDER`.
    ROLE = "acs:ram::1234567890123456:role/emulator-role";
    /// Its name: the instance's RAM role at the metadata service.
    ROLE_NAME = "emulator-role";
    /// A role of the owner that needs `EXTERNAL_ID`.
    EXTERNAL_ID_ROLE = "acs:ram::1234567890123456:role/external-id-role";
    /// The external id it needs.
    EXTERNAL_ID = "emulator-external-id";
    /// A role of `OTHER_ACCOUNT` that the owner may assume.
    CROSS_ACCOUNT_ROLE = "acs:ram::2234567890123456:role/cross-account-role";
    /// The owner's OIDC provider.
    OIDC_PROVIDER = "acs:ram::1234567890123456:oidc-provider/emulator-oidc";
    /// Its issuer.
    OIDC_ISSUER = "https://oidc.emulator.invalid";
    /// The audience it accepts.
    OIDC_AUDIENCE = "sts.aliyuncs.com";
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use serde_json::Value;

    use super::*;
    use crate::model::DEFAULT_SEED;

    fn seed() -> Value {
        serde_json::from_str(DEFAULT_SEED).expect("the default seed is JSON")
    }

    fn find<'a>(list: &'a Value, key: &str, value: &str) -> &'a Value {
        list.as_array()
            .and_then(|items| items.iter().find(|item| item[key] == value))
            .unwrap_or_else(|| panic!("no {key} {value} in the seed"))
    }

    #[test]
    fn names_json_lists_every_constant() {
        let json: BTreeMap<String, String> =
            serde_json::from_str(NAMES_JSON).expect("names.json is an object of strings");
        let rust: BTreeMap<String, String> = ALL
            .iter()
            .map(|(name, value)| (name.to_string(), value.to_string()))
            .collect();
        assert_eq!(json, rust);
    }

    #[test]
    fn accounts_and_keys_are_the_seeds() {
        let seed = seed();
        let accounts = &seed["accounts"];
        let keys = |id: &str| find(accounts, "id", id)["accessKeys"].clone();
        let owner = keys(OWNER);
        let key = |id: &str| find(&owner, "accessKeyId", id).clone();
        assert_eq!(key(ACCESS_KEY_ID)["accessKeySecret"], ACCESS_KEY_SECRET);
        assert_eq!(key(STS_KEY_ID)["accessKeySecret"], STS_KEY_SECRET);
        assert_eq!(key(STS_KEY_ID)["securityToken"], STS_TOKEN);
        assert!(key(STS_KEY_ID)["expiration"].as_str() > Some("2099"));
        assert_eq!(
            key(EXPIRED_STS_KEY_ID)["accessKeySecret"],
            EXPIRED_STS_KEY_SECRET
        );
        assert_eq!(key(EXPIRED_STS_KEY_ID)["securityToken"], EXPIRED_STS_TOKEN);
        assert!(key(EXPIRED_STS_KEY_ID)["expiration"].as_str() < Some("2026"));
        let other = keys(OTHER_ACCOUNT);
        assert_eq!(
            find(&other, "accessKeyId", OTHER_ACCESS_KEY_ID)["accessKeySecret"],
            OTHER_ACCESS_KEY_SECRET
        );
        assert!(keys(RECIPIENT).is_null(), "the recipient has no keys");
        let first: u64 = FIRST_OF_FIFTY_RECIPIENTS.parse().expect("a number");
        for n in first..first + 50 {
            assert!(keys(&n.to_string()).is_null(), "{n} has no keys");
        }
    }

    #[test]
    fn images_desktops_and_roles_are_the_seeds() {
        let seed = seed();
        for (image, owner) in [
            (IMAGE_1, OWNER),
            (IMAGE_2, OWNER),
            (IMAGE_3, OWNER),
            (OTHERS_IMAGE, OTHER_ACCOUNT),
        ] {
            let found = find(&seed["ecsImages"], "imageId", image);
            assert_eq!(
                (&found["ownerId"], &found["regionId"]),
                (&owner.into(), &REGION.into())
            );
            assert_eq!(found["sharedWith"], serde_json::json!([]), "{image}");
        }
        for desktop in [DESKTOP_1, DESKTOP_2] {
            let found = find(&seed["ecdDesktops"], "desktopId", desktop);
            assert_eq!(
                (&found["ownerId"], &found["regionId"]),
                (&OWNER.into(), &REGION.into())
            );
        }
        let roles = &seed["roles"];
        assert_eq!(find(roles, "arn", ROLE)["oidcProviderArn"], OIDC_PROVIDER);
        assert_eq!(
            find(roles, "arn", ROLE)["trustedAccounts"],
            serde_json::json!([OWNER, OTHER_ACCOUNT])
        );
        assert!(ROLE.ends_with(&format!(":role/{ROLE_NAME}")));
        assert_eq!(seed["instanceRole"]["name"], ROLE_NAME);
        assert_eq!(
            find(roles, "arn", EXTERNAL_ID_ROLE)["externalId"],
            EXTERNAL_ID
        );
        assert_eq!(
            find(roles, "arn", CROSS_ACCOUNT_ROLE)["accountId"],
            OTHER_ACCOUNT
        );
        let oidc = find(&seed["oidcProviders"], "arn", OIDC_PROVIDER);
        assert_eq!(oidc["issuer"], OIDC_ISSUER);
        assert_eq!(oidc["audiences"], serde_json::json!([OIDC_AUDIENCE]));
    }
}
