//! The print batch file: a ZIP archive with `manifest.json` at its root and
//! the artwork of each card, sealed with age to the supplier's recipient.
//! Its own crate so that the supplier's agent (`lanyard-agent`) reads the
//! format without linking the register, the store or the server.
//!
//! Pure (memory in, memory out), so the server that packs, the agent that
//! unpacks and the compromise test that attacks all use the same code. The
//! unpacking side treats its input as hostile: names, counts and sizes are
//! bounded, every file must be listed in the manifest with its SHA-256, and
//! nothing unlisted is accepted. Nothing is unpacked unless the manifest
//! carries the force's signature under a key the caller pins
//! ([`signature`]).

use std::collections::BTreeMap;
use std::io::{Cursor, Read, Write};
use std::str::FromStr;

use age::secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use zip::write::SimpleFileOptions;

pub mod signature;

pub use lanyard_note::{Signer, Verifier};
pub use signature::SIGNATURE;

/// The manifest's format tag.
pub const FORMAT: &str = "lanyard-print-batch/1";
/// The manifest's name at the archive root.
pub const MANIFEST: &str = "manifest.json";

/// Why a batch file could not be made or opened.
#[derive(Debug, thiserror::Error)]
pub enum PackageError {
    /// Not an age X25519 recipient.
    #[error("not an age X25519 recipient (expected age1…)")]
    Recipient,
    /// age refused to decrypt: not sealed to these identities.
    #[error("the batch is not sealed to this identity")]
    NotForThisIdentity,
    /// age authentication failed: the file was altered or cut short.
    #[error("age authentication failed: the batch file was altered or truncated, and nothing was used")]
    Authentication,
    /// Sealing failed (an age or I/O error; carries no data).
    #[error("sealing the batch failed: {0}")]
    Seal(String),
    /// The archive inside is malformed.
    #[error("batch archive: {0}")]
    Archive(String),
    /// The manifest is missing, malformed or does not match the files.
    #[error("batch manifest: {0}")]
    Manifest(String),
    /// Over a size or count limit.
    #[error("batch over a limit: {0}")]
    Limit(String),
    /// No signature: anyone who knows the recipient can seal a batch.
    #[error(
        "the batch is not signed by the force (no manifest.cose); it may not come from the force, and nothing was used"
    )]
    Unsigned,
    /// Signed, but by a key the supplier has not pinned.
    #[error("the batch is signed by a key this supplier does not trust (see `lanyard-agent trust`); nothing was used")]
    UntrustedSigner,
    /// The signature is malformed or does not match the manifest.
    #[error("the batch's signature is wrong ({0}): the batch was altered or forged, and nothing was used")]
    BadSignature(&'static str),
}

/// One artwork file as the manifest lists it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManifestFile {
    /// File name at the archive root.
    pub name: String,
    /// `front_png`, `back_png` or `pdf` (front and back pages).
    pub kind: String,
    /// Size in bytes.
    pub size: u64,
    /// SHA-256, lower-case hex.
    pub sha256: String,
}

/// One card as the manifest lists it: ids and numbers, no personal data.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManifestCard {
    /// Card id (also in the QR code).
    pub card: String,
    /// Card number (printed).
    pub number: String,
    /// Card type.
    pub card_type: String,
    /// Its artwork.
    pub files: Vec<ManifestFile>,
}

/// `manifest.json`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// [`FORMAT`].
    pub format: String,
    /// Batch id.
    pub batch: String,
    /// The supplier it is for.
    pub supplier: String,
    /// RFC 3339.
    pub created_at: String,
    /// RFC 3339: confirm before this, or the batch is destroyed.
    pub expires_at: String,
    /// The cards.
    pub cards: Vec<ManifestCard>,
}

impl Manifest {
    /// Every card id.
    pub fn card_ids(&self) -> impl Iterator<Item = &str> {
        self.cards.iter().map(|c| c.card.as_str())
    }
}

