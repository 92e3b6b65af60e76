//! JWT authentication: only the configured algorithm, a required `exp`, `iss` and `aud` when
//! configured, and a known user; outside identities are linked once by verified e-mail.

use govflow_tests::{TestApp, error_code, error_message};
use jsonwebtoken::{Algorithm, EncodingKey, Header, encode};
use serde_json::{Value, json};
use std::path::Path;

const ME: &str = "{ me { id email } }";

fn fixture(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures")
        .join(name)
        .display()
        .to_string()
}

fn now() -> u64 {
    jsonwebtoken::get_current_timestamp()
}

fn hs256(claims: &Value, secret: &[u8]) -> String {
    encode(
        &Header::new(Algorithm::HS256),
        claims,
        &EncodingKey::from_secret(secret),
    )
    .unwrap()
}

fn rs256(claims: &Value) -> String {
    let pem = std::fs::read(fixture("rsa_private.pem")).unwrap();
    encode(
        &Header::new(Algorithm::RS256),
        claims,
        &EncodingKey::from_rsa_pem(&pem).unwrap(),
    )
    .unwrap()
}

fn eddsa(claims: &Value) -> String {
    let pem = std::fs::read(fixture("ed25519_private.pem")).unwrap();
    encode(
        &Header::new(Algorithm::EdDSA),
        claims,
        &EncodingKey::from_ed_pem(&pem).unwrap(),
    )
    .unwrap()
}

fn b64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .fold(0u32, |acc, byte| (acc << 8) | u32::from(*byte))
            << (8 * (3 - chunk.len()));
        for index in 0..=chunk.len() {
            out.push(ALPHABET[((n >> (18 - 6 * index)) & 63) as usize] as char);
        }
    }
    out
}

async fn me_with(app: &TestApp, token: &str) -> Value {
    let body = json!({ "query": ME }).to_string();
    app.post(body, Some(token)).await.json().await.unwrap()
}

async fn refused(app: &TestApp, token: &str) -> String {
    let response = me_with(app, token).await;
    assert_eq!(error_code(&response), "UNAUTHENTICATED", "{response}");
    error_message(&response).to_owned()
}

