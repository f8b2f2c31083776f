//! Property tests of input handling: Check (schema and each resource's rules), the field rules, Diff,
//! the share id parser, provider configuration and the Struct conversion, fed with arbitrary values.
//!
//! Every rejection must be a clear message: it names a non-empty property, its reason is non-empty
//! and mentions that property, and it never repeats the text of a value the program marked secret.

use std::collections::BTreeSet;

use proptest::prelude::*;
use proptest::test_runner::Config;
use pulumi_resource_alicloud::check::{self, Failure};
use pulumi_resource_alicloud::config;
use pulumi_resource_alicloud::diff::{self, Change};
use pulumi_resource_alicloud::resources::{self, Resource};
use pulumi_resource_alicloud::schema::{ResourceSpec, Schema};
use pulumi_resource_alicloud::values::{self, Props};
use serde_json::{Number, Value};

const CASES: u32 = 256;

fn config() -> Config {
    Config {
        cases: CASES,
        failure_persistence: None,
        ..Config::default()
    }
}

fn registry() -> Vec<Box<dyn Resource>> {
    resources::registry(Schema::embedded())
}

// ---------------------------------------------------------------------------------------------------
// Generators
// ---------------------------------------------------------------------------------------------------

/// Strings of every kind, weighted towards the shapes the rules look at so that both sides of each rule
/// are reached: names, ids, account ids, region ids, URLs, unicode, long and empty strings.
fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => any::<String>(),
        2 => "[a-zA-Z\u{4e00}-\u{9fff}][a-zA-Z0-9\u{4e00}-\u{9fff}:_-]{0,130}",
        1 => "[a-zA-Z\u{4e00}-\u{9fff}\u{3400}-\u{4dbf}][a-zA-Z0-9\u{4e00}-\u{9fff}:_.-]{0,20}",
        2 => "(m-|ecd-)[a-z0-9]{1,24}",
        1 => "(m-|ecd-|M-|m_|ecd)[a-z0-9A-Z_.]{0,66}",
        1 => "[0-9]{0,22}",
        1 => "(?i:https?://)[ -~]{0,20}",
        2 => "[ -~]{0,40}",
        1 => "[a-z]{1,6}(-[a-z0-9]{0,6}){0,3}",
        1 => Just(values::UNKNOWN.to_string()),
    ]
}

/// Property names: mostly `names`, plus engine bookkeeping keys and arbitrary (non-empty) strings.
fn key(names: Vec<String>) -> impl Strategy<Value = String> {
    prop_oneof![
        12 => prop::sample::select(names),
        1 => Just("__defaults".to_string()),
        1 => "[a-zA-Z_]{1,12}",
        1 => any::<String>().prop_filter("property names are not empty", |s| !s.is_empty()),
    ]
}

fn number() -> impl Strategy<Value = Value> {
    prop_oneof![
        any::<f64>().prop_filter_map("JSON numbers are finite", |f| {
            Number::from_f64(f).map(Value::Number)
        }),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
    ]
}

fn leaf(unknowns: bool) -> BoxedStrategy<Value> {
    let known = prop_oneof![
        1 => Just(Value::Null),
        1 => any::<bool>().prop_map(Value::Bool),
        2 => number(),
        6 => text().prop_map(Value::String),
    ];
    if unknowns {
        prop_oneof![8 => known, 1 => Just(values::unknown())].boxed()
    } else {
        known
            .prop_filter("no unknowns", |v| !values::is_unknown(v))
            .boxed()
    }
}

