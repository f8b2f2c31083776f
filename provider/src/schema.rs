//! The embedded `schema.json` and the facts the provider derives from it.
//!
//! Property names, required inputs, replace-on-change fields and secrets are read from here, so the
//! resource code never repeats them.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use serde::Deserialize;

/// The package schema exactly as committed; `GetSchema` serves these bytes.
pub const SCHEMA_JSON: &str = include_str!("../../schema.json");

/// What the provider needs to know about one resource type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourceSpec {
    /// The resource token, e.g. `alicloud:ecs:ImageSharePermission`.
    pub token: String,
    /// Input property names.
    pub inputs: Vec<String>,
    /// Inputs a program must set.
    pub required_inputs: Vec<String>,
    /// Output property names.
    pub outputs: Vec<String>,
    /// Inputs whose change replaces the resource (`willReplaceOnChanges`).
    pub replace_on_changes: Vec<String>,
    /// The schema type of each input (`string`, `integer`, ...).
    pub input_types: BTreeMap<String, String>,
    /// The value an input takes when the program leaves it out (`default`).
    pub defaults: BTreeMap<String, serde_json::Value>,
}

/// What the provider needs to know about its own configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigSpec {
    /// Configuration variable names.
    pub variables: Vec<String>,
    /// Variables that must be kept secret.
    pub secrets: Vec<String>,
    /// Property names of the `endpoints` object.
    pub endpoint_services: Vec<String>,
    /// For each object-typed variable, the fields that must be kept secret (`assumeRoleWithOidc.oidcToken`).
    pub secret_fields: BTreeMap<String, Vec<String>>,
}

/// What the provider needs to know about one function (invoke).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FunctionSpec {
    /// The function token, e.g. `alicloud:ecd:getImages`.
    pub token: String,
    /// Argument names.
    pub inputs: Vec<String>,
    /// Arguments a caller must give.
    pub required_inputs: Vec<String>,
    /// The schema type of each argument (`string`, `array`, ...).
    pub input_types: BTreeMap<String, String>,
    /// The schema type of the items of each list argument.
    pub input_item_types: BTreeMap<String, String>,
    /// Result property names.
    pub outputs: Vec<String>,
}

/// The parsed parts of the schema.
#[derive(Debug, Clone)]
pub struct Schema {
    /// Package name (`alicloud`).
    pub name: String,
    /// Package version.
    pub version: String,
    /// Provider configuration.
    pub config: ConfigSpec,
    /// Resources by token.
    pub resources: BTreeMap<String, ResourceSpec>,
    /// Functions by token.
    pub functions: BTreeMap<String, FunctionSpec>,
}

#[derive(Deserialize)]
struct RawSchema {
    name: String,
    version: String,
    config: RawConfig,
    types: BTreeMap<String, RawObject>,
    resources: BTreeMap<String, RawResource>,
    #[serde(default)]
    functions: BTreeMap<String, RawFunction>,
}

#[derive(Deserialize)]
struct RawFunction {
    #[serde(default)]
    inputs: Option<RawFunctionObject>,
    #[serde(default)]
    outputs: Option<RawFunctionObject>,
}

#[derive(Deserialize)]
struct RawFunctionObject {
    #[serde(default)]
    properties: BTreeMap<String, RawProperty>,
    #[serde(default)]
    required: Vec<String>,
}

#[derive(Deserialize)]
struct RawConfig {
    variables: BTreeMap<String, RawProperty>,
}

