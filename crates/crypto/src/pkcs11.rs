//! The production key provider: a non-extractable AES-256 key inside a PKCS#11
//! token (an HSM; SoftHSM2 in tests). Wrapping is AES-GCM performed by the
//! token, so the root key never enters this process.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use cryptoki::context::{CInitializeArgs, CInitializeFlags, Pkcs11};
use cryptoki::mechanism::Mechanism;
use cryptoki::mechanism::aead::GcmParams;
use cryptoki::mechanism::eddsa::{EddsaParams, EddsaSignatureScheme};
use cryptoki::object::{Attribute, AttributeType, KeyType, ObjectClass, ObjectHandle};
use cryptoki::session::{Session, UserType};
use cryptoki::slot::Slot;
use cryptoki::types::AuthPin;
use zeroize::Zeroizing;

use crate::error::{CryptoError, CryptoErrorKind};
use crate::provider::{KeyProvider, NativeSigning, SigningKey, WrapContext};
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
    // Sessions are not Sync; one mutex serialises calls into the token. The
    // signing keys share it.
    session: Arc<Mutex<Session>>,
    key: ObjectHandle,
    // Signing keys are labelled under the root key's label, so that several
    // registers can share one token without meeting each other's keys.
    key_label: String,
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
        Ok(Self::assemble(context, session, key, config, description))
    }

    fn assemble(
        context: Pkcs11,
        session: Session,
        key: ObjectHandle,
        config: &Pkcs11Config,
        description: String,
    ) -> Self {
        Pkcs11Provider {
            session: Arc::new(Mutex::new(session)),
            key,
            key_label: config.key_label.clone(),
            description,
            _context: context,
        }
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
        Ok(Self::assemble(context, session, key, config, description))
    }

    fn with_session<T>(&self, f: impl FnOnce(&Session) -> Result<T, CryptoError>) -> Result<T, CryptoError> {
        with_session(&self.session, f)
    }
}

fn with_session<T>(
    session: &Mutex<Session>,
    f: impl FnOnce(&Session) -> Result<T, CryptoError>,
) -> Result<T, CryptoError> {
    let guard =
        session.lock().map_err(|_| CryptoError::new(CryptoErrorKind::Pkcs11("session lock poisoned".to_owned())))?;
    f(&guard)
}

/// DER of the curve OID 1.3.101.112 (Ed25519), as CKA_EC_PARAMS wants it.
const ED25519_PARAMS: [u8; 5] = [0x06, 0x03, 0x2b, 0x65, 0x70];

/// An Ed25519 private key inside the token; only its handle is held here.
struct TokenSigningKey {
    session: Arc<Mutex<Session>>,
    private: ObjectHandle,
    public: [u8; 32],
}

impl SigningKey for TokenSigningKey {
    fn public_key(&self) -> [u8; 32] {
        self.public
    }

    fn sign(&self, message: &[u8]) -> Result<[u8; 64], CryptoError> {
        let mechanism = Mechanism::Eddsa(EddsaParams::new(EddsaSignatureScheme::Pure));
        let signature = with_session(&self.session, |s| {
            s.sign(&mechanism, self.private, message).map_err(p11("signing in the token"))
        })?;
        <[u8; 64]>::try_from(signature.as_slice())
            .map_err(|_| CryptoError::new(CryptoErrorKind::Malformed("signature")))
    }
}

/// CKA_EC_POINT of an Ed25519 key: a DER OCTET STRING of the 32 bytes, or
/// (in some tokens) the bare 32 bytes.
fn ed25519_point(point: &[u8]) -> Result<[u8; 32], CryptoError> {
    let bare = match point {
        [0x04, 0x20, rest @ ..] if rest.len() == 32 => rest,
        bare => bare,
    };
    <[u8; 32]>::try_from(bare).map_err(|_| CryptoError::new(CryptoErrorKind::Malformed("Ed25519 public key")))
}

