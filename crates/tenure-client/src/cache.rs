//! The local license cache: one file, XChaCha20-Poly1305 with a random key kept in the secret
//! store, written atomically.
//!
//! Layout: `TENURE-CACHE` magic, a format version byte (together the header, bound in as
//! associated data so neither can be altered), a 24-byte nonce, then the ciphertext of the RON
//! [`CacheData`]. A tampered file or a wrong key fails authentication and is reported; the file
//! on disk is left exactly as it was.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use chacha20poly1305::aead::{Aead as _, Payload};
use chacha20poly1305::{KeyInit as _, XChaCha20Poly1305, XNonce};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::atomic::write_atomic;
use crate::secrets::{SecretError, SecretStore};

const MAGIC: &[u8] = b"TENURE-CACHE";
/// The cache format this build reads and writes.
pub const CACHE_VERSION: u8 = 1;
const NONCE_LEN: usize = 24;
const KEY_SECRET_NAME: &str = "cache-key";

/// One validation attempt, for the grace history chart.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ValidationRecord {
    /// When it was tried (workstation clock).
    pub at: DateTime<Utc>,
    /// True when a signed license came back.
    pub succeeded: bool,
    /// Grace days granted (on success).
    pub grace_days: u32,
    /// Short outcome in words.
    pub outcome: String,
}

/// What the cache holds.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CacheData {
    /// The signed license, armored, exactly as received.
    pub license: Option<String>,
    /// The latest clock reading seen (this copy of the clock mark).
    pub high_water: Option<DateTime<Utc>>,
    /// The server time that last reset the clock mark (see `ClockMark::reset`).
    #[serde(default)]
    pub mark_reset: Option<DateTime<Utc>>,
    /// The activation credential of the cached license.
    #[serde(default)]
    pub credential: Option<HeldCredential>,
    /// The credential made for an offline activation request not yet answered.
    #[serde(default)]
    pub pending_credential: Option<String>,
    /// Validation history, oldest first (bounded).
    #[serde(default)]
    pub validations: Vec<ValidationRecord>,
    /// Nonces of offline requests not yet answered.
    #[serde(default)]
    pub outstanding_nonces: Vec<String>,
    /// A concurrent seat borrowed onto this machine, kept here so it works with no network.
    #[serde(default)]
    pub borrow: Option<BorrowRecord>,
    /// The newest revocation list of the vendor's root seen here (one copy of it; the others:
    /// the product database and the keyring).
    #[serde(default)]
    pub revocations: Option<String>,
    /// The server's signed notice that the license moved: its account activated it elsewhere,
    /// which replaced this workstation's credential.
    #[serde(default)]
    pub moved: Option<String>,
    /// This workstation released the license to be activated elsewhere (`tenure offline
    /// release`): it grants nothing from then on.
    #[serde(default)]
    pub released: Option<ReleasedRecord>,
}

/// A license released here: which, with which credential, and when. A later activation here
/// (a new credential) makes it history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReleasedRecord {
    /// The license released.
    pub license_id: String,
    /// The public half of the credential held when it was released.
    pub holder: String,
    /// When (this machine's clock).
    pub at: DateTime<Utc>,
}

/// The private half of a license's activation credential.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HeldCredential {
    /// The license it proves.
    pub license_id: String,
    /// The secret, hex.
    pub secret: String,
}

impl std::fmt::Debug for HeldCredential {
    /// Never prints the secret.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "HeldCredential({}, secret hidden)", self.license_id)
    }
}

impl CacheData {
    /// This copy of the clock mark.
    pub fn clock_mark(&self) -> Option<tenure_core::status::ClockMark> {
        self.high_water.map(|seen| tenure_core::status::ClockMark {
            seen,
            reset: self.mark_reset.unwrap_or(DateTime::<Utc>::MIN_UTC),
        })
    }

    /// Replaces this copy of the clock mark.
    pub fn set_clock_mark(&mut self, mark: tenure_core::status::ClockMark) {
        self.high_water = Some(mark.seen);
        self.mark_reset = Some(mark.reset);
    }
}

