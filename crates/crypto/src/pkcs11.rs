//! The production key provider: a non-extractable AES-256 key inside a PKCS#11
//! token (an HSM; SoftHSM2 in tests). Wrapping is AES-GCM performed by the
//! token, so the root key never enters this process.

use std::path::PathBuf;
use std::sync::Mutex;

use cryptoki::context::{CInitializeArgs, CInitializeFlags, Pkcs11};
use cryptoki::mechanism::Mechanism;
use cryptoki::mechanism::aead::GcmParams;
use cryptoki::object::{Attribute, KeyType, ObjectClass, ObjectHandle};
use cryptoki::session::{Session, UserType};
use cryptoki::slot::Slot;
use cryptoki::types::AuthPin;
use zeroize::Zeroizing;

use crate::error::{CryptoError, CryptoErrorKind};
use crate::provider::{KeyProvider, WrapContext};
use crate::secret::{Key32, random_nonce};

/// Where to find the token and the root key in it.
#[derive(Clone)]
pub struct Pkcs11Config {
    /// Path of the PKCS#11 module, e.g. `/usr/lib/softhsm/libsofthsm2.so`.
    pub module: PathBuf,
    /// The token's label; used when `slot` is absent.
    pub token_label: Option<String>,
    /// The slot id; takes precedence over the label.
    pub slot: Option<u64>,
    /// The user PIN.
    pub pin: Zeroizing<String>,
    /// The label of the root key object.
    pub key_label: String,
}

impl std::fmt::Debug for Pkcs11Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pkcs11Config")
            .field("module", &self.module)
            .field("token_label", &self.token_label)
            .field("slot", &self.slot)
            .field("pin", &"[redacted]")
            .field("key_label", &self.key_label)
            .finish()
    }
}

/// A root key inside a PKCS#11 token.
pub struct Pkcs11Provider {
    // Sessions are not Sync; one mutex serialises calls into the token.
    session: Mutex<Session>,
    key: ObjectHandle,
    description: String,
    _context: Pkcs11,
}

fn p11<E: std::fmt::Display>(what: &str) -> impl FnOnce(E) -> CryptoError + '_ {
    move |e| CryptoError::new(CryptoErrorKind::Pkcs11(format!("{what}: {e}")))
}

fn key_template(label: &str) -> Vec<Attribute> {
    vec![
        Attribute::Class(ObjectClass::SECRET_KEY),
        Attribute::KeyType(KeyType::AES),
        Attribute::Label(label.as_bytes().to_vec()),
    ]
}