fn pair_template(class: ObjectClass, label: &str) -> Vec<Attribute> {
    vec![Attribute::Class(class), Attribute::KeyType(KeyType::EC_EDWARDS), Attribute::Label(label.as_bytes().to_vec())]
}

impl Pkcs11Provider {
    fn signing_label(&self, name: &str) -> String {
        format!("{}/{name}", self.key_label)
    }

    fn public_point(session: &Session, public: ObjectHandle) -> Result<[u8; 32], CryptoError> {
        let attrs = session.get_attributes(public, &[AttributeType::EcPoint]).map_err(p11("reading the public key"))?;
        match attrs.first() {
            Some(Attribute::EcPoint(point)) => ed25519_point(point),
            _ => Err(CryptoError::new(CryptoErrorKind::Malformed("Ed25519 public key"))),
        }
    }

    fn find_one(session: &Session, template: &[Attribute], label: &str) -> Result<Option<ObjectHandle>, CryptoError> {
        let found = session.find_objects(template).map_err(p11("searching keys"))?;
        match found.as_slice() {
            [] => Ok(None),
            [one] => Ok(Some(*one)),
            _ => {
                Err(CryptoError::new(CryptoErrorKind::Pkcs11(format!("several keys labelled '{label}' in the token"))))
            }
        }
    }
}

impl NativeSigning for Pkcs11Provider {
    fn find_signing_key(&self, name: &str) -> Result<Option<Arc<dyn SigningKey>>, CryptoError> {
        let label = &self.signing_label(name);
        let found = self.with_session(|s| {
            let private = Self::find_one(s, &pair_template(ObjectClass::PRIVATE_KEY, label), label)?;
            let public = Self::find_one(s, &pair_template(ObjectClass::PUBLIC_KEY, label), label)?;
            match (private, public) {
                (None, None) => Ok(None),
                (Some(private), Some(public)) => Ok(Some((private, Self::public_point(s, public)?))),
                (None, Some(_)) => Err(CryptoError::new(CryptoErrorKind::Pkcs11(format!(
                    "the private key '{label}' is missing from the token (its public half remains)"
                )))),
                (Some(_), None) => Err(CryptoError::new(CryptoErrorKind::Pkcs11(format!(
                    "the public key '{label}' is missing from the token"
                )))),
            }
        })?;
        Ok(found.map(|(private, public)| {
            Arc::new(TokenSigningKey { session: Arc::clone(&self.session), private, public }) as Arc<dyn SigningKey>
        }))
    }

    fn create_signing_key(&self, name: &str) -> Result<Arc<dyn SigningKey>, CryptoError> {
        let label = &self.signing_label(name);
        if self.find_signing_key(name)?.is_some() {
            return Err(CryptoError::new(CryptoErrorKind::Pkcs11(format!(
                "a key labelled '{label}' already exists in the token"
            ))));
        }
        let (private, public) = self.with_session(|s| {
            let mut public_template = pair_template(ObjectClass::PUBLIC_KEY, label);
            public_template.extend([
                Attribute::Token(true),
                Attribute::Verify(true),
                Attribute::EcParams(ED25519_PARAMS.to_vec()),
            ]);
            let mut private_template = pair_template(ObjectClass::PRIVATE_KEY, label);
            private_template.extend([
                Attribute::Token(true),
                Attribute::Private(true),
                Attribute::Sensitive(true),
                Attribute::Extractable(false),
                Attribute::Sign(true),
            ]);
            let (public, private) = s
                .generate_key_pair(&Mechanism::EccEdwardsKeyPairGen, &public_template, &private_template)
                .map_err(p11("generating an Ed25519 key pair"))?;
            Ok((private, Self::public_point(s, public)?))
        })?;
        Ok(Arc::new(TokenSigningKey { session: Arc::clone(&self.session), private, public }))
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

    fn native_signing(&self) -> Option<&dyn NativeSigning> {
        Some(self)
    }
}