/// Arbitrary JSON: leaves, arrays, objects and secrets of any of these, nested a few levels deep.
fn json(unknowns: bool) -> BoxedStrategy<Value> {
    leaf(unknowns)
        .prop_recursive(3, 24, 4, |inner| {
            prop_oneof![
                2 => inner.clone().prop_map(values::secret),
                1 => prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
                1 => prop::collection::btree_map("[a-zA-Z_]{0,8}|\\PC{0,8}", inner, 0..4)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
        .boxed()
}

/// A property bag over `names` (and stray keys) with arbitrary values.
fn bag(names: Vec<String>, unknowns: bool) -> impl Strategy<Value = Props> {
    prop::collection::btree_map(key(names), json(unknowns), 0..7)
        .prop_map(|m| m.into_iter().collect())
}

/// A bag over one resource's inputs: the index of a resource in the registry and the bag.
fn resource_bag(unknowns: bool) -> impl Strategy<Value = (usize, Props)> {
    let per_resource: Vec<_> = registry()
        .iter()
        .enumerate()
        .map(|(i, r)| (Just(i), bag(r.spec().inputs.clone(), unknowns)).boxed())
        .collect();
    prop::strategy::Union::new(per_resource)
}

/// Arbitrary JSON with f64 numbers: what a Struct holds unchanged.
fn plain_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<f64>().prop_filter_map("finite", |f| Number::from_f64(f).map(Value::Number)),
        text().prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 32, 5, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
            prop::collection::btree_map(any::<String>(), inner, 0..5)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

// ---------------------------------------------------------------------------------------------------
// What a clear rejection is
// ---------------------------------------------------------------------------------------------------

/// Strings that appear outside any secret (keys and values), and strings inside secrets.
#[derive(Default)]
struct Texts {
    plain: Vec<String>,
    secret: Vec<String>,
}

fn collect_texts(v: &Value, in_secret: bool, out: &mut Texts) {
    let push = |s: &str, out: &mut Texts| {
        if in_secret {
            out.secret.push(s.to_string());
        } else {
            out.plain.push(s.to_string());
        }
    };
    if values::is_secret(v) {
        collect_texts(values::reveal(v), true, out);
        return;
    }
    match v {
        Value::String(s) => push(s, out),
        Value::Number(n) => push(&n.to_string(), out),
        Value::Array(a) => a.iter().for_each(|v| collect_texts(v, in_secret, out)),
        Value::Object(m) => {
            for (k, v) in m {
                push(k, out);
                collect_texts(v, in_secret, out);
            }
        }
        Value::Null | Value::Bool(_) => {}
    }
}

/// The secret texts of a bag that would be a leak if a message repeated them: long enough not to
/// occur by chance, and not also present in the clear (as a key, a plain value or in `public`).
fn secrets_of(props: &Props, public: &[&str]) -> Vec<String> {
    let mut texts = Texts::default();
    for (k, v) in props {
        texts.plain.push(k.clone());
        collect_texts(v, false, &mut texts);
    }
    texts
        .secret
        .into_iter()
        .filter(|s| s.chars().count() >= 8)
        .filter(|s| !texts.plain.iter().any(|p| p.contains(s.as_str())))
        .filter(|s| !public.iter().any(|p| p.contains(s.as_str())))
        .collect()
}

/// Whether a failure names its property and says why, in words that mention the property.
fn assert_names_property(f: &Failure) -> Result<(), TestCaseError> {
    prop_assert!(!f.property.is_empty(), "failure without a property: {f:?}");
    prop_assert!(
        !f.reason.trim().is_empty(),
        "failure without a reason: {f:?}"
    );
    prop_assert!(
        f.reason.contains(&f.property),
        "reason does not mention {:?}: {:?}",
        f.property,
        f.reason
    );
    Ok(())
}

fn assert_no_secret(f: &Failure, secrets: &[String]) -> Result<(), TestCaseError> {
    for s in secrets {
        prop_assert!(
            !f.reason.contains(s.as_str()) && !f.property.contains(s.as_str()),
            "failure repeats the secret {s:?}: {f:?}"
        );
    }
    Ok(())
}

/// Text any message may contain: the resource's token and property names, and the examples the
/// rules quote.
fn public_text(spec: &ResourceSpec) -> Vec<&str> {
    let mut p: Vec<&str> = vec![
        spec.token.as_str(),
        "ecd-7w78ozhjcwa3u2kqb",
        "m-bp1g7004ksh0oeuc6ps1",
        "1234567890123456",
    ];
    p.extend(spec.inputs.iter().map(String::as_str));
    p
}

/// Check as the provider runs it: the schema's rules, then the resource's.
fn check_all(r: &dyn Resource, olds: &Props, news: &Props) -> Vec<Failure> {
    resources::check_inputs(r, olds, news)
}

// ---------------------------------------------------------------------------------------------------
// Check: schema and resource validation
// ---------------------------------------------------------------------------------------------------

proptest! {
    #![proptest_config(config())]

    /// No bag of inputs makes Check panic, and every failure names its property and mentions it.
    #[test]
    fn resource_check_failures_name_their_property(
        (i, news) in resource_bag(true),
        olds in prop_oneof![Just(Props::new()), bag(vec!["desktopId".into(), "imageName".into(), "imageId".into()], false)],
    ) {
        let r = &registry()[i];
        for f in check_all(r.as_ref(), &olds, &news) {
            assert_names_property(&f)?;
            let about_input = r.spec().inputs.contains(&f.property) || news.contains_key(&f.property);
            prop_assert!(about_input, "failure about a property that is neither an input nor sent: {f:?}");
        }
    }

    /// Check's failures never repeat the text of a value marked secret.
    #[test]
    fn resource_check_failures_keep_secrets((i, news) in resource_bag(true)) {
        let r = &registry()[i];
        let secrets = secrets_of(&news, &public_text(r.spec()));
        for f in check_all(r.as_ref(), &Props::new(), &news) {
            assert_no_secret(&f, &secrets)?;
        }
    }

    /// Marking set inputs secret changes nothing about whether they pass: a valid secret stays valid, an
    /// invalid one is still rejected, for the same properties. (Null is left alone: see
    /// `secret_null_is_unset`.)
    #[test]
    fn secrecy_does_not_change_the_verdict((i, news) in resource_bag(true)) {
        let r = &registry()[i];
        let hidden: Props = news
            .iter()
            .map(|(k, v)| {
                let keep = v.is_null() || values::is_secret(v);
                (k.clone(), if keep { v.clone() } else { values::secret(v.clone()) })
            })
            .collect();
        let props = |fs: Vec<Failure>| fs.into_iter().map(|f| f.property).collect::<BTreeSet<_>>();
        prop_assert_eq!(
            props(check_all(r.as_ref(), &Props::new(), &news)),
            props(check_all(r.as_ref(), &Props::new(), &hidden))
        );
    }

    /// Unknown (preview) values, secret or not, pass every rule: required, type and format.
    #[test]
    fn unknowns_pass_every_rule(
        i in 0..registry().len(),
        secret in prop::collection::vec(any::<bool>(), 8),
        olds in prop_oneof![Just(Props::new()), bag(vec!["imageName".into()], false)],
    ) {
        let r = &registry()[i];
        let news: Props = r
            .spec()
            .inputs
            .iter()
            .zip(secret.into_iter().cycle())
            .map(|(k, s)| (k.clone(), if s { values::secret(values::unknown()) } else { values::unknown() }))
            .collect();
        let failures = check_all(r.as_ref(), &olds, &news);
        prop_assert!(failures.is_empty(), "unknown values rejected: {failures:?}");
    }
}

// ---------------------------------------------------------------------------------------------------
// The field rules, against independent statements of the documented rules
// ---------------------------------------------------------------------------------------------------

fn is_cjk_ideograph(c: char) -> bool {
    // CJK Unified Ideographs and Extension A.
    ('\u{4E00}'..='\u{9FFF}').contains(&c) || ('\u{3400}'..='\u{4DBF}').contains(&c)
}

fn starts_with_url_scheme(s: &str) -> bool {
    let head: String = s.chars().take(8).collect::<String>().to_lowercase();
    head.starts_with("http://") || head.starts_with("https://")
}

/// min..=max characters, first an ASCII letter or CJK ideograph, the rest ASCII letters, digits, CJK,
/// `:`, `_` or `-`, and not a URL.
fn name_rule_allows(s: &str, min: usize, max: usize) -> bool {
    let n = s.chars().count();
    let mut chars = s.chars();
    let first_ok = chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || is_cjk_ideograph(c));
    let rest_ok = chars.all(|c| {
        c.is_ascii_alphanumeric() || is_cjk_ideograph(c) || c == ':' || c == '_' || c == '-'
    });
    (min..=max).contains(&n) && first_ok && rest_ok && !starts_with_url_scheme(s)
}

fn property_name() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => Just("imageName".to_string()),
        1 => "[a-zA-Z][a-zA-Z0-9]{0,15}",
        1 => any::<String>().prop_filter("non-empty", |s| !s.is_empty()),
    ]
}

