//! Signing and attestations against the sigstore stand-ins (Fulcio, Rekor, an OIDC issuer;
//! `scripts/peers/sigstore-local.js`): `rko sign` keylessly (token file, GitHub's token
//! service, GitLab's variable) or with a cosign key, checked by the real verifiers — cosign 3
//! (`--trusted-root`), cosign 2 (`SIGSTORE_*`), sigstore-go — and by `rko verify`, which also
//! accepts cosign's own signatures and rejects moved signatures, wrong identities and other
//! roots. Faults: no token, an expired one, Fulcio down, Rekor failing once, a wrong password.

use std::path::Path;
use std::sync::OnceLock;

use crate::proxy::{Action, FaultProxy};
use crate::support::{Workspace, command, crane, digest_of, hello, peers, run, tempdir, unique};

const IDENTITY: &str = "https://github.com/rko-test/app/.github/workflows/release.yml@refs/heads/main";
const ISSUER: &str = "https://token.actions.githubusercontent.com";

/// The stand-ins' files and URLs; fails when they are not running.
fn sigstore(name: &str) -> String {
    let value = peers().get(name).to_owned();
    let fulcio = peers().get("RKO_TEST_FULCIO_URL");
    let health = run(command("curl").args(["-sf", "-m", "2", &format!("{fulcio}/healthz")]));
    assert!(
        health.output.status.success(),
        "the sigstore stand-ins do not answer at {fulcio}: run `scripts/test-peers up`"
    );
    value
}

/// A fresh copy (own repository, same digest) of `examples/hello`, built once per run.
fn image() -> String {
    static BUILT: OnceLock<String> = OnceLock::new();
    let built = BUILT.get_or_init(|| {
        let workspace = hello();
        let registry = peers().get("RKO_TEST_REGISTRY");
        let mut rko = workspace.rko(&["build", "--sbom=none", "."]);
        rko.env("KO_DOCKER_REPO", format!("{registry}/{}", unique("sign-base")));
        run(&mut rko).success().trim().to_owned()
    });
    let digest = digest_of(built);
    let target = format!("{}/{}", peers().get("RKO_TEST_REGISTRY"), unique("signed"));
    crane(&["copy", built, &format!("{target}:latest")]);
    format!("{target}@{digest}")
}

/// A token from the stand-in issuer for `sub` (and `iss`), written to a file without newline.
fn token_file(directory: &Path, issuer: &str, subject: &str) -> String {
    let url = format!("{}/oidc/token.raw", sigstore("RKO_TEST_OIDC_URL"));
    let token = run(command("curl").args([
        "-sfG",
        &url,
        "--data-urlencode",
        &format!("iss={issuer}"),
        "--data-urlencode",
        &format!("sub={subject}"),
    ]))
    .success();
    let path = directory.join(unique("token"));
    std::fs::write(&path, token.trim()).unwrap();
    path.display().to_string()
}

/// `rko ARGS` with the stand-ins' signing config.
fn rko(workspace: &Workspace, arguments: &[&str]) -> std::process::Command {
    let mut command = workspace.rko(arguments);
    command.args(["--signing-config", &sigstore("RKO_TEST_SIGNING_CONFIG")]);
    command
}

fn cosign3(arguments: &[&str]) -> crate::support::Run {
    let mut cosign = command("cosign");
    cosign.env("TUF_ROOT", peers().get("TUF_ROOT")).args(arguments);
    cosign.args(["--allow-http-registry", "--trusted-root", &sigstore("RKO_TEST_TRUSTED_ROOT")]);
    run(&mut cosign)
}

fn cosign2(arguments: &[&str]) -> crate::support::Run {
    let mut cosign = command("cosign2");
    cosign
        .env("TUF_ROOT", peers().get("TUF_ROOT"))
        .env("SIGSTORE_ROOT_FILE", sigstore("RKO_TEST_FULCIO_ROOT"))
        .env("SIGSTORE_REKOR_PUBLIC_KEY", sigstore("RKO_TEST_REKOR_PUBLIC_KEY"))
        .env("SIGSTORE_CT_LOG_PUBLIC_KEY_FILE", sigstore("RKO_TEST_CT_LOG_PUBLIC_KEY"))
        .args(arguments)
        .arg("--allow-http-registry");
    run(&mut cosign)
}