/// A card's artwork, ready to pack.
#[derive(Clone, Debug)]
pub struct CardArtwork {
    /// Card id.
    pub card: String,
    /// Card number.
    pub number: String,
    /// Card type.
    pub card_type: String,
    /// `(kind, file name, bytes)`.
    pub files: Vec<(&'static str, String, Vec<u8>)>,
}

/// An opened batch: its manifest, signed by a pinned key, and files,
/// checked against each other.
#[derive(Clone, Debug)]
pub struct Package {
    /// The manifest.
    pub manifest: Manifest,
    /// Every artwork file by name; each matched its manifest entry.
    pub files: BTreeMap<String, Vec<u8>>,
    /// The pinned key that signed the manifest.
    pub signed_by: Verifier,
}

/// Bounds on what an opened batch may hold.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// Decrypted size.
    pub max_total: u64,
    /// Entries in the archive.
    pub max_entries: usize,
    /// One file.
    pub max_file: u64,
}

impl Default for Limits {
    /// Room for about 30,000 cards (three files each, some 270 KB a card):
    /// the agent streams a batch through disk, so these bound the spool,
    /// not memory.
    fn default() -> Self {
        Limits { max_total: 8 << 30, max_entries: 100_000, max_file: 64 << 20 }
    }
}

/// SHA-256 as lower-case hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

/// Parses an `age1…` recipient.
pub fn parse_recipient(text: &str) -> Result<age::x25519::Recipient, PackageError> {
    age::x25519::Recipient::from_str(text.trim()).map_err(|_| PackageError::Recipient)
}

/// A new supplier identity: `(identity file text, recipient)`. The identity
/// is for the supplier alone; lanyard keeps only the recipient.
pub fn keygen(now_rfc3339: &str) -> (SecretString, String) {
    let identity = age::x25519::Identity::generate();
    let recipient = identity.to_public().to_string();
    let text =
        format!("# created: {now_rfc3339}\n# public key: {recipient}\n{}\n", identity.to_string().expose_secret());
    (SecretString::from(text), recipient)
}

/// Reads identities from an age identity file's text.
pub fn parse_identities(text: &[u8]) -> Result<Vec<Box<dyn age::Identity + Send + Sync>>, PackageError> {
    let file = age::IdentityFile::from_buffer(text)
        .map_err(|_| PackageError::Manifest("the identity file is not an age identity file".into()))?;
    let ids = file
        .into_identities()
        .map_err(|_| PackageError::Manifest("the identity file holds an identity this build cannot use".into()))?;
    if ids.is_empty() {
        return Err(PackageError::Manifest("the identity file holds no identity".into()));
    }
    Ok(ids)
}

/// Writes a batch archive card by card, so that only the card in hand is
/// held in memory: stored entries (PNG and PDF are compressed already) with
/// fixed timestamps, and `manifest.json`, which lists every file's digest,
/// last.
pub struct ArchiveWriter<W: Write + std::io::Seek> {
    zip: zip::ZipWriter<W>,
    manifest: Manifest,
}

fn archive_err(e: zip::result::ZipError) -> PackageError {
    PackageError::Archive(e.to_string())
}

fn io_err(e: std::io::Error) -> PackageError {
    PackageError::Archive(e.to_string())
}

fn entry_options() -> SimpleFileOptions {
    SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Stored)
        .last_modified_time(zip::DateTime::default())
        .unix_permissions(0o600)
}

impl<W: Write + std::io::Seek> ArchiveWriter<W> {
    fn with(zip: zip::ZipWriter<W>, header: &Manifest) -> Self {
        let mut manifest = header.clone();
        manifest.format = FORMAT.to_owned();
        manifest.cards.clear();
        ArchiveWriter { zip, manifest }
    }

    /// Adds one card's files and its manifest entry.
    pub fn add(&mut self, card: &CardArtwork) -> Result<(), PackageError> {
        let mut files = Vec::with_capacity(card.files.len());
        for (kind, name, bytes) in &card.files {
            self.zip.start_file(name.as_str(), entry_options()).map_err(archive_err)?;
            self.zip.write_all(bytes).map_err(io_err)?;
            files.push(ManifestFile {
                name: name.clone(),
                kind: (*kind).to_owned(),
                size: bytes.len() as u64,
                sha256: sha256_hex(bytes),
            });
        }
        self.manifest.cards.push(ManifestCard {
            card: card.card.clone(),
            number: card.number.clone(),
            card_type: card.card_type.clone(),
            files,
        });
        Ok(())
    }

