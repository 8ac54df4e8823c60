//! The console's labels, Indonesian by default and English on request
//! (`?lang=en`, or the `lang` cookie the language switch sets). Every label
//! lives in the one table below, keyed by a short name.

use axum::extract::{FromRequestParts, Query, Request};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use crate::session::cookie;

/// A language of the pages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Lang {
    /// Bahasa Indonesia, the default.
    #[default]
    Id,
    /// English.
    En,
}

impl Lang {
    /// The language of a `lang` word (`id`, `en`), if it is one.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "id" => Some(Self::Id),
            "en" => Some(Self::En),
            _ => None,
        }
    }

    /// Its word, as `?lang=` and the `lang` cookie carry it.
    pub fn code(self) -> &'static str {
        match self {
            Self::Id => "id",
            Self::En => "en",
        }
    }

    /// The label `key` in this language (the key itself when the table has none).
    pub fn t(self, key: &'static str) -> &'static str {
        match LABELS.iter().find(|(k, _, _)| *k == key) {
            Some((_, id, en)) => match self {
                Self::Id => id,
                Self::En => en,
            },
            None => key,
        }
    }

    /// The label of a status word (`routed`, `resolved`, …).
    pub fn status(self, word: &str) -> &'static str {
        match word {
            "received" => self.t("status.received"),
            "routed" => self.t("status.routed"),
            "in_progress" => self.t("status.in_progress"),
            "resolved" => self.t("status.resolved"),
            "closed" => self.t("status.closed"),
            "rejected" => self.t("status.rejected"),
            "reopened" => self.t("status.reopened"),
            _ => self.t("status.unknown"),
        }
    }
}

