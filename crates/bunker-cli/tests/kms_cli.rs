//! End to end: `bunker kms …` — keys, aliases, encrypt/decrypt, rotation, grants and
//! scheduled deletion, read back through the JSON output the AWS CLI would print.

mod support;

use serde_json::Value;
use support::{Home, is_aws_cli_timestamp};

const MGMT: &str = "111111111111";

fn s(v: &Value) -> String {
    v.as_str().unwrap_or_else(|| panic!("not a string: {v}")).to_owned()
}

fn home() -> Home {
    let home = Home::new();
    home.ok(&["org", "create-organization", "--management-account-id", MGMT]);
    home
}

/// `bunker kms ARGS… --region eu-west-1`.
fn kms<'a>(args: &[&'a str]) -> Vec<&'a str> {
    let mut all = vec!["kms"];
    all.extend_from_slice(args);
    all.extend(["--region", "eu-west-1"]);
    all
}

#[test]
fn keys_aliases_and_encryption_round_trips() {
    let home = home();
    let created = home.ok(&kms(&["create-key", "--description", "app data"]));
    let meta = &created["KeyMetadata"];
    let key_id = s(&meta["KeyId"]);
    let arn = s(&meta["Arn"]);
    assert_eq!(arn, format!("arn:aws:kms:eu-west-1:{MGMT}:key/{key_id}"));
    assert_eq!(meta["AWSAccountId"], MGMT);
    assert_eq!((meta["KeyState"].as_str(), meta["Enabled"].as_bool()), (Some("Enabled"), Some(true)));
    assert_eq!((meta["KeyManager"].as_str(), meta["KeyUsage"].as_str()), (Some("CUSTOMER"), Some("ENCRYPT_DECRYPT")));
    assert!(is_aws_cli_timestamp(&meta["CreationDate"]), "{meta}");

    home.ok(&kms(&["create-alias", "--alias-name", "alias/app", "--target-key-id", &key_id]));
    assert_eq!(home.text(&kms(&["describe-key", "--key-id", "alias/app"]), "KeyMetadata.Arn"), arn);
    let aliases = home.ok(&kms(&["list-aliases", "--key-id", &arn]));
    assert_eq!(aliases["Aliases"][0]["AliasName"], "alias/app");
    assert_eq!(aliases["Aliases"][0]["TargetKeyId"], key_id.as_str());
    assert_eq!(home.ok(&kms(&["list-keys"]))["Keys"][0]["KeyArn"], arn.as_str());

    // Encrypt a file, rotate, decrypt the base64 blob; the context must match.
    let plain = home.path().join("secret.txt");
    std::fs::write(&plain, b"the launch codes").unwrap();
    let fileb = format!("fileb://{}", plain.display());
    let e = home.ok(&kms(&["encrypt", "--key-id", "alias/app", "--plaintext", &fileb, "--encryption-context", "app=web"]));
    assert_eq!(e["KeyId"], arn.as_str());
    let blob = s(&e["CiphertextBlob"]);
    home.ok(&kms(&["rotate-key-on-demand", "--key-id", &key_id]));
    let d = home.ok(&kms(&["decrypt", "--ciphertext-blob", &blob, "--encryption-context", "app=web"]));
    assert_eq!(d["KeyId"], arn.as_str());
    assert_eq!(d["Plaintext"], "dGhlIGxhdW5jaCBjb2Rlcw==");
    home.service_error(&kms(&["decrypt", "--ciphertext-blob", &blob]), "InvalidParameterValueException", "Decrypt");
    // Base64 plaintext too; a data key decrypts to its plaintext.
    let e2 = home.ok(&kms(&["encrypt", "--key-id", &key_id, "--plaintext", "aGVsbG8="]));
    assert_eq!(home.ok(&kms(&["decrypt", "--ciphertext-blob", &s(&e2["CiphertextBlob"])]))["Plaintext"], "aGVsbG8=");
    let dk = home.ok(&kms(&["generate-data-key", "--key-id", &key_id, "--key-spec", "AES_256"]));
    let back = home.ok(&kms(&["decrypt", "--ciphertext-blob", &s(&dk["CiphertextBlob"])]));
    assert_eq!(back["Plaintext"], dk["Plaintext"]);

    // Rotation status, the default policy, grants.
    home.ok(&kms(&["enable-key-rotation", "--key-id", &key_id]));
    let status = home.ok(&kms(&["get-key-rotation-status", "--key-id", &key_id]));
    assert_eq!((status["KeyRotationEnabled"].as_bool(), status["RotationPeriodInDays"].as_i64()), (Some(true), Some(365)));
    let policy: Value = serde_json::from_str(&home.text(&kms(&["get-key-policy", "--key-id", &key_id, "--policy-name", "default"]), "Policy")).unwrap();
    assert_eq!(policy["Statement"][0]["Action"], "kms:*");
    let g = home.ok(&kms(&["create-grant", "--key-id", &key_id, "--grantee-principal", "arn:aws:iam::222222222222:root", "--operations", "Encrypt", "Decrypt"]));
    let grants = home.ok(&kms(&["list-grants", "--key-id", &key_id]));
    assert_eq!(grants["Grants"][0]["GrantId"], g["GrantId"]);
    assert_eq!(grants["Grants"][0]["Operations"], serde_json::json!(["Encrypt", "Decrypt"]));
    home.ok(&kms(&["revoke-grant", "--key-id", &key_id, "--grant-id", &s(&g["GrantId"])]));
    assert_eq!(home.ok(&kms(&["list-grants", "--key-id", &key_id]))["Grants"], serde_json::json!([]));

    home.ok(&kms(&["delete-alias", "--alias-name", "alias/app"]));
    home.service_error(&kms(&["describe-key", "--key-id", "alias/app"]), "NotFoundException", "DescribeKey");
}