fn identity(identity: &str) -> [&str; 4] {
    ["--certificate-identity", identity, "--certificate-oidc-issuer", ISSUER]
}

fn rko_verify(workspace: &Workspace, image: &str, extra: &[&str]) -> crate::support::Run {
    let root = sigstore("RKO_TEST_TRUSTED_ROOT");
    let mut verify = workspace.rko(&["verify", image, "--trusted-root", &root]);
    verify.args(extra);
    run(&mut verify)
}

#[test]
fn keyless_signatures_verify_with_cosign_3_cosign_2_sigstore_go_and_rko() {
    let workspace = hello();
    let scratch = tempdir();
    let image = image();
    let token = token_file(scratch.path(), ISSUER, IDENTITY);
    let root = sigstore("RKO_TEST_TRUSTED_ROOT");
    let stdout =
        run(&mut rko(&workspace, &["sign", &image, "--identity-token", &token, "--trusted-root", &root])).success();
    let referrer = stdout.trim().to_owned();
    assert!(referrer.starts_with(&image[..image.find('@').unwrap()]), "{stdout}");

    cosign3(&["verify", &image].iter().chain(&identity(IDENTITY)).copied().collect::<Vec<_>>()).success();
    let wrong = cosign3(
        &["verify", &image].iter().chain(&identity("https://github.com/evil/app")).copied().collect::<Vec<_>>(),
    );
    assert!(!wrong.output.status.success(), "cosign 3 accepted a wrong identity");
    // cosign 2 reads the legacy `.sig` tag only.
    let legacy = cosign2(&["verify", &image].iter().chain(&identity(IDENTITY)).copied().collect::<Vec<_>>()).success();
    assert!(legacy.contains("cosign container image signature"), "{legacy}");
    let wrong = cosign2(
        &["verify", &image].iter().chain(&identity("https://github.com/evil/app")).copied().collect::<Vec<_>>(),
    );
    assert!(!wrong.output.status.success(), "cosign 2 accepted a wrong identity");

    // sigstore-go checks the bundle on its own (the referrer's one layer).
    let repository = &image[..image.find('@').unwrap()];
    let manifest: serde_json::Value =
        serde_json::from_str(&crane(&["manifest", &referrer])).expect("the referrer manifest is JSON");
    assert_eq!(manifest["artifactType"], "application/vnd.dev.sigstore.bundle.v0.3+json");
    let bundle = crane(&["blob", &format!("{repository}@{}", manifest["layers"][0]["digest"].as_str().unwrap())]);
    let bundle_path = scratch.path().join("bundle.json");
    std::fs::write(&bundle_path, bundle).unwrap();
    let hex = &digest_of(&image)[7..];
    let checked = run(command("sigstore-go-verification").args([
        "-trustedrootJSONpath",
        &root,
        "-expectedIssuer",
        ISSUER,
        "-expectedSAN",
        IDENTITY,
        "-artifact-digest",
        hex,
        "-artifact-digest-algorithm",
        "sha256",
        bundle_path.to_str().unwrap(),
    ]));
    let text = format!("{}{}", checked.success(), checked.stderr());
    assert!(text.contains("Verification successful"), "{text}");
    // sigstore-python too: the statement's subject is the manifest (its bytes hash to the digest).
    let manifest_path = scratch.path().join("manifest.json");
    std::fs::write(&manifest_path, run(command("crane").args(["manifest", &image])).success()).unwrap();
    let python = run(command("sigstore").args([
        "--trust-config",
        &sigstore("RKO_TEST_CLIENT_TRUST_CONFIG"),
        "verify",
        "identity",
        "--bundle",
        bundle_path.to_str().unwrap(),
        "--cert-identity",
        IDENTITY,
        "--cert-oidc-issuer",
        ISSUER,
        manifest_path.to_str().unwrap(),
    ]));
    assert!(python.stderr().contains("OK:") || python.stdout().contains("OK:"), "{}", python.stderr());
    python.success();

    let arguments: Vec<&str> = ["--json"].iter().chain(&identity(IDENTITY)).copied().collect();
    let verified = rko_verify(&workspace, &image, &arguments).success();
    let claims: serde_json::Value = serde_json::from_str(&verified).unwrap();
    let forms: Vec<&str> = claims["verified"].as_array().unwrap().iter().map(|v| v["form"].as_str().unwrap()).collect();
    assert_eq!(forms, ["bundle", "legacy"], "{verified}");
    assert_eq!(claims["verified"][0]["identity"], IDENTITY);

    // Signing again appends to `.sig` (both signatures kept), and adds a second referrer.
    run(&mut rko(&workspace, &["sign", &image, "--identity-token", &token])).success();
    let tag = format!("{repository}:sha256-{hex}.sig");
    let sig: serde_json::Value = serde_json::from_str(&crane(&["manifest", &tag])).unwrap();
    assert_eq!(sig["layers"].as_array().unwrap().len(), 2, "{sig}");
    cosign2(&["verify", &image].iter().chain(&identity(IDENTITY)).copied().collect::<Vec<_>>()).success();
}