/// A seat detached from the pool onto this machine until `until`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BorrowRecord {
    /// The session holding the seat in the pool.
    pub session_id: String,
    /// Whose seat.
    pub login: String,
    /// This machine.
    pub machine: String,
    /// When it was borrowed.
    pub since: DateTime<Utc>,
    /// When it comes back to the pool by itself.
    pub until: DateTime<Utc>,
    /// The license it was borrowed under.
    pub license_id: String,
    /// When the vendor's signed license said an admin revoked it (a lost laptop): from then on
    /// it grants nothing, even with no network.
    #[serde(default)]
    pub revoked_at: Option<DateTime<Utc>>,
}

/// The most validation records kept.
pub const MAX_VALIDATION_RECORDS: usize = 500;

/// Why the cache could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum CacheError {
    /// The key could not be fetched or stored.
    #[error("the cache key is not available: {0}")]
    Secret(#[from] SecretError),
    /// The file exists but its key is gone from the keyring.
    #[error(
        "the license cache exists but its key is missing from the keyring: validate online again to rebuild it (the old file is kept, {0})"
    )]
    KeyMissing(PathBuf),
    /// Not a cache file.
    #[error("the license cache file is not a Tenure cache ({0}): it was replaced or damaged")]
    NotACache(PathBuf),
    /// Written by a newer version.
    #[error(
        "the license cache has format {found}, this build reads {CACHE_VERSION}: update Tenure ({path})"
    )]
    UnknownVersion {
        /// Version found.
        found: u8,
        /// File.
        path: PathBuf,
    },
    /// Authentication failed.
    #[error(
        "the license cache was altered or belongs to another key: validate online to rebuild it (the file is kept as it is, {0})"
    )]
    Tampered(PathBuf),
    /// Read or write failed.
    #[error("cannot {action} the license cache: {source} ({path})")]
    Io {
        /// "read" or "write".
        action: &'static str,
        /// The OS error.
        source: std::io::Error,
        /// File.
        path: PathBuf,
    },
}

/// The cache file and the store holding its key.
#[derive(Clone)]
pub struct Cache {
    path: PathBuf,
    secrets: SecretStore,
    /// The key once read or made, so every read and write does not ask the keyring again (each
    /// ask is a D-Bus round trip on Linux). Shared by clones.
    key: Arc<Mutex<Option<[u8; 32]>>>,
    /// The file as last read or written here, and what it holds: a read that finds the same
    /// bytes under the same key returns it without decrypting and parsing again (a start
    /// reads the cache several times). Shared by clones.
    opened: Arc<Mutex<Option<Opened>>>,
}

/// The cache file's bytes, the key they were opened with, and what they hold.
struct Opened {
    bytes: Vec<u8>,
    key: [u8; 32],
    data: CacheData,
}

impl std::fmt::Debug for Cache {
    /// Never prints the key or what the cache holds.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cache")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

impl Cache {
    /// A cache at `path` whose key lives in `secrets`.
    pub fn new(path: PathBuf, secrets: SecretStore) -> Self {
        Self {
            path,
            secrets,
            key: Arc::default(),
            opened: Arc::default(),
        }
    }

    /// The secret store's entry of the key, while it is not remembered.
    pub(crate) fn key_to_read(&self) -> Option<&'static str> {
        let known = self.key.lock().ok().is_some_and(|k| k.is_some());
        (!known).then_some(KEY_SECRET_NAME)
    }

    /// The key: remembered, else from the secret store (`None` when there is none).
    fn stored_key(&self) -> Result<Option<[u8; 32]>, CacheError> {
        if let Some(key) = self.key.lock().ok().and_then(|k| *k) {
            return Ok(Some(key));
        }
        let key = self
            .secrets
            .get(KEY_SECRET_NAME)?
            .and_then(|k| decode_key(&k));
        self.remember(key);
        Ok(key)
    }

    fn remember(&self, key: Option<[u8; 32]>) {
        if let (Some(key), Ok(mut slot)) = (key, self.key.lock()) {
            *slot = Some(key);
        }
    }

