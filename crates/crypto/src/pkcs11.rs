//! The production key provider: a non-extractable AES-256 key inside a PKCS#11
//! token (an HSM; SoftHSM2 in tests). Wrapping is AES-GCM performed by the
//! token, so the root key never enters this process.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use cryptoki::context::{CInitializeArgs, CInitializeFlags, Pkcs11};
use cryptoki::error::RvError;
use cryptoki::mechanism::Mechanism;
use cryptoki::mechanism::aead::GcmParams;
use cryptoki::mechanism::eddsa::{EddsaParams, EddsaSignatureScheme};
use cryptoki::object::{Attribute, AttributeType, KeyType, ObjectClass, ObjectHandle};
use cryptoki::session::{Session, SessionState, UserType};
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

/// The module, the logged-in session and the root key's handle in it.
/// Replaced whole when the token stops answering and the provider starts
/// again (`check`); `None` while it cannot.
struct Token {
    // Dropped in this order: the session is closed before the module is
    // finalised.
    session: Session,
    root: ObjectHandle,
    _context: Pkcs11,
}

/// A root key inside a PKCS#11 token.
pub struct Pkcs11Provider {
    // Sessions are not Sync; one mutex serialises calls into the token. The
    // signing keys share it.
    token: Arc<Mutex<Option<Token>>>,
    // Kept to start again when the token stops answering (`check`).
    config: Pkcs11Config,
    // Signing keys are labelled under the root key's label, so that several
    // registers can share one token without meeting each other's keys.
    key_label: String,
    description: String,
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
        let (session, description) = Self::open_session(&context, config)?;
        Ok((context, session, description))
    }

    fn open_session(context: &Pkcs11, config: &Pkcs11Config) -> Result<(Session, String), CryptoError> {
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
        match session.login(UserType::User, Some(&pin)) {
            // Login is per application: another of its sessions is logged in.
            Ok(()) | Err(cryptoki::error::Error::Pkcs11(RvError::UserAlreadyLoggedIn, _)) => {}
            Err(e) => return Err(p11("logging in")(e)),
        }
        let description = format!(
            "PKCS#11 token {} (slot {}), key '{}'",
            config.token_label.as_deref().unwrap_or("?"),
            slot.id(),
            config.key_label
        );
        Ok((session, description))
    }

    fn find_root(session: &Session, label: &str) -> Result<ObjectHandle, CryptoError> {
        let found = session.find_objects(&key_template(label)).map_err(p11("searching keys"))?;
        match found.as_slice() {
            [one] => Ok(*one),
            [] => Err(CryptoError::new(CryptoErrorKind::Pkcs11(format!("no key labelled '{label}' in the token")))),
            _ => {
                Err(CryptoError::new(CryptoErrorKind::Pkcs11(format!("several keys labelled '{label}' in the token"))))
            }
        }
    }

    /// Whether `token`'s session is logged in and its root key encrypts
    /// and decrypts a throwaway value.
    fn answers(token: &Token) -> Result<(), CryptoError> {
        let info = token.session.get_session_info().map_err(p11("reading the session"))?;
        if !matches!(info.session_state(), SessionState::RwUser | SessionState::RoUser) {
            return Err(CryptoError::new(CryptoErrorKind::Pkcs11("the session is no longer logged in".to_owned())));
        }
        let probe = Key32::random();
        let mut iv = random_nonce();
        let params = GcmParams::new(&mut iv, b"lanyard/liveness", TAG_BITS.into()).map_err(p11("GCM parameters"))?;
        let ct = token
            .session
            .encrypt(&Mechanism::AesGcm(params), token.root, probe.expose())
            .map_err(p11("encrypting with the root key"))?;
        let params = GcmParams::new(&mut iv, b"lanyard/liveness", TAG_BITS.into()).map_err(p11("GCM parameters"))?;
        let back = Zeroizing::new(
            token
                .session
                .decrypt(&Mechanism::AesGcm(params), token.root, &ct)
                .map_err(p11("decrypting with the root key"))?,
        );
        if back.as_slice() != probe.expose() {
            return Err(CryptoError::new(CryptoErrorKind::Authentication));
        }
        Ok(())
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
            token: Arc::new(Mutex::new(Some(Token { session, root: key, _context: context }))),
            config: config.clone(),
            key_label: config.key_label.clone(),
            description,
        }
    }

    /// Logs in and finds the existing root key.
    pub fn open(config: &Pkcs11Config) -> Result<Self, CryptoError> {
        let (context, session, description) = Self::login(config)?;
        let key = Self::find_root(&session, &config.key_label)?;
        Ok(Self::assemble(context, session, key, config, description))
    }

    fn with_session<T>(&self, f: impl FnOnce(&Session) -> Result<T, CryptoError>) -> Result<T, CryptoError> {
        with_session(&self.token, f)
    }

    fn with_token<T>(
        &self,
        f: impl FnOnce(&Session, ObjectHandle) -> Result<T, CryptoError>,
    ) -> Result<T, CryptoError> {
        let guard = lock(&self.token)?;
        let token = guard.as_ref().ok_or_else(gone)?;
        f(&token.session, token.root)
    }
}

