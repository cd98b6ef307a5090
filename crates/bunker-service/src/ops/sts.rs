//! `bunker sts`: who am I, and temporary credentials — a role's session (`assume-role`,
//! across accounts when the trust policy allows) or a user's session with MFA
//! (`get-session-token`), as `aws sts …` prints them.

use bunker_core::security::{Caller, Security};
use clap::Subcommand;
use serde::Serialize;
use serde_json::{Value, json};

use crate::aws_json::shape;
use crate::failure::Failure;

/// The operations.
#[derive(Debug, Clone, Subcommand, Serialize)]
#[serde(rename_all_fields = "PascalCase")]
pub enum Command {
    /// Show the caller's account, ARN and id.
    GetCallerIdentity,
    /// Temporary credentials for a role the caller may assume.
    AssumeRole {
        /// The role.
        #[arg(long)]
        role_arn: String,
        /// The session's name.
        #[arg(long)]
        role_session_name: String,
        /// Seconds (900 up to the role's MaxSessionDuration).
        #[arg(long)]
        duration_seconds: Option<i64>,
        /// The caller's MFA device.
        #[arg(long, requires = "token_code")]
        serial_number: Option<String>,
        /// Its current code.
        #[arg(long, requires = "serial_number")]
        token_code: Option<String>,
    },
    /// Temporary credentials for the calling user, carrying MFA when a code is shown.
    GetSessionToken {
        /// Seconds (900–129600).
        #[arg(long)]
        duration_seconds: Option<i64>,
        /// The user's MFA device.
        #[arg(long, requires = "token_code")]
        serial_number: Option<String>,
        /// Its current code.
        #[arg(long, requires = "serial_number")]
        token_code: Option<String>,
    },
}

/// Runs one operation as `caller`.
pub async fn run(sec: &Security, caller: &Caller, command: Command) -> Result<Option<Value>, Failure> {
    let out = match command {
        Command::GetCallerIdentity => shape(&Security::get_caller_identity(caller)),
        Command::AssumeRole { role_arn, role_session_name, duration_seconds, serial_number, token_code } => {
            let mfa = serial_number.as_deref().zip(token_code.as_deref());
            let (credentials, session_arn) = sec.assume_role(caller, &role_arn, &role_session_name, duration_seconds, mfa).await?;
            let id = session_arn.rsplit('/').next().unwrap_or_default().to_owned();
            json!({
                "Credentials": shape(&credentials),
                "AssumedRoleUser": { "AssumedRoleId": id, "Arn": session_arn },
            })
        }
        Command::GetSessionToken { duration_seconds, serial_number, token_code } => {
            let mfa = serial_number.as_deref().zip(token_code.as_deref());
            json!({ "Credentials": shape(&sec.get_session_token(caller, duration_seconds, mfa).await?) })
        }
    };
    Ok(Some(out))
}