#[test]
fn an_index_on_a_registry_with_the_referrers_api() {
    let workspace = hello();
    let scratch = tempdir();
    let registry = peers().get("RKO_TEST_REGISTRY_REFERRERS");
    let mut build = workspace.rko(&["build", "--sbom=none", "--platform=linux/amd64,linux/arm64", "."]);
    build.env("KO_DOCKER_REPO", format!("{registry}/{}", unique("signed-index")));
    let index = run(&mut build).success().trim().to_owned();
    let token = token_file(scratch.path(), ISSUER, IDENTITY);
    let referrer = run(&mut rko(&workspace, &["sign", &index, "--identity-token", &token])).success();
    let repository = &index[..index.find('@').unwrap()];
    // Found through the API (no `sha256-<hex>` fallback tag on this registry).
    let listed = run(command("oras").args(["discover", "--plain-http", "--format", "json", &index])).success();
    assert!(listed.contains(&digest_of(referrer.trim())), "{listed}");
    let tags = crane(&["ls", repository]);
    assert!(!tags.lines().any(|tag| tag == format!("sha256-{}", &digest_of(&index)[7..])), "{tags}");
    cosign3(&["verify", &index].iter().chain(&identity(IDENTITY)).copied().collect::<Vec<_>>()).success();
    rko_verify(&workspace, &index, &identity(IDENTITY)).success();
}

