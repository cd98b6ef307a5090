//! The two-person rule for break-glass accounts: once an account turns it on, the actions
//! that destroy or unlock backups for good — scheduling a key's deletion, bypassing a
//! governance-mode Vault Lock, turning the rule off — need a second principal's approval.
//!
//! The first principal's call is refused with a new approval request; a different
//! principal of the same account, in a session with MFA and itself allowed the action,
//! approves it; the first principal repeats the call naming the request
//! (`BUNKER_APPROVAL_ID`), which uses it up. Requests lapse after an hour. Every step
//! passes the call path, so all of it is in the audit trail.

use bunker_catalog::ApprovalRow;
use jiff::SignedDuration;
use serde::Serialize;

use super::master_key::random;
use super::{AccessRequest, Caller, Security, SecurityError, SecurityResult};

/// The actions the rule guards.
pub const GUARDED_ACTIONS: &[&str] = &["kms:ScheduleKeyDeletion", "backup:BypassGovernanceRetention", "iam:DisableTwoPersonRule"];
/// How long a request waits for its approval and then its use.
const LIFETIME: SignedDuration = SignedDuration::from_hours(1);

/// An approval request as `list-approval-requests` shows it.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ApprovalRequest {
    /// `RequestId`.
    pub request_id: String,
    /// `Action`.
    pub action: String,
    /// `Resource`.
    pub resource: String,
    /// `RequestedBy`.
    pub requested_by: String,
    /// `ApprovedBy`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub approved_by: Option<String>,
    /// `PENDING`, `APPROVED`, `USED` or `EXPIRED`.
    pub status: String,
    /// `CreationDate`.
    pub creation_date: jiff::Timestamp,
    /// `ExpirationDate`.
    pub expiration_date: jiff::Timestamp,
}

fn guarded(action: &str) -> bool {
    GUARDED_ACTIONS.iter().any(|a| a.eq_ignore_ascii_case(action))
}

impl Security {
    fn shape(&self, a: ApprovalRow) -> ApprovalRequest {
        let status = if a.status != "USED" && self.now() >= a.expires_at { "EXPIRED".to_owned() } else { a.status };
        ApprovalRequest {
            request_id: a.id,
            action: a.action,
            resource: a.resource,
            requested_by: a.requester_arn,
            approved_by: a.approver_arn,
            status,
            creation_date: a.created_at,
            expiration_date: a.expires_at,
        }
    }