#[tokio::test]
async fn hs256_tokens_are_checked() {
    let app = TestApp::spawn().await;
    let secret = govflow_tests::TEST_SECRET.as_bytes();
    let sub = app.admin.id.to_string();

    let good = hs256(&json!({ "sub": sub, "exp": now() + 600 }), secret);
    let response = me_with(&app, &good).await;
    assert_eq!(
        response["data"]["me"]["email"], "admin@govflow.test",
        "{response}"
    );

    let expired = hs256(&json!({ "sub": sub, "exp": now() - 3600 }), secret);
    assert!(refused(&app, &expired).await.contains("expired"));

    let forged = hs256(
        &json!({ "sub": sub, "exp": now() + 600 }),
        b"another-secret-entirely-000000",
    );
    assert!(refused(&app, &forged).await.contains("signature"));

    let no_exp = hs256(&json!({ "sub": sub }), secret);
    refused(&app, &no_exp).await;

    // Without `sub`, a token signed with our own secret may name its user by e-mail.
    let by_email = hs256(
        &json!({ "email": "ADMIN@govflow.test", "exp": now() + 600 }),
        secret,
    );
    let response = me_with(&app, &by_email).await;
    assert_eq!(response["data"]["me"]["id"], sub, "{response}");

    let stranger = hs256(
        &json!({ "sub": uuid::Uuid::now_v7().to_string(), "exp": now() + 600 }),
        secret,
    );
    assert!(refused(&app, &stranger).await.contains("unknown user"));

    let unsigned = format!(
        "{}.{}.",
        b64(br#"{"alg":"none","typ":"JWT"}"#),
        b64(json!({ "sub": sub, "exp": now() + 600 })
            .to_string()
            .as_bytes())
    );
    refused(&app, &unsigned).await;

    let wrong_algorithm = rs256(&json!({ "sub": sub, "exp": now() + 600 }));
    refused(&app, &wrong_algorithm).await;

    let response: Value = app
        .client
        .post(format!("{}/graphql", app.address))
        .header("authorization", "Token abc")
        .json(&json!({ "query": ME }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(error_code(&response), "UNAUTHENTICATED");
}

#[tokio::test]
async fn rs256_servers_refuse_hs256_tokens_signed_with_the_public_key() {
    let key = fixture("rsa_public.pem");
    let app = TestApp::spawn_with(|raw| {
        raw.jwt_algorithm = "RS256".into();
        raw.jwt_public_key_file = key;
    })
    .await;
    let sub = app.admin.id.to_string();
    let claims = json!({ "sub": sub, "exp": now() + 600 });

    let response = me_with(&app, &rs256(&claims)).await;
    assert_eq!(response["data"]["me"]["id"], sub, "{response}");

    let public_pem = std::fs::read(fixture("rsa_public.pem")).unwrap();
    let confused = hs256(&claims, &public_pem);
    refused(&app, &confused).await;
}

#[tokio::test]
async fn eddsa_servers_accept_eddsa_tokens_only() {
    let key = fixture("ed25519_public.pem");
    let app = TestApp::spawn_with(|raw| {
        raw.jwt_algorithm = "EdDSA".into();
        raw.jwt_public_key_file = key;
    })
    .await;
    let sub = app.admin.id.to_string();
    let claims = json!({ "sub": sub, "exp": now() + 600 });
    let response = me_with(&app, &eddsa(&claims)).await;
    assert_eq!(response["data"]["me"]["id"], sub, "{response}");
    refused(&app, &rs256(&claims)).await;
}

#[tokio::test]
async fn issuer_and_audience_are_checked_when_configured() {
    let app = TestApp::spawn_with(|raw| {
        raw.jwt_issuer = "https://idp.example".into();
        raw.jwt_audience = "govflow".into();
    })
    .await;
    // Tokens minted by `govflow token` carry the configured issuer and audience.
    let data = app.ok("{ me { id } }", json!({}), &app.admin).await;
    assert_eq!(data["me"]["id"], app.admin.id.to_string());
    let secret = govflow_tests::TEST_SECRET.as_bytes();
    let sub = app.admin.id.to_string();
    let token = |iss: &str, aud: &str| {
        hs256(
            &json!({ "sub": sub, "exp": now() + 600, "iss": iss, "aud": aud }),
            secret,
        )
    };
    let response = me_with(&app, &token("https://idp.example", "govflow")).await;
    assert_eq!(response["data"]["me"]["id"], sub, "{response}");
    assert!(
        refused(&app, &token("https://evil.example", "govflow"))
            .await
            .contains("issuer")
    );
    assert!(
        refused(&app, &token("https://idp.example", "other-app"))
            .await
            .contains("audience")
    );
    let no_audience = hs256(
        &json!({ "sub": sub, "exp": now() + 600, "iss": "https://idp.example" }),
        secret,
    );
    refused(&app, &no_audience).await;
}

#[tokio::test]
async fn outside_identities_are_linked_once_by_verified_email() {
    let app = TestApp::spawn_with(|raw| raw.jwt_issuer = "https://idp.example".into()).await;
    let user = app.create_user("Chair@Example.org", "Chair").await;
    let secret = govflow_tests::TEST_SECRET.as_bytes();
    let token = |email: &str, verified: bool| {
        hs256(
            &json!({
                "sub": "idp|42", "exp": now() + 600, "iss": "https://idp.example",
                "email": email, "email_verified": verified
            }),
            secret,
        )
    };
    // An unverified address never links.
    refused(&app, &token("chair@example.org", false)).await;
    // A verified one links (compared case-insensitively)...
    let response = me_with(&app, &token("chair@example.org", true)).await;
    assert_eq!(
        response["data"]["me"]["id"],
        user.id.to_string(),
        "{response}"
    );
    // ...and the link, not the address, decides from then on.
    let response = me_with(&app, &token("someone.else@example.org", false)).await;
    assert_eq!(
        response["data"]["me"]["id"],
        user.id.to_string(),
        "{response}"
    );
}