#[test]
fn attestations_verify_with_cosign_and_rko() {
    let workspace = hello();
    let scratch = tempdir();
    let image = image();
    let token = token_file(scratch.path(), ISSUER, IDENTITY);
    let write = |name: &str, json: &str| {
        let path = scratch.path().join(name);
        std::fs::write(&path, json).unwrap();
        path.display().to_string()
    };
    let spdx = write("sbom.spdx.json", r#"{"spdxVersion":"SPDX-2.3","SPDXID":"SPDXRef-DOCUMENT","name":"hello"}"#);
    let cyclonedx = write("sbom.cdx.json", r#"{"bomFormat":"CycloneDX","specVersion":"1.6","version":1}"#);
    let provenance = write(
        "provenance.json",
        r#"{"buildDefinition":{"buildType":"https://github.com/rko-build/rko/buildtypes/go-image/v1","externalParameters":{}},"runDetails":{"builder":{"id":"https://github.com/rko-build/rko"}}}"#,
    );
    let arguments = [
        "sign",
        &image,
        "--no-signature",
        "--identity-token",
        &token,
        "--attest",
        &format!("spdxjson={spdx}"),
        "--attest",
        &format!("cyclonedx={cyclonedx}"),
        "--attest",
        &format!("slsaprovenance1={provenance}"),
    ];
    // One certificate for the run, however many signatures it makes.
    let fulcio = FaultProxy::start(peers().get("RKO_TEST_FULCIO_URL").trim_start_matches("http://"));
    let fulcio_url = format!("http://{}", fulcio.address);
    let mut sign = rko(&workspace, &arguments);
    sign.args(["--fulcio-url", &fulcio_url]);
    let stdout = run(&mut sign).success();
    assert_eq!(stdout.lines().count(), 3, "{stdout}");
    let certificates = fulcio.requests().iter().filter(|line| line.contains("/signingCert")).count();
    assert_eq!(certificates, 1, "{:?}", fulcio.requests());
    for kind in ["spdxjson", "cyclonedx", "slsaprovenance1"] {
        let arguments = ["verify-attestation", "--type", kind, &image];
        let arguments: Vec<&str> = arguments.iter().chain(&identity(IDENTITY)).copied().collect();
        cosign3(&arguments).success();
        let claims = rko_verify(
            &workspace,
            &image,
            &["--type", kind, "--json"].iter().chain(&identity(IDENTITY)).copied().collect::<Vec<_>>(),
        )
        .success();
        let claims: serde_json::Value = serde_json::from_str(&claims).unwrap();
        assert_eq!(claims["verified"].as_array().unwrap().len(), 2, "{kind}: bundle and `.att`: {claims}");
    }
    // cosign 2 reads the `.att` tag.
    cosign2(
        &["verify-attestation", "--type", "cyclonedx", &image]
            .iter()
            .chain(&identity(IDENTITY))
            .copied()
            .collect::<Vec<_>>(),
    )
    .success();
    // No signature was made: verifying one fails with one line.
    let error = rko_verify(&workspace, &image, &identity(IDENTITY)).failure();
    assert!(error.contains("has no valid signature") && error.lines().count() == 1, "{error}");
}

#[test]
fn rko_verify_accepts_cosign_signatures_and_rejects_moved_ones_wrong_identities_and_other_roots() {
    let workspace = hello();
    let scratch = tempdir();
    let image = image();
    let token = token_file(scratch.path(), ISSUER, IDENTITY);
    // Signed by cosign 3 (bundle referrer) and cosign 2 (legacy `.sig`).
    let mut sign = command("cosign");
    sign.env("TUF_ROOT", peers().get("TUF_ROOT")).args([
        "sign",
        "-y",
        "--allow-http-registry",
        "--signing-config",
        &sigstore("RKO_TEST_SIGNING_CONFIG"),
        "--trusted-root",
        &sigstore("RKO_TEST_TRUSTED_ROOT"),
        "--identity-token",
        &token,
        &image,
    ]);
    run(&mut sign).success();
    let mut sign = command("cosign2");
    sign.env("TUF_ROOT", peers().get("TUF_ROOT"))
        .env("SIGSTORE_ROOT_FILE", sigstore("RKO_TEST_FULCIO_ROOT"))
        .env("SIGSTORE_REKOR_PUBLIC_KEY", sigstore("RKO_TEST_REKOR_PUBLIC_KEY"))
        .env("SIGSTORE_CT_LOG_PUBLIC_KEY_FILE", sigstore("RKO_TEST_CT_LOG_PUBLIC_KEY"))
        .args(["sign", "-y", "--allow-http-registry", "--fulcio-url", peers().get("RKO_TEST_FULCIO_URL")])
        .args(["--rekor-url", peers().get("RKO_TEST_REKOR_URL"), "--identity-token", &token, &image]);
    run(&mut sign).success();
    let claims =
        rko_verify(&workspace, &image, &["--json"].iter().chain(&identity(IDENTITY)).copied().collect::<Vec<_>>())
            .success();
    let claims: serde_json::Value = serde_json::from_str(&claims).unwrap();
    let forms: Vec<&str> = claims["verified"].as_array().unwrap().iter().map(|v| v["form"].as_str().unwrap()).collect();
    assert_eq!(forms, ["bundle", "legacy"], "{claims}");
    let pattern = [
        "--certificate-identity-regexp",
        "https://github\\.com/rko-test/.*",
        "--certificate-oidc-issuer-regexp",
        ".*actions.*",
    ];
    rko_verify(&workspace, &image, &pattern).success();

    let error = rko_verify(&workspace, &image, &identity("https://github.com/evil/app")).failure();
    assert!(error.contains("not `https://github.com/evil/app`"), "{error}");
    let error = rko_verify(
        &workspace,
        &image,
        &["--certificate-identity", IDENTITY, "--certificate-oidc-issuer", "https://gitlab.com"],
    )
    .failure();
    assert!(error.contains("OIDC issuer"), "{error}");

    // Another trusted root: same log, another CA.
    let mut other: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(sigstore("RKO_TEST_TRUSTED_ROOT")).unwrap()).unwrap();
    let ca = std::fs::read_to_string(peers().get("RKO_TEST_REGISTRY_CA")).unwrap();
    let der: String = ca.lines().filter(|line| !line.starts_with("-----")).collect();
    other["certificateAuthorities"][0]["certChain"]["certificates"][0]["rawBytes"] = der.into();
    let other_path = scratch.path().join("other_root.json");
    std::fs::write(&other_path, other.to_string()).unwrap();
    let mut verify = workspace.rko(&["verify", &image, "--trusted-root", other_path.to_str().unwrap()]);
    verify.args(identity(IDENTITY));
    let error = run(&mut verify).failure();
    assert!(error.contains("not issued by a certificate authority of the trusted root"), "{error}");
    // The same root with another CT log key: the certificate's embedded SCT no longer verifies.
    let mut other: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(sigstore("RKO_TEST_TRUSTED_ROOT")).unwrap()).unwrap();
    other["ctlogs"][0]["publicKey"] = other["tlogs"][0]["publicKey"].clone();
    std::fs::write(&other_path, other.to_string()).unwrap();
    let mut verify = workspace.rko(&["verify", &image, "--trusted-root", other_path.to_str().unwrap()]);
    verify.args(identity(IDENTITY));
    let error = run(&mut verify).failure();
    assert!(error.contains("SCT does not verify"), "{error}");

    // A signature moved onto another manifest: the image's `.sig` copied to a tampered
    // image's tag is refused (its payload names the original digest).
    let repository = &image[..image.find('@').unwrap()];
    let tampered_tag = format!("{repository}:tampered");
    crane(&["mutate", "--annotation", "tampered=yes", "-t", &tampered_tag, &image]);
    let tampered = format!("{repository}@{}", crane(&["digest", &tampered_tag]));
    let hex = |reference: &str| digest_of(reference)[7..].to_owned();
    crane(&[
        "copy",
        &format!("{repository}:sha256-{}.sig", hex(&image)),
        &format!("{repository}:sha256-{}.sig", hex(&tampered)),
    ]);
    let error = rko_verify(&workspace, &tampered, &identity(IDENTITY)).failure();
    assert!(error.contains(&format!("not `{}`", digest_of(&tampered))), "{error}");
}

