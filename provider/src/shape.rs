//! The fields of a typed input or output struct as its `Deserialize` asks for them, to check the structs
//! against schema.json: the schema stays the source of names and required sets, and a struct that drifts from
//! it fails a test.

use std::cell::RefCell;
use std::collections::BTreeMap;

use serde::de::value::{BorrowedStrDeserializer, Error};
use serde::de::{DeserializeOwned, DeserializeSeed, Deserializer, Error as _, MapAccess, Visitor};
use serde::forward_to_deserialize_any;

/// Each field of `T` (by its serialized name) and whether it is optional.
pub fn fields<T: DeserializeOwned>() -> Result<BTreeMap<String, bool>, Error> {
    let found = RefCell::new(BTreeMap::new());
    T::deserialize(StructProbe { found: &found })?;
    Ok(found.into_inner())
}

/// Stands in for a struct and hands its visitor one probe per field.
struct StructProbe<'a> {
    found: &'a RefCell<BTreeMap<String, bool>>,
}

impl<'de> Deserializer<'de> for StructProbe<'_> {
    type Error = Error;

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        visitor.visit_map(Fields {
            names: fields.iter(),
            current: "",
            found: self.found,
        })
    }

    fn deserialize_any<V: Visitor<'de>>(self, _visitor: V) -> Result<V::Value, Error> {
        Err(Error::custom("not a struct with named fields"))
    }

    forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf option unit
        unit_struct newtype_struct seq tuple tuple_struct map enum identifier ignored_any
    }
}

/// Every field of the struct, each followed by a probe of its value.
struct Fields<'a> {
    names: std::slice::Iter<'static, &'static str>,
    current: &'static str,
    found: &'a RefCell<BTreeMap<String, bool>>,
}

impl<'de> MapAccess<'de> for Fields<'_> {
    type Error = Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, Error> {
        let Some(name) = self.names.next() else {
            return Ok(None);
        };
        self.current = name;
        seed.deserialize(BorrowedStrDeserializer::new(name))
            .map(Some)
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, Error> {
        seed.deserialize(ValueProbe {
            name: self.current,
            found: self.found,
        })
    }
}

/// Records whether a field's type asks for an option, and gives it an empty value.
struct ValueProbe<'a> {
    name: &'static str,
    found: &'a RefCell<BTreeMap<String, bool>>,
}

impl ValueProbe<'_> {
    fn record(&self, optional: bool) {
        self.found
            .borrow_mut()
            .insert(self.name.to_string(), optional);
    }
}

impl<'de> Deserializer<'de> for ValueProbe<'_> {
    type Error = Error;

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.record(true);
        visitor.visit_none()
    }

    fn deserialize_bool<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.record(false);
        visitor.visit_bool(false)
    }

    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.record(false);
        visitor.visit_seq(serde::de::value::SeqDeserializer::<_, Error>::new(
            std::iter::empty::<()>(),
        ))
    }

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.record(false);
        visitor.visit_str("")
    }

    forward_to_deserialize_any! {
        i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf unit
        unit_struct newtype_struct tuple tuple_struct map struct enum identifier ignored_any
    }
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;
    use serde_json::Value;

    use super::*;
    use crate::functions::{self, TypedFunction};
    use crate::resources::{self, TypedResource};
    use crate::schema::SCHEMA_JSON;

    /// Names and optionality from a schema object: `properties`, and the names listed in `required_key`.
    fn expected(object: &Value, properties: &str, required_key: &str) -> BTreeMap<String, bool> {
        let required: Vec<&str> = object[required_key]
            .as_array()
            .map(|r| r.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        object[properties]
            .as_object()
            .map(|p| {
                p.keys()
                    .map(|k| (k.clone(), !required.contains(&k.as_str())))
                    .collect()
            })
            .unwrap_or_default()
    }

    fn assert_fits<T: DeserializeOwned>(what: &str, want: BTreeMap<String, bool>) {
        let have = fields::<T>().unwrap_or_else(|e| panic!("{what}: {e}"));
        assert!(!want.is_empty(), "{what}: the schema lists no properties");
        assert_eq!(
            have, want,
            "{what}: the struct's fields (name → optional) differ from schema.json"
        );
    }

    fn check_resource<R: TypedResource>(token: &str) {
        let schema: Value = serde_json::from_str(SCHEMA_JSON).expect("schema");
        let spec = &schema["resources"][token];
        let inputs = expected(spec, "inputProperties", "requiredInputs");
        let outputs = expected(spec, "properties", "required");
        let view = inputs
            .keys()
            .chain(outputs.keys())
            .map(|k| (k.clone(), true))
            .collect();
        assert_fits::<R::Args>(&format!("{token} inputs"), inputs);
        assert_fits::<R::State>(&format!("{token} outputs"), outputs);
        assert_fits::<R::View>(&format!("{token} view (all optional)"), view);
    }

    fn check_function<F: TypedFunction>(token: &str)
    where
        F::Output: DeserializeOwned,
    {
        let schema: Value = serde_json::from_str(SCHEMA_JSON).expect("schema");
        let spec = &schema["functions"][token];
        let inputs = expected(&spec["inputs"], "properties", "required");
        let outputs = expected(&spec["outputs"], "properties", "required");
        assert_fits::<F::Args>(&format!("{token} inputs"), inputs);
        assert_fits::<F::Output>(&format!("{token} outputs"), outputs);
    }

    #[test]
    fn typed_structs_match_the_schema() {
        check_resource::<resources::ImageSharePermission>(resources::ImageSharePermission::TOKEN);
        check_resource::<resources::EcdImage>(resources::EcdImage::TOKEN);
        check_resource::<resources::ImageShareList>(resources::ImageShareList::TOKEN);
        check_function::<functions::GetImageSharePermissions>(
            functions::GetImageSharePermissions::TOKEN,
        );
        check_function::<functions::GetImages>(functions::GetImages::TOKEN);
        let schema: Value = serde_json::from_str(SCHEMA_JSON).expect("schema");
        let token = "alicloud:ecd:getImagesImage";
        assert_fits::<functions::FoundImage>(
            token,
            expected(&schema["types"][token], "properties", "required"),
        );
    }

    #[test]
    fn resource_rules_name_schema_inputs() {
        for resource in resources::registry(crate::schema::Schema::embedded()) {
            let spec = resource.spec();
            let rules = resource.diff_rules();
            let auto = resource.auto_name();
            let named = rules
                .unobservable
                .iter()
                .chain(rules.keep_when_unset)
                .chain(auto.iter().flat_map(|a| [&a.property, &a.keyed_by]));
            for name in named {
                assert!(
                    spec.inputs.iter().any(|i| i == name),
                    "{}: {name} is not an input in schema.json",
                    spec.token
                );
            }
        }
    }

    #[test]
    fn the_probe_sees_names_and_optional_fields() {
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        #[allow(dead_code)]
        struct Sample {
            image_id: String,
            account_ids: Vec<String>,
            image_name: Option<String>,
        }
        let found = fields::<Sample>().expect("fields");
        let want: BTreeMap<String, bool> = [
            ("imageId".to_string(), false),
            ("accountIds".to_string(), false),
            ("imageName".to_string(), true),
        ]
        .into_iter()
        .collect();
        assert_eq!(found, want);
        assert!(fields::<String>().is_err(), "not a struct");
    }
}
