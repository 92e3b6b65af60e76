//! JWT authentication: only the configured algorithm, a required `exp` and `sub`, `nbf` and `iat`
//! honoured, `iss` and `aud` when configured, and a known user; outside identities are found by
//! their stored link and linked once, by verified e-mail only.

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
    assert!(refused(&app, &no_exp).await.contains("`exp`"));

    // A token names its user by `sub`, never by an e-mail address alone.
    for verified in [json!(null), json!(false), json!(true)] {
        let by_email = hs256(
            &json!({ "email": "ADMIN@govflow.test", "email_verified": verified, "exp": now() + 600 }),
            secret,
        );
        assert!(refused(&app, &by_email).await.contains("`sub`"));
    }

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
    // Tokens minted by `govflow token` carry govflow's own issuer and the configured audience.
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
    let response = me_with(&app, &token("govflow", "govflow")).await;
    assert_eq!(response["data"]["me"]["id"], sub, "{response}");
    // Under the outside issuer, a `sub` that equals a govflow id names no one without a link.
    assert!(
        refused(&app, &token("https://idp.example", "govflow"))
            .await
            .contains("not linked")
    );
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
        &json!({ "sub": sub, "exp": now() + 600, "iss": "govflow" }),
        secret,
    );
    assert!(refused(&app, &no_audience).await.contains("`aud`"));
    let no_issuer = hs256(
        &json!({ "sub": sub, "exp": now() + 600, "aud": "govflow" }),
        secret,
    );
    assert!(refused(&app, &no_issuer).await.contains("`iss`"));
}

/// What an outside identity provider signs for anyone who signs up there must never log in as a
/// govflow user it was not linked to: a missing `sub`, an unverified address, a `sub` that
/// happens to be a govflow id, a second identity claiming an already linked address.
#[tokio::test]
async fn outside_tokens_never_take_over_an_account() {
    let key = fixture("rsa_public.pem");
    let app = TestApp::spawn_with(|raw| {
        raw.jwt_algorithm = "RS256".into();
        raw.jwt_public_key_file = key;
        raw.jwt_issuer = "https://idp.example".into();
    })
    .await;
    // An RS256 server cannot mint tokens, so the chair is created through the engine.
    let admin = govflow_engine::Actor::load(&app.engine, app.admin.id)
        .await
        .unwrap()
        .unwrap();
    let chair = govflow_engine::users::create_user(
        &app.engine,
        &admin,
        govflow_engine::users::NewUser {
            email: "chair@example.org".into(),
            name: "Chair".into(),
            is_admin: false,
        },
    )
    .await
    .unwrap();
    let admin_id = app.admin.id.to_string();
    let idp = |claims: Value| {
        let mut claims = claims;
        claims["iss"] = json!("https://idp.example");
        claims["exp"] = json!(now() + 600);
        rs256(&claims)
    };
    let cases: Vec<(&str, Value, &str)> = vec![
        (
            "no sub, the admin's address, unverified",
            json!({ "email": "admin@govflow.test" }),
            "`sub`",
        ),
        (
            "no sub, the admin's address, verified",
            json!({ "email": "admin@govflow.test", "email_verified": true }),
            "`sub`",
        ),
        (
            "the admin's address, email_verified false",
            json!({ "sub": "idp|1", "email": "admin@govflow.test", "email_verified": false }),
            "not linked",
        ),
        (
            "the admin's address, email_verified absent",
            json!({ "sub": "idp|2", "email": "admin@govflow.test" }),
            "not linked",
        ),
        (
            "the admin's address, email_verified \"yes\"",
            json!({ "sub": "idp|3", "email": "admin@govflow.test", "email_verified": "yes" }),
            "not linked",
        ),
        (
            "a sub equal to the admin's govflow id",
            json!({ "sub": admin_id, "email_verified": true }),
            "not linked",
        ),
    ];
    for (case, claims, says) in cases {
        let message = refused(&app, &idp(claims)).await;
        assert!(message.contains(says), "{case}: {message}");
    }

    // The chair's first verified sign-in links `idp|chair` (a provider's "true" string counts).
    let first =
        idp(json!({ "sub": "idp|chair", "email": "chair@example.org", "email_verified": "true" }));
    let response = me_with(&app, &first).await;
    assert_eq!(
        response["data"]["me"]["id"],
        chair.id.to_string(),
        "{response}"
    );
    // Another identity of the same provider claiming the chair's verified address is refused.
    let second = idp(
        json!({ "sub": "idp|someone-else", "email": "chair@example.org", "email_verified": true }),
    );
    assert!(refused(&app, &second).await.contains("already linked"));
    // The link, not the address, decides later sign-ins.
    let later = idp(json!({ "sub": "idp|chair", "email": "new@example.org" }));
    let response = me_with(&app, &later).await;
    assert_eq!(
        response["data"]["me"]["id"],
        chair.id.to_string(),
        "{response}"
    );
    // A token not of the outside issuer, signed with the provider's key, names a govflow id.
    let own = rs256(&json!({ "sub": admin_id, "iss": "govflow", "exp": now() + 600 }));
    refused(&app, &own).await;
}

/// `nbf` and `iat` are honoured, with five seconds of leeway for clocks that disagree.
#[tokio::test]
async fn tokens_not_yet_valid_are_refused() {
    let app = TestApp::spawn().await;
    let secret = govflow_tests::TEST_SECRET.as_bytes();
    let sub = app.admin.id.to_string();
    let cases = [
        (json!({ "nbf": now() + 600 }), Some("not valid yet")),
        (json!({ "nbf": now() - 60 }), None),
        (json!({ "nbf": now() + 2 }), None),
        (json!({ "iat": now() + 600 }), Some("`iat`")),
        (json!({ "iat": now() - 60 }), None),
        (json!({ "nbf": "tomorrow" }), Some("malformed")),
    ];
    for (extra, refusal) in cases {
        let mut claims = json!({ "sub": sub, "exp": now() + 3600 });
        for (key, value) in extra.as_object().unwrap() {
            claims[key] = value.clone();
        }
        let token = hs256(&claims, secret);
        match refusal {
            Some(says) => {
                let message = refused(&app, &token).await;
                assert!(message.contains(says), "{extra}: {message}");
            }
            None => {
                let response = me_with(&app, &token).await;
                assert_eq!(response["data"]["me"]["id"], sub, "{extra}: {response}");
            }
        }
    }
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