/// A rule's bounds: mostly the real ones, sometimes anything (including min > max).
fn bounds() -> impl Strategy<Value = (usize, usize)> {
    prop_oneof![
        4 => Just((2, 128)),
        1 => Just((2, 256)),
        1 => (0usize..200, 0usize..200),
    ]
}

/// Every string a name could be: near-valid names, names with one stray character, and anything.
fn name_candidate() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => text(),
        2 => ("[a-zA-Z\u{4e00}-\u{9fff}][a-zA-Z0-9\u{4e00}-\u{9fff}:_-]{0,140}", any::<char>(), any::<prop::sample::Index>())
            .prop_map(|(s, c, at)| {
                let mut chars: Vec<char> = s.chars().collect();
                let i = at.index(chars.len() + 1);
                chars.insert(i, c);
                chars.into_iter().collect()
            }),
    ]
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn name_accepts_exactly_the_documented_names(
        property in property_name(), value in name_candidate(), (min, max) in bounds(),
    ) {
        let allowed = name_rule_allows(&value, min, max);
        match check::name(&property, &value, min, max) {
            Some(f) => {
                prop_assert_eq!(&f.property, &property);
                assert_names_property(&f)?;
                prop_assert!(!allowed, "valid name {value:?} rejected for {min}..={max}: {f:?}");
            }
            None => {
                prop_assert!(!value.contains('.'), "{value:?} accepted although it contains '.'");
                prop_assert!(allowed, "{value:?} accepted for {min}..={max}");
            }
        }
    }

    #[test]
    fn description_accepts_exactly_the_documented_texts(
        property in property_name(), value in text(), (min, max) in bounds(),
    ) {
        let n = value.chars().count();
        let allowed = (min..=max).contains(&n) && !starts_with_url_scheme(&value);
        match check::description(&property, &value, min, max) {
            Some(f) => {
                prop_assert_eq!(&f.property, &property);
                assert_names_property(&f)?;
                prop_assert!(!allowed, "valid description {value:?} rejected: {f:?}");
            }
            None => prop_assert!(allowed, "{value:?} accepted for {min}..={max}"),
        }
    }

    #[test]
    fn id_with_prefix_accepts_exactly_prefix_and_lowercase_alphanumerics(
        property in property_name(),
        prefix in prop_oneof![Just("m-".to_string()), Just("ecd-".to_string()), "[a-z]{1,4}-?", any::<String>()],
        tail in prop_oneof!["[a-z0-9]{0,70}", "[a-zA-Z0-9_.\u{4e00}-\u{4e10}-]{0,70}", any::<String>()],
        glue in any::<bool>(),
    ) {
        // Either the prefix followed by a tail, or the tail alone.
        let value = if glue { format!("{prefix}{tail}") } else { tail.clone() };
        let rest = value.strip_prefix(prefix.as_str());
        let allowed = rest.is_some_and(|r| {
            !r.is_empty() && r.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        }) && value.len() <= 64;
        match check::id_with_prefix(&property, &value, &prefix, "x-1") {
            Some(f) => {
                prop_assert_eq!(&f.property, &property);
                assert_names_property(&f)?;
                prop_assert!(!allowed, "valid id {value:?} (prefix {prefix:?}) rejected: {f:?}");
            }
            None => {
                prop_assert!(allowed, "{value:?} accepted for prefix {prefix:?}");
                prop_assert!(value.chars().count() <= 64);
            }
        }
    }

    #[test]
    fn account_id_accepts_exactly_up_to_20_digits(
        property in property_name(),
        value in prop_oneof!["[0-9]{0,24}", "[0-9 +-]{0,22}", any::<String>(), "[\\p{Nd}]{1,6}"],
    ) {
        let allowed = (1..=20).contains(&value.chars().count()) && value.chars().all(|c| c.is_ascii_digit());
        match check::account_id(&property, &value) {
            Some(f) => {
                prop_assert_eq!(&f.property, &property);
                assert_names_property(&f)?;
                prop_assert!(!allowed, "valid account id {value:?} rejected: {f:?}");
            }
            None => prop_assert!(allowed, "{value:?} accepted as an account id"),
        }
    }
}

