//! Certificates for the client-certificate kind. azure_identity's ClientCertificateCredential
//! takes a PKCS#12 bundle only; people (and Key Vault, and `openssl req`) mostly have a PEM file
//! holding the certificate and its private key. A PEM file is repacked here, in memory, into the
//! bundle the credential wants; a PFX file is checked and passed on re-encrypted the same way, so
//! the credential sees one shape whichever file it was.
//!
//! Everything is checked before any request: a file that is neither, a wrong password, a key that
//! does not match the certificate, a non-RSA key (Entra's JWT client assertions are RS256 here)
//! and an expired or not-yet-valid certificate are errors naming the problem.

use azure_core::credentials::Secret;
use openssl::asn1::Asn1Time;
use openssl::pkcs12::Pkcs12;
use openssl::pkey::{Id, PKey, Private};
use openssl::stack::Stack;
use openssl::x509::X509;

/// The password of the in-memory bundle handed to the credential. It never touches a disk, so
/// its only job is to satisfy the PKCS#12 format.
pub(crate) const BUNDLE_PASSWORD: &str = "gwb-in-memory";

/// Turn a PEM (certificate + private key, optionally more certificates as the chain) or a PFX
/// file's bytes into a PKCS#12 bundle protected by [`BUNDLE_PASSWORD`], checking it is usable
/// at `now` (Unix seconds).
pub(crate) fn to_pkcs12(
    bytes: &[u8],
    password: Option<&Secret>,
    now: i64,
) -> Result<Vec<u8>, String> {
    let pass = password.map(|p| p.secret()).unwrap_or("");
    let (key, cert, chain) = if is_pem(bytes) {
        from_pem(bytes, password)?
    } else {
        from_pfx(bytes, pass)?
    };
    if key.id() != Id::RSA {
        return Err(
            "the private key is not an RSA key; Entra certificate sign-in here needs RSA".into(),
        );
    }
    let cert_key = cert
        .public_key()
        .map_err(|e| format!("cannot read the certificate's public key: {e}"))?;
    if !key.public_eq(&cert_key) {
        return Err(
            "the private key does not belong to the certificate; put the key that made this certificate in the file"
                .into(),
        );
    }
    let at = Asn1Time::from_unix(now).map_err(|e| e.to_string())?;
    if cert.not_after() < at {
        return Err(format!(
            "the certificate expired on {}; create a new one and upload it to the app registration",
            cert.not_after()
        ));
    }
    if cert.not_before() > at {
        return Err(format!(
            "the certificate is not valid before {}; check the clock, or wait",
            cert.not_before()
        ));
    }
    let mut builder = Pkcs12::builder();
    builder.name("gwb").pkey(&key).cert(&cert);
    if !chain.is_empty() {
        let mut stack = Stack::new().map_err(|e| e.to_string())?;
        for c in chain {
            stack.push(c).map_err(|e| e.to_string())?;
        }
        builder.ca(stack);
    }
    let bundle = builder
        .build2(BUNDLE_PASSWORD)
        .map_err(|e| format!("cannot repack the certificate: {e}"))?;
    bundle.to_der().map_err(|e| e.to_string())
}

fn is_pem(bytes: &[u8]) -> bool {
    bytes
        .windows(b"-----BEGIN ".len())
        .any(|w| w == b"-----BEGIN ")
}

type Parts = (PKey<Private>, X509, Vec<X509>);

