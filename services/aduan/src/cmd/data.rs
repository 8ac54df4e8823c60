//! Opening a data directory for the offline tools, with clear messages.

use std::path::Path;

use aduan_domain::{ComplaintId, TrackingNo};
use aduan_log::LogError;
use aduan_log_sled::{SledLog, SledOptions};

/// Opens the event log in `data`, explaining a lock held by a running `aduan serve`.
pub fn open_log(data: &Path) -> anyhow::Result<SledLog> {
    std::fs::create_dir_all(data)
        .map_err(|e| anyhow::anyhow!("cannot create data directory {}: {e}", data.display()))?;
    SledLog::open(SledOptions::new(data.join("log"))).map_err(|e| match e {
        LogError::Locked { path } => anyhow::anyhow!(
            "data directory {} is in use by a running aduan; stop it or pass another --data",
            path.display()
        ),
        e => anyhow::anyhow!("cannot open the event log in {}: {e}", data.display()),
    })
}

/// The complaint with tracking number `t`, from intake's index in `data/views`.
pub fn complaint_of(data: &Path, t: &TrackingNo) -> anyhow::Result<Option<ComplaintId>> {
    let views = aduan_kv_sled::open(&data.join("views"))?;
    let index = aduan_intake::Index::new(views.open_tree("intake")?);
    Ok(index.complaint_of(t)?)
}