// ---------------------------------------------------------------------------------------------------
// Diff
// ---------------------------------------------------------------------------------------------------

/// A resource index with olds, old inputs and news over its inputs, and some ignoreChanges.
fn diff_case() -> impl Strategy<Value = (usize, Props, Props, Props, Vec<String>)> {
    let per_resource: Vec<_> = registry()
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let names = r.spec().inputs.clone();
            let ignore = prop::collection::vec(
                prop_oneof![
                    3 => prop::sample::select(names.clone()),
                    1 => "[a-zA-Z]{1,8}",
                ],
                0..2,
            );
            (
                Just(i),
                bag(names.clone(), false),
                prop_oneof![Just(Props::new()), bag(names.clone(), false)],
                bag(names, true),
                prop_oneof![2 => Just(Vec::new()), 1 => ignore],
            )
                .boxed()
        })
        .collect();
    prop::strategy::Union::new(per_resource)
}

fn present(v: Option<&Value>) -> Option<&Value> {
    v.filter(|v| !values::reveal(v).is_null())
}

proptest! {
    #![proptest_config(config())]

    /// Any olds and news: the plan lists each changed input once, in schema order, never an ignored
    /// one, marks exactly the replace-on-change inputs as replacements, and catches every change of one.
    #[test]
    fn plan_is_consistent_with_the_schema((i, olds, old_inputs, news, ignore) in diff_case()) {
        let r = &registry()[i];
        let spec = r.spec();
        let plan = diff::plan(spec, r.diff_rules(), &olds, &old_inputs, &news, &ignore);
        let positions: Vec<usize> = plan
            .changes
            .iter()
            .map(|(n, _, _)| spec.inputs.iter().position(|i| i == n).expect("changes are inputs"))
            .collect();
        prop_assert!(positions.windows(2).all(|w| w[0] < w[1]), "{:?}", plan.changes);
        for (name, _, replace) in &plan.changes {
            prop_assert!(!ignore.contains(name), "ignored {name} changed");
            prop_assert_eq!(*replace, spec.replace_on_changes.contains(name), "{}", name);
        }
        for name in &spec.replace_on_changes {
            let old = present(olds.get(name)).or_else(|| present(old_inputs.get(name)));
            let new = present(news.get(name));
            if let (Some(o), Some(n)) = (old, new)
                && !ignore.contains(name)
                && (values::reveal(o) != values::reveal(n) || values::is_unknown(n))
            {
                prop_assert!(
                    plan.changes.contains(&(name.clone(), Change::Update, true)),
                    "{name}: {o} -> {n} is not a replacement: {:?}",
                    plan.changes
                );
            }
        }
        let _ = plan.into_response();
    }

    /// Identical olds and news (known values, the state recorded as inputs or not) change nothing,
    /// also when the news mark some of the same values secret or no longer secret.
    #[test]
    fn identical_inputs_change_nothing(
        (i, olds) in resource_bag(false),
        with_old_inputs in any::<bool>(),
        toggle in prop::collection::vec(any::<bool>(), 8),
    ) {
        let r = &registry()[i];
        let mut news = olds.clone();
        for ((_, v), flip) in news.iter_mut().zip(toggle) {
            if !flip || v.is_null() {
                continue;
            }
            if !values::is_secret(v) {
                *v = values::secret(v.clone());
            } else {
                let inner = values::reveal(v);
                if !inner.is_null() && !values::is_secret(inner) {
                    *v = inner.clone();
                }
            }
        }
        let old_inputs = if with_old_inputs { olds.clone() } else { Props::new() };
        let plan = diff::plan(r.spec(), r.diff_rules(), &olds, &old_inputs, &news, &[]);
        prop_assert!(plan.changes.is_empty(), "{:?}", plan.changes);
    }

    /// Changing a replace-on-change input to another known or unknown value replaces the resource.
    #[test]
    fn changing_a_replace_on_change_input_replaces(
        (i, olds) in resource_bag(false),
        which in any::<prop::sample::Index>(),
        a in leaf(false).prop_filter("set", |v| !v.is_null()),
        b in leaf(true).prop_filter("set", |v| !v.is_null()),
        secret_a in any::<bool>(),
        secret_b in any::<bool>(),
    ) {
        let r = &registry()[i];
        let spec = r.spec();
        prop_assume!(!spec.replace_on_changes.is_empty());
        prop_assume!(a != b);
        let name = spec.replace_on_changes[which.index(spec.replace_on_changes.len())].clone();
        let wrap = |v: Value, s: bool| if s { values::secret(v) } else { v };
        let mut olds = olds;
        olds.insert(name.clone(), wrap(a, secret_a));
        let mut news = olds.clone();
        news.insert(name.clone(), wrap(b, secret_b));
        let plan = diff::plan(spec, r.diff_rules(), &olds, &Props::new(), &news, &[]);
        prop_assert!(
            plan.changes.contains(&(name.clone(), Change::Update, true)),
            "{name}: {:?}", plan.changes
        );
        prop_assert_eq!(plan.replaces(), vec![name]);
    }
}