#[test]
fn ambient_tokens_from_github_and_gitlab() {
    let workspace = hello();
    let image = image();
    // GitHub Actions: rko asks the token service (`&audience=sigstore`) itself.
    let url = format!("{}&sub={IDENTITY}", peers().get("RKO_TEST_OIDC_TOKEN_URL"));
    let mut sign = rko(&workspace, &["sign", &image]);
    sign.env("GITHUB_ACTIONS", "true")
        .env("ACTIONS_ID_TOKEN_REQUEST_URL", &url)
        .env("ACTIONS_ID_TOKEN_REQUEST_TOKEN", "request-bearer");
    let signed = run(&mut sign);
    signed.success();
    assert!(!signed.stderr().contains("request-bearer"), "{}", signed.stderr());
    cosign3(&["verify", &image].iter().chain(&identity(IDENTITY)).copied().collect::<Vec<_>>()).success();

    // GitLab: `SIGSTORE_ID_TOKEN` from `id_tokens:`.
    let scratch = tempdir();
    let gitlab_identity = "https://gitlab.com/rko-test/app//.gitlab-ci.yml@refs/heads/main";
    let token = std::fs::read_to_string(token_file(scratch.path(), "https://gitlab.com", gitlab_identity)).unwrap();
    let mut sign = rko(&workspace, &["sign", &image]);
    sign.env("GITLAB_CI", "true").env("SIGSTORE_ID_TOKEN", &token);
    run(&mut sign).success();
    let arguments = ["--certificate-identity", gitlab_identity, "--certificate-oidc-issuer", "https://gitlab.com"];
    rko_verify(&workspace, &image, &arguments).success();
}