fn from_pem(bytes: &[u8], password: Option<&Secret>) -> Result<Parts, String> {
    let certs = X509::stack_from_pem(bytes)
        .map_err(|e| format!("cannot read the PEM certificates: {e}"))?;
    let mut certs = certs.into_iter();
    let cert = certs.next().ok_or(
        "the PEM file holds no certificate (-----BEGIN CERTIFICATE-----); put the certificate and its private key in one file",
    )?;
    let key = match password {
        Some(p) => PKey::private_key_from_pem_passphrase(bytes, p.secret().as_bytes()),
        None => PKey::private_key_from_pem(bytes),
    }
    .map_err(|_| {
        if password.is_none() && contains(bytes, b"ENCRYPTED") {
            "the private key is encrypted; give its password in AZURE_CLIENT_CERTIFICATE_PASSWORD".to_string()
        } else if password.is_some() {
            "cannot decrypt the private key: is AZURE_CLIENT_CERTIFICATE_PASSWORD right?".to_string()
        } else {
            "the PEM file holds no private key (-----BEGIN PRIVATE KEY-----); put the certificate and its private key in one file".to_string()
        }
    })?;
    Ok((key, cert, certs.collect()))
}

fn from_pfx(bytes: &[u8], pass: &str) -> Result<Parts, String> {
    let pfx = Pkcs12::from_der(bytes)
        .map_err(|_| "neither a PEM file nor a PFX (PKCS#12) file".to_string())?;
    let parsed = pfx.parse2(pass).map_err(|_| {
        if pass.is_empty() {
            "cannot open the PFX file: it needs a password in AZURE_CLIENT_CERTIFICATE_PASSWORD"
                .to_string()
        } else {
            "cannot open the PFX file: is AZURE_CLIENT_CERTIFICATE_PASSWORD right?".to_string()
        }
    })?;
    let key = parsed.pkey.ok_or("the PFX file holds no private key")?;
    let cert = parsed.cert.ok_or("the PFX file holds no certificate")?;
    let chain = parsed
        .ca
        .map(|s| s.into_iter().collect())
        .unwrap_or_default();
    Ok((key, cert, chain))
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

/// Certificates made on the spot, for tests (unit and integration) and nothing else.
#[doc(hidden)]
pub mod testing {
    use openssl::asn1::Asn1Time;
    use openssl::bn::{BigNum, MsbOption};
    use openssl::hash::MessageDigest;
    use openssl::pkey::{PKey, Private};
    use openssl::rsa::Rsa;
    use openssl::x509::{X509, X509NameBuilder};

    /// A fresh RSA key and a self-signed certificate for it, valid from `from` to `to` (Unix
    /// seconds).
    pub fn self_signed(from: i64, to: i64) -> (PKey<Private>, X509) {
        let key = PKey::from_rsa(Rsa::generate(2048).unwrap()).unwrap();
        let mut name = X509NameBuilder::new().unwrap();
        name.append_entry_by_text("CN", "gwb test").unwrap();
        let name = name.build();
        let mut b = X509::builder().unwrap();
        b.set_version(2).unwrap();
        let mut serial = BigNum::new().unwrap();
        serial.rand(64, MsbOption::MAYBE_ZERO, false).unwrap();
        b.set_serial_number(&serial.to_asn1_integer().unwrap())
            .unwrap();
        b.set_subject_name(&name).unwrap();
        b.set_issuer_name(&name).unwrap();
        b.set_pubkey(&key).unwrap();
        b.set_not_before(&Asn1Time::from_unix(from).unwrap())
            .unwrap();
        b.set_not_after(&Asn1Time::from_unix(to).unwrap()).unwrap();
        b.sign(&key, MessageDigest::sha256()).unwrap();
        (key, b.build())
    }

    /// The certificate then the key, in one PEM file; the key encrypted when `password` is set.
    pub fn pem(key: &PKey<Private>, cert: &X509, password: Option<&str>) -> Vec<u8> {
        let mut out = cert.to_pem().unwrap();
        out.extend(match password {
            Some(p) => key
                .private_key_to_pem_pkcs8_passphrase(
                    openssl::symm::Cipher::aes_256_cbc(),
                    p.as_bytes(),
                )
                .unwrap(),
            None => key.private_key_to_pem_pkcs8().unwrap(),
        });
        out
    }

    /// A PFX (PKCS#12) file protected by `password`.
    pub fn pfx(key: &PKey<Private>, cert: &X509, password: &str) -> Vec<u8> {
        let mut b = openssl::pkcs12::Pkcs12::builder();
        b.name("test").pkey(key).cert(cert);
        b.build2(password).unwrap().to_der().unwrap()
    }
}

#[cfg(test)]
mod tests {
    use super::testing::{pem, pfx, self_signed};
    use super::*;

    const NOW: i64 = 1_795_000_000; // 2026-11-18
    const DAY: i64 = 86_400;

    fn opened(bundle: &[u8]) -> (PKey<Private>, X509) {
        let p = Pkcs12::from_der(bundle)
            .unwrap()
            .parse2(BUNDLE_PASSWORD)
            .unwrap();
        (p.pkey.unwrap(), p.cert.unwrap())
    }

    #[test]
    fn pem_and_pfx_become_the_same_bundle() {
        let (key, cert) = self_signed(NOW - DAY, NOW + 365 * DAY);
        let want = cert.to_der().unwrap();
        for (bytes, pass) in [
            (pem(&key, &cert, None), None),
            (pem(&key, &cert, Some("pw")), Some("pw")),
            (pfx(&key, &cert, "pfx-pw"), Some("pfx-pw")),
            (pfx(&key, &cert, ""), None),
        ] {
            let pass = pass.map(Secret::new);
            let bundle = to_pkcs12(&bytes, pass.as_ref(), NOW).unwrap();
            let (k, c) = opened(&bundle);
            assert_eq!(c.to_der().unwrap(), want);
            assert!(k.public_eq(&key));
        }
    }

    #[test]
    fn unusable_files_are_named_for_what_is_wrong() {
        let (key, cert) = self_signed(NOW - DAY, NOW + DAY);
        let err = |bytes: &[u8], pass: Option<&str>, now: i64| {
            to_pkcs12(
                bytes,
                pass.map(|p| Secret::new(p.to_string())).as_ref(),
                now,
            )
            .unwrap_err()
        };
        let e = err(&pem(&key, &cert, Some("pw")), None, NOW);
        assert!(e.contains("encrypted") && e.contains("PASSWORD"), "{e}");
        let e = err(&pem(&key, &cert, Some("pw")), Some("nope"), NOW);
        assert!(e.contains("cannot decrypt"), "{e}");
        let e = err(&pfx(&key, &cert, "pw"), None, NOW);
        assert!(e.contains("needs a password"), "{e}");
        let e = err(&pfx(&key, &cert, "pw"), Some("nope"), NOW);
        assert!(
            e.contains("is AZURE_CLIENT_CERTIFICATE_PASSWORD right"),
            "{e}"
        );
        let e = err(&cert.to_pem().unwrap(), None, NOW);
        assert!(e.contains("no private key"), "{e}");
        let e = err(b"not a certificate at all", None, NOW);
        assert!(e.contains("neither a PEM file nor a PFX"), "{e}");
        let e = err(&pem(&key, &cert, None), None, NOW + 2 * DAY);
        assert!(e.contains("expired on"), "{e}");
        let e = err(&pem(&key, &cert, None), None, NOW - 2 * DAY);
        assert!(e.contains("not valid before"), "{e}");
        // Another key than the certificate's.
        let (other, _) = self_signed(NOW - DAY, NOW + DAY);
        let mut mixed = cert.to_pem().unwrap();
        mixed.extend(other.private_key_to_pem_pkcs8().unwrap());
        let e = err(&mixed, None, NOW);
        assert!(e.contains("does not belong"), "{e}");
        // A non-RSA key.
        let ec = openssl::ec::EcKey::generate(
            &openssl::ec::EcGroup::from_curve_name(openssl::nid::Nid::X9_62_PRIME256V1).unwrap(),
        )
        .unwrap();
        let ec = PKey::from_ec_key(ec).unwrap();
        let mut mixed = cert.to_pem().unwrap();
        mixed.extend(ec.private_key_to_pem_pkcs8().unwrap());
        let e = err(&mixed, None, NOW);
        assert!(e.contains("not an RSA key"), "{e}");
    }
}
