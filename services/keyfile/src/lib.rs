//! A secret key kept in a file: 32 random bytes written as 64 hex digits,
//! created on first use 0600 in a 0700 directory. Creation is a hard link of
//! a complete, synced file, so two processes starting at once end with one
//! key. The reporter-token key and the export-redaction key are such files.

use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::Path;

use rand::RngCore;

/// Reads the key at `path`, or creates it there.
pub fn load_or_create(path: &Path) -> std::io::Result<[u8; 32]> {
    match std::fs::read_to_string(path) {
        Ok(text) => return parse(&text),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(e),
    }
    if let Some(dir) = path.parent() {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)?;
    }
    let mut key = [0u8; 32];
    rand::rng().fill_bytes(&mut key);
    let tmp = path.with_extension(format!("tmp-{}", std::process::id()));
    let written = write_new(&tmp, &hex(&key)).and_then(|()| match std::fs::hard_link(&tmp, path) {
        Err(e) if e.kind() != std::io::ErrorKind::AlreadyExists => Err(e),
        _ => Ok(()),
    });
    let _ = std::fs::remove_file(&tmp);
    written?;
    // Whoever linked first won; everyone uses what is on disk.
    parse(&std::fs::read_to_string(path)?)
}

fn parse(text: &str) -> std::io::Result<[u8; 32]> {
    let bad = || {
        std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            "expected 64 hexadecimal digits",
        )
    };
    let text = text.trim().as_bytes();
    if text.len() != 64 {
        return Err(bad());
    }
    let mut k = [0u8; 32];
    for (i, pair) in text.chunks(2).enumerate() {
        let s = std::str::from_utf8(pair).map_err(|_| bad())?;
        k[i] = u8::from_str_radix(s, 16).map_err(|_| bad())?;
    }
    Ok(k)
}

fn hex(key: &[u8; 32]) -> Vec<u8> {
    let mut s: String = key.iter().map(|b| format!("{b:02x}")).collect();
    s.push('\n');
    s.into_bytes()
}

fn write_new(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    f.write_all(bytes)?;
    f.sync_all()
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn a_key_is_created_once_0600_in_a_0700_directory_and_read_back() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("keys").join("a.key");
        let a = super::load_or_create(&path).expect("create");
        let mode =
            |p: &std::path::Path| std::fs::metadata(p).expect("meta").permissions().mode() & 0o777;
        assert_eq!(
            (mode(&path), mode(&dir.path().join("keys"))),
            (0o600, 0o700)
        );
        assert_eq!(super::load_or_create(&path).expect("load"), a);
        std::fs::write(&path, "not hex").expect("spoil");
        let err = super::load_or_create(&path).expect_err("refused");
        assert_eq!(err.kind(), std::io::ErrorKind::InvalidData);
    }
}