    /// Writes the manifest and, with a signer, its signature, and closes
    /// the archive.
    fn close(mut self, signer: Option<&dyn Signer>) -> Result<(Manifest, W), PackageError> {
        let json = serde_json::to_vec_pretty(&self.manifest).map_err(|e| PackageError::Manifest(e.to_string()))?;
        self.zip.start_file(MANIFEST, entry_options()).map_err(archive_err)?;
        self.zip.write_all(&json).map_err(io_err)?;
        if let Some(signer) = signer {
            let signed = signature::sign(&json, signer)?;
            self.zip.start_file(SIGNATURE, entry_options()).map_err(archive_err)?;
            self.zip.write_all(&signed).map_err(io_err)?;
        }
        let inner = self.zip.finish().map_err(archive_err)?;
        Ok((self.manifest, inner))
    }
}

/// Packs the manifest and artwork into a ZIP archive in memory, signed by
/// `signer` (`None` makes an unsigned archive, which no agent opens: for
/// tests of exactly that); the same input packs to the same bytes.
pub fn pack(
    header: &Manifest,
    cards: &[CardArtwork],
    signer: Option<&dyn Signer>,
) -> Result<(Manifest, Vec<u8>), PackageError> {
    let mut w = ArchiveWriter::with(zip::ZipWriter::new(Cursor::new(Vec::new())), header);
    for card in cards {
        w.add(card)?;
    }
    let (manifest, cursor) = w.close(signer)?;
    Ok((manifest, cursor.into_inner()))
}

/// A batch archive sealed with age as it is written to `W`: the plaintext
/// archive never exists whole, each card's artwork can be dropped once
/// added, and with a `W` that passes bytes on (the server's store, in
/// chunks) neither does the sealed file.
pub struct SealedArchive<W: Write>(ArchiveWriter<zip::write::StreamWriter<age::stream::StreamWriter<W>>>);

impl<W: Write> SealedArchive<W> {
    /// Starts an archive sealed to `recipient`, written to `out`.
    pub fn new(header: &Manifest, recipient: &age::x25519::Recipient, out: W) -> Result<Self, PackageError> {
        let encryptor = age::Encryptor::with_recipients(std::iter::once(recipient as &dyn age::Recipient))
            .map_err(|e| PackageError::Seal(e.to_string()))?;
        let out = encryptor.wrap_output(out).map_err(|e| PackageError::Seal(e.to_string()))?;
        Ok(SealedArchive(ArchiveWriter::with(zip::ZipWriter::new_stream(out), header)))
    }

    /// Adds one card.
    pub fn add(&mut self, card: &CardArtwork) -> Result<(), PackageError> {
        self.0.add(card)
    }

    /// Writes the manifest and the force's signature over it, and closes
    /// the archive and the age stream; gives back the output.
    pub fn finish(self, signer: &dyn Signer) -> Result<(Manifest, W), PackageError> {
        let (manifest, stream) = self.0.close(Some(signer))?;
        let out = stream.into_inner().finish().map_err(|e| PackageError::Seal(e.to_string()))?;
        Ok((manifest, out))
    }
}

/// Seals `plain` to `recipient` (binary age format).
pub fn seal(plain: &[u8], recipient: &age::x25519::Recipient) -> Result<Vec<u8>, PackageError> {
    age::encrypt(recipient, plain).map_err(|e| PackageError::Seal(e.to_string()))
}