/// (key, Indonesian, English).
const LABELS: &[(&str, &str, &str)] = &[
    ("app", "Layanan Aduan", "Complaints service"),
    ("lang.other", "English", "Bahasa Indonesia"),
    ("lookup.title", "Lacak aduan", "Track a complaint"),
    ("lookup.no", "Nomor pelacakan", "Tracking number"),
    ("lookup.submit", "Lacak", "Track"),
    ("submit.title", "Sampaikan aduan", "Submit a complaint"),
    ("submit.subject", "Judul", "Title"),
    ("submit.body", "Isi aduan", "What happened"),
    ("submit.region", "Wilayah", "Region"),
    (
        "submit.category",
        "Kategori (boleh kosong)",
        "Category (optional)",
    ),
    ("submit.none", "— tidak tahu —", "— not sure —"),
    ("submit.name", "Nama", "Name"),
    ("submit.phone", "Telepon", "Phone"),
    ("submit.email", "Surel", "Email"),
    ("submit.privacy", "Identitas pelapor", "Reporter identity"),
    (
        "privacy.public",
        "Terbuka (ditampilkan ke instansi)",
        "Public (shown to the agency)",
    ),
    ("privacy.confidential", "Rahasia", "Confidential"),
    ("privacy.anonymous", "Anonim", "Anonymous"),
    ("submit.submit", "Kirim aduan", "Send complaint"),
    (
        "submit.failed",
        "Aduan belum terkirim",
        "The complaint was not sent",
    ),
    ("submitted.title", "Aduan diterima", "Complaint received"),
    (
        "submitted.duplicate",
        "Aduan ini sudah diterima sebelumnya.",
        "This complaint was already received.",
    ),
    ("submitted.no", "Nomor pelacakan", "Tracking number"),
    (
        "submitted.token",
        "Token pelapor (simpan, hanya ditampilkan sekali)",
        "Reporter token (keep it; shown only once)",
    ),
    ("submitted.status", "Lihat status", "See the status"),
    ("status.title", "Status aduan", "Complaint status"),
    ("status.status", "Status", "Status"),
    ("status.owner", "Ditangani oleh", "Handled by"),
    ("status.due", "Batas waktu", "Due"),
    ("status.overdue", "terlambat", "overdue"),
    ("status.none", "—", "—"),
    ("status.timeline", "Riwayat", "Timeline"),
    ("status.received", "Diterima", "Received"),
    ("status.routed", "Didisposisikan", "Routed"),
    ("status.in_progress", "Ditindaklanjuti", "In progress"),
    ("status.resolved", "Selesai", "Resolved"),
    ("status.closed", "Ditutup", "Closed"),
    ("status.rejected", "Ditolak", "Rejected"),
    ("status.reopened", "Dibuka kembali", "Reopened"),
    ("status.unknown", "Tidak diketahui", "Unknown"),
    ("notfound.title", "Tidak ditemukan", "Not found"),
    (
        "notfound.text",
        "Nomor atau halaman ini tidak dikenal.",
        "This number or page is not known.",
    ),
    ("forbidden.title", "Tidak diizinkan", "Forbidden"),
    (
        "forbidden.text",
        "Anda tidak berhak membuka halaman ini.",
        "You may not open this page.",
    ),
    ("error.title", "Terjadi kesalahan", "Something went wrong"),
    ("signin.title", "Masuk", "Sign in"),
    ("signin.token", "Token", "Token"),
    ("signin.submit", "Masuk", "Sign in"),
    ("signin.error", "Token tidak dikenal.", "Unknown token."),
    ("signout", "Keluar", "Sign out"),
    ("whoami", "Masuk sebagai", "Signed in as"),
    ("inbox.title", "Kotak masuk", "Inbox"),
    ("inbox.open", "terbuka", "open"),
    ("inbox.overdue", "terlambat", "overdue"),
    (
        "inbox.empty",
        "Tidak ada aduan terbuka.",
        "No open complaints.",
    ),
    ("inbox.next", "Berikutnya", "Next"),
    ("inbox.prev", "Sebelumnya", "Previous"),
    (
        "inbox.drafts",
        "Draf menunggu persetujuan",
        "Drafts waiting for approval",
    ),
    ("col.tracking", "Nomor", "Number"),
    ("col.title", "Judul", "Title"),
    ("col.status", "Status", "Status"),
    ("col.due", "Batas waktu", "Due"),
    ("col.category", "Kategori", "Category"),
    ("col.org", "Instansi", "Organisation"),
    ("col.received", "Diterima", "Received"),
    ("col.open", "Terbuka", "Open"),
    ("col.overdue", "Terlambat", "Overdue"),
    ("col.on_time", "Selesai tepat waktu", "Resolved on time"),
    (
        "col.median",
        "Median jam ke respons pertama",
        "Median hours to first response",
    ),
    ("col.satisfaction", "Kepuasan (1–5)", "Satisfaction (1–5)"),
    ("col.returned", "Jawaban dikembalikan", "Answers returned"),
    ("col.share", "Porsi tepat waktu", "Share on time"),
    ("col.actions", "Tindakan", "Actions"),
    ("detail.body", "Isi", "Body"),
    ("detail.reporter", "Pelapor", "Reporter"),
    (
        "detail.hidden",
        "Identitas pelapor dirahasiakan.",
        "The reporter's identity is withheld.",
    ),
    ("action.acknowledge", "Terima aduan", "Acknowledge"),
    ("action.follow_up", "Tindak lanjut", "Follow up"),
    ("action.ask_reporter", "Tanya pelapor", "Ask the reporter"),
    ("action.resolve", "Selesaikan", "Resolve"),
    (
        "action.not_our_authority",
        "Bukan kewenangan kami",
        "Not our authority",
    ),
    ("action.note", "Catatan", "Note"),
    ("action.visibility", "Terlihat oleh", "Visible to"),
    ("visibility.public", "Publik", "Public"),
    ("visibility.internal", "Internal", "Internal"),
    (
        "action.suggested",
        "Usulan instansi",
        "Suggested organisation",
    ),
    ("flash.done", "Tersimpan", "Saved"),
    (
        "flash.draft",
        "Draf menunggu persetujuan kepala instansi.",
        "Draft waiting for the head's approval.",
    ),
    ("flash.failed", "Tidak dapat dilakukan", "Could not be done"),
    ("drafts.title", "Draf jawaban", "Draft answers"),
    (
        "drafts.empty",
        "Tidak ada draf yang menunggu.",
        "No drafts waiting.",
    ),
    ("drafts.approve", "Setujui", "Approve"),
    ("drafts.return", "Kembalikan", "Return"),
    ("drafts.kind.resolution", "Penyelesaian", "Resolution"),
    ("drafts.kind.follow_up", "Tindak lanjut", "Follow-up"),
    ("admin.title", "Admin wilayah", "Region admin"),
    ("admin.scope", "Admin", "Admin"),
    ("admin.all", "Semua wilayah", "All regions"),
    ("admin.show", "Tampilkan", "Show"),
    ("admin.triage", "Antrean triase", "Triage queue"),
    (
        "admin.triage.empty",
        "Antrean triase kosong.",
        "The triage queue is empty.",
    ),
    ("admin.reroute", "Alihkan", "Reroute"),
    ("admin.to_org", "Ke instansi", "To organisation"),
    ("admin.reason", "Alasan", "Reason"),
    ("admin.reject", "Tolak", "Reject"),
    ("admin.spam", "Spam", "Spam"),
    ("admin.duplicate", "Duplikat", "Duplicate"),
    (
        "admin.duplicate_of",
        "Duplikat dari nomor",
        "Duplicate of number",
    ),
    (
        "admin.resolutions",
        "Penyelesaian untuk ditinjau",
        "Resolutions to review",
    ),
    (
        "admin.resolutions.empty",
        "Tidak ada penyelesaian untuk ditinjau.",
        "No resolutions to review.",
    ),
    (
        "admin.return",
        "Kembalikan (tidak memadai)",
        "Return (insufficient)",
    ),
    ("admin.overdue", "Aduan terlambat", "Overdue complaints"),
    (
        "admin.overdue.empty",
        "Tidak ada aduan terlambat.",
        "No overdue complaints.",
    ),
    ("dash.title", "Dasbor pimpinan", "Leader dashboard"),
    ("dash.org", "Instansi", "Organisation"),
    ("dash.from", "Dari", "From"),
    ("dash.to", "Sampai", "To"),
    ("dash.show", "Tampilkan", "Show"),
    ("dash.recap", "Rekap per OPD", "Recap per OPD"),
    ("dash.ranking", "Peringkat", "Ranking"),
    (
        "dash.channels",
        "Volume per kanal per hari",
        "Volume per channel per day",
    ),
    (
        "dash.categories",
        "Volume per kategori per hari",
        "Volume per category per day",
    ),
    ("dash.csv", "Unduh rekap (CSV)", "Download the recap (CSV)"),
    ("dash.nodata", "Belum ada data.", "No data yet."),
];

