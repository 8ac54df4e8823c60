//! Creating directories so that they survive a power loss.
//!
//! fsync of a file makes its data durable, not its name; a new directory's
//! name lives in its parent, so a directory created and then written to can
//! vanish with everything in it if the parent's entry was never synced. This
//! matters right after the first start, when the data directory, `log/`,
//! `views/` and `keys/` are all new.

use std::fs::File;
use std::io;
use std::path::Path;

/// Creates `path` and any missing parents; syncs each directory it creates and
/// the parent holding its entry. An existing `path` is left as it is.
pub fn create_dir_durable(path: &Path) -> io::Result<()> {
    create_dir_durable_with(path, &mut |dir| File::open(dir)?.sync_all())
}

/// [`create_dir_durable`] with the sync of one directory injectable (for tests).
pub fn create_dir_durable_with(
    path: &Path,
    sync: &mut dyn FnMut(&Path) -> io::Result<()>,
) -> io::Result<()> {
    if path.is_dir() {
        return Ok(());
    }
    // Missing ancestors first, outermost first.
    let mut missing: Vec<&Path> = path.ancestors().take_while(|p| !p.is_dir()).collect();
    missing.reverse();
    for dir in missing {
        if dir.as_os_str().is_empty() {
            continue;
        }
        match std::fs::create_dir(dir) {
            Ok(()) => {}
            // Created meanwhile by someone else, who syncs it.
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e),
        }
        sync(dir)?;
        let parent = match dir.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        };
        sync(parent)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_new_directory_and_its_parent_are_synced() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let target = tmp.path().join("data").join("log");
        let mut synced = Vec::new();
        create_dir_durable_with(&target, &mut |d| {
            synced.push(d.to_owned());
            File::open(d)?.sync_all()
        })
        .expect("create");
        assert!(target.is_dir());
        let data = tmp.path().join("data");
        assert_eq!(
            synced,
            vec![data.clone(), tmp.path().to_owned(), target.clone(), data]
        );
        // An existing directory syncs nothing.
        synced.clear();
        create_dir_durable_with(&target, &mut |d| {
            synced.push(d.to_owned());
            Ok(())
        })
        .expect("exists");
        assert!(synced.is_empty());
    }

    #[test]
    fn a_failed_sync_is_reported() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let r = create_dir_durable_with(&tmp.path().join("x"), &mut |_| {
            Err(io::Error::other("injected"))
        });
        assert!(r.is_err());
    }
}
