//! Helpers shared by the log's integration tests.

use std::path::Path;
use std::time::{Duration, Instant};

/// Opens a closed log's directory with sled itself, to look at or damage what
/// is stored. sled's background threads can hold the directory's lock a moment
/// after the log closes (SledLog::open retries likewise, PITFALLS.md).
pub fn raw_sled(dir: &Path) -> sled::Db {
    let started = Instant::now();
    loop {
        // The buffer size the log creates its database with (sled refuses another).
        let config = sled::Config::new().path(dir).segment_size(16 << 20);
        match config.open() {
            Ok(db) => return db,
            Err(_) if started.elapsed() < Duration::from_secs(5) => {
                std::thread::sleep(Duration::from_millis(20));
            }
            Err(e) => panic!("raw sled: {e}"),
        }
    }
}
