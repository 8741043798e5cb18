//! Certificates for the TLS test servers, made with openssl in the test's temp dir: CAs, and
//! certificates they sign for localhost and 127.0.0.1.

use std::path::Path;
use std::process::Command;

/// Runs `cmd`, failing the test with its stderr.
pub fn run(cmd: &mut Command, what: &str) {
    let out = cmd.output().unwrap_or_else(|e| panic!("{what}: {e}"));
    assert!(out.status.success(), "{what}: {}", String::from_utf8_lossy(&out.stderr));
}

pub fn openssl(dir: &Path, args: &[&str]) {
    run(Command::new("openssl").current_dir(dir).args(args), &format!("openssl {}", args.join(" ")));
}

/// A CA (`name`.crt/.key) valid for two days.
pub fn make_ca(dir: &Path, name: &str) {
    let subj = format!("/CN=sitrep {name}");
    let (key, crt) = (format!("{name}.key"), format!("{name}.crt"));
    openssl(dir, &["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", &subj, "-keyout", &key, "-out", &crt]);
}

/// A certificate `name`.crt/.key (CN=`cn`) signed by ca.crt, for localhost and 127.0.0.1.
pub fn make_cert(dir: &Path, name: &str, cn: &str) {
    std::fs::write(dir.join("san.ext"), "subjectAltName=DNS:localhost,IP:127.0.0.1\n").expect("san.ext");
    let (key, csr, crt) = (format!("{name}.key"), format!("{name}.csr"), format!("{name}.crt"));
    openssl(dir, &["req", "-newkey", "rsa:2048", "-nodes", "-subj", &format!("/CN={cn}"), "-keyout", &key, "-out", &csr]);
    let sign = ["x509", "-req", "-in", &csr, "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial", "-days", "2"];
    openssl(dir, &[&sign[..], &["-extfile", "san.ext", "-out", &crt]].concat());
}
