//! Who calls: an authenticated value, made only here.
//!
//! The call path takes an [`Authenticated`], never a bare principal, so a front end
//! cannot hand in whoever it likes: it either proves credentials (an access key and its
//! secret, a session token — and, for the network API, a verified signature), or it is the
//! embedded CLI's local operator, whose chosen identity is recorded as chosen in the
//! audit trail.

use bunker_core::security::Caller;

use crate::{Failure, Service};

/// How the embedded CLI's local operator came to act as a principal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LocalChoice {
    /// `BUNKER_PRINCIPAL` named an account's root.
    PrincipalVariable,
    /// The command named the account (`--account-id`, or the account of the ARN it acts on).
    NamedAccount,
    /// No account named: the management account's root.
    ManagementAccount,
    /// Before an organization exists: a root outside any.
    NoOrganization,
}

impl LocalChoice {
    fn label(self) -> &'static str {
        match self {
            Self::PrincipalVariable => "BUNKER_PRINCIPAL",
            Self::NamedAccount => "named-account",
            Self::ManagementAccount => "management-account-default",
            Self::NoOrganization => "no-organization-default",
        }
    }
}

/// A caller whose identity the service established.
#[derive(Debug, Clone)]
pub struct Authenticated {
    caller: Caller,
}

impl Authenticated {
    /// The principal.
    pub fn caller(&self) -> &Caller {
        &self.caller
    }

    /// The account of the principal.
    pub fn account_id(&self) -> &str {
        &self.caller.account_id
    }
}

impl Service {
    /// A caller proving an access key (and, for temporary credentials, its session
    /// token), from `source` (`cli`, `api`).
    ///
    /// # Errors
    /// Unknown or inactive keys, a wrong secret, an expired session.
    pub async fn authenticate(&self, access_key_id: &str, secret: &str, session_token: Option<&str>, source: &str) -> Result<Authenticated, Failure> {
        let caller = self.security.authenticate(access_key_id, secret, session_token, source).await?;
        Ok(Authenticated { caller })
    }

    /// The embedded CLI's local operator acting as `account`'s root, recorded with how
    /// that identity was chosen (`source` becomes `cli/local:<choice>`). Whoever runs the
    /// CLI on a home holds its files anyway; the network API never makes this caller.
    pub fn local_operator(&self, account: &str, choice: LocalChoice) -> Authenticated {
        Authenticated { caller: Caller::root(account, &format!("cli/local:{}", choice.label())) }
    }

    /// A caller whose credentials were refused: the audit trail names the key tried.
    pub(crate) fn unknown_caller(access_key_id: Option<String>, source: &str) -> Authenticated {
        let mut caller = Caller::root("000000000000", source);
        caller.arn = "unknown".into();
        caller.access_key_id = access_key_id;
        Authenticated { caller }
    }

    /// The management account, when an organization exists.
    pub async fn management_account(&self) -> Option<String> {
        self.orgs.describe_organization().await.ok().map(|o| o.master_account_id)
    }
}