#[derive(Deserialize)]
struct RawObject {
    #[serde(default)]
    properties: BTreeMap<String, RawProperty>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawResource {
    #[serde(default)]
    properties: BTreeMap<String, RawProperty>,
    #[serde(default)]
    input_properties: BTreeMap<String, RawProperty>,
    #[serde(default)]
    required_inputs: Vec<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawProperty {
    #[serde(default)]
    secret: bool,
    #[serde(default)]
    will_replace_on_changes: bool,
    #[serde(rename = "$ref")]
    reference: Option<String>,
    #[serde(rename = "type")]
    kind: Option<String>,
    items: Option<Box<RawProperty>>,
    default: Option<serde_json::Value>,
}

impl Schema {
    /// Parses a schema document.
    pub fn parse(text: &str) -> Result<Self, serde_json::Error> {
        let raw: RawSchema = serde_json::from_str(text)?;
        let endpoint_services = raw
            .config
            .variables
            .get("endpoints")
            .and_then(|p| p.reference.as_deref())
            .and_then(|r| r.strip_prefix("#/types/"))
            .and_then(|t| raw.types.get(t))
            .map(|t| t.properties.keys().cloned().collect())
            .unwrap_or_default();
        let secret_fields = raw
            .config
            .variables
            .iter()
            .filter_map(|(name, p)| {
                let object = raw
                    .types
                    .get(p.reference.as_deref()?.strip_prefix("#/types/")?)?;
                let fields: Vec<String> = object
                    .properties
                    .iter()
                    .filter(|(_, f)| f.secret)
                    .map(|(f, _)| f.clone())
                    .collect();
                (!fields.is_empty()).then(|| (name.clone(), fields))
            })
            .collect();
        let config = ConfigSpec {
            variables: raw.config.variables.keys().cloned().collect(),
            secrets: raw
                .config
                .variables
                .iter()
                .filter(|(_, p)| p.secret)
                .map(|(k, _)| k.clone())
                .collect(),
            endpoint_services,
            secret_fields,
        };
        let resources = raw
            .resources
            .into_iter()
            .map(|(token, r)| {
                let spec = ResourceSpec {
                    token: token.clone(),
                    inputs: r.input_properties.keys().cloned().collect(),
                    required_inputs: r.required_inputs,
                    outputs: r.properties.keys().cloned().collect(),
                    replace_on_changes: r
                        .input_properties
                        .iter()
                        .filter(|(_, p)| p.will_replace_on_changes)
                        .map(|(k, _)| k.clone())
                        .collect(),
                    input_types: r
                        .input_properties
                        .iter()
                        .filter_map(|(k, p)| Some((k.clone(), p.kind.clone()?)))
                        .collect(),
                    defaults: r
                        .input_properties
                        .iter()
                        .filter_map(|(k, p)| Some((k.clone(), p.default.clone()?)))
                        .collect(),
                };
                (token, spec)
            })
            .collect();
        let functions = raw
            .functions
            .into_iter()
            .map(|(token, f)| {
                let names = |o: &Option<RawFunctionObject>| {
                    o.as_ref()
                        .map(|o| o.properties.keys().cloned().collect())
                        .unwrap_or_default()
                };
                let types = |kind: fn(&RawProperty) -> Option<&String>| {
                    f.inputs
                        .iter()
                        .flat_map(|i| &i.properties)
                        .filter_map(|(k, p)| Some((k.clone(), kind(p)?.clone())))
                        .collect()
                };
                let spec = FunctionSpec {
                    token: token.clone(),
                    inputs: names(&f.inputs),
                    input_types: types(|p| p.kind.as_ref()),
                    input_item_types: types(|p| p.items.as_ref()?.kind.as_ref()),
                    required_inputs: f.inputs.map(|i| i.required).unwrap_or_default(),
                    outputs: names(&f.outputs),
                };
                (token, spec)
            })
            .collect();
        Ok(Schema {
            name: raw.name,
            version: raw.version,
            config,
            resources,
            functions,
        })
    }

    /// The schema embedded in this binary.
    pub fn embedded() -> &'static Schema {
        static SCHEMA: OnceLock<Schema> = OnceLock::new();
        SCHEMA.get_or_init(|| {
            // The build embeds a file that the test suite parses; a failure here is a build defect.
            Schema::parse(SCHEMA_JSON).expect("embedded schema.json is valid")
        })
    }

    /// The spec of one resource type.
    pub fn resource(&self, token: &str) -> Option<&ResourceSpec> {
        self.resources.get(token)
    }

    /// The spec of one function.
    pub fn function(&self, token: &str) -> Option<&FunctionSpec> {
        self.functions.get(token)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_schema_describes_both_resources() {
        let schema = Schema::embedded();
        assert_eq!(schema.name, "alicloud");
        let share = schema
            .resource("alicloud:ecs:ImageSharePermission")
            .unwrap();
        assert_eq!(share.required_inputs, vec!["accountId", "imageId"]);
        assert_eq!(share.replace_on_changes, vec!["accountId", "imageId"]);
        let image = schema.resource("alicloud:ecd:Image").unwrap();
        assert_eq!(image.replace_on_changes, vec!["desktopId"]);
        assert!(image.required_inputs.is_empty());
        assert!(image.outputs.contains(&"status".to_string()));
        assert!(!image.inputs.contains(&"status".to_string()));
    }

    #[test]
    fn the_share_list_takes_its_rules_from_the_schema() {
        let list = Schema::embedded()
            .resource("alicloud:ecs:ImageShareList")
            .unwrap();
        assert_eq!(list.required_inputs, vec!["accountIds", "imageId"]);
        assert_eq!(list.replace_on_changes, vec!["imageId"]);
        assert_eq!(list.input_types["accountIds"], "array");
        assert_eq!(
            list.defaults,
            BTreeMap::from([
                ("isPublic".to_string(), serde_json::Value::Bool(false)),
                ("keepOnDelete".to_string(), serde_json::Value::Bool(false)),
            ])
        );
        assert!(list.outputs.contains(&"region".to_string()));
    }

    #[test]
    fn config_secrets_and_endpoints_come_from_schema() {
        let config = &Schema::embedded().config;
        assert_eq!(config.secrets, vec!["secretKey", "securityToken"]);
        assert_eq!(config.endpoint_services, vec!["ecd", "ecs", "sts"]);
        assert_eq!(
            config.secret_fields["assumeRoleWithOidc"],
            vec!["oidcToken"]
        );
        assert!(config.variables.contains(&"region".to_string()));
    }
}