    /// The file path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Reads, changes and writes the cache under an exclusive lock on a file beside it, so the
    /// window, the CLI and a product's seat keeper never overwrite each other's changes (a nonce,
    /// a borrow, the clock mark). Nothing is written when `change` returns `None`.
    pub fn update<T>(
        &self,
        change: impl FnOnce(&mut CacheData) -> Option<T>,
    ) -> Result<Option<T>, CacheError> {
        self.update_from(Self::load, change)
    }

    /// As [`Self::update`], but an unreadable cache (lost key, tampered) starts empty: for a
    /// fresh verified license, which is exactly the advised fix.
    pub fn update_or_replace<T>(
        &self,
        change: impl FnOnce(&mut CacheData) -> Option<T>,
    ) -> Result<Option<T>, CacheError> {
        self.update_from(|cache| Ok(cache.load().unwrap_or_default()), change)
    }

    fn update_from<T>(
        &self,
        load: impl FnOnce(&Self) -> Result<CacheData, CacheError>,
        change: impl FnOnce(&mut CacheData) -> Option<T>,
    ) -> Result<Option<T>, CacheError> {
        let _lock = self.lock()?;
        let mut data = load(self)?;
        let Some(out) = change(&mut data) else {
            return Ok(None);
        };
        self.write_locked(&data)?;
        Ok(Some(out))
    }

    /// Holds an exclusive lock on `<cache>.lock` until dropped.
    fn lock(&self) -> Result<std::fs::File, CacheError> {
        let io = |source| CacheError::Io {
            action: "lock",
            source,
            path: self.path.clone(),
        };
        if let Some(dir) = self.path.parent() {
            std::fs::create_dir_all(dir).map_err(io)?;
        }
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(self.path.with_extension("lock"))
            .map_err(io)?;
        file.lock().map_err(io)?;
        Ok(file)
    }

    /// Reads the cache; an absent file is an empty cache.
    pub fn load(&self) -> Result<CacheData, CacheError> {
        let bytes = match std::fs::read(&self.path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(CacheData::default()),
            Err(source) => {
                return Err(CacheError::Io {
                    action: "read",
                    source,
                    path: self.path.clone(),
                });
            }
        };
        let header_len = MAGIC.len() + 1;
        if bytes.len() < header_len + NONCE_LEN || !bytes.starts_with(MAGIC) {
            return Err(CacheError::NotACache(self.path.clone()));
        }
        let version = bytes[MAGIC.len()];
        if version != CACHE_VERSION {
            return Err(CacheError::UnknownVersion {
                found: version,
                path: self.path.clone(),
            });
        }
        let Some(key) = self.stored_key()? else {
            return Err(CacheError::KeyMissing(self.path.clone()));
        };
        if let Some(data) = self.already_opened(&bytes, &key) {
            return Ok(data);
        }
        let (header, rest) = bytes.split_at(header_len);
        let (nonce, ciphertext) = rest.split_at(NONCE_LEN);
        let cipher = XChaCha20Poly1305::new(&key.into());
        let nonce =
            XNonce::try_from(nonce).map_err(|_| CacheError::NotACache(self.path.clone()))?;
        let plain = cipher
            .decrypt(
                &nonce,
                Payload {
                    msg: ciphertext,
                    aad: header,
                },
            )
            .map_err(|_| CacheError::Tampered(self.path.clone()))?;
        let text = String::from_utf8(plain).map_err(|_| CacheError::Tampered(self.path.clone()))?;
        let data: CacheData =
            ron::from_str(&text).map_err(|_| CacheError::Tampered(self.path.clone()))?;
        self.keep_opened(bytes, key, &data);
        Ok(data)
    }

    /// What `bytes` hold, when they are the bytes last read or written here under `key`: the
    /// same ciphertext under the same key decrypts to the same data.
    fn already_opened(&self, bytes: &[u8], key: &[u8; 32]) -> Option<CacheData> {
        let opened = self.opened.lock().ok()?;
        let opened = opened.as_ref()?;
        (opened.bytes == bytes && &opened.key == key).then(|| opened.data.clone())
    }