/// Opens a sealed (binary or armored) batch with the supplier's identities,
/// reading at most `limits.max_total` bytes, in memory: for tests and
/// small files. The agent streams through disk ([`open_to`], [`check`]).
pub fn open(
    sealed: &[u8],
    identities: &[Box<dyn age::Identity + Send + Sync>],
    limits: &Limits,
) -> Result<Vec<u8>, PackageError> {
    let decryptor = age::Decryptor::new_buffered(age::armor::ArmoredReader::new(sealed))
        .map_err(|_| PackageError::Authentication)?;
    let mut reader =
        decryptor.decrypt(identities.iter().map(|i| i.as_ref() as &dyn age::Identity)).map_err(|e| match e {
            age::DecryptError::NoMatchingKeys => PackageError::NotForThisIdentity,
            _ => PackageError::Authentication,
        })?;
    let mut plain = Vec::new();
    (&mut reader).take(limits.max_total + 1).read_to_end(&mut plain).map_err(|_| PackageError::Authentication)?;
    if plain.len() as u64 > limits.max_total {
        return Err(PackageError::Limit(format!("more than {} bytes decrypted", limits.max_total)));
    }
    Ok(plain)
}

/// Decrypts a sealed (binary or armored) batch from `sealed` into `out` as
/// a stream, writing at most `limits.max_total` bytes; returns how many.
/// age authenticates each 64 KiB chunk before releasing it and the last
/// one as last, so a file cut short or altered is an error here; what was
/// written before the error is the caller's to discard, never to use.
pub fn open_to(
    sealed: impl Read,
    identities: &[Box<dyn age::Identity + Send + Sync>],
    limits: &Limits,
    out: &mut dyn Write,
) -> Result<u64, PackageError> {
    let decryptor = age::Decryptor::new_buffered(age::armor::ArmoredReader::new(std::io::BufReader::new(sealed)))
        .map_err(|_| PackageError::Authentication)?;
    let reader =
        decryptor.decrypt(identities.iter().map(|i| i.as_ref() as &dyn age::Identity)).map_err(|e| match e {
            age::DecryptError::NoMatchingKeys => PackageError::NotForThisIdentity,
            _ => PackageError::Authentication,
        })?;
    let mut limited = reader.take(limits.max_total + 1);
    let mut buf = vec![0u8; 1 << 16];
    let mut total = 0u64;
    loop {
        let n = limited.read(&mut buf).map_err(|_| PackageError::Authentication)?;
        if n == 0 {
            break;
        }
        total += n as u64;
        if total > limits.max_total {
            return Err(PackageError::Limit(format!("more than {} bytes decrypted", limits.max_total)));
        }
        out.write_all(buf.get(..n).unwrap_or_default()).map_err(|e| PackageError::Archive(e.to_string()))?;
    }
    Ok(total)
}

/// A decrypted batch archive read in place (from a file), checked whole:
/// the manifest's signature by a pinned key, every name plain, nothing
/// unlisted, and every file's size and SHA-256 against the manifest. Only
/// then may its files be read, one at a time, so a batch of any size is
/// opened in bounded memory.
pub struct Checked<R: Read + std::io::Seek> {
    zip: zip::ZipArchive<R>,
    /// The manifest.
    pub manifest: Manifest,
    /// The pinned key that signed the manifest.
    pub signed_by: Verifier,
}

/// Reads a small entry whole (the manifest, its signature).
fn small_entry<R: Read + std::io::Seek>(
    zip: &mut zip::ZipArchive<R>,
    name: &str,
    limit: u64,
) -> Result<Option<Vec<u8>>, PackageError> {
    let mut entry = match zip.by_name(name) {
        Ok(e) => e,
        Err(zip::result::ZipError::FileNotFound) => return Ok(None),
        Err(e) => return Err(archive_err(e)),
    };
    let mut bytes = Vec::new();
    (&mut entry).take(limit + 1).read_to_end(&mut bytes).map_err(|e| PackageError::Archive(format!("{name}: {e}")))?;
    if bytes.len() as u64 > limit {
        return Err(PackageError::Limit(format!("{name} is over {limit} bytes")));
    }
    Ok(Some(bytes))
}

