//! TLS for the TCP, syslog and HTTPS sinks: rustls on the ring provider (no C build), trusting a
//! custom CA file when one is given (the Mozilla roots otherwise), with an optional client
//! certificate for collectors that authenticate their senders.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::ClientConfig;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

use super::DeliveryError;

/// TLS settings shared by every TLS sink.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TlsOptions {
    /// PEM file of the CA certificates to trust instead of the Mozilla roots.
    pub ca_file: Option<PathBuf>,
    /// PEM certificate chain and private key presented to the collector.
    pub client_cert: Option<PathBuf>,
    pub client_key: Option<PathBuf>,
}

/// Loaded TLS material: a rustls configuration for the stream sinks, ureq's for HEC.
#[derive(Clone)]
pub struct Tls {
    pub rustls: Arc<ClientConfig>,
    pub ureq: ureq::tls::TlsConfig,
}

fn tls_error(path: &Path, what: &str, error: impl std::fmt::Display) -> DeliveryError {
    DeliveryError::Tls {
        message: format!("{what} {}: {error}", path.display()),
    }
}

fn read_certs(path: &Path) -> Result<Vec<CertificateDer<'static>>, DeliveryError> {
    let certs = CertificateDer::pem_file_iter(path)
        .map_err(|error| tls_error(path, "cannot read certificates from", error))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|error| tls_error(path, "bad certificate in", error))?;
    if certs.is_empty() {
        return Err(tls_error(
            path,
            "no PEM certificate in",
            "the file holds none",
        ));
    }
    Ok(certs)
}

impl Tls {
    pub fn load(options: &TlsOptions) -> Result<Tls, DeliveryError> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut roots = rustls::RootCertStore::empty();
        let custom_roots = match &options.ca_file {
            Some(path) => {
                let certs = read_certs(path)?;
                for cert in &certs {
                    roots
                        .add(cert.clone())
                        .map_err(|error| tls_error(path, "unusable CA certificate in", error))?;
                }
                Some(certs)
            }
            None => {
                roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
                None
            }
        };
        let builder = ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|error| DeliveryError::Tls {
                message: error.to_string(),
            })?
            .with_root_certificates(roots);
        let client = match (&options.client_cert, &options.client_key) {
            (Some(cert_path), Some(key_path)) => {
                let chain = read_certs(cert_path)?;
                let key = PrivateKeyDer::from_pem_file(key_path).map_err(|error| {
                    tls_error(key_path, "cannot read a private key from", error)
                })?;
                Some((chain, key))
            }
            (None, None) => None,
            (Some(_), None) => {
                return Err(DeliveryError::Tls {
                    message: "a client certificate needs its private key (--tls-client-key)".into(),
                });
            }
            (None, Some(_)) => {
                return Err(DeliveryError::Tls {
                    message: "a client key needs its certificate (--tls-client-cert)".into(),
                });
            }
        };
        let rustls_config = match &client {
            Some((chain, key)) => builder
                .with_client_auth_cert(chain.clone(), key.clone_key())
                .map_err(|error| DeliveryError::Tls {
                    message: format!("client certificate and key do not fit: {error}"),
                })?,
            None => builder.with_no_client_auth(),
        };

        let mut ureq_builder =
            ureq::tls::TlsConfig::builder().provider(ureq::tls::TlsProvider::Rustls);
        if let Some(certs) = &custom_roots {
            let certs: Vec<_> = certs
                .iter()
                .map(|cert| ureq::tls::Certificate::from_der(cert.as_ref()).to_owned())
                .collect();
            ureq_builder = ureq_builder.root_certs(ureq::tls::RootCerts::new_with_certs(&certs));
        } else {
            ureq_builder = ureq_builder.root_certs(ureq::tls::RootCerts::WebPki);
        }
        if let (Some((chain, _)), Some(key_path)) = (&client, &options.client_key) {
            let chain: Vec<_> = chain
                .iter()
                .map(|cert| ureq::tls::Certificate::from_der(cert.as_ref()).to_owned())
                .collect();
            let pem = std::fs::read(key_path)
                .map_err(|error| tls_error(key_path, "cannot read", error))?;
            let key = ureq::tls::PrivateKey::from_pem(&pem)
                .map_err(|error| tls_error(key_path, "cannot read a private key from", error))?;
            ureq_builder =
                ureq_builder.client_cert(Some(ureq::tls::ClientCert::new_with_certs(&chain, key)));
        }
        Ok(Tls {
            rustls: Arc::new(rustls_config),
            ureq: ureq_builder.build(),
        })
    }
}