    fn keep_opened(&self, bytes: Vec<u8>, key: [u8; 32], data: &CacheData) {
        if let Ok(mut opened) = self.opened.lock() {
            *opened = Some(Opened {
                bytes,
                key,
                data: data.clone(),
            });
        }
    }

    /// Replaces the whole cache (under its lock), making the key on first use. A change to what
    /// is there goes through [`Self::update`], which reads and writes under one lock.
    pub fn save(&self, data: &CacheData) -> Result<(), CacheError> {
        let _lock = self.lock()?;
        self.write_locked(data)
    }

    /// Encrypts and writes the cache atomically; the caller holds the lock.
    fn write_locked(&self, data: &CacheData) -> Result<(), CacheError> {
        let key = if let Some(key) = self.stored_key()? {
            key
        } else {
            if self.path.exists() {
                // Only reached after a fresh, verified license arrived (see Workstation::store):
                // the unreadable old cache is replaced by one the user can open again.
                tracing::warn!("replacing a license cache whose key is gone");
            }
            let mut key = [0u8; 32];
            getrandom::fill(&mut key).map_err(|e| CacheError::Io {
                action: "write",
                source: std::io::Error::other(e.to_string()),
                path: self.path.clone(),
            })?;
            self.secrets.set(KEY_SECRET_NAME, &hex::encode(key))?;
            self.remember(Some(key));
            key
        };
        let mut nonce_bytes = [0u8; NONCE_LEN];
        let _ = getrandom::fill(&mut nonce_bytes);
        let nonce = XNonce::from(nonce_bytes);
        let mut header = MAGIC.to_vec();
        header.push(CACHE_VERSION);
        let text = ron::to_string(data).map_err(|e| CacheError::Io {
            action: "write",
            source: std::io::Error::other(e.to_string()),
            path: self.path.clone(),
        })?;
        let cipher = XChaCha20Poly1305::new(&key.into());
        let ciphertext = cipher
            .encrypt(
                &nonce,
                Payload {
                    msg: text.as_bytes(),
                    aad: &header,
                },
            )
            .map_err(|_| CacheError::Tampered(self.path.clone()))?;
        let mut out = header;
        out.extend_from_slice(&nonce_bytes);
        out.extend_from_slice(&ciphertext);
        write_atomic(&self.path, &out, true).map_err(|source| CacheError::Io {
            action: "write",
            source,
            path: self.path.clone(),
        })?;
        self.keep_opened(out, key, data);
        Ok(())
    }
}