/// Checks a decrypted archive read from `plain` (see [`Checked`]).
pub fn check<R: Read + std::io::Seek>(
    plain: R,
    limits: &Limits,
    trusted: &[Verifier],
) -> Result<Checked<R>, PackageError> {
    let mut zip = zip::ZipArchive::new(plain).map_err(|e| PackageError::Archive(e.to_string()))?;
    if zip.len() > limits.max_entries {
        return Err(PackageError::Limit(format!("{} entries (at most {})", zip.len(), limits.max_entries)));
    }
    let mut names = std::collections::BTreeSet::new();
    for i in 0..zip.len() {
        let name = match zip.name_for_index(i) {
            Some(Ok(n)) => n.into_owned(),
            _ => return Err(PackageError::Archive(format!("entry {i} has an unreadable name"))),
        };
        if !plain_name(&name) {
            return Err(PackageError::Archive(format!("entry {i} has a name that is not a plain file name")));
        }
        if names.contains(&name) {
            return Err(PackageError::Archive(format!("{name} appears twice")));
        }
        names.insert(name);
    }
    let manifest_bytes = small_entry(&mut zip, MANIFEST, limits.max_file)?
        .ok_or_else(|| PackageError::Manifest(format!("no {MANIFEST} at the root")))?;
    let signature_bytes = small_entry(&mut zip, SIGNATURE, 64 << 10)?;
    let signed_by = signature::verify(&manifest_bytes, signature_bytes.as_deref(), trusted)?.clone();
    let manifest: Manifest =
        serde_json::from_slice(&manifest_bytes).map_err(|e| PackageError::Manifest(e.to_string()))?;
    if manifest.format != FORMAT {
        return Err(PackageError::Manifest(format!("format is not {FORMAT}")));
    }
    names.remove(MANIFEST);
    names.remove(SIGNATURE);
    let mut listed = 0usize;
    let mut total = 0u64;
    let mut buf = vec![0u8; 1 << 16];
    for card in &manifest.cards {
        for f in &card.files {
            listed += 1;
            if !names.contains(&f.name) {
                return Err(PackageError::Manifest(format!("card {}: {} is missing", card.card, f.name)));
            }
            if f.size > limits.max_file {
                return Err(PackageError::Limit(format!("{} is over {} bytes", f.name, limits.max_file)));
            }
            let mut entry = zip.by_name(&f.name).map_err(archive_err)?;
            let mut sha = Sha256::new();
            let mut size = 0u64;
            let mut limited = (&mut entry).take(f.size + 1);
            loop {
                let n = limited.read(&mut buf).map_err(|e| PackageError::Archive(format!("{}: {e}", f.name)))?;
                if n == 0 {
                    break;
                }
                size += n as u64;
                sha.update(buf.get(..n).unwrap_or_default());
            }
            total += size;
            if total > limits.max_total {
                return Err(PackageError::Limit(format!("more than {} bytes unpacked", limits.max_total)));
            }
            let hex: String = sha.finalize().iter().map(|b| format!("{b:02x}")).collect();
            if size != f.size || hex != f.sha256 {
                return Err(PackageError::Manifest(format!(
                    "card {}: {} does not match its digest",
                    card.card, f.name
                )));
            }
        }
    }
    if listed != names.len() {
        return Err(PackageError::Manifest("the archive holds files the manifest does not list".into()));
    }
    Ok(Checked { zip, manifest, signed_by })
}

impl<R: Read + std::io::Seek> Checked<R> {
    /// One listed file's content, read from the archive (checked already).
    pub fn file(&mut self, name: &str) -> Result<impl Read + '_, PackageError> {
        self.zip.by_name(name).map_err(archive_err)
    }
}

/// A name the agent may write into its spool: letters, digits, `.`, `_`
/// and `-`, not starting with a dot, no directories.
fn plain_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 128
        && !name.starts_with('.')
        && name.chars().all(|c| c.is_ascii_alphanumeric() || "._-".contains(c))
}

