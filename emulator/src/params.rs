//! Request parameters, as both signature schemes deliver them (query and form body).

use crate::error::ApiError;

/// The parameters of one call.
#[derive(Debug, Clone, Default)]
pub struct Params(pub Vec<(String, String)>);

impl Params {
    /// A parameter's value.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// A mandatory parameter (`MissingParameter` when absent or empty).
    pub fn require(&self, name: &str) -> Result<&str, ApiError> {
        self.get(name)
            .filter(|v| !v.is_empty())
            .ok_or_else(|| ApiError::missing(name))
    }

    /// `Key.N` values ordered by N (1-based); N that is not a positive number is an error.
    pub fn list(&self, key: &str) -> Result<Vec<(usize, String)>, ApiError> {
        let prefix = format!("{key}.");
        let mut out = Vec::new();
        for (k, v) in &self.0 {
            let Some(n) = k.strip_prefix(&prefix) else {
                continue;
            };
            match n.parse::<usize>() {
                Ok(n) if n >= 1 => out.push((n, v.clone())),
                _ => {
                    return Err(ApiError::invalid(
                        k,
                        "the index N must be a positive number",
                    ));
                }
            }
        }
        out.sort();
        Ok(out)
    }

    /// An optional integer within `min..=max`.
    pub fn int(&self, name: &str, default: u64, min: u64, max: u64) -> Result<u64, ApiError> {
        match self.get(name) {
            None | Some("") => Ok(default),
            Some(v) => match v.parse::<u64>() {
                Ok(n) if (min..=max).contains(&n) => Ok(n),
                _ => Err(ApiError::invalid(
                    name,
                    &format!("must be an integer from {min} to {max}"),
                )),
            },
        }
    }
}

fn is_cjk(c: char) -> bool {
    matches!(c, '\u{4E00}'..='\u{9FFF}' | '\u{3400}'..='\u{4DBF}')
}

fn url_like(v: &str) -> bool {
    let l = v.to_ascii_lowercase();
    l.starts_with("http://") || l.starts_with("https://")
}

/// Where an ECD image name is given, which decides what may start it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NameParam {
    /// CreateImage `ImageName`: "must start with a letter or a Chinese character".
    ImageName,
    /// ModifyImageAttribute `Name`: "must start with a letter".
    Name,
}

impl NameParam {
    fn as_str(self) -> &'static str {
        match self {
            NameParam::ImageName => "ImageName",
            NameParam::Name => "Name",
        }
    }
}

/// The ECD image name rule (alibabacloud_ecd20200930 5.5.0, `CreateImageRequest.image_name` and
/// `ModifyImageAttributeRequest.name`): 2–128 characters; letters, digits, `:`, `_` and `-`; starting with a
/// letter (for `ImageName` also a Chinese character); not starting with `http://` or `https://`. No `.`.
/// Chinese characters after the first are taken as letters (the documentation does not say).
pub fn check_name(param: NameParam, v: &str) -> Result<(), ApiError> {
    let len = v.chars().count();
    let first_ok =
        |c: char| c.is_ascii_alphabetic() || (param == NameParam::ImageName && is_cjk(c));
    let ok = (2..=128).contains(&len)
        && !url_like(v)
        && v.chars().next().is_some_and(first_ok)
        && v.chars()
            .all(|c| c.is_ascii_alphanumeric() || is_cjk(c) || matches!(c, ':' | '_' | '-'));
    if ok {
        return Ok(());
    }
    let start = match param {
        NameParam::ImageName => "a letter or Chinese character",
        NameParam::Name => "a letter",
    };
    let param = param.as_str();
    Err(ApiError::new(
        400,
        &format!("InvalidParameter.{param}"),
        format!(
            "The specified parameter {param} is not valid: 2 to 128 characters, starting with {start}; letters, digits, colons, underscores and hyphens; not starting with http:// or https://."
        ),
    ))
}

/// Alibaba's rule for descriptions: 2–256 characters, not starting with `http(s)://`.
pub fn check_description(v: &str) -> Result<(), ApiError> {
    let len = v.chars().count();
    if (2..=256).contains(&len) && !url_like(v) {
        Ok(())
    } else {
        Err(ApiError::new(
            400,
            "InvalidParameter.Description",
            "The specified parameter Description is not valid: 2 to 256 characters, not starting with http:// or https://.",
        ))
    }
}