fn decode_key(text: &str) -> Option<[u8; 32]> {
    hex::decode(text.trim()).ok()?.try_into().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> CacheData {
        CacheData {
            license: Some("-----BEGIN TENURE LICENSE-----\n…".into()),
            high_water: Some("2026-11-23T10:00:00Z".parse().unwrap()),
            validations: vec![],
            outstanding_nonces: vec![],
            borrow: None,
            ..CacheData::default()
        }
    }

    /// A read answered from what this handle last opened still sees another process's write,
    /// and still refuses a file altered since; the handle never prints its key.
    #[test]
    fn a_remembered_read_never_hides_a_change() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.bin");
        let secrets = SecretStore::PlainFile(dir.path().join("secrets.ron"));
        let here = Cache::new(path.clone(), secrets.clone());
        here.save(&sample()).unwrap();
        assert_eq!(here.load().unwrap(), sample());
        assert_eq!(here.load().unwrap(), sample(), "read again, unchanged");

        let mut changed = sample();
        changed.outstanding_nonces.push("n1".into());
        Cache::new(path.clone(), secrets).save(&changed).unwrap();
        assert_eq!(
            here.load().unwrap(),
            changed,
            "another process's write is seen"
        );

        let mut bytes = std::fs::read(&path).unwrap();
        let last = bytes.len() - 1;
        bytes[last] ^= 1;
        std::fs::write(&path, &bytes).unwrap();
        assert!(matches!(here.load(), Err(CacheError::Tampered(_))));

        let key = here.stored_key().unwrap().unwrap();
        let shown = format!("{here:?}");
        assert!(!shown.contains(&hex::encode(key)), "{shown}");
        let first_bytes = format!("{}, {}, {}, {}", key[0], key[1], key[2], key[3]);
        assert!(!shown.contains(&first_bytes), "{shown}");
    }

    /// Two writers (as two processes would: each its own handle on the file and the key) update
    /// the cache at once; every change of each survives.
    #[test]
    fn concurrent_updates_lose_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.bin");
        let secrets = SecretStore::PlainFile(dir.path().join("secrets.ron"));
        Cache::new(path.clone(), secrets.clone())
            .save(&CacheData::default())
            .unwrap();
        let writers: Vec<_> = ["a", "b"]
            .into_iter()
            .map(|name| {
                let cache = Cache::new(path.clone(), secrets.clone());
                std::thread::Builder::new()
                    .name(format!("writer-{name}"))
                    .spawn(move || {
                        for i in 0..40 {
                            cache
                                .update(|data| {
                                    data.outstanding_nonces.push(format!("{name}{i}"));
                                    if name == "b" && i == 20 {
                                        data.borrow = Some(BorrowRecord {
                                            session_id: "s1".into(),
                                            login: "ana".into(),
                                            machine: "laptop".into(),
                                            since: DateTime::<Utc>::MIN_UTC,
                                            until: DateTime::<Utc>::MAX_UTC,
                                            license_id: "lic".into(),
                                            revoked_at: None,
                                        });
                                    }
                                    Some(())
                                })
                                .unwrap();
                        }
                    })
                    .unwrap()
            })
            .collect();
        for writer in writers {
            writer.join().unwrap();
        }
        let data = Cache::new(path, secrets).load().unwrap();
        assert_eq!(data.outstanding_nonces.len(), 80, "a change was lost");
        assert!(data.borrow.is_some(), "the borrow was lost");
    }

    #[test]
    fn round_trip_and_tamper_detection() {
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache::new(dir.path().join("c.bin"), SecretStore::memory());
        assert_eq!(cache.load().unwrap(), CacheData::default());
        cache.save(&sample()).unwrap();
        assert_eq!(cache.load().unwrap(), sample());

        let mut bytes = std::fs::read(cache.path()).unwrap();
        let last = bytes.len() - 1;
        bytes[last] ^= 1;
        std::fs::write(cache.path(), &bytes).unwrap();
        assert!(matches!(cache.load(), Err(CacheError::Tampered(_))));
        // The damaged file is left for inspection, byte for byte.
        assert_eq!(std::fs::read(cache.path()).unwrap(), bytes);
    }

    #[test]
    fn header_is_authenticated_and_versioned() {
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache::new(dir.path().join("c.bin"), SecretStore::memory());
        cache.save(&sample()).unwrap();
        let mut bytes = std::fs::read(cache.path()).unwrap();
        bytes[MAGIC.len()] = 9;
        std::fs::write(cache.path(), &bytes).unwrap();
        assert!(matches!(
            cache.load(),
            Err(CacheError::UnknownVersion { found: 9, .. })
        ));
        std::fs::write(cache.path(), b"hello").unwrap();
        assert!(matches!(cache.load(), Err(CacheError::NotACache(_))));
    }

    #[test]
    fn wrong_key_is_reported() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.bin");
        Cache::new(path.clone(), SecretStore::memory())
            .save(&sample())
            .unwrap();
        let other = Cache::new(path.clone(), SecretStore::memory());
        assert!(matches!(other.load(), Err(CacheError::KeyMissing(_))));
        let wrong = SecretStore::memory();
        wrong.set(KEY_SECRET_NAME, &hex::encode([7u8; 32])).unwrap();
        assert!(matches!(
            Cache::new(path, wrong).load(),
            Err(CacheError::Tampered(_))
        ));
    }
}