    /// Turns the rule on for `account`.
    pub async fn enable_two_person_rule(&self, account: &str) -> SecurityResult<()> {
        bunker_catalog::AccountId::parse(account).map_err(|e| SecurityError::InvalidParameterValue(e.to_string()))?;
        let mut tx = self.catalog.write().await?;
        if tx.two_person_rule(account).await?.is_none() {
            tx.set_two_person_rule(account, Some(self.now())).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Turns the rule off (itself a guarded action: the call path asks for an approval first).
    pub async fn disable_two_person_rule(&self, account: &str) -> SecurityResult<()> {
        let mut tx = self.catalog.write().await?;
        tx.set_two_person_rule(account, None).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Applies the rule to one allowed request: unguarded, or the account has no rule —
    /// nothing to do; else `approval_id` must name an approved request of this caller for
    /// this action and resource, which is used up. Without one a request is made and the
    /// call refused, naming it.
    ///
    /// # Errors
    /// `AccessDenied` (approval needed, or the one named does not fit); catalog failures.
    pub async fn check_two_person(&self, caller: &Caller, request: &AccessRequest, approval_id: Option<&str>) -> SecurityResult<()> {
        if !guarded(&request.action) {
            return Ok(());
        }
        let account = request.resource_account.clone();
        let mut tx = self.catalog.write().await?;
        if tx.two_person_rule(&account).await?.is_none() {
            return Ok(());
        }
        let now = self.now();
        if let Some(id) = approval_id {
            let fits = tx.approval(id).await?.filter(|a| {
                a.account_id == account
                    && a.action.eq_ignore_ascii_case(&request.action)
                    && a.resource == request.resource
                    && a.requester_arn == caller.arn
                    && now < a.expires_at
            });
            return match fits {
                Some(a) if a.status == "APPROVED" && tx.decide_approval(id, "APPROVED", "USED", None, now).await? => {
                    tx.commit().await?;
                    Ok(())
                }
                Some(a) => Err(SecurityError::AccessDenied(format!(
                    "two-person rule of account {account}: approval request {id} is {} (it must be APPROVED by a second principal, and is good once)",
                    a.status
                ))),
                None => Err(SecurityError::AccessDenied(format!(
                    "two-person rule of account {account}: approval request {id} is not an unexpired request of {} for {} on {}",
                    caller.arn, request.action, request.resource
                ))),
            };
        }
        let bytes: [u8; 8] = random();
        let row = ApprovalRow {
            id: format!("apr-{}", hex::encode(bytes)),
            account_id: account.clone(),
            action: request.action.clone(),
            resource: request.resource.clone(),
            requester_arn: caller.arn.clone(),
            approver_arn: None,
            status: "PENDING".into(),
            created_at: now,
            expires_at: now + LIFETIME,
            decided_at: None,
        };
        tx.insert_approval(&row).await?;
        tx.commit().await?;
        Err(SecurityError::AccessDenied(format!(
            "two-person rule of account {account}: {} on {} needs a second principal's approval. Approval request {} is waiting: \
             another principal of the account, with MFA, runs `bunker iam approve-request --request-id {}`; then repeat this \
             call with BUNKER_APPROVAL_ID={} within the hour",
            request.action, request.resource, row.id, row.id, row.id
        )))
    }

    /// `ApproveRequest`: by a principal of the request's account other than the requester,
    /// in a session with MFA, itself allowed the action (its policies, the SCPs and the
    /// resource's policy).
    ///
    /// # Errors
    /// `AccessDenied` for the requester itself, a caller without MFA or without the
    /// permission, another account; `NoSuchEntity`; a request no longer pending.
    pub async fn approve_request(&self, caller: &Caller, id: &str) -> SecurityResult<ApprovalRequest> {
        let request = self.catalog.read().await?.approval(id).await?;
        let request = request
            .filter(|a| a.account_id == caller.account_id)
            .ok_or_else(|| SecurityError::NoSuchEntity(format!("approval request {id} does not exist in account {}", caller.account_id)))?;
        if request.requester_arn == caller.arn {
            return Err(SecurityError::AccessDenied("the two-person rule needs a second principal: a request cannot be approved by its requester".into()));
        }
        if caller.mfa_authenticated != Some(true) {
            return Err(SecurityError::AccessDenied("approving a two-person request needs a session with MFA".into()));
        }
        let asked = self.access_request(&request.action, &request.resource, &request.account_id).await?;
        self.require(caller, &asked).await?;
        let now = self.now();
        if now >= request.expires_at {
            return Err(SecurityError::AccessDenied(format!("approval request {id} expired at {}", request.expires_at)));
        }
        let mut tx = self.catalog.write().await?;
        if !tx.decide_approval(id, "PENDING", "APPROVED", Some(&caller.arn), now).await? {
            return Err(SecurityError::AccessDenied(format!("approval request {id} is no longer pending")));
        }
        let approved = tx.approval(id).await?.ok_or_else(|| SecurityError::NoSuchEntity(id.to_owned()))?;
        tx.commit().await?;
        Ok(self.shape(approved))
    }

    /// `ListApprovalRequests` of an account, newest first.
    pub async fn list_approval_requests(&self, account: &str) -> SecurityResult<Vec<ApprovalRequest>> {
        let rows = self.catalog.read().await?.approvals(account).await?;
        Ok(rows.into_iter().map(|a| self.shape(a)).collect())
    }
}
