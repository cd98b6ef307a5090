//! Random identifiers in the formats AWS Organizations uses.

use bunker_catalog::{AccountId, CreateAccountRequestId, OrganizationId, OuId, PolicyId, RootId};

const LOWER_ALNUM: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
const DIGITS: &[u8] = b"0123456789";

/// `n` characters drawn uniformly from `alphabet` (at most 256 symbols).
fn random_from(alphabet: &[u8], n: usize) -> String {
    // Reject bytes past the largest multiple of the alphabet's size: no modulo bias.
    let limit = 256 - 256 % alphabet.len();
    let mut out = String::with_capacity(n);
    let mut buf = [0u8; 64];
    while out.len() < n {
        getrandom::fill(&mut buf).expect("the operating system has no random source");
        for &b in buf.iter().filter(|&&b| usize::from(b) < limit) {
            if out.len() == n {
                break;
            }
            out.push(char::from(alphabet[usize::from(b) % alphabet.len()]));
        }
    }
    out
}

/// `o-` and 10 characters.
pub fn organization_id() -> OrganizationId {
    OrganizationId::parse(&format!("o-{}", random_from(LOWER_ALNUM, 10))).expect("valid by construction")
}

/// `r-` and 4 characters.
pub fn root_id() -> RootId {
    RootId::parse(&format!("r-{}", random_from(LOWER_ALNUM, 4))).expect("valid by construction")
}

/// `ou-`, the root's own characters, `-` and 8 characters, as AWS builds them.
pub fn ou_id(root: &RootId) -> OuId {
    let root_part = root.as_str().trim_start_matches("r-");
    OuId::parse(&format!("ou-{root_part}-{}", random_from(LOWER_ALNUM, 8))).expect("valid by construction")
}

/// `p-` and 8 characters.
pub fn policy_id() -> PolicyId {
    PolicyId::parse(&format!("p-{}", random_from(LOWER_ALNUM, 8))).expect("valid by construction")
}

/// 12 digits.
pub fn account_id() -> AccountId {
    AccountId::parse(&random_from(DIGITS, 12)).expect("valid by construction")
}

/// `car-` and 32 characters.
pub fn create_account_request_id() -> CreateAccountRequestId {
    CreateAccountRequestId::parse(&format!("car-{}", random_from(LOWER_ALNUM, 32))).expect("valid by construction")
}

/// A random UUID (version 4), as AWS Backup uses for plan, selection and job ids.
pub fn uuid() -> String {
    bunker_security::uuid()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_have_aws_shapes_and_differ() {
        let root = root_id();
        assert!(ou_id(&root).as_str().starts_with(&format!("ou-{}-", &root.as_str()[2..])));
        assert_eq!(account_id().as_str().len(), 12);
        assert_ne!(policy_id(), policy_id());
        assert_eq!(organization_id().as_str().len(), 12);
        assert_eq!(create_account_request_id().as_str().len(), 36);
    }

    #[test]
    fn every_symbol_can_appear() {
        let s = random_from(DIGITS, 2000);
        assert!(DIGITS.iter().all(|d| s.as_bytes().contains(d)));
    }
}