/// The request's language: `?lang=` first, then the `lang` cookie, else Indonesian.
impl<S: Send + Sync> FromRequestParts<S> for Lang {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(asked(parts)
            .or_else(|| cookie(&parts.headers, "lang").and_then(|c| Lang::parse(&c)))
            .unwrap_or_default())
    }
}

#[derive(Deserialize)]
struct LangQuery {
    lang: Option<String>,
}

/// The language `?lang=` asks for, if any.
fn asked(parts: &Parts) -> Option<Lang> {
    let q = Query::<LangQuery>::try_from_uri(&parts.uri).ok()?;
    q.0.lang.as_deref().and_then(Lang::parse)
}

/// A `?lang=` also sets the `lang` cookie, so the next page keeps the
/// language. Pages are not stored by caches (they may show a reporter or a
/// session's work); the stylesheet says its own caching.
pub(crate) async fn remember(req: Request, next: Next) -> Response {
    let (parts, body) = req.into_parts();
    let lang = asked(&parts);
    let mut resp = next.run(Request::from_parts(parts, body)).await;
    if !resp.headers().contains_key(header::CACHE_CONTROL) {
        let v = HeaderValue::from_static("no-store");
        resp.headers_mut().insert(header::CACHE_CONTROL, v);
    }
    if let Some(lang) = lang {
        if let Ok(v) = HeaderValue::from_str(&lang_cookie(lang)) {
            resp.headers_mut().append(header::SET_COOKIE, v);
        }
    }
    resp
}

/// The path of the `Referer` when it is a page of this host (the `Host` header).
fn referred_path(headers: &HeaderMap) -> Option<String> {
    let referer = headers.get(header::REFERER)?.to_str().ok()?;
    let host = headers.get(header::HOST)?.to_str().ok()?;
    let rest = referer
        .strip_prefix("http://")
        .or_else(|| referer.strip_prefix("https://"))?;
    let path = rest.strip_prefix(host)?;
    // Without its own ?lang=, which would switch the language back.
    let path = path.split_once("?lang=").map_or(path, |(p, _)| p);
    path.starts_with('/').then(|| path.to_owned())
}

fn lang_cookie(lang: Lang) -> String {
    format!(
        "lang={}; Path=/; SameSite=Strict; Max-Age=31536000",
        lang.code()
    )
}

#[derive(Deserialize)]
pub(crate) struct Switch {
    to: Option<String>,
    back: Option<String>,
}

/// `GET /bahasa?to=en&back=/path`: sets the `lang` cookie and goes back
/// (only to a path of this site): to `back`, else to the page the link was
/// on (its `Referer`, when that names this host), else to `/`.
pub(crate) async fn switch(Query(q): Query<Switch>, headers: HeaderMap) -> Response {
    let lang = q.to.as_deref().and_then(Lang::parse).unwrap_or_default();
    let back = q
        .back
        .or_else(|| referred_path(&headers))
        .filter(|b| b.starts_with('/') && !b.starts_with("//"))
        .filter(|b| b.bytes().all(|c| c.is_ascii_graphic() && c != b'\\'))
        .unwrap_or_else(|| "/".into());
    let mut resp = Redirect::to(&back).into_response();
    if let Ok(v) = HeaderValue::from_str(&lang_cookie(lang)) {
        resp.headers_mut().append(header::SET_COOKIE, v);
    }
    resp
}