#[test]
fn deletion_windows_cancel_and_disabled_keys() {
    let home = home();
    let key_id = s(&home.ok(&kms(&["create-key"]))["KeyMetadata"]["KeyId"]);

    // Six days: refused, nothing changed.
    let err = home.service_error(
        &kms(&["schedule-key-deletion", "--key-id", &key_id, "--pending-window-in-days", "6"]),
        "InvalidParameterValueException",
        "ScheduleKeyDeletion",
    );
    assert!(err.contains("between 7 and 30"), "{err}");
    assert_eq!(home.text(&kms(&["describe-key", "--key-id", &key_id]), "KeyMetadata.KeyState"), "Enabled");

    let s7 = home.ok(&kms(&["schedule-key-deletion", "--key-id", &key_id, "--pending-window-in-days", "7"]));
    assert_eq!((s7["KeyState"].as_str(), s7["PendingWindowInDays"].as_i64()), (Some("PendingDeletion"), Some(7)));
    assert!(is_aws_cli_timestamp(&s7["DeletionDate"]), "{s7}");
    let meta = home.ok(&kms(&["describe-key", "--key-id", &key_id]));
    assert_eq!(meta["KeyMetadata"]["PendingDeletionWindowInDays"], 7);
    home.service_error(&kms(&["encrypt", "--key-id", &key_id, "--plaintext", "aGVsbG8="]), "KMSInvalidStateException", "Encrypt");

    // Cancelled: disabled until enabled.
    home.ok(&kms(&["cancel-key-deletion", "--key-id", &key_id]));
    assert_eq!(home.text(&kms(&["describe-key", "--key-id", &key_id]), "KeyMetadata.KeyState"), "Disabled");
    home.service_error(&kms(&["encrypt", "--key-id", &key_id, "--plaintext", "aGVsbG8="]), "KMSInvalidStateException", "Encrypt");
    home.ok(&kms(&["enable-key", "--key-id", &key_id]));
    home.ok(&kms(&["encrypt", "--key-id", &key_id, "--plaintext", "aGVsbG8="]));
    home.ok(&kms(&["disable-key", "--key-id", &key_id]));
    assert_eq!(home.ok(&kms(&["describe-key", "--key-id", &key_id]))["KeyMetadata"]["Enabled"], false);
}