impl Pkcs11Provider {
    fn login(config: &Pkcs11Config) -> Result<(Pkcs11, Session, String), CryptoError> {
        let context = Pkcs11::new(&config.module).map_err(p11("loading the module"))?;
        context
            .initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK))
            .map_err(p11("initialising the module"))?;
        let slots = context.get_slots_with_initialized_token().map_err(p11("listing slots"))?;
        let slot: Slot = match (config.slot, &config.token_label) {
            (Some(id), _) => slots.into_iter().find(|s| s.id() == id).ok_or_else(|| {
                CryptoError::new(CryptoErrorKind::Pkcs11(format!("no initialised token in slot {id}")))
            })?,
            (None, Some(label)) => {
                let mut found = None;
                for s in slots {
                    let info = context.get_token_info(s).map_err(p11("reading token info"))?;
                    if info.label().trim_end() == label {
                        found = Some(s);
                        break;
                    }
                }
                found
                    .ok_or_else(|| CryptoError::new(CryptoErrorKind::Pkcs11(format!("no token labelled '{label}'"))))?
            }
            (None, None) => {
                return Err(CryptoError::new(CryptoErrorKind::Pkcs11("name the token by label or slot".to_owned())));
            }
        };
        let session = context.open_rw_session(slot).map_err(p11("opening a session"))?;
        let pin = AuthPin::from(config.pin.as_str().to_owned());
        session.login(UserType::User, Some(&pin)).map_err(p11("logging in"))?;
        let description = format!(
            "PKCS#11 token {} (slot {}), key '{}'",
            config.token_label.as_deref().unwrap_or("?"),
            slot.id(),
            config.key_label
        );
        Ok((context, session, description))
    }

    /// Logs in and generates the root key in the token. Refuses if a key of
    /// that label already exists, so `init` never silently reuses a key.
    pub fn create(config: &Pkcs11Config) -> Result<Self, CryptoError> {
        let (context, session, description) = Self::login(config)?;
        let existing = session.find_objects(&key_template(&config.key_label)).map_err(p11("searching keys"))?;
        if !existing.is_empty() {
            return Err(CryptoError::new(CryptoErrorKind::Pkcs11(format!(
                "a key labelled '{}' already exists in the token",
                config.key_label
            ))));
        }
        let mut template = key_template(&config.key_label);
        template.extend([
            Attribute::ValueLen(32.into()),
            Attribute::Token(true),
            Attribute::Private(true),
            Attribute::Sensitive(true),
            Attribute::Extractable(false),
            Attribute::Encrypt(true),
            Attribute::Decrypt(true),
        ]);
        let key = session.generate_key(&Mechanism::AesKeyGen, &template).map_err(p11("generating the root key"))?;
        Ok(Pkcs11Provider { session: Mutex::new(session), key, description, _context: context })
    }

    /// Logs in and finds the existing root key.
    pub fn open(config: &Pkcs11Config) -> Result<Self, CryptoError> {
        let (context, session, description) = Self::login(config)?;
        let found = session.find_objects(&key_template(&config.key_label)).map_err(p11("searching keys"))?;
        let key = match found.as_slice() {
            [one] => *one,
            [] => {
                return Err(CryptoError::new(CryptoErrorKind::Pkcs11(format!(
                    "no key labelled '{}' in the token",
                    config.key_label
                ))));
            }
            _ => {
                return Err(CryptoError::new(CryptoErrorKind::Pkcs11(format!(
                    "several keys labelled '{}' in the token",
                    config.key_label
                ))));
            }
        };
        Ok(Pkcs11Provider { session: Mutex::new(session), key, description, _context: context })
    }

    fn with_session<T>(&self, f: impl FnOnce(&Session) -> Result<T, CryptoError>) -> Result<T, CryptoError> {
        let guard = self
            .session
            .lock()
            .map_err(|_| CryptoError::new(CryptoErrorKind::Pkcs11("session lock poisoned".to_owned())))?;
        f(&guard)
    }
}

const TAG_BITS: u64 = 128;

impl KeyProvider for Pkcs11Provider {
    fn kind(&self) -> &'static str {
        "pkcs11"
    }

    fn describe(&self) -> String {
        self.description.clone()
    }

    fn wrap(&self, key: &Key32, context: &WrapContext<'_>) -> Result<Vec<u8>, CryptoError> {
        let aad = context.associated_data();
        let mut iv = random_nonce();
        let ct = self.with_session(|session| {
            let params = GcmParams::new(&mut iv, &aad, TAG_BITS.into()).map_err(p11("GCM parameters"))?;
            session.encrypt(&Mechanism::AesGcm(params), self.key, key.expose()).map_err(p11("wrapping"))
        })?;
        let mut out = Vec::with_capacity(12 + ct.len());
        out.extend_from_slice(&iv);
        out.extend_from_slice(&ct);
        Ok(out)
    }

    fn unwrap(&self, wrapped: &[u8], context: &WrapContext<'_>) -> Result<Key32, CryptoError> {
        let (iv, ct) = wrapped
            .split_first_chunk::<12>()
            .ok_or_else(|| CryptoError::new(CryptoErrorKind::Malformed("wrapped key")))?;
        let mut iv = *iv;
        let aad = context.associated_data();
        let plain = self.with_session(|session| {
            let params = GcmParams::new(&mut iv, &aad, TAG_BITS.into()).map_err(p11("GCM parameters"))?;
            session
                .decrypt(&Mechanism::AesGcm(params), self.key, ct)
                .map(Zeroizing::new)
                .map_err(|_| CryptoError::new(CryptoErrorKind::Authentication))
        })?;
        Key32::from_slice(&plain)
    }
}