/// Unpacks an archive held in memory (see [`open`]): checks the manifest's
/// signature against the pinned keys `trusted` before reading it, then
/// every file against the manifest.
pub fn unpack(plain: &[u8], limits: &Limits, trusted: &[Verifier]) -> Result<Package, PackageError> {
    let mut zip = zip::ZipArchive::new(Cursor::new(plain)).map_err(|e| PackageError::Archive(e.to_string()))?;
    if zip.len() > limits.max_entries {
        return Err(PackageError::Limit(format!("{} entries (at most {})", zip.len(), limits.max_entries)));
    }
    let mut files = BTreeMap::new();
    let mut manifest_bytes = None;
    let mut signature_bytes = None;
    let mut total = 0u64;
    for i in 0..zip.len() {
        let mut entry = zip.by_index(i).map_err(|e| PackageError::Archive(e.to_string()))?;
        let name = match entry.name() {
            Ok(n) => n.into_owned(),
            Err(_) => return Err(PackageError::Archive(format!("entry {i} has an unreadable name"))),
        };
        if !plain_name(&name) {
            return Err(PackageError::Archive(format!("entry {i} has a name that is not a plain file name")));
        }
        let mut bytes = Vec::new();
        (&mut entry)
            .take(limits.max_file + 1)
            .read_to_end(&mut bytes)
            .map_err(|e| PackageError::Archive(format!("{name}: {e}")))?;
        if bytes.len() as u64 > limits.max_file {
            return Err(PackageError::Limit(format!("{name} is over {} bytes", limits.max_file)));
        }
        total += bytes.len() as u64;
        if total > limits.max_total {
            return Err(PackageError::Limit(format!("more than {} bytes unpacked", limits.max_total)));
        }
        if name == MANIFEST {
            manifest_bytes = Some(bytes);
        } else if name == SIGNATURE {
            signature_bytes = Some(bytes);
        } else if files.insert(name.clone(), bytes).is_some() {
            return Err(PackageError::Archive(format!("{name} appears twice")));
        }
    }
    let manifest_bytes = manifest_bytes.ok_or_else(|| PackageError::Manifest(format!("no {MANIFEST} at the root")))?;
    let signed_by = signature::verify(&manifest_bytes, signature_bytes.as_deref(), trusted)?.clone();
    let manifest: Manifest =
        serde_json::from_slice(&manifest_bytes).map_err(|e| PackageError::Manifest(e.to_string()))?;
    if manifest.format != FORMAT {
        return Err(PackageError::Manifest(format!("format is not {FORMAT}")));
    }
    let mut listed = 0usize;
    for card in &manifest.cards {
        for f in &card.files {
            listed += 1;
            let bytes = files
                .get(&f.name)
                .ok_or_else(|| PackageError::Manifest(format!("card {}: {} is missing", card.card, f.name)))?;
            if bytes.len() as u64 != f.size || sha256_hex(bytes) != f.sha256 {
                return Err(PackageError::Manifest(format!(
                    "card {}: {} does not match its digest",
                    card.card, f.name
                )));
            }
        }
    }
    if listed != files.len() {
        return Err(PackageError::Manifest("the archive holds files the manifest does not list".into()));
    }
    Ok(Package { manifest, files, signed_by })
}

#[cfg(test)]
mod tests {
    use super::*;
    use ed25519_dalek::Signer as _;

    struct Force(ed25519_dalek::SigningKey);

    impl Signer for Force {
        fn name(&self) -> &str {
            "lanyard.example/print-batches"
        }
        fn public_key(&self) -> [u8; 32] {
            self.0.verifying_key().to_bytes()
        }
        fn sign(&self, message: &[u8]) -> Result<[u8; 64], String> {
            Ok(self.0.sign(message).to_bytes())
        }
    }

    fn force() -> Force {
        Force(ed25519_dalek::SigningKey::from_bytes(&[3; 32]))
    }

    fn pinned() -> Vec<Verifier> {
        let f = force();
        vec![Verifier::new(f.name(), &f.public_key()).unwrap()]
    }

    fn header() -> Manifest {
        Manifest {
            format: String::new(),
            batch: "B1".into(),
            supplier: "acme".into(),
            created_at: "2026-11-28T00:00:00Z".into(),
            expires_at: "2026-12-01T00:00:00Z".into(),
            cards: vec![],
        }
    }

