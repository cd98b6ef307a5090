//! Virtual MFA devices: TOTP codes (RFC 6238: HMAC-SHA1, 6 digits, 30-second steps, as
//! authenticator apps and AWS use them) computed by the `totp-rs` crate on the service
//! clock. A code is accepted once (its time step is remembered), one step either side of
//! now, so a code seen over a shoulder cannot be replayed.

use bunker_catalog::MfaDeviceRow;
use serde::Serialize;
use totp_rs::{Algorithm, TOTP};

use super::master_key::random;
use super::{Caller, Security, SecurityError, SecurityResult};

const SEED_PURPOSE: &str = "iam mfa seed";
const STEP_SECONDS: u64 = 30;

/// `VirtualMFADevice` of `CreateVirtualMFADevice` (the seed is shown this once).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct VirtualMfaDevice {
    /// `SerialNumber` (`arn:aws:iam::ACCOUNT:mfa/NAME`).
    pub serial_number: String,
    /// `Base32StringSeed`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub base32_string_seed: Option<String>,
    /// `User` the device is enabled for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// `EnableDate`-like: when made.
    pub create_date: jiff::Timestamp,
}

fn totp(seed: Vec<u8>) -> SecurityResult<TOTP> {
    TOTP::new(Algorithm::SHA1, 6, 1, STEP_SECONDS, seed).map_err(|e| SecurityError::Dependency(format!("TOTP: {e:?}")))
}

/// The code of a seed at a time (tests and the two-code enabling).
pub fn code_at(base32_seed: &str, at: jiff::Timestamp) -> SecurityResult<String> {
    let seed = totp_rs::Secret::Encoded(base32_seed.to_owned())
        .to_bytes()
        .map_err(|e| SecurityError::InvalidParameterValue(format!("not a Base32 seed: {e:?}")))?;
    Ok(totp(seed)?.generate(u64::try_from(at.as_second()).unwrap_or(0)))
}

impl Security {
    /// `CreateVirtualMFADevice`.
    pub async fn create_virtual_mfa_device(&self, account: &str, name: &str) -> SecurityResult<VirtualMfaDevice> {
        let serial = format!("arn:aws:iam::{account}:mfa/{name}");
        let seed: [u8; 20] = random();
        let base32 = totp(seed.to_vec())?.get_secret_base32();
        let row = MfaDeviceRow {
            serial_number: serial.clone(),
            account_id: account.to_owned(),
            principal_arn: None,
            seed_sealed: hex::encode(self.master.seal(SEED_PURPOSE, serial.as_bytes(), &seed)),
            enabled: false,
            last_used_step: 0,
            created_at: self.now(),
        };
        let mut tx = self.catalog.write().await?;
        if tx.mfa_device(&serial).await?.is_some() {
            return Err(SecurityError::EntityAlreadyExists(format!("MFADevice entity at the same path and name already exists: {serial}")));
        }
        tx.insert_mfa_device(&row).await?;
        tx.commit().await?;
        Ok(VirtualMfaDevice { serial_number: serial, base32_string_seed: Some(base32), user: None, create_date: row.created_at })
    }

    fn device_totp(&self, d: &MfaDeviceRow) -> SecurityResult<TOTP> {
        let sealed = hex::decode(&d.seed_sealed).map_err(|_| SecurityError::Dependency("MFA seed is not hex".into()))?;
        totp(self.master.open(SEED_PURPOSE, d.serial_number.as_bytes(), &sealed)?)
    }

    /// The time step whose code `code` is, within one step of now.
    fn matching_step(&self, t: &TOTP, code: &str) -> Option<i64> {
        let now = u64::try_from(self.now().as_second()).ok()?;
        let step = now / STEP_SECONDS;
        [step, step.saturating_sub(1), step + 1]
            .into_iter()
            .find(|s| t.generate(s * STEP_SECONDS) == code)
            .and_then(|s| i64::try_from(s).ok())
    }

    /// `EnableMFADevice`: two consecutive codes prove the user holds the device.
    pub async fn enable_mfa_device(&self, account: &str, user: &str, serial: &str, code1: &str, code2: &str) -> SecurityResult<()> {
        let user = self.get_user(account, user).await?;
        let mut tx = self.catalog.write().await?;
        let device = tx
            .mfa_device(serial)
            .await?
            .filter(|d| d.account_id == account)
            .ok_or_else(|| SecurityError::NoSuchEntity(format!("MFA device {serial} not found")))?;
        if device.enabled {
            return Err(SecurityError::EntityAlreadyExists(format!("MFA device {serial} is already in use")));
        }
        let t = self.device_totp(&device)?;
        let now = u64::try_from(self.now().as_second()).unwrap_or(0) / STEP_SECONDS;
        let second = (now.saturating_sub(2)..=now + 1)
            .find(|s| t.generate(s * STEP_SECONDS) == code1 && t.generate((s + 1) * STEP_SECONDS) == code2)
            .map(|s| s + 1)
            .ok_or_else(|| SecurityError::InvalidAuthenticationCode("Authentication code for device is not valid.".into()))?;
        // Both codes are used up.
        tx.enable_mfa_device(serial, &user.arn, i64::try_from(second).unwrap_or(i64::MAX)).await?;
        tx.commit().await?;
        Ok(())
    }

    /// `ListMFADevices` of a user.
    pub async fn list_mfa_devices(&self, account: &str, user: &str) -> SecurityResult<Vec<VirtualMfaDevice>> {
        let user = self.get_user(account, user).await?;
        let devices = self.catalog.read().await?.mfa_devices_of(&user.arn).await?;
        Ok(devices
            .into_iter()
            .map(|d| VirtualMfaDevice { serial_number: d.serial_number, base32_string_seed: None, user: Some(user.user_name.clone()), create_date: d.created_at })
            .collect())
    }

    /// Checks an MFA code of `caller`'s device `serial`: the device must be enabled for the
    /// caller's user, the code right and not used before.
    ///
    /// # Errors
    /// `InvalidAuthenticationCode` (wrong, reused or foreign device), catalog failures.
    pub async fn check_mfa_code(&self, caller: &Caller, serial: &str, code: &str) -> SecurityResult<()> {
        let wrong = || SecurityError::InvalidAuthenticationCode(format!("MultiFactorAuthentication failed with invalid MFA one time pass code for {serial}."));
        let mut tx = self.catalog.write().await?;
        let device = tx.mfa_device(serial).await?.ok_or_else(wrong)?;
        let owner = caller.policy_owner.as_deref().unwrap_or(&caller.arn);
        if !device.enabled || device.principal_arn.as_deref() != Some(owner) {
            return Err(wrong());
        }
        let step = self.matching_step(&self.device_totp(&device)?, code).ok_or_else(wrong)?;
        if !tx.use_mfa_step(serial, step).await? {
            return Err(wrong());
        }
        tx.commit().await?;
        Ok(())
    }
}