#[test]
fn key_based_signatures_verify_with_cosign_and_rko() {
    let workspace = hello();
    let scratch = tempdir();
    let image = image();
    let mut generate = command("cosign");
    generate.current_dir(scratch.path()).env("COSIGN_PASSWORD", "correct horse").args(["generate-key-pair"]);
    run(&mut generate).success();
    let key = scratch.path().join("cosign.key");
    let public = scratch.path().join("cosign.pub");
    let mut sign = workspace.rko(&["sign", &image, "--key", key.to_str().unwrap(), "--tlog-upload=false"]);
    sign.env("COSIGN_PASSWORD", "correct horse");
    run(&mut sign).success();
    let mut verify = command("cosign");
    verify.env("TUF_ROOT", peers().get("TUF_ROOT")).args([
        "verify",
        "--allow-http-registry",
        "--key",
        public.to_str().unwrap(),
        "--insecure-ignore-tlog=true",
        &image,
    ]);
    run(&mut verify).success();
    run(&mut workspace.rko(&["verify", &image, "--key", public.to_str().unwrap()])).success();

    // Logged in Rekor too: rko checks the entry against the trusted root.
    let mut sign = workspace.rko(&["sign", &image, "--key", key.to_str().unwrap()]);
    sign.args(["--rekor-url", peers().get("RKO_TEST_REKOR_URL")]).env("COSIGN_PASSWORD", "correct horse");
    run(&mut sign).success();
    let claims = rko_verify(&workspace, &image, &["--key", public.to_str().unwrap(), "--json"]).success();
    assert!(claims.contains("\"log_index\": "), "{claims}");

    let mut sign = workspace.rko(&["sign", &image, "--key", key.to_str().unwrap(), "--tlog-upload=false"]);
    sign.env("COSIGN_PASSWORD", "not-the-password-42");
    let error = run(&mut sign).failure();
    assert!(error.contains("password") && error.contains("cosign.key"), "{error}");
    assert!(!error.contains("not-the-password-42"), "the password leaked: {error}");
    assert_eq!(error.lines().count(), 1, "{error}");
}

#[test]
fn signing_faults_fail_with_one_line_or_recover() {
    let workspace = hello();
    let scratch = tempdir();
    let image = image();
    let one_line = |error: &str| assert_eq!(error.trim_end().lines().count(), 1, "{error}");

    // No token anywhere; on GitHub Actions without `id-token: write`.
    let error = run(&mut rko(&workspace, &["sign", &image])).failure();
    assert!(error.contains("no OIDC identity token") && error.contains("--identity-token"), "{error}");
    one_line(&error);
    let mut sign = rko(&workspace, &["sign", &image]);
    sign.env("GITHUB_ACTIONS", "true");
    let error = run(&mut sign).failure();
    assert!(error.contains("permissions: id-token: write"), "{error}");

    // An expired token is refused before Fulcio is asked (Fulcio here is a closed port).
    let claims = serde_json::json!({"iss": ISSUER, "sub": IDENTITY, "aud": "sigstore", "exp": 1_000_000_000});
    let base64url = |bytes: &[u8]| base64::Engine::encode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, bytes);
    let expired = format!("{}.{}.c2ln", base64url(b"{\"alg\":\"ES256\"}"), base64url(claims.to_string().as_bytes()));
    let closed = closed_port();
    let error =
        run(&mut workspace.rko(&["sign", &image, "--identity-token", &expired, "--fulcio-url", &closed])).failure();
    assert!(error.contains("expired") && error.contains("`exp` 1000000000") && error.contains("2001-09-09"), "{error}");
    assert!(!error.contains(&expired), "the token leaked: {error}");
    one_line(&error);

    // Fulcio down: bounded retries, then one line naming it.
    let token = token_file(scratch.path(), ISSUER, IDENTITY);
    let arguments = ["sign", &image, "--identity-token", &token, "--fulcio-url", &closed, "--signing-timeout", "2"];
    let error = run(&mut workspace.rko(&arguments)).failure();
    assert!(error.contains("Fulcio") && error.contains(&closed) && error.contains("within 2 s"), "{error}");
    one_line(&error);

    // Rekor answers 500 once, then works: the signature is made and verifies.
    let proxy = FaultProxy::start(peers().get("RKO_TEST_REKOR_URL").trim_start_matches("http://"));
    proxy.inject(
        "POST",
        "/api/v1/log/entries",
        1,
        Action::Respond { status: 500, headers: Vec::new(), body: "boom".into() },
    );
    let rekor = format!("http://{}", proxy.address);
    run(&mut rko(&workspace, &["sign", &image, "--identity-token", &token, "--rekor-url", &rekor])).success();
    let posts = proxy.requests().iter().filter(|line| line.starts_with("POST /api/v1/log/entries")).count();
    assert!(posts >= 3, "expected the failed upload to be retried: {:?}", proxy.requests());
    rko_verify(&workspace, &image, &identity(IDENTITY)).success();

    // A token for another audience, an unreadable token file.
    let error = run(&mut workspace.rko(&["sign", &image, "--identity-token", "/nonexistent/token"])).failure();
    assert!(error.contains("/nonexistent/token"), "{error}");
    one_line(&error);
}

/// `http://127.0.0.1:<port>` where nothing listens.
fn closed_port() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap();
    drop(listener);
    format!("http://{address}")
}