    fn artwork(card: &str) -> CardArtwork {
        CardArtwork {
            card: card.into(),
            number: "00000001".into(),
            card_type: "warrant_card".into(),
            files: vec![
                ("front_png", format!("{card}-front.png"), b"front".to_vec()),
                ("pdf", format!("{card}.pdf"), b"pdf".to_vec()),
            ],
        }
    }

    fn identity() -> (Vec<Box<dyn age::Identity + Send + Sync>>, age::x25519::Recipient) {
        let (text, recipient) = keygen("now");
        (parse_identities(text.expose_secret().as_bytes()).unwrap(), parse_recipient(&recipient).unwrap())
    }

    #[test]
    fn pack_seal_open_unpack_round_trips() {
        let (ids, recipient) = identity();
        let (manifest, plain) = pack(&header(), &[artwork("C1"), artwork("C2")], Some(&force())).unwrap();
        assert_eq!(manifest.format, FORMAT);
        let sealed = seal(&plain, &recipient).unwrap();
        let opened = unpack(&open(&sealed, &ids, &Limits::default()).unwrap(), &Limits::default(), &pinned()).unwrap();
        assert_eq!(opened.manifest, manifest);
        assert_eq!(opened.files.len(), 4);
        assert_eq!(opened.files["C2-front.png"], b"front");
        // Same input, same archive.
        assert_eq!(pack(&header(), &[artwork("C1"), artwork("C2")], Some(&force())).unwrap().1, plain);
    }

    #[test]
    fn a_sealed_archive_streams_to_what_pack_makes() {
        let (ids, recipient) = identity();
        let cards = [artwork("C1"), artwork("C2")];
        let mut sealed = SealedArchive::new(&header(), &recipient, Vec::new()).unwrap();
        for c in &cards {
            sealed.add(c).unwrap();
        }
        let (manifest, bytes) = sealed.finish(&force()).unwrap();
        let opened = unpack(&open(&bytes, &ids, &Limits::default()).unwrap(), &Limits::default(), &pinned()).unwrap();
        assert_eq!(opened.manifest, manifest);
        assert_eq!(manifest, pack(&header(), &cards, Some(&force())).unwrap().0);
        assert_eq!(opened.files["C1.pdf"], b"pdf");
    }

    #[test]
    fn a_tampered_or_foreign_file_is_refused() {
        let (ids, recipient) = identity();
        let (_, plain) = pack(&header(), &[artwork("C1")], Some(&force())).unwrap();
        let mut sealed = seal(&plain, &recipient).unwrap();
        let last = sealed.len() - 20;
        sealed[last] ^= 1;
        assert!(matches!(open(&sealed, &ids, &Limits::default()), Err(PackageError::Authentication)));
        let (other, _) = identity();
        let sealed = seal(&plain, &recipient).unwrap();
        assert!(matches!(open(&sealed, &other, &Limits::default()), Err(PackageError::NotForThisIdentity)));
        assert!(matches!(open(b"not age at all", &ids, &Limits::default()), Err(PackageError::Authentication)));
    }

    #[test]
    fn unlisted_renamed_and_oversized_files_are_refused() {
        let (_, plain) = pack(&header(), &[artwork("C1")], Some(&force())).unwrap();
        let small = Limits { max_file: 3, ..Limits::default() };
        assert!(matches!(unpack(&plain, &small, &pinned()), Err(PackageError::Limit(_))));
        // A file the manifest does not list.
        let mut extra = artwork("C1");
        let (manifest, _) = pack(&header(), &[extra.clone()], Some(&force())).unwrap();
        extra.files.push(("pdf", "extra.pdf".into(), b"x".to_vec()));
        let (_, with_extra) = pack(&header(), &[extra], Some(&force())).unwrap();
        let mut zip = zip::ZipArchive::new(Cursor::new(with_extra.as_slice())).unwrap();
        assert!(zip.by_name("extra.pdf").is_ok());
        assert!(unpack(&rezip(&manifest, &with_extra), &Limits::default(), &pinned()).is_err());
        // A path outside the spool.
        let mut evil = artwork("C1");
        evil.files[0].1 = "../evil.png".into();
        let (_, plain) = pack(&header(), &[evil], Some(&force())).unwrap();
        assert!(matches!(unpack(&plain, &Limits::default(), &pinned()), Err(PackageError::Archive(_))));
        assert!(unpack(b"PK\x03\x04 junk", &Limits::default(), &pinned()).is_err());
    }

