//! The NATS connection over TLS: a real nats-server that requires TLS and a
//! client certificate, with a throwaway CA made for the test.

mod common;

use std::path::{Path, PathBuf};

use common::nats::NatsServer;
use common::*;
use rcgen::{BasicConstraints, CertificateParams, IsCa, KeyPair};

/// PEM files of a CA, a server certificate for 127.0.0.1 and a client
/// certificate, written into `dir`; plus a second, unrelated CA.
struct Pki {
    ca: PathBuf,
    server: PathBuf,
    server_key: PathBuf,
    client: PathBuf,
    client_key: PathBuf,
    other_ca: PathBuf,
}

fn ca(name: &str) -> (rcgen::Certificate, KeyPair) {
    let key = KeyPair::generate().unwrap();
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, name);
    (params.self_signed(&key).unwrap(), key)
}

fn pki(dir: &Path) -> Pki {
    let write = |name: &str, text: String| {
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        path
    };
    let (ca_cert, ca_key) = ca("tallinn test CA");
    let issue = |sans: Vec<String>| {
        let key = KeyPair::generate().unwrap();
        let cert = CertificateParams::new(sans)
            .unwrap()
            .signed_by(&key, &ca_cert, &ca_key)
            .unwrap();
        (cert.pem(), key.serialize_pem())
    };
    let (server, server_key) = issue(vec!["127.0.0.1".into(), "localhost".into()]);
    let (client, client_key) = issue(vec!["projector.example".into()]);
    let (other, _) = ca("another CA");
    Pki {
        ca: write("ca.pem", ca_cert.pem()),
        server: write("server.pem", server),
        server_key: write("server-key.pem", server_key),
        client: write("client.pem", client),
        client_key: write("client-key.pem", client_key),
        other_ca: write("other-ca.pem", other.pem()),
    }
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[test]
fn tls_with_a_ca_file_and_a_client_certificate() {
    let certs = tempfile::tempdir().unwrap();
    let pki = pki(certs.path());
    let server = NatsServer::with_config(&format!(
        "tls {{ cert_file: \"{}\", key_file: \"{}\", ca_file: \"{}\", verify: true, timeout: 5 }}",
        s(&pki.server),
        s(&pki.server_key),
        s(&pki.ca)
    ));
    let url = server.url();
    let fx = Fixture::keys_only();
    let tls = [
        "--tlsca",
        s(&pki.ca),
        "--tlscert",
        s(&pki.client),
        "--tlskey",
        s(&pki.client_key),
    ];
    let with_tls = |args: &[&str]| {
        let mut all = vec!["--nats", url.as_str()];
        all.extend_from_slice(&tls);
        all.extend_from_slice(args);
        all.into_iter().map(String::from).collect::<Vec<_>>()
    };
    let init = fx.ok(with_tls(&[
        "init",
        "--key",
        &fx.key_str(COORD),
        "--members",
        s(&fx.members_file()),
    ]));
    assert!(is_id(init.trim()), "init prints the genesis id: {init:?}");
    // The same settings from the environment, as the nats CLI reads them.
    let mut cmd = fx.cmd(["--json", "log"]);
    cmd.env("TALLINN_NATS_URL", &url)
        .env("TALLINN_NATS_TLS_CA", &pki.ca)
        .env("TALLINN_NATS_TLS_CERT", &pki.client)
        .env("TALLINN_NATS_TLS_KEY", &pki.client_key);
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines = String::from_utf8(out.stdout).unwrap();
    assert_eq!(lines.lines().count(), 1, "the genesis: {lines}");
    assert!(lines.contains(init.trim()));

    // Without the client certificate the server refuses the handshake.
    let err = fx.fail(["--nats", &url, "--tlsca", s(&pki.ca), "log"]);
    assert_one_line(&err, &["cannot connect"]);
    // A server certificate from a CA the client does not trust is refused.
    let err = fx.fail([
        "--nats",
        &url,
        "--tlsca",
        s(&pki.other_ca),
        "--tlscert",
        s(&pki.client),
        "--tlskey",
        s(&pki.client_key),
        "log",
    ]);
    assert_one_line(&err, &["cannot connect"]);
    // Plain text to a server that requires TLS is refused too.
    let err = fx.fail(["--nats", &url, "log"]);
    assert_one_line(&err, &["cannot connect"]);
    // A certificate without its key is a usage error naming the flag.
    let err = fx.fail([
        "--nats",
        &url,
        "--tlsca",
        s(&pki.ca),
        "--tlscert",
        s(&pki.client),
        "log",
    ]);
    assert_one_line(&err, &["--tlscert"]);
    // A CA file that is not PEM names the flag.
    let junk = certs.path().join("junk.pem");
    std::fs::write(&junk, "not a certificate\n").unwrap();
    let err = fx.fail(["--nats", &url, "--tlsca", s(&junk), "log"]);
    assert_one_line(&err, &["--tlsca"]);
    // Nothing was written by the refused commands.
    let again = fx.ok(with_tls(&["--json", "log"]));
    assert_eq!(again.lines().count(), 1);
}

/// A NATS JWT (`ed25519-nkey`) with `claims` (plus iss, sub, iat, jti) signed by `issuer`.
fn jwt(issuer: &nkeys::KeyPair, subject: &str, name: &str, nats: serde_json::Value) -> String {
    use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
    use base64::Engine;
    let header = B64.encode(r#"{"typ":"JWT","alg":"ed25519-nkey"}"#);
    let claims = serde_json::json!({
        "jti": format!("{name}-{}", subject.get(..12).unwrap_or(subject)),
        "iat": 1_764_000_000u64,
        "iss": issuer.public_key(),
        "name": name,
        "sub": subject,
        "nats": nats,
    });
    let payload = B64.encode(claims.to_string());
    let signed = format!("{header}.{payload}");
    let sig = B64.encode(issuer.sign(signed.as_bytes()).unwrap());
    format!("{signed}.{sig}")
}

/// A `.creds` file as `nsc` writes it: the user JWT and the user's nkey seed.
fn creds(user_jwt: &str, user: &nkeys::KeyPair) -> String {
    format!(
        "-----BEGIN NATS USER JWT-----\n{user_jwt}\n------END NATS USER JWT------\n\n\
         ************************* IMPORTANT *************************\n\n\
         -----BEGIN USER NKEY SEED-----\n{}\n------END USER NKEY SEED------\n\n\
         *************************************************************\n",
        user.seed().unwrap()
    )
}

#[test]
fn credentials_file_in_operator_mode() {
    let operator = nkeys::KeyPair::new_operator();
    let account = nkeys::KeyPair::new_account();
    let user = nkeys::KeyPair::new_user();
    let op_jwt = jwt(
        &operator,
        &operator.public_key(),
        "tallinn-op",
        serde_json::json!({"type": "operator", "version": 2}),
    );
    let unlimited = serde_json::json!({
        "subs": -1, "data": -1, "payload": -1, "imports": -1, "exports": -1,
        "wildcards": true, "conn": -1, "leaf": -1,
        "mem_storage": -1, "disk_storage": -1, "streams": -1, "consumer": -1
    });
    let acc_jwt = jwt(
        &operator,
        &account.public_key(),
        "ledger",
        serde_json::json!({"type": "account", "version": 2, "limits": unlimited}),
    );
    let user_claims = serde_json::json!({
        "type": "user", "version": 2, "pub": {}, "sub": {},
        "subs": -1, "data": -1, "payload": -1, "issuer_account": account.public_key()
    });
    let user_jwt = jwt(
        &account,
        &user.public_key(),
        "coordinator",
        user_claims.clone(),
    );
    // JetStream in operator mode needs a system account.
    let system = nkeys::KeyPair::new_account();
    let sys_jwt = jwt(
        &operator,
        &system.public_key(),
        "SYS",
        serde_json::json!({"type": "account", "version": 2}),
    );
    let server = NatsServer::with_config(&format!(
        "operator: \"{op_jwt}\"\nsystem_account: {sys}\nresolver: MEMORY\n\
         resolver_preload: {{ {sys}: \"{sys_jwt}\", {acc}: \"{acc_jwt}\" }}",
        sys = system.public_key(),
        acc = account.public_key()
    ));
    let url = server.url();
    let fx = Fixture::keys_only();
    let file = fx.path("coordinator.creds");
    std::fs::write(&file, creds(&user_jwt, &user)).unwrap();
    let init = fx.ok([
        "--nats",
        &url,
        "--creds",
        s(&file),
        "init",
        "--key",
        &fx.key_str(COORD),
        "--members",
        s(&fx.members_file()),
    ]);
    assert!(is_id(init.trim()), "init prints the genesis id: {init:?}");
    let mut cmd = fx.cmd(["--json", "log"]);
    cmd.env("TALLINN_NATS_URL", &url)
        .env("TALLINN_NATS_CREDS", &file);
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8(out.stdout).unwrap().lines().count(), 1);

    // A user of an account the operator never signed is refused.
    let rogue = nkeys::KeyPair::new_account();
    let stranger = nkeys::KeyPair::new_user();
    let bad = fx.path("stranger.creds");
    let stranger_jwt = jwt(&rogue, &stranger.public_key(), "stranger", user_claims);
    std::fs::write(&bad, creds(&stranger_jwt, &stranger)).unwrap();
    let err = fx.fail(["--nats", &url, "--creds", s(&bad), "log"]);
    assert_one_line(&err, &["cannot connect"]);
    // The right JWT with another seed fails the nonce signature.
    let stolen = fx.path("stolen.creds");
    std::fs::write(&stolen, creds(&user_jwt, &stranger)).unwrap();
    let err = fx.fail(["--nats", &url, "--creds", s(&stolen), "log"]);
    assert_one_line(&err, &["cannot connect"]);
    // No credentials at all, or a missing file.
    let err = fx.fail(["--nats", &url, "log"]);
    assert_one_line(&err, &["cannot connect"]);
    let err = fx.fail(["--nats", &url, "--creds", "/nonexistent.creds", "log"]);
    assert_one_line(&err, &["--creds", "/nonexistent.creds"]);
}