// ---------------------------------------------------------------------------------------------------
// The share id
// ---------------------------------------------------------------------------------------------------

fn image_id() -> impl Strategy<Value = String> {
    "[a-z0-9]{1,62}".prop_map(|s| format!("m-{s}"))
}

fn account() -> impl Strategy<Value = String> {
    "[0-9]{1,20}"
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn share_ids_round_trip(image in image_id(), account in account()) {
        let id = format!("{image}:{account}");
        let parsed = resources::parse_share_id(&id);
        prop_assert!(parsed.is_ok(), "{id:?}: {:?}", parsed.err().map(|e| e.to_string()));
        prop_assert_eq!(parsed.ok(), Some((image.as_str(), account.as_str())));
    }

    #[test]
    fn share_id_parser_accepts_only_image_colon_account(
        id in prop_oneof![
            2 => any::<String>(),
            2 => (prop_oneof![image_id(), text()], prop_oneof![Just(":"), Just("::"), Just(""), Just("/")], prop_oneof![account(), text()])
                .prop_map(|(a, sep, b)| format!("{a}{sep}{b}")),
        ],
    ) {
        match resources::parse_share_id(&id) {
            Ok((image, account)) => {
                prop_assert_eq!(format!("{image}:{account}"), id.clone());
                let image_ok = image.len() <= 64
                    && image.strip_prefix("m-").is_some_and(|r| {
                        !r.is_empty() && r.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
                    });
                prop_assert!(image_ok, "{id:?} accepted with image {image:?}");
                let account_ok = (1..=20).contains(&account.len()) && account.chars().all(|c| c.is_ascii_digit());
                prop_assert!(account_ok, "{id:?} accepted with account {account:?}");
            }
            Err(e) => {
                let msg = e.to_string();
                prop_assert!(msg.contains("<imageId>:<accountId>"), "{id:?}: {msg}");
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------------
// Provider configuration
// ---------------------------------------------------------------------------------------------------

fn endpoints_value() -> impl Strategy<Value = Value> {
    let url = prop_oneof![
        3 => text().prop_map(Value::String),
        1 => json(true),
    ];
    let service = prop_oneof![
        3 => prop_oneof![Just("ecs".to_string()), Just("ecd".to_string())],
        1 => "[a-z]{1,6}",
        1 => any::<String>(),
    ];
    let object = prop::collection::btree_map(service, url, 0..4)
        .prop_map(|m| Value::Object(m.into_iter().collect()));
    prop_oneof![
        3 => object.clone(),
        2 => object.clone().prop_map(|o| Value::String(o.to_string())),
        1 => object.prop_map(values::secret),
        1 => json(true),
    ]
}

fn config_bag() -> impl Strategy<Value = Props> {
    let spec = &Schema::embedded().config;
    let mut names = spec.variables.clone();
    names.extend(["version".to_string(), "pluginDownloadURL".to_string()]);
    (
        bag(names, true),
        prop::option::of(endpoints_value()),
        any::<bool>(),
    )
        .prop_map(|(mut props, endpoints, secret_region)| {
            if let Some(e) = endpoints {
                props.insert("endpoints".into(), e);
            }
            if secret_region
                && let Some(v) = props.get_mut("region")
                && !values::is_secret(v)
            {
                *v = values::secret(v.take());
            }
            props
        })
}

proptest! {
    #![proptest_config(config())]

    /// No config makes validation panic, and every failure names a key that was sent or is a
    /// configuration variable.
    #[test]
    fn config_failures_name_a_key(props in config_bag()) {
        let spec = &Schema::embedded().config;
        for f in config::validate(spec, &props) {
            prop_assert!(!f.property.is_empty(), "{f:?}");
            prop_assert!(!f.reason.trim().is_empty(), "{f:?}");
            prop_assert!(
                props.contains_key(&f.property) || spec.variables.contains(&f.property),
                "failure names no key: {f:?}"
            );
        }
    }

    /// Config failures never repeat the text of a value marked secret.
    #[test]
    fn config_failures_keep_secrets(props in config_bag()) {
        let spec = &Schema::embedded().config;
        let public: Vec<&str> = spec
            .variables
            .iter()
            .chain(&spec.endpoint_services)
            .map(String::as_str)
            .chain(["cn-hangzhou", "https://ecs.example"])
            .collect();
        let secrets = secrets_of(&props, &public);
        for f in config::validate(spec, &props) {
            assert_no_secret(&f, &secrets)?;
        }
    }
}

// ---------------------------------------------------------------------------------------------------
// Struct conversion
// ---------------------------------------------------------------------------------------------------

proptest! {
    #![proptest_config(config())]

    /// Props → Struct → Props is the identity for JSON with f64 numbers, secrets and unknowns included.
    #[test]
    fn struct_round_trip(
        props in prop::collection::btree_map(any::<String>(), prop_oneof![
            3 => plain_json(),
            1 => plain_json().prop_map(values::secret),
            1 => Just(values::unknown()),
        ], 0..8),
    ) {
        let props: Props = props.into_iter().collect();
        let back = values::from_struct(Some(&values::to_struct(&props)));
        prop_assert_eq!(back, props);
    }

    /// Integers come back as the same number (as f64, which is all a Struct holds).
    #[test]
    fn struct_keeps_integer_values(n in -(1i64 << 53)..=(1i64 << 53)) {
        let props: Props = [("n".to_string(), Value::from(n))].into_iter().collect();
        let back = values::from_struct(Some(&values::to_struct(&props)));
        prop_assert_eq!(back["n"].as_f64(), Some(n as f64));
    }
}

#[test]
fn absent_struct_is_empty() {
    assert!(values::from_struct(None).is_empty());
}

/// A secret null is as unset as a plain null: not a value of the wrong type.
#[test]
fn secret_null_is_unset() {
    for r in registry() {
        for name in &r.spec().inputs {
            let plain: Props = [(name.clone(), Value::Null)].into_iter().collect();
            let hidden: Props = [(name.clone(), values::secret(Value::Null))]
                .into_iter()
                .collect();
            let about = |fs: Vec<Failure>| fs.into_iter().map(|f| f.reason).collect::<Vec<_>>();
            assert_eq!(
                about(check_all(r.as_ref(), &Props::new(), &plain)),
                about(check_all(r.as_ref(), &Props::new(), &hidden)),
                "{} {name}",
                r.spec().token
            );
        }
    }
}

/// An endpoint URL marked secret is read like any other.
#[test]
fn secret_endpoint_urls_are_accepted() {
    let spec = &Schema::embedded().config;
    for service in &spec.endpoint_services {
        let mut endpoints = Props::new();
        endpoints.insert(
            service.clone(),
            values::secret(Value::String("http://127.0.0.1:9".into())),
        );
        let props: Props = [("endpoints".to_string(), Value::Object(endpoints))]
            .into_iter()
            .collect();
        let failures = config::validate(spec, &props);
        assert!(failures.is_empty(), "{service}: {failures:?}");
    }
}