    /// The archive `plain` with its manifest replaced by `manifest`.
    fn rezip(manifest: &Manifest, plain: &[u8]) -> Vec<u8> {
        let mut src = zip::ZipArchive::new(Cursor::new(plain)).unwrap();
        let mut out = zip::ZipWriter::new(Cursor::new(Vec::new()));
        let options = SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
        for i in 0..src.len() {
            let mut entry = src.by_index(i).unwrap();
            let name = entry.name().unwrap().into_owned();
            let mut bytes = Vec::new();
            entry.read_to_end(&mut bytes).unwrap();
            if name == MANIFEST {
                bytes = serde_json::to_vec(manifest).unwrap();
            }
            out.start_file(name, options).unwrap();
            out.write_all(&bytes).unwrap();
        }
        out.finish().unwrap().into_inner()
    }

    #[test]
    fn only_a_batch_signed_by_a_pinned_key_unpacks() {
        let (_, unsigned) = pack(&header(), &[artwork("C1")], None).unwrap();
        assert!(matches!(unpack(&unsigned, &Limits::default(), &pinned()), Err(PackageError::Unsigned)));
        let (_, signed) = pack(&header(), &[artwork("C1")], Some(&force())).unwrap();
        let stranger = Force(ed25519_dalek::SigningKey::from_bytes(&[4; 32]));
        let theirs = vec![Verifier::new(stranger.name(), &stranger.public_key()).unwrap()];
        assert!(matches!(unpack(&signed, &Limits::default(), &theirs), Err(PackageError::UntrustedSigner)));
        assert!(matches!(unpack(&signed, &Limits::default(), &[]), Err(PackageError::UntrustedSigner)));
        // The attack of issue 15: the manifest rewritten (another card's
        // artwork, a fixed digest) under the old signature.
        let mut other = header();
        other.expires_at = "2099-01-01T00:00:00Z".into();
        let (forged_manifest, _) = pack(&other, &[artwork("C1")], None).unwrap();
        let forged = rezip(&forged_manifest, &signed);
        assert!(matches!(unpack(&forged, &Limits::default(), &pinned()), Err(PackageError::BadSignature(_))));
        let opened = unpack(&signed, &Limits::default(), &pinned()).unwrap();
        assert_eq!(opened.signed_by, pinned()[0]);
    }

    proptest::proptest! {
        #[test]
        fn any_bytes_are_refused_cleanly(data in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..4096)) {
            let _ = unpack(&data, &Limits::default(), &pinned());
        }

        #[test]
        fn what_is_packed_unpacks_unchanged(
            cards in proptest::collection::btree_map("[0-9A-Z]{10}", proptest::collection::vec(proptest::prelude::any::<u8>(), 0..600), 0..6)
        ) {
            let art: Vec<CardArtwork> = cards
                .iter()
                .map(|(id, bytes)| CardArtwork {
                    card: id.clone(),
                    number: "1".into(),
                    card_type: "staff_pass".into(),
                    files: vec![("pdf", format!("{id}.pdf"), bytes.clone())],
                })
                .collect();
            let (manifest, plain) = pack(&header(), &art, Some(&force())).unwrap();
            let opened = unpack(&plain, &Limits::default(), &pinned()).unwrap();
            proptest::prop_assert_eq!(opened.manifest, manifest);
            for (id, bytes) in &cards {
                proptest::prop_assert_eq!(&opened.files[&format!("{id}.pdf")], bytes);
            }
        }
    }

    #[test]
    fn names_are_plain() {
        for ok in ["manifest.json", "0ABC-front.png", "x_y.pdf"] {
            assert!(plain_name(ok), "{ok}");
        }
        for bad in ["", ".hidden", "a/b", "../x", "a\\b", "é.png", &"x".repeat(129)] {
            assert!(!plain_name(bad), "{bad}");
        }
    }
}
