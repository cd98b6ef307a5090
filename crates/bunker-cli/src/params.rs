//! Reading parameters the AWS CLI's way before a request is built: `file://PATH` is the
//! file's text and `fileb://PATH` its bytes (in base64), for any parameter. The service
//! only ever sees the values.

use std::ffi::OsString;

/// `args` with every `file://` and `fileb://` value replaced by what it names.
///
/// # Errors
/// `Error parsing parameter '--flag': Unable to load paramfile …`, as the AWS CLI says it.
pub fn load_paramfiles(args: Vec<OsString>) -> Result<Vec<OsString>, String> {
    let mut out = Vec::with_capacity(args.len());
    let mut previous: Option<String> = None;
    for arg in args {
        let text = arg.to_string_lossy().into_owned();
        let (flag, value) = match text.split_once('=') {
            Some((flag, value)) if flag.starts_with("--") => (Some(flag.to_owned()), value.to_owned()),
            _ => (None, text.clone()),
        };
        let name = flag.clone().or_else(|| previous.clone()).unwrap_or_else(|| "parameter".into());
        let loaded = if let Some(path) = value.strip_prefix("file://") {
            Some(std::fs::read_to_string(path).map_err(|e| format!("Error parsing parameter '{name}': Unable to load paramfile {value}: {e}"))?)
        } else if let Some(path) = value.strip_prefix("fileb://") {
            let bytes = std::fs::read(path).map_err(|e| format!("Error parsing parameter '{name}': Unable to load paramfile {value}: {e}"))?;
            Some(bunker_core::security::kms::base64::encode(&bytes))
        } else {
            None
        };
        previous = text.starts_with("--").then(|| text.clone());
        out.push(match (loaded, flag) {
            (Some(v), Some(flag)) => OsString::from(format!("{flag}={v}")),
            (Some(v), None) => OsString::from(v),
            (None, _) => arg,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paramfiles_are_read_for_any_flag() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p.json");
        std::fs::write(&path, "{\"plans\":{}}").unwrap();
        let args: Vec<OsString> = ["bunker", "org", "create-policy", "--content", &format!("file://{}", path.display()), &format!("--x=fileb://{}", path.display())]
            .iter()
            .map(OsString::from)
            .collect();
        let out = load_paramfiles(args).unwrap();
        assert_eq!(out[4], "{\"plans\":{}}");
        assert_eq!(out[5], OsString::from(format!("--x={}", bunker_core::security::kms::base64::encode(b"{\"plans\":{}}"))));
        let missing = load_paramfiles(vec!["--content".into(), "file:///nonexistent/x.json".into()]).unwrap_err();
        assert!(missing.starts_with("Error parsing parameter '--content': Unable to load paramfile"), "{missing}");
    }
}