type Shared = Mutex<Option<Token>>;

fn lock(token: &Shared) -> Result<std::sync::MutexGuard<'_, Option<Token>>, CryptoError> {
    token.lock().map_err(|_| CryptoError::new(CryptoErrorKind::Pkcs11("session lock poisoned".to_owned())))
}

fn gone() -> CryptoError {
    CryptoError::new(CryptoErrorKind::Pkcs11("the token stopped answering and could not be logged in to again".into()))
}

fn with_session<T>(token: &Shared, f: impl FnOnce(&Session) -> Result<T, CryptoError>) -> Result<T, CryptoError> {
    let guard = lock(token)?;
    f(&guard.as_ref().ok_or_else(gone)?.session)
}

/// DER of the curve OID 1.3.101.112 (Ed25519), as CKA_EC_PARAMS wants it.
const ED25519_PARAMS: [u8; 5] = [0x06, 0x03, 0x2b, 0x65, 0x70];

/// An Ed25519 private key inside the token; only its handle is held here.
struct TokenSigningKey {
    token: Arc<Shared>,
    private: ObjectHandle,
    public: [u8; 32],
}

impl SigningKey for TokenSigningKey {
    fn public_key(&self) -> [u8; 32] {
        self.public
    }

    fn sign(&self, message: &[u8]) -> Result<[u8; 64], CryptoError> {
        let mechanism = Mechanism::Eddsa(EddsaParams::new(EddsaSignatureScheme::Pure));
        let signature = with_session(&self.token, |s| {
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
            Arc::new(TokenSigningKey { token: Arc::clone(&self.token), private, public }) as Arc<dyn SigningKey>
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
        Ok(Arc::new(TokenSigningKey { token: Arc::clone(&self.token), private, public }))
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
        let ct = self.with_token(|session, root| {
            let params = GcmParams::new(&mut iv, &aad, TAG_BITS.into()).map_err(p11("GCM parameters"))?;
            session.encrypt(&Mechanism::AesGcm(params), root, key.expose()).map_err(p11("wrapping"))
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
        let plain = self.with_token(|session, root| {
            let params = GcmParams::new(&mut iv, &aad, TAG_BITS.into()).map_err(p11("GCM parameters"))?;
            session
                .decrypt(&Mechanism::AesGcm(params), root, ct)
                .map(Zeroizing::new)
                .map_err(|_| CryptoError::new(CryptoErrorKind::Authentication))
        })?;
        Key32::from_slice(&plain)
    }

    fn native_signing(&self) -> Option<&dyn NativeSigning> {
        Some(self)
    }

    /// The session is logged in and the root key answers. If not (the
    /// token was removed, the HSM restarted), the module is finalised and
    /// started again, and logs in with the configured PIN: a token still
    /// absent, or a PIN changed meanwhile, fails here and keeps failing
    /// (every wrap and unwrap with it) until put right. A module keeps a
    /// removed token's handles dead even once it is back, so nothing less
    /// than starting again recovers.
    fn check(&self) -> Result<(), CryptoError> {
        let mut token = lock(&self.token)?;
        if token.as_ref().is_some_and(|t| Self::answers(t).is_ok()) {
            return Ok(());
        }
        // The old session and module go first: a module is initialised once
        // per process at a time. The reason given is why starting again
        // failed (no such token, the PIN refused), the same on every check
        // until it changes, rather than how the old session died.
        *token = None;
        let fresh = (|| {
            let (context, session, _) = Self::login(&self.config)?;
            let root = Self::find_root(&session, &self.config.key_label)?;
            let fresh = Token { session, root, _context: context };
            Self::answers(&fresh)?;
            Ok::<_, CryptoError>(fresh)
        })()
        .map_err(|e| CryptoError::new(CryptoErrorKind::Pkcs11(format!("the token does not answer: {e}"))))?;
        *token = Some(fresh);
        Ok(())
    }
}
